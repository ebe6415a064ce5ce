"""locust_scenarios.testing: bounded in-process runs for users' own test suites."""

from __future__ import annotations

import json
from pathlib import Path

import locust
import pytest
from locust import FastHttpUser, constant, task
from pytest_httpserver import HTTPServer

from locust_scenarios import ExitCode, SettingsError, Stage, StagesProfile
from locust_scenarios.testing import options_namespace, run_profile

from .conftest import base_url


class Visitor(FastHttpUser):
    abstract = True
    wait_time = constant(0.1)

    @task
    def home(self) -> None:
        self.client.get("/")


class Broken(Visitor):
    abstract = True

    @task
    def missing(self) -> None:
        self.client.get("/missing")


def test_run_profile_follows_the_plan_and_returns_stats(target: HTTPServer) -> None:
    """A short stages run reaches its plateau, sends requests and reports them with percentiles."""
    result = run_profile(
        [type("V", (Visitor,), {})],
        host=base_url(target),
        scenario="stages",
        settings={"stages": "1s:4,3s:4,1s:0"},
        timeout=30,
    )
    assert not result.timed_out
    assert result.peak_users == 4
    assert result.requests > 10
    assert result.failures == 0
    # Every request Locust counted reached the target; at most one per user was still in flight
    # when the run stopped (the target saw it, Locust never recorded it).
    assert result.requests <= len(target.log) <= result.requests + 4
    assert result.percentile(0.95) > 0
    # In seconds, like thresholds and the summary.
    assert result.percentile(0.95) == result.stats.total.get_response_time_percentile(0.95) / 1000
    assert result.planned[-1] == (5.0, 0.0)
    plateau = [users for t, users in result.history if 2.0 <= t <= 3.8]
    assert plateau
    assert all(users == 4 for users in plateau)


def test_run_profile_is_bounded_by_its_timeout(target: HTTPServer) -> None:
    """A run longer than ``timeout`` is stopped and flagged, not left running: its profile did not
    complete, so its exit code is 4 (interrupted), as for a signal on the command line."""
    result = run_profile(
        [type("V", (Visitor,), {})], host=base_url(target), scenario="smoke",
        settings={"users": 1, "duration": "1m", "ramp_up": "1s"}, timeout=2,
    )  # fmt: skip
    assert result.timed_out
    assert result.duration < 10
    assert result.exit_code == ExitCode.INTERRUPTED
    assert result.summary["interrupted"] is True


def test_run_profile_returns_the_command_lines_verdict(target: HTTPServer, tmp_path: Path) -> None:
    """A threshold that cannot pass: exit code 3, the failing expression named among the threshold
    results, no trust reason, and the very summary the command line writes to --scenario-summary,
    which says what the run record says."""
    summary, record = tmp_path / "summary.json", tmp_path / "record.json"
    result = run_profile(
        [type("V", (Visitor,), {})], host=base_url(target), scenario="stages",
        settings={
            "stages": "1s:2", "thresholds": "requests>100000,fail_ratio<1%",
            "summary": str(summary), "record": str(record),
        },
        timeout=20,
    )  # fmt: skip
    assert result.exit_code == ExitCode.THRESHOLD_FAILED
    assert not result.passed
    assert result.failed_thresholds == ["requests>100000"]
    assert [(r["threshold"], r["passed"]) for r in result.thresholds] == [
        ("requests>100000", False),
        ("fail_ratio<1%", True),
    ]
    assert result.inconclusive == []
    assert json.loads(summary.read_text()) == result.summary
    assert result.summary["totals"]["requests"] == result.requests
    recorded = json.loads(record.read_text())
    assert recorded["verdict"]["exit_code"] == result.exit_code
    assert recorded["verdict"]["thresholds"] == result.thresholds
    assert recorded["total"]["p95_seconds"] == result.summary["totals"]["p95_seconds"]
    assert recorded["run_id"] == result.summary["run_id"]


def test_run_profile_needs_an_events_object_of_its_own(target: HTTPServer) -> None:
    """Locust's global events carry the command line's listeners (signals, exit): run_profile refuses
    them, before anything is sent."""
    with pytest.raises(ValueError, match="Events"):
        run_profile([type("V", (Visitor,), {})], host=base_url(target), scenario="smoke", events=locust.events)
    assert len(target.log) == 0


def test_run_profile_counts_failures_with_their_messages(target: HTTPServer) -> None:
    """Failed requests are counted and their errors reported by message; without thresholds the exit
    code is Locust's own rule, 1."""
    result = run_profile(
        [type("B", (Broken,), {})], host=base_url(target), scenario="stages",
        settings={"stages": "1s:2,1s:2"}, timeout=20,
    )  # fmt: skip
    assert result.failures > 0
    assert result.exit_code == ExitCode.REQUEST_FAILED
    assert any("500" in message or "404" in message or "No handler" in message for message in result.errors)


def test_run_profile_takes_a_profile_class(target: HTTPServer) -> None:
    """A profile class (abstract or not) can be given instead of a name."""

    class Short(StagesProfile):
        abstract = True
        stages = (Stage(1, 2, "up"), Stage(1, 2, "hold"))

    result = run_profile([type("V", (Visitor,), {})], host=base_url(target), scenario=Short, timeout=20)
    assert result.peak_users == 2
    assert result.planned == [(0.0, 0.0), (1.0, 2.0), (2.0, 2.0)]


def test_run_profile_validates_settings_like_a_real_run(target: HTTPServer) -> None:
    """Bad settings raise SettingsError before anything is sent."""
    with pytest.raises(SettingsError, match="LOCUST_SCENARIO_USERS"):
        run_profile([type("V", (Visitor,), {})], host=base_url(target), scenario="load", settings={"users": 0})
    assert len(target.log) == 0


def test_options_namespace_rejects_unknown_settings() -> None:
    """A misspelt setting name is an error, not silently ignored."""
    with pytest.raises(KeyError, match="usres"):
        options_namespace({"usres": 3})
