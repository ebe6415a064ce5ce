"""locust-plugins and locust-scenarios in one locustfile: their options do not clash.

Needs the ``plugins`` extra (``pip install 'locust-scenarios[plugins]'``). Start the demo target
(``locust-scenarios target --port 8000``), then:

    LOCUST_SCENARIO=smoke LOCUST_SCENARIO_USERS=2 LOCUST_SCENARIO_DURATION=8s \
        locust -f examples/with_locust_plugins.py --headless -H http://127.0.0.1:8000 \
        --check-fail-ratio 0.01 --check-avg-response-time 200

Our profile shapes the load; locust-plugins' checks (``--check-*``) judge the run and set exit code 3
on a miss (the same code our thresholds use). ``locust -f examples/with_locust_plugins.py --help``
lists both sets of options.
"""

import locust_plugins  # noqa: F401 - registers its options (--check-*, --iterations, ...) and checks
from locust import task

from locust_scenarios import RestUser, ScenarioShape


class Visitor(RestUser):
    @task
    def home(self) -> None:
        with self.call("GET", "/"):
            pass

    @task(3)
    def items(self) -> None:
        with self.call("GET", "/api/items") as call:
            call.expect_json("total", 20)


class Shape(ScenarioShape):
    pass
