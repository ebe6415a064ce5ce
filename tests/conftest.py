"""Shared fixtures: a real HTTP target (pytest-httpserver) and Locust subprocesses on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

LOCUSTFILES = Path(__file__).parent / "locustfiles"
REPO = Path(__file__).parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without any LOCUST_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def locust(
    args: list[str], env: Mapping[str, str] | None = None, timeout: float = 90, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m locust ARGS`` to completion (bounded by ``timeout``) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "locust", *args],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def target(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """A local HTTP target answering 200 on / and /api/items."""
    httpserver.expect_request("/").respond_with_data("ok")
    httpserver.expect_request("/api/items").respond_with_json([{"id": 1}])
    yield httpserver
    httpserver.clear()


def base_url(server: HTTPServer) -> str:
    """The server's URL without the trailing slash."""
    return server.url_for("/").rstrip("/")


def master_options(port: int, workers: int = 2) -> list[str]:
    """Locust options for a headless master bound to 127.0.0.1:``port`` that waits for ``workers``."""
    return ["--master", "--headless", "--expect-workers", str(workers),
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]  # fmt: skip


def worker_options(port: int) -> list[str]:
    """Locust options for a worker of the master on 127.0.0.1:``port``."""
    return ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]


def run_master_and_workers(
    locustfile: str,
    host: str,
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    worker_logs: Sequence[Path] = (),
    master_args: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """A headless master and two workers on 127.0.0.1 running ``locustfile`` to completion (bounded).

    The workers' stderr goes to ``worker_logs`` when given (two paths), else nowhere; workers that do
    not quit with the master are killed by PID. Returns the master's completed process.
    """
    port = free_port()
    command = [sys.executable, "-m", "locust", "-f", locustfile]
    logs = [path.open("w") for path in worker_logs]
    outputs: list[Any] = logs or [subprocess.DEVNULL, subprocess.DEVNULL]
    workers = [
        subprocess.Popen([*command, *worker_options(port)], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=output)
        for output in outputs
    ]
    try:
        return subprocess.run(
            [*command, *master_options(port), "-H", host, *master_args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)
        for log in logs:
            log.close()


def answer_after(seconds: float, body: str = "slow") -> Callable[[Request], Response]:
    """A pytest-httpserver handler that answers ``body`` after ``seconds``."""

    def answer(_request: Request) -> Response:
        time.sleep(seconds)
        return Response(body)

    return answer


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel of this checkout, built once per session with ``python -m build``."""
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}
