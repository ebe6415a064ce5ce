"""Open model: the test follows a planned throughput (iterations/s), not a number of users.

Start the demo target (``locust-scenarios target --port 8000``), then a short run:

    LOCUST_SCENARIO_STAGES=3s:1,6s:1,1s:0 locust -f examples/open_model.py --headless \
        -H http://127.0.0.1:8000

``rate`` makes the profile open-model: its stages are scaled so that the peak is 20 iterations/s,
run by a pool of ``users``. Users pace their iterations to follow the plan (``open_model_pacing``,
the templates' default wait), whatever the response times, as long as the pool suffices. At the
end the pacing counters are logged: iterations, late ones, and slots dropped after a stall.
"""

import logging
from typing import Any

from locust import events, task

from locust_scenarios import RestUser, Stage, StagesProfile, pacing_stats


class Throughput(StagesProfile):
    stages = [Stage(30, 1, "ramp"), Stage(2 * 60, 1, "hold"), Stage(10, 0, "ramp-down")]  # noqa: RUF012
    rate = 20  # iterations/s at the peak (LOCUST_SCENARIO_RATE overrides)
    users = 10  # the pool that runs them (LOCUST_SCENARIO_USERS overrides)


class Checkout(RestUser):
    @task
    def checkout(self) -> None:
        with self.call("GET", "/api/items/{id}", id=5) as call:
            call.expect_json("id", 5)
        with self.call("POST", "/api/items", json={"name": "order"}, expect=201):
            pass


@events.quitting.add_listener
def report_pacing(environment: Any, **_kwargs: Any) -> None:
    stats = pacing_stats(environment)
    logging.info("open model: %d iterations, %d late, %d dropped", stats.iterations, stats.late, stats.dropped)
