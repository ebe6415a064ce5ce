"""A hand-written FastHttpUser that checks its status: what the config-driven user replaces."""

from locust import FastHttpUser, constant, task


class Checked(FastHttpUser):
    wait_time = constant(0)

    @task
    def home(self) -> None:
        with self.client.get("/", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"expected status 200, got {response.status_code}")
