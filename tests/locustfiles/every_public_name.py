"""Imports every public name of the library; only the user class below may make this run concrete."""

from locust import FastHttpUser, constant, task

import locust_scenarios
from locust_scenarios import *  # noqa: F403

NAMES = {name: getattr(locust_scenarios, name) for name in locust_scenarios.__all__}
globals().update(NAMES)


class Visitor(FastHttpUser):
    wait_time = constant(0.2)

    @task
    def home(self) -> None:
        self.client.get("/")
