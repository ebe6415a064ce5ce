"""Targets that misbehave: one that never answers, one that dies and comes back.

A run in which no request completed is never a pass: inconclusive (5) without thresholds, a failed
threshold (3) with them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import LOCUSTFILES

from .conftest import LocustProcess, SilentTarget

pytestmark = pytest.mark.e2e

SELECTING = str(LOCUSTFILES / "selecting.py")


def test_target_that_never_answers_is_inconclusive_without_thresholds(
    start_locust: Callable[..., LocustProcess], silent_target: SilentTarget
) -> None:
    """Connections are accepted but no response ever comes: 0 requests completed, exit 5, not a pass."""
    run = start_locust(
        ["-f", SELECTING, "--headless", "-H", silent_target.url],
        {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "3s:2"},
    )
    assert run.wait(timeout=60) == 5, run.output[-3000:]
    [summary] = run.summaries()
    assert summary["passed"] is False
    assert summary["inconclusive"][0]["reason"] == "no_requests"
    assert silent_target.accepted >= 1


def test_target_that_never_answers_fails_the_thresholds(
    start_locust: Callable[..., LocustProcess], silent_target: SilentTarget
) -> None:
    """With thresholds, a run without completed requests fails them for lack of samples: exit 3."""
    run = start_locust(
        ["-f", SELECTING, "--headless", "-H", silent_target.url],
        {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "3s:2", "LOCUST_SCENARIO_THRESHOLDS": "failures<10"},
    )
    assert run.wait(timeout=60) == 3, run.output[-3000:]
    [summary] = run.summaries()
    assert summary["thresholds"][0]["passed"] is False
