"""Fixtures for the fault tests: Locust processes that are signalled or starved, and hostile targets.

Every process runs on 127.0.0.1 and is stopped by its own PID; every wait is bounded (a guard
against a hang, not a measure of speed).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import clean_env

SUMMARY_EVENT = '"event": "locust_scenarios.summary"'


class LocustProcess:
    """A ``python -m locust`` subprocess whose output goes to a file (no pipe can fill and block it)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._handle = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "locust", *args],
            env=clean_env(env),
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )

    @property
    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        """Block until ``text`` appears in the output; fail if the process ends or the guard expires."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                pytest.fail(f"the process ended ({self.process.returncode}) before printing {text!r}:\n"
                            f"{self.output[-3000:]}")  # fmt: skip
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not printed within {timeout}s:\n{self.output[-3000:]}")
            time.sleep(0.1)

    def signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to this process."""
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        """The exit code; fails the test if the process is still running after ``timeout`` seconds."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {timeout}s later:\n{self.output[-3000:]}")

    def summaries(self) -> list[dict[str, Any]]:
        """The JSON summary lines the process logged."""
        found = []
        for line in self.output.splitlines():
            if SUMMARY_EVENT in line:
                found.append(json.loads(line[line.index("{") :]))
        return found

    def stop(self) -> None:
        """Kill the process if it still runs (test teardown)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._handle.close()


@pytest.fixture
def start_locust(tmp_path: Path) -> Iterator[Callable[..., LocustProcess]]:
    """Start Locust processes (``start_locust(args, env, name)``); each is killed at teardown if alive."""
    started: list[LocustProcess] = []

    def start(args: list[str], env: dict[str, str] | None = None, name: str = "locust") -> LocustProcess:
        process = LocustProcess(args, env or {}, tmp_path / f"{name}-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


class SilentTarget:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a hung service)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL of the target."""
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(connection)

    def close(self) -> None:
        """Stop accepting and drop every held connection."""
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._held:
            connection.close()
        self.sock.close()


@pytest.fixture
def silent_target() -> Iterator[SilentTarget]:
    """A target that accepts connections and never sends a byte."""
    target = SilentTarget()
    yield target
    target.close()


def scrape_status(port: int) -> int:
    """The HTTP status of ``/metrics`` on 127.0.0.1:``port`` (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0
