"""Our plugin and locust-plugins' checks in one locustfile.

Locust imports locust_plugins by itself at start-up when it is installed, so its ``quitting``
listener (the checks) is registered before ours and, fired in reverse, runs after our verdict.
"""

import locust_plugins  # noqa: F401  (its options and its exit-code checks)
from locust import FastHttpUser, constant, task

import locust_scenarios  # noqa: F401


class Observed(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def home(self) -> None:
        self.client.get("/")
