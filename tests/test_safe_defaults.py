"""No silent surprises on the first run: gentle defaults, and refusals (exit 2, one line) where Locust
would otherwise run a different test than the one asked for. Real ``locust`` processes on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from locust_scenarios import ExitCode

from .conftest import REPO, base_url, locust
from .test_webui import readme_locustfile

pytestmark = pytest.mark.e2e

SMOKE = {"LOCUST_SCENARIO": "smoke", "LOCUST_SCENARIO_DURATION": "8s", "LOCUST_SCENARIO_RAMP_UP": "1s"}


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("locust-scenarios:")]


def test_readme_locustfile_smoke_stays_gentle(target: HTTPServer, tmp_path: Path) -> None:
    """The README's locustfile, run as LOCUST_SCENARIO=smoke, stays under 20 requests per second per user
    (its think time), where a user without one would send thousands."""
    locustfile = readme_locustfile(tmp_path)
    result = locust(["-f", str(locustfile), "--headless", "-H", base_url(target), "--json"], SMOKE, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    requests = sum(entry["num_requests"] for entry in json.loads(result.stdout[result.stdout.find("[") :]))
    users, seconds = 3, 8
    assert 0 < requests / users / seconds < 20


def test_template_default_think_time_keeps_a_smoke_run_gentle(target: HTTPServer) -> None:
    """The config-driven template with no wait configured waits the default think time (1 s), so three
    users over eight seconds send a few dozen requests at most; LOCUST_SCENARIO_THINK_TIME=0 lifts it."""
    endpoints = {"LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/api/items"}]'}
    args = ["-f", str(REPO / "src" / "locust_scenarios" / "locustfile.py"), "--headless", "-H", base_url(target)]
    gentle = locust([*args, "--json"], {**SMOKE, **endpoints}, timeout=120)
    assert gentle.returncode == 0, gentle.stderr[-2000:]
    requests = sum(entry["num_requests"] for entry in json.loads(gentle.stdout[gentle.stdout.find("[") :]))
    assert 0 < requests <= 3 * 8 + 3


def test_open_model_refuses_a_plain_user_class(target: HTTPServer, tmp_path: Path) -> None:
    """LOCUST_SCENARIO_RATE with the README's plain FastHttpUser exits 2 before any request, on one line
    that names the class, instead of silently running a closed model."""
    result = locust(
        ["-f", str(readme_locustfile(tmp_path)), "--headless", "-H", base_url(target)],
        {**SMOKE, "LOCUST_SCENARIO_RATE": "50"},
    )
    assert result.returncode == ExitCode.INVALID_CONFIG, result.stderr[-2000:]
    lines = _error_lines(result.stderr)
    assert len(lines) == 1
    assert "LOCUST_SCENARIO_RATE" in lines[0]
    assert "Shopper" in lines[0]
    assert "Traceback" not in result.stderr
    assert not target.log


@pytest.mark.parametrize(
    ("host_args", "expected"),
    [([], "not given"), (["-H", "localhost:8000"], "'localhost:8000'")],
    ids=["missing", "no-scheme"],
)
def test_missing_or_schemeless_host_is_invalid(host_args: list[str], expected: str) -> None:
    """Without -H, or with a host that has no http:// or https://, the run exits 2 with one line naming
    LOCUST_HOST, and no StopTest traceback."""
    result = locust(["-f", str(REPO / "examples" / "scenarios.py"), "--headless", *host_args], SMOKE)
    assert result.returncode == ExitCode.INVALID_CONFIG, result.stderr[-2000:]
    lines = _error_lines(result.stderr)
    assert len(lines) == 1
    assert "LOCUST_HOST" in lines[0]
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_run_without_endpoints_is_refused(target: HTTPServer) -> None:
    """The built-in locustfile (``locust-scenarios run``) refuses to guess requests: no endpoints setting
    is invalid configuration (exit 2, one line naming LOCUST_SCENARIO_ENDPOINTS), and nothing is sent."""
    result = locust(
        ["-f", str(REPO / "src" / "locust_scenarios" / "locustfile.py"), "--headless", "-H", base_url(target)], SMOKE
    )
    assert result.returncode == ExitCode.INVALID_CONFIG, result.stderr[-2000:]
    lines = _error_lines(result.stderr)
    assert len(lines) == 1
    assert "LOCUST_SCENARIO_ENDPOINTS" in lines[0]
    assert not target.log


def test_every_invalid_setting_is_reported_at_once(target: HTTPServer) -> None:
    """Two invalid scenario settings and an invalid exporter setting give one line naming all three."""
    env = {**SMOKE, "LOCUST_SCENARIO_USERS": "0", "LOCUST_SCENARIO_DURATION": "soon", "LOCUST_PROMETHEUS_PORT": "x"}
    result = locust(["-f", str(REPO / "examples" / "scenarios.py"), "--headless", "-H", base_url(target)], env)
    assert result.returncode == ExitCode.INVALID_CONFIG
    lines = _error_lines(result.stderr)
    assert len(lines) == 1
    for name in ("LOCUST_SCENARIO_USERS", "LOCUST_SCENARIO_DURATION", "LOCUST_PROMETHEUS_PORT"):
        assert name in lines[0]
