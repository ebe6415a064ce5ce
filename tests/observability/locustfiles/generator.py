"""A user paced by the selecting shape (open model with LOCUST_SCENARIO_RATE) that can burn CPU.

``BURN_CPU_SECONDS`` makes each iteration spin the CPU that long before its request: a generator
that saturates its own core, as a heavy user script would.
"""

import os
import time

from locust import FastHttpUser, task

from locust_scenarios import ScenarioShape, scenario_wait_time

BURN_SECONDS = float(os.environ.get("BURN_CPU_SECONDS", "0"))


class Paced(FastHttpUser):
    wait_time = scenario_wait_time()

    @task
    def slow(self) -> None:
        deadline = time.process_time() + BURN_SECONDS  # CPU time, so a busy machine cannot shorten it
        while time.process_time() < deadline:
            pass
        self.client.get("/slow")


class Shape(ScenarioShape):
    pass
