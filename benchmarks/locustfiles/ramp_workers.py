"""A user that visits one page under the selecting shape; ``UNCACHED_DEFAULTS=1`` undoes the library's
one-time computation of Locust's default options on workers (to measure what it saves)."""

import os

from locust import FastHttpUser, argument_parser, constant, events, task

from locust_scenarios import ScenarioShape


class Visitor(FastHttpUser):
    wait_time = constant(0.2)

    @task
    def home(self) -> None:
        self.client.get("/")


class Shape(ScenarioShape):
    pass


@events.init.add_listener
def _uncached(environment, **_kwargs):  # type: ignore[no-untyped-def]
    # runs after the library's own init listener (registered when the library was imported)
    if os.environ.get("UNCACHED_DEFAULTS") and hasattr(argument_parser.default_args_dict, "__wrapped__"):
        argument_parser.default_args_dict = argument_parser.default_args_dict.__wrapped__
