"""Low load per user for the many-workers benchmark: one request a second, under the selecting shape."""

from locust import FastHttpUser, constant, task

from locust_scenarios import ScenarioShape


class Light(FastHttpUser):
    wait_time = constant(1)

    @task
    def home(self) -> None:
        self.client.get("/")


class Shape(ScenarioShape):
    pass
