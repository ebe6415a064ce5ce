"""The replay profile reads its curve from a real Prometheus with a PromQL range query."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from locust_scenarios._cli.preview import plan_for
from tests.conftest import free_port

from .conftest import Prometheus, wait_for

PHASES = ((4.0, 10.0), (4.0, 100.0), (60.0, 40.0))
"""The recorded level: 10 for 4 s, then 100 for 4 s, then 40."""


@pytest.mark.e2e
def test_replay_from_promql_follows_the_recorded_series(prometheus: Callable[..., Prometheus]) -> None:
    """A gauge scraped by Prometheus at 10, then 100, then 40 is replayed through ``replay_query``: the
    plan's peak is the users given and sits in the middle third; the first and last thirds are at
    a tenth and two fifths of it."""
    first_scrape: list[float] = []

    def metrics(_request: Request) -> Response:
        now = time.monotonic()
        if not first_scrape:
            first_scrape.append(now)
        elapsed, value = now - first_scrape[0], PHASES[-1][1]
        for length, level in PHASES:
            if elapsed < length:
                value = level
                break
            elapsed -= length
        return Response(f"# TYPE recorded_level gauge\nrecorded_level {value}\n", content_type="text/plain")

    target = HTTPServer(host="127.0.0.1", port=free_port())
    target.expect_request("/metrics").respond_with_handler(metrics)
    target.start()
    try:
        server = prometheus([f"127.0.0.1:{target.port}"])
        wait_for(lambda: first_scrape and time.monotonic() - first_scrape[0] > 12.5, 60, what="12 s of samples")
        started = time.time() - (time.monotonic() - first_scrape[0])
        lookback = time.time() - started
        shape, plan = plan_for(
            "replay",
            [
                "--scenario-replay-source",
                server.url,
                "--scenario-replay-query",
                "recorded_level",
                "--scenario-replay-range",
                f"{lookback:.3f}s",
                "--scenario-users",
                "50",
                "--scenario-duration",
                "60s",
            ],
        )
    finally:
        target.clear()
        target.stop()
    assert shape.selected_name == "replay"  # type: ignore[attr-defined]
    assert plan.peak == pytest.approx(50)
    third = plan.duration / 3
    # The recording spans 12 s or a little more (a scrape or two of 40 at the end): 4 s phases.
    assert plan.level(third * 0.4) == pytest.approx(5, abs=1.5)
    assert plan.level(third * 1.5) == pytest.approx(50, abs=2)
    assert plan.level(plan.duration * 0.95) == pytest.approx(20, abs=2)
