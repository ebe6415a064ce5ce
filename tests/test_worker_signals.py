"""A worker's exit code tells its Job what happened: sent SIGTERM (a drain, a preemption, a spot
reclaim) before the run is over, it exits 4, so that the worker Job replaces it instead of counting a
completion; told by its master to quit, it exits 0. Real `locust` processes on 127.0.0.1."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from locust_scenarios import ExitCode

from .conftest import LOCUSTFILES, base_url, clean_env, free_port, master_options, worker_options

pytestmark = pytest.mark.e2e

SELECTING = str(LOCUSTFILES / "selecting.py")
PROFILE = {"LOCUST_SCENARIO": "smoke", "LOCUST_SCENARIO_USERS": "4", "LOCUST_SCENARIO_DURATION": "2m"}


class Processes:
    """Locust processes of one test, their logs, and their clean-up."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "locust", "-f", SELECTING, *args],
                env=clean_env(PROFILE),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def context(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.started)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Started Locust processes, killed at the end of the test whatever happened."""
    started = Processes(tmp_path)
    yield started
    for process in started.started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_worker_sent_sigterm_during_the_run_exits_4(target: HTTPServer, processes: Processes) -> None:
    """A worker sent SIGTERM while it runs users exits 4 and tells the master it quit (which gives its
    users to the other worker); the other worker, told by the master to quit when the master ends,
    exits 0."""
    port = free_port()
    master = processes.start("master", [*master_options(port), "-H", base_url(target), "--enable-rebalancing"])
    drained = processes.start("drained", worker_options(port))
    other = processes.start("other", worker_options(port))
    _wait_for(lambda: len(target.log) > 20, 60, f"requests from both workers\n{processes.context()}")
    drained.send_signal(signal.SIGTERM)
    assert drained.wait(timeout=30) == ExitCode.INTERRUPTED, processes.context()
    _wait_for(lambda: "quit." in processes.log("master"), 30, f"the master to hear it\n{processes.context()}")
    served = len(target.log)
    _wait_for(lambda: len(target.log) > served + 10, 30, f"the other worker carrying on\n{processes.context()}")
    master.send_signal(signal.SIGTERM)
    assert master.wait(timeout=60) == ExitCode.INTERRUPTED, processes.context()
    assert other.wait(timeout=60) == 0, processes.context()
    assert "before the run was over" in processes.log("drained")
    assert "before the run was over" not in processes.log("other")


def test_a_worker_sent_sigterm_before_the_run_exits_4(target: HTTPServer, processes: Processes) -> None:
    """A worker connected to a master that still waits for its other workers has not run its part:
    SIGTERM then ends it with 4 as well (its Job replaces it, so the master gets the workers it expects)."""
    port = free_port()
    processes.start("master", [*master_options(port, workers=2), "-H", base_url(target)])
    early = processes.start("early", worker_options(port))
    _wait_for(lambda: "1 workers connected" in processes.log("master"), 60, f"the worker\n{processes.context()}")
    time.sleep(2)  # the worker installs Locust's handlers once the master has acknowledged it
    early.send_signal(signal.SIGTERM)
    assert early.wait(timeout=30) == ExitCode.INTERRUPTED, processes.context()
    assert len(target.log) == 0
