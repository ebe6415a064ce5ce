"""One locustfile for all six test types: ``LOCUST_SCENARIO`` picks the profile.

Start the demo target (``locust-scenarios target --port 8000``), then for a short smoke run:

    LOCUST_SCENARIO=smoke LOCUST_SCENARIO_USERS=3 LOCUST_SCENARIO_DURATION=10s LOCUST_SCENARIO_RAMP_UP=1s \
        locust -f examples/scenarios.py --headless -H http://127.0.0.1:8000

Any of smoke, load, stress, spike, endurance and breakpoint works the same way; `examples/README.md`
lists short settings for each.
"""

import random

from locust import task

from locust_scenarios import RestUser, ScenarioShape


class Shopper(RestUser):
    """Browses the catalogue, looks at items, now and then adds one."""

    @task(5)
    def browse(self) -> None:
        with self.call("GET", "/api/items", params={"limit": 10}) as call:
            call.expect_json("items[0].id", int)

    @task(10)
    def item(self) -> None:
        with self.call("GET", "/api/items/{id}", id=random.randint(1, 20)) as call:
            call.expect_json("price", lambda price: price > 0)

    @task(1)
    def add(self) -> None:
        with self.call("POST", "/api/items", json={"name": "pen", "price": 2.5}, expect=201) as call:
            call.expect_json("name", "pen")


class Shape(ScenarioShape):
    pass
