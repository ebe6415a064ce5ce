"""A FastHttpUser spreading its requests over BENCH_NAMES request names (default 1).

With BENCH_EXPORTER=1 the library is imported, so its exporter serves LOCUST_PROMETHEUS_PORT.
"""

import itertools
import os

from locust import FastHttpUser, constant, task

if os.environ.get("BENCH_EXPORTER") == "1":
    import locust_scenarios  # noqa: F401

_NAMES = [f"/items/{index}" for index in range(int(os.environ.get("BENCH_NAMES", "1")))]
_NEXT = itertools.cycle(_NAMES)


class Named(FastHttpUser):
    wait_time = constant(0)

    @task
    def item(self) -> None:
        self.client.get("/", name=next(_NEXT))
