"""A pytest suite that load-tests a service and fails when a threshold fails.

    pytest examples/test_with_pytest.py                      # against the demo target it starts
    SERVICE_URL=http://127.0.0.1:8000 pytest examples/test_with_pytest.py

``run_profile`` runs the users under a profile in this process, bounded by the plan and by
``timeout``, with the same checks, thresholds and load-generator verdict as ``locust-scenarios run``:
``result.exit_code`` is the code the command line would exit with, and ``result.failed_thresholds``
names the expressions that failed. The second test cannot pass (no target answers 100,000 requests
in a few seconds here): it is marked as an expected failure to show what a failing threshold does
to a test; ``pytest --runxfail`` shows it failing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from locust import FastHttpUser, constant, task

from locust_scenarios.testing import RunResult, run_profile

SHORT = {"users": 2, "duration": "3s", "ramp_up": "1s"}
"""A short smoke profile: two users for three seconds."""


class Browse(FastHttpUser):
    """Reads the item list, five times a second per user."""

    wait_time = constant(0.2)

    @task
    def items(self) -> None:
        self.client.get("/api/items")


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """The service under test: ``SERVICE_URL``, or the demo target on a free port of 127.0.0.1."""
    if os.environ.get("SERVICE_URL"):
        yield os.environ["SERVICE_URL"]
        return
    target = subprocess.Popen(
        [sys.executable, "-m", "locust_scenarios", "target", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert target.stdout is not None
        yield target.stdout.readline().strip()
    finally:
        target.terminate()
        target.wait(timeout=15)
        if target.stdout is not None:
            target.stdout.close()


def smoke_test(service: str, thresholds: str) -> RunResult:
    """The short smoke profile against ``service``, judged by ``thresholds``."""
    settings = {**SHORT, "thresholds": thresholds}
    return run_profile([Browse], host=service, scenario="smoke", settings=settings, timeout=60)


def test_the_service_meets_its_thresholds(service: str) -> None:
    """Every threshold passes: the run's exit code is 0, as ``locust-scenarios run`` would exit."""
    result = smoke_test(service, "p95<2s,fail_ratio<1%")
    assert result.exit_code == 0, f"failed: {result.failed_thresholds}, inconclusive: {result.inconclusive}"
    assert result.requests > 0


@pytest.mark.xfail(strict=True, reason="a threshold that cannot pass here fails the test (pytest --runxfail shows it)")
def test_a_failing_threshold_fails_the_test(service: str) -> None:
    """A threshold that fails makes the exit code 3 and names the expression: the assertion fails."""
    result = smoke_test(service, "requests>100000,fail_ratio<1%")
    assert result.exit_code == 0, f"exit code {result.exit_code}, failed thresholds: {result.failed_thresholds}"
