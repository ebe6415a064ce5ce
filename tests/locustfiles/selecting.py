"""One locustfile for every test type: the profile is picked by LOCUST_SCENARIO."""

from locust import FastHttpUser, constant, task

from locust_scenarios import ScenarioShape


class Visitor(FastHttpUser):
    wait_time = constant(0.2)

    @task
    def home(self) -> None:
        self.client.get("/")


class Shape(ScenarioShape):
    pass
