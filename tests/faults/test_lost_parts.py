"""Parts of a test that die mid-run: the target (and it comes back), a worker (with and without
rebalancing). The run always ends by itself with one summary and an honest exit code.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import LOCUSTFILES, base_url, clean_env, free_port, master_options, worker_options

from .conftest import LocustProcess

pytestmark = pytest.mark.e2e

SELECTING = str(LOCUSTFILES / "selecting.py")


class Target:
    """The demo target as its own process on a fixed port, so that it can die and come back."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._output: IO[str] | None = None

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving; wait until it listens."""
        self._output = self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "locust_scenarios", "target", "--port", str(self.port)],
            env=clean_env(), stdout=self._output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while "http://" not in self.log.read_text():
            assert time.monotonic() < deadline, "the target did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        """Kill the target process (SIGKILL: no goodbye to open connections)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None


@pytest.fixture
def own_target(tmp_path: Path) -> Iterator[Target]:
    """A target process this test can kill and restart."""
    target = Target(tmp_path / "target.log")
    target.start()
    yield target
    target.kill()


def test_target_that_dies_and_returns(start_locust: Callable[..., LocustProcess], own_target: Target) -> None:
    """The target dies for a few seconds mid-run and comes back: the run goes on, then ends by itself.

    The failed requests make it exit 1 (no thresholds: Locust's rule); requests succeed again after.
    """
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "14s:2"}
    run = start_locust(["-f", SELECTING, "--headless", "-H", own_target.url, "--only-summary"], env)
    time.sleep(4)
    own_target.kill()
    time.sleep(3)
    own_target.start()
    assert run.wait(timeout=90) == 1, run.output[-3000:]
    [summary] = run.summaries()
    totals = summary["totals"]
    assert totals["failures"] > 0
    assert totals["requests"] > totals["failures"]
    assert summary["passed"] is False


def _running_with_two_workers(
    start_locust: Callable[..., LocustProcess],
    target: HTTPServer,
    port: int,
    env: dict[str, str],
    extra: list[str] | None = None,
) -> tuple[LocustProcess, list[LocustProcess]]:
    """A master on ``port`` and two workers, once the target has seen 20 requests of their run."""
    master = start_locust(
        ["-f", SELECTING, *master_options(port), *(extra or []), "-H", base_url(target)], env, "master"
    )
    workers = [start_locust(["-f", SELECTING, *worker_options(port)], env, f"worker{n}") for n in range(2)]
    deadline = time.monotonic() + 60
    while len(target.log) < 20:
        assert time.monotonic() < deadline, master.output[-3000:]
        time.sleep(0.1)
    return master, workers


@pytest.mark.parametrize("rebalancing", [False, True], ids=["no rebalancing", "rebalancing"])
def test_killed_worker_ends_the_run_with_a_summary(
    start_locust: Callable[..., LocustProcess], target: HTTPServer, rebalancing: bool
) -> None:
    """A worker killed mid-run: the run completes on the others and ends by itself with one summary
    naming the lost worker. Without rebalancing its users are never replaced: inconclusive (5), with
    the reason; with rebalancing they are, and the lost worker is not held against the run.
    """
    port = free_port()
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "16s:4"}
    extra = ["--enable-rebalancing"] if rebalancing else []
    master, workers = _running_with_two_workers(start_locust, target, port, env, extra)
    workers[0].process.send_signal(signal.SIGKILL)
    if rebalancing:
        time.sleep(1)
        workers.append(start_locust(["-f", SELECTING, *worker_options(port)], env, "replacement"))
    code = master.wait(timeout=120)
    [summary] = master.summaries()
    assert summary["totals"]["requests"] > 0
    assert len(summary["workers_lost"]) == 1
    reasons = [reason["reason"] for reason in summary["inconclusive"]]
    if rebalancing:  # the lost users were started elsewhere: losing the worker is no reason by itself
        assert "workers_lost" not in reasons, reasons
        # The generator's own judgement may still find the dip beyond its tracking tolerance.
        assert set(reasons) <= {"tracking"}, reasons
        assert code == (5 if reasons else 0), master.output[-3000:]
    else:  # the load stayed below the plan: the verdict says so (the users' tracking error may say it too)
        assert code == 5, master.output[-3000:]
        assert "workers_lost" in reasons, reasons
        assert set(reasons) <= {"workers_lost", "tracking"}, reasons
    for worker in workers[1:]:
        assert worker.wait(timeout=30) == 0, worker.output[-3000:]


def test_a_worker_that_quits_has_its_users_started_on_the_others(
    start_locust: Callable[..., LocustProcess], target: HTTPServer
) -> None:
    """A worker that quits gracefully mid-run (SIGTERM: it tells the master) on a plateau, without
    rebalancing: Locust starts its users on the remaining worker at once, so the run is back at the
    plan (4 users running at the end), the lost worker is listed but is no reason by itself, and the
    master's log says what happened instead of "not started elsewhere"."""
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "1s:4,15s:4"}
    master, workers = _running_with_two_workers(start_locust, target, free_port(), env)
    workers[0].process.send_signal(signal.SIGTERM)
    code = master.wait(timeout=120)
    [summary] = master.summaries()
    assert len(summary["workers_lost"]) == 1, master.output[-3000:]
    reasons = [reason["reason"] for reason in summary["inconclusive"]]
    assert "workers_lost" not in reasons, reasons
    assert set(reasons) <= {"tracking"}, reasons  # a short dip may still exceed the tracking tolerance
    assert code == (5 if reasons else 0), master.output[-3000:]
    assert summary["generator"]["users"]["actual"] == 4
    assert "1 worker(s) quit during the run" in master.output
    assert "Locust started their users on the remaining workers" in master.output
    assert "not started elsewhere" not in master.output
    assert workers[1].wait(timeout=30) == 0, workers[1].output[-3000:]
