"""The config-driven user under the selecting shape, with an optional hog that stalls the event loop.

``LAG_HOG`` = ``"BUSY_MS/PERIOD_MS"`` spawns, at each run start, a greenlet that keeps the CPU busy for
BUSY_MS without yielding, then sleeps PERIOD_MS - BUSY_MS: the event loop then runs late the way a slow
listener, a long scrape or a busy machine makes it, while the users' own work stays the same.
"""

import os
import time

import gevent
from locust import events

from locust_scenarios import EndpointsUser, ScenarioShape


class Endpoints(EndpointsUser):
    pass


class Shape(ScenarioShape):
    pass


def _hog(busy: float, period: float) -> None:
    while True:
        until = time.perf_counter() + busy
        while time.perf_counter() < until:
            pass
        gevent.sleep(period - busy)


@events.test_start.add_listener
def _start_hog(environment, **_kwargs):  # type: ignore[no-untyped-def]
    hog = os.environ.get("LAG_HOG")
    if hog:
        busy, period = (float(part) / 1000 for part in hog.split("/"))
        gevent.spawn(_hog, busy, period)
