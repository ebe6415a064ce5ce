"""Plain Locust (no shape) with the library's plugin: GET / and GET /slow, a short wait between."""

from locust import FastHttpUser, constant, task

import locust_scenarios  # noqa: F401  (registers the options, the exporter and the thresholds)


class Observed(FastHttpUser):
    wait_time = constant(0.05)

    @task(3)
    def home(self) -> None:
        self.client.get("/")

    @task
    def slow(self) -> None:
        self.client.get("/slow")
