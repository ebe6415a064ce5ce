"""Run records for tests that need one without running load: Locust's own statistics objects, filled
with logged requests, turned into a record by the library's ``build_record``."""

from __future__ import annotations

import random
from typing import Any

from locust.env import Environment

from locust_scenarios._records.record import build_record


def record_of(
    requests: dict[tuple[str, str], list[float]],
    *,
    failures: dict[tuple[str, str], int] | None = None,
    thresholds: list[dict[str, Any]] | None = None,
    exit_code: int = 0,
    run_id: str = "test-run",
    inconclusive: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A record of requests with the given response times (ms) per (method, name); the first
    ``failures[(method, name)]`` of them failed with a 500."""
    environment = Environment()
    for (method, name), times in requests.items():
        failed = (failures or {}).get((method, name), 0)
        for index, milliseconds in enumerate(times):
            environment.stats.log_request(method, name, milliseconds, 10)
            if index < failed:
                environment.stats.log_error(method, name, "HTTPError('500 Server Error')")
    summary = {
        "run_id": run_id,
        "exit_code": exit_code,
        "passed": exit_code == 0,
        "interrupted": False,
        "aborted": None,
        "thresholds": thresholds or [],
        "inconclusive": inconclusive or [],
        "breach": None,
        "started": "2026-01-01T00:00:00+00:00",
        "ended": "2026-01-01T00:01:00+00:00",
        "duration_seconds": 60.0,
    }
    return build_record(environment, summary, tags={"environment": "test"})


def lognormal_times(seed: int, n: int, median_ms: float) -> list[float]:
    """``n`` response times in ms from a log-normal distribution (sigma 0.4) with a fixed seed."""
    rng = random.Random(seed)
    return [rng.lognormvariate(0, 0.4) * median_ms for _ in range(n)]
