"""A user template (RestUser) that calls / three times for each call to /fail."""

from locust import task

from locust_scenarios import RestUser


class Traced(RestUser):
    @task(3)
    def home(self) -> None:
        with self.call("GET", "/"):
            pass

    @task
    def broken(self) -> None:
        with self.call("GET", "/fail"):
            pass
