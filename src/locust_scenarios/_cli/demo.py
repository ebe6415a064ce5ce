"""``locust-scenarios demo``: a short profile against the embedded target, then what happened.

Nothing to configure and nothing leaves the machine: the target listens on a free 127.0.0.1 port,
the config-driven user browses it with a little think time, and the run is bounded by the
profile's duration (plus a margin).
"""

from __future__ import annotations

import itertools
from typing import Any

from locust.log import setup_logging
from locust.stats import print_error_report, print_percentile_stats, print_stats

from locust_scenarios._demo_target import serve
from locust_scenarios._settings.options import format_duration, parse_duration
from locust_scenarios._users.templates import EndpointsUser
from locust_scenarios.testing import RunResult, run_profile

__all__ = ["DemoShopper", "run_demo"]

DEMO_ENDPOINTS: list[dict[str, Any]] = [
    {"path": "/", "weight": 1},
    {"path": "/api/items", "weight": 4},
    {"path": "/api/items/7", "name": "/api/items/[id]", "weight": 3},
    {"method": "POST", "path": "/api/items", "json": {"name": "demo"}, "status": [201], "weight": 1},
]


DEMO_THINK_TIME = "100ms-500ms"
"""Shorter than the templates' default of 1 s, so a 25 s demo has enough requests to show."""


class DemoShopper(EndpointsUser):
    """Browses the demo target's catalogue and now and then adds an item."""

    abstract = True
    endpoints = DEMO_ENDPOINTS


def followed(result: RunResult, step: float) -> list[tuple[float, float, int]]:
    """``(t, planned, running)`` every ``step`` seconds: the profile as it was actually followed."""
    rows: list[tuple[float, float, int]] = []
    planned = dict(result.planned)
    points = sorted(planned.items())
    for t, users in result.history:
        if rows and t - rows[-1][0] < step:
            continue
        rows.append((t, _interpolate(points, t), users))
    return rows


def _interpolate(points: list[tuple[float, float]], t: float) -> float:
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1] if points else 0.0


def run_demo(duration: str = "25s", users: int = 10, scenario: str = "load") -> int:
    """Serve the target, run the profile in-process, print Locust's summary and the curve followed.

    Returns 0 when the run completed without failed requests, 1 otherwise.
    """
    seconds = parse_duration(duration)
    setup_logging("WARNING")  # Locust's summary tables print through its stats logger
    server, url = serve()
    print(f"demo target listening on {url}")
    print(
        f"running the {scenario} profile: {users} users for {format_duration(seconds)}, "
        f"each waiting {DEMO_THINK_TIME} between requests (think time)\n"
    )
    try:
        shopper = type("Shopper", (DemoShopper,), {"abstract": False})
        result = run_profile(
            [shopper],
            host=url,
            scenario=scenario,
            settings={"users": users, "duration": duration, "think_time": DEMO_THINK_TIME},
            timeout=seconds + 30,
        )
    finally:
        server.stop()
    print_stats(result.stats, current=False)
    print_percentile_stats(result.stats)
    print_error_report(result.stats)
    print("\nthe profile as followed (planned users vs running users):")
    print(f"  {'t':>6}  {'planned':>7}  {'running':>7}")
    for t, planned, running in followed(result, step=max(seconds / 12, 1.0)):
        bar = "█" * running
        print(f"  {format_duration(round(t)):>6}  {planned:>7.1f}  {running:>7}  {bar}")
    ok = result.failures == 0 and not result.timed_out and result.requests > 0
    print(f"\n{result.requests} requests, {result.failures} failed: {'ok' if ok else 'FAILED'}")
    print(
        "\nnext: serve this target with `locust-scenarios target --port 8000`, then run a profile of your own:\n"
        "  LOCUST_SCENARIO=smoke locust -f examples/scenarios.py --headless -H http://127.0.0.1:8000\n"
        "or `locust-scenarios preview smoke` to see a profile first (README: 'A quick tour')."
    )
    return 0 if ok else 1
