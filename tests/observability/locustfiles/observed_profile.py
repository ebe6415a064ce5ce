"""The same user under the selecting shape: the profile comes from LOCUST_SCENARIO*."""

from locust import FastHttpUser, constant, task

from locust_scenarios import ScenarioShape


class Observed(FastHttpUser):
    wait_time = constant(0.05)

    @task(3)
    def home(self) -> None:
        self.client.get("/")

    @task
    def slow(self) -> None:
        self.client.get("/slow")


class Shape(ScenarioShape):
    pass
