"""The same user under the library's selecting shape (profile from LOCUST_SCENARIO*)."""

from locust import FastHttpUser, constant, task

from locust_scenarios import ScenarioShape


class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def home(self) -> None:
        self.client.get("/")


class Shape(ScenarioShape):
    pass
