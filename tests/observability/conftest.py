"""Fixtures for the observability tests: Debian's Prometheus, promtool and Pushgateway on 127.0.0.1.

Binaries are found through ``PROMETHEUS``, ``PROMTOOL`` and ``PUSHGATEWAY`` first, then ``PATH``
(``tools/install-observability-tools.sh`` installs them). A missing binary fails the test that needs
it, with the way to get it: these tests never skip.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import clean_env, free_port

_BINARIES = {"prometheus": "PROMETHEUS", "promtool": "PROMTOOL", "prometheus-pushgateway": "PUSHGATEWAY"}


def tool(name: str) -> str:
    """Path of a Prometheus binary: its environment variable, else PATH; a clear failure when absent."""
    variable = _BINARIES[name]
    found = os.environ.get(variable) or shutil.which(name)
    if not found:
        pytest.fail(
            f"{name} not found: set {variable} or run tools/install-observability-tools.sh "
            f"(Debian packages prometheus and prometheus-pushgateway)"
        )
    return found


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``: status, headers and body (HTTP errors are returned, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(condition: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except OSError:
            last = None
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Prometheus:
    """A running Prometheus: its URL and a PromQL client over the HTTP API."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def query(self, expression: str, at: float | None = None) -> list[dict[str, Any]]:
        """The result vector of an instant query (fails the test on a query error)."""
        params = {"query": expression}
        if at is not None:
            params["time"] = f"{at:.3f}"
        status, _, body = http_get(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}")
        reply = json.loads(body)
        assert status == 200, f"{expression}: {reply}"
        assert reply["status"] == "success", f"{expression}: {reply}"
        result: list[dict[str, Any]] = reply["data"]["result"]
        return result

    def value(self, expression: str) -> float:
        """The single value of a query returning one series."""
        result = self.query(expression)
        assert len(result) == 1, f"{expression}: {result}"
        return float(result[0]["value"][1])

    def targets_up(self) -> bool:
        """Whether every scrape target answered its last scrape."""
        return bool(self.query("up")) and all(r["value"][1] == "1" for r in self.query("up"))


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[..., Prometheus]]:
    """Start Prometheus scraping the given ``host:port`` targets every second; stopped by PID."""
    started: list[subprocess.Popen[bytes]] = []

    def start(targets: list[str], rule_files: list[Path] | None = None, flags: tuple[str, ...] = ()) -> Prometheus:
        home = tmp_path / f"prometheus-{len(started)}"
        home.mkdir()
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files or []],
            "scrape_configs": [{"job_name": "locust", "static_configs": [{"targets": targets}]}],
        }
        (home / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        port = free_port()
        log = home / "prometheus.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    tool("prometheus"),
                    f"--config.file={home / 'prometheus.yml'}",
                    f"--storage.tsdb.path={home / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                    *flags,
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        server = Prometheus(f"http://127.0.0.1:{port}", process, log)
        wait_for(lambda: http_get(f"{server.url}/-/ready")[0] == 200, 30, what="Prometheus to be ready")
        return server

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """Debian's Pushgateway on 127.0.0.1 (its URL); stopped by PID."""
    port = free_port()
    log = tmp_path / "pushgateway.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [tool("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_get(f"{url}/-/ready")[0] == 200, 30, what="the Pushgateway to be ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


LOCUSTFILES = Path(__file__).parent / "locustfiles"
OBSERVED = str(LOCUSTFILES / "observed.py")
OBSERVED_PROFILE = str(LOCUSTFILES / "observed_profile.py")
SPAWNING_COMPLETE = ("All users spawned", "Spawning is complete")
"""What a master logs when spawning ends: the second when workers' reports arrive late (a busy machine)."""


def serve_observed(httpserver: HTTPServer, fail_every: int | None = None) -> HTTPServer:
    """/ answers at once, /slow after 5 to 60 ms (a fixed cycle), /fail with 500.

    With ``fail_every``, every that-many-th /slow request answers 503 instead.
    """
    delays = itertools.cycle([0.005, 0.012, 0.02, 0.03, 0.045, 0.06, 0.008, 0.015])
    calls = itertools.count(1)

    def slow(_request: Request) -> Response:
        time.sleep(next(delays))
        if fail_every and next(calls) % fail_every == 0:
            return Response("busy", status=503)
        return Response("slow")

    httpserver.expect_request("/").respond_with_data("ok")
    httpserver.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/fail").respond_with_data("no", status=500)
    return httpserver


@pytest.fixture
def observed_target(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """A healthy local target (see ``serve_observed``)."""
    yield serve_observed(httpserver)
    httpserver.clear()


@pytest.fixture
def flaky_target(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """The same target where one /slow request in ten fails with 503 (so errors get exported)."""
    yield serve_observed(httpserver, fail_every=10)
    httpserver.clear()


@dataclass
class LocustRun:
    """A Locust subprocess whose combined output goes to a file that tests can read while it runs."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str | tuple[str, ...], timeout: float) -> None:
        """Wait until ``text`` (or any of several texts) appears in the output (fails with its tail otherwise)."""
        texts = (text,) if isinstance(text, str) else text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.output()
            if any(each in output for each in texts):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"{text!r} did not appear in the output:\n{self.output()[-3000:]}")

    def finish(self, timeout: float) -> int:
        """Wait for the exit code (killing the process if it overruns ``timeout``)."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"Locust did not finish within {timeout}s:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        """Kill the process if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_locust(tmp_path: Path) -> Iterator[Callable[..., LocustRun]]:
    """Start ``python -m locust ARGS`` in ``tmp_path`` with a clean environment; all stopped at the end."""
    runs: list[LocustRun] = []

    def start(args: list[str], env: dict[str, str] | None = None, name: str = "locust") -> LocustRun:
        log = tmp_path / f"{name}-{len(runs)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "locust", *args],
                env=clean_env(env),
                cwd=tmp_path,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        run = LocustRun(process, log)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.stop()
