"""The many-workers control: plain Locust, no library, with a LoadTestShape for the same plan.

The plan comes from ``MANY_WORKERS_PLAN`` = ``peak,ramp,hold`` (users, seconds, seconds): a linear
ramp to the peak, a hold, and a 10 s ramp down, as the library's ``stages`` profile draws it.
"""

import os

from locust import FastHttpUser, LoadTestShape, constant, task

PEAK, RAMP, HOLD = (int(part) for part in os.environ.get("MANY_WORKERS_PLAN", "40,20,40").split(","))


class Light(FastHttpUser):
    wait_time = constant(1)

    @task
    def home(self) -> None:
        self.client.get("/")


class Plan(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        rate = max(1.0, PEAK / RAMP)
        if elapsed < RAMP:
            return max(1, round(PEAK * elapsed / RAMP)), rate
        if elapsed < RAMP + HOLD:
            return PEAK, rate
        if elapsed < RAMP + HOLD + 10:
            return round(PEAK * (RAMP + HOLD + 10 - elapsed) / 10), PEAK / 10
        return None
