"""`locust-scenarios wait`'s progress line against a real exporter: a short real Locust run (the plugin's
exporter on 127.0.0.1) against the demo target, read the way a cluster serves it, through the replaying
kubectl's `get --raw .../services/NAME:metrics/proxy/metrics`, which fetches the exporter over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from locust_scenarios import ExitCode
from locust_scenarios._cli.main import main
from tests.conftest import LOCUSTFILES, clean_env, free_port
from tests.k8s.kubectl_replay import Replay

pytestmark = pytest.mark.e2e

JOB = "locust-scenarios-master-1129-0334"
PROGRESS = re.compile(
    r"progress \S+ · stages: (?P<stage>.+?) · users (?P<users>\d+)/(?P<plan>[\d.]+) · (?P<rate>[\d.,?]+) req/s · "
    r"failures (?P<failures>[\d.]+)% of (?P<requests>[\d,]+) · p95 (?P<p95>[\d,]+) ms · thresholds passing so far \(1\)"
)


@dataclass(frozen=True)
class LiveRun:
    """A Locust run in progress and where its exporter listens."""

    process: subprocess.Popen[str]
    metrics: str


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return ""


@pytest.fixture(scope="module")
def live_run() -> Iterator[LiveRun]:
    """The demo target, and a real 20-second Locust run of 4 users with a passing threshold and its
    exporter on 127.0.0.1, lingering 30 s after the profile so the stopped state can be read."""
    target = subprocess.Popen(
        [sys.executable, "-m", "locust_scenarios", "target", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
    )
    assert target.stdout is not None
    url = target.stdout.readline().strip()
    port = free_port()
    run = subprocess.Popen(
        [
            *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILES / "selecting.py"), "--headless", "--host", url),
            *("--scenario", "stages", "--scenario-stages", "4s:4,16s:4", "--scenario-thresholds", "p95<5s"),
            *("--prometheus-port", str(port), "--prometheus-host", "127.0.0.1", "--prometheus-linger", "30"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
    )
    metrics = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while 'locust_users{user_class="Visitor"} 4' not in _get(metrics + "/metrics"):
            assert time.monotonic() < deadline, "the run did not reach 4 users within 30 s"
            time.sleep(0.2)
        yield LiveRun(run, metrics)
    finally:
        for process in (run, target):
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.terminate()  # a second signal ends the exporter's linger at once
                process.wait(timeout=30)


def test_progress_line_from_the_real_exporter(
    live_run: LiveRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While the Job runs, each poll prints one line with the profile's stage, users against the plan,
    requests per second, the failure ratio, the p95 and the thresholds so far, read from the exporter
    through the service proxy; the Job's completion then ends the wait with its code."""
    replay = Replay(tmp_path)
    replay.on("get", "job", JOB, answers=[{"fixture": "job-running.json"}] * 4 + [{"fixture": "job-complete.json"}])
    replay.on("get", "pods", answers=[{"fixture": "pods-running.json"}] * 4 + [{"fixture": "pods-exit-0.json"}])
    replay.on("get", "services", answers=[{"fixture": "services.json"}])
    replay.on("get", "--raw", answers=[{"proxy": live_run.metrics}])
    replay.on("logs", answers=[{"text": ""}])
    code = main(["wait", JOB, "-n", "locust", "--interval", "1s", "--kubectl", str(replay.write())])
    out = capsys.readouterr().out
    assert code == ExitCode.PASSED
    lines = [PROGRESS.search(line) for line in out.splitlines() if line.startswith("progress")]
    assert len(lines) == 4, out
    assert all(lines), out
    found = [match for match in lines if match is not None]
    assert all(m["stage"] in ("stage 1", "stage 2") and m["users"] == "4" for m in found), out
    assert found[-1]["plan"] == "4", out
    rates = [float(m["rate"].replace(",", "")) for m in found[1:]]
    assert all(rate > 0 for rate in rates), out  # 4 users at constant(0.2): about 20 req/s
    requests = [int(m["requests"].replace(",", "")) for m in found]
    assert requests == sorted(requests)
    assert requests[-1] > requests[0]
    raw = [line for line in (tmp_path / "calls.log").read_text().splitlines() if "--raw" in line]
    assert "/api/v1/namespaces/locust/services/locust-scenarios-master:metrics/proxy/metrics" in raw[0]


def test_deliveryhero_run_ends_when_the_metrics_say_stopped(
    live_run: LiveRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """deliveryhero's master stays up after the profile: the wait ends when its exporter's runner state is
    stopped, with the verdict the metrics imply (the threshold passed: 0)."""
    replay = Replay(tmp_path)
    replay.on("get", "jobs", answers=[{"fixture": "pods-none.json"}])
    replay.on("get", "pods", answers=[{"fixture": "deliveryhero-pods-running.json"}])
    replay.on("get", "services", answers=[{"fixture": "deliveryhero-services.json"}])
    replay.on("get", "--raw", answers=[{"proxy": live_run.metrics}])
    code = main(["wait", "-n", "locust", "--interval", "1s", "--timeout", "90s", "--kubectl", str(replay.write())])
    out = capsys.readouterr().out
    assert code == ExitCode.PASSED
    assert "runner stopped" in out
    assert "pod/locust-scenarios-master-7d9c5b8f4-x2k9p profile ended (read from the master's metrics" in out
    assert "verdict: exit code 0" in out
