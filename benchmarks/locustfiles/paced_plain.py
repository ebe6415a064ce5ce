"""Plain Locust paced by its own ``constant_throughput``: each user at PACED_RATE_PER_USER iterations/s."""

import os

from locust import FastHttpUser, constant_throughput, task


class Paced(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("PACED_RATE_PER_USER", "1")))

    @task
    def home(self) -> None:
        self.client.get("/")
