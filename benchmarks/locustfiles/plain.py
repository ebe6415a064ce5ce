"""Plain Locust: the baseline every benchmark compares against."""

from locust import FastHttpUser, constant, task


class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def home(self) -> None:
        self.client.get("/")
