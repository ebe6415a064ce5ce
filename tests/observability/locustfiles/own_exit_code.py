"""A locustfile whose own quitting listener sets exit code 3 (as a check of its own would).

Registered after the library's listeners, it runs before them (Locust fires quitting in reverse).
"""

from locust import FastHttpUser, constant, events, task
from locust.env import Environment

import locust_scenarios  # noqa: F401


@events.quitting.add_listener
def own_check(environment: Environment, **_kwargs: object) -> None:
    environment.process_exit_code = 3


class Observed(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def home(self) -> None:
        self.client.get("/")
