"""Hostile and careless input, end to end: every case exits 2 with one line before any request.

Each case is a real ``locust`` process against a real target on 127.0.0.1; the target's log proves
that no request was sent. The token case also proves the token appears nowhere in the output.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from locust_scenarios._records.record import record_from_log
from tests.conftest import base_url, free_port

from .conftest import LocustProcess

pytestmark = pytest.mark.e2e

ENDPOINTS_USER = str(Path(__file__).parent / "locustfiles" / "endpoints_user.py")
TOKEN = "s3cr3t-tok"  # noqa: S105 - a made-up token that must never appear in the output

_BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
endpoints:
  - path: /
    json: *h
"""

CASES: dict[str, dict[str, str]] = {
    "token ending in a newline": {"LOCUST_SCENARIO_AUTH_TOKEN": TOKEN + "\n"},
    "token with a non-Latin-1 character": {"LOCUST_SCENARIO_AUTH_TOKEN": TOKEN + "\u20ac"},
    "a billion users": {"LOCUST_SCENARIO_USERS": "1000000000"},
    "infinite rate": {"LOCUST_SCENARIO_RATE": "inf"},
    "overflowing rate": {"LOCUST_SCENARIO_RATE": "1e400"},
    "huge bucket": {"LOCUST_PROMETHEUS_BUCKETS": "1e307"},
    "bucket below a nanosecond": {"LOCUST_PROMETHEUS_BUCKETS": "1e-10"},
    "inline JSON nested 20,000 deep": {"LOCUST_SCENARIO_ENDPOINTS": "[" * 20_000 + "]" * 20_000},
    "home of an unknown user": {"LOCUST_SCENARIO_ENDPOINTS": "~nosuchuser/e.toml"},
    "path with a newline": {"LOCUST_SCENARIO_ENDPOINTS": "/tmp/a\nb.toml"},
    "weights adding up to infinity": {
        "LOCUST_SCENARIO_ENDPOINTS": json.dumps([{"path": "/", "weight": 1e308}, {"path": "/b", "weight": 1e308}])
    },
    "header value with CR/LF": {
        "LOCUST_SCENARIO_ENDPOINTS": json.dumps([{"path": "/", "headers": {"X-A": "1\r\nX-Injected: 2"}}])
    },
    "100 KB threshold": {"LOCUST_SCENARIO_THRESHOLDS": "p95<" + "9" * 100_000},
    "unwritable summary": {"LOCUST_SCENARIO_SUMMARY": "/proc/no-such-dir/summary.json"},
    "ten thousand stages": {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": ",".join(["1s:1"] * 10_001)},
}


def _refused(run: LocustProcess, target: HTTPServer) -> str:
    assert run.wait(timeout=60) == 2, run.output[-3000:]
    lines = [line for line in run.output.splitlines() if line.startswith("locust-scenarios:")]
    assert len(lines) == 1, run.output[-3000:]
    assert len(lines[0]) < 1000
    assert "Traceback" not in run.output
    assert len(target.log) == 0
    return lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_setting_is_refused_in_one_line_before_any_request(
    start_locust: Callable[..., LocustProcess], target: HTTPServer, case: str
) -> None:
    """Each hostile value ends the run with exit 2 and one line, and no request reaches the target."""
    run = start_locust(["-f", ENDPOINTS_USER, "--headless", "-H", base_url(target)], CASES[case])
    line = _refused(run, target)
    assert TOKEN not in run.output, line


def test_yaml_alias_bomb_is_refused(
    start_locust: Callable[..., LocustProcess], target: HTTPServer, tmp_path: Path
) -> None:
    """A YAML "billion laughs" under an endpoint's json body is refused before it expands."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_BOMB)
    run = start_locust(
        ["-f", ENDPOINTS_USER, "--headless", "-H", base_url(target)], {"LOCUST_SCENARIO_ENDPOINTS": str(bomb)}
    )
    assert "aliases" in _refused(run, target)


def test_metrics_port_equal_to_the_web_port_is_refused(
    start_locust: Callable[..., LocustProcess], target: HTTPServer
) -> None:
    """--prometheus-port equal to --web-port is refused (the web UI serves /metrics itself)."""
    port = free_port()
    run = start_locust(
        ["-f", ENDPOINTS_USER, "--web-host", "127.0.0.1", "--web-port", str(port), "-H", base_url(target),
         "--prometheus-port", str(port)],
    )  # fmt: skip
    assert "--web-port" in _refused(run, target)


def test_metrics_port_in_use_is_refused(start_locust: Callable[..., LocustProcess], target: HTTPServer) -> None:
    """A metrics port another process holds: exit 2 and one line, before any request."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = start_locust(
            ["-f", ENDPOINTS_USER, "--headless", "-H", base_url(target), "--prometheus-host", "127.0.0.1",
             "--prometheus-port", str(port)],
        )  # fmt: skip
        assert "--prometheus-port" in _refused(run, target)


MISREPORTED: dict[str, tuple[dict[str, str], str]] = {
    "an auth origin without a scheme": (
        {"LOCUST_SCENARIO_AUTH_ORIGINS": "auth.example.com"},
        "invalid setting LOCUST_SCENARIO_AUTH_ORIGINS='auth.example.com' (--scenario-auth-origins)",
    ),
    "a Pushgateway that is no URL": (
        {"LOCUST_PROMETHEUS_PUSHGATEWAY": "pushgateway:9091"},
        "invalid setting LOCUST_PROMETHEUS_PUSHGATEWAY='pushgateway:9091' (--prometheus-pushgateway)",
    ),
    "two stage selectors in one threshold": (
        {"LOCUST_SCENARIO_THRESHOLDS": "[stage=steady][stage=ramp-up]p95<1s"},
        "one [stage=...] per criterion",
    ),
    "a metrics host that does not exist": (
        {"LOCUST_PROMETHEUS_HOST": "999.1.1.1", "LOCUST_PROMETHEUS_PORT": "0"},
        "invalid setting LOCUST_PROMETHEUS_HOST='999.1.1.1' (--prometheus-host)",
    ),
    "stages that last no time": (
        {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "0s:0"},
        "invalid setting LOCUST_SCENARIO_STAGES='0s:0' (--scenario-stages): the stages last 0s in all",
    ),
    "a duration shorter than a profile default": (
        {"LOCUST_SCENARIO": "smoke", "LOCUST_SCENARIO_DURATION": "3s"},
        "LOCUST_SCENARIO_RAMP_UP='5s' (not set; the smoke profile's default)",
    ),
    "a duration in full-width digits": (
        {"LOCUST_SCENARIO_DURATION": "\uff11\uff10s"},
        "invalid setting LOCUST_SCENARIO_DURATION='\uff11\uff10s' (--scenario-duration): must be a duration",
    ),
    "a duration in Arabic-Indic digits": (
        {"LOCUST_SCENARIO_DURATION": "\u0663\u0660s"},
        "invalid setting LOCUST_SCENARIO_DURATION='\u0663\u0660s' (--scenario-duration): must be a duration",
    ),
    "a value holding CR/LF": (
        {"LOCUST_SCENARIO_USERS": "3\r\nX-Injected: 1"},
        "invalid setting LOCUST_SCENARIO_USERS='3\\r\\nX-Injected: 1' (--scenario-users)",
    ),
}


@pytest.mark.parametrize("case", sorted(MISREPORTED))
def test_useless_or_misreported_value_is_refused_against_its_own_name(
    start_locust: Callable[..., LocustProcess], target: HTTPServer, case: str
) -> None:
    """Values that used to be silently useless or reported against another setting: each is refused
    with exit 2 before any request, in one line naming the setting that holds it (a profile's default
    is named as the default it is), with control characters escaped."""
    env, expected = MISREPORTED[case]
    run = start_locust(["-f", ENDPOINTS_USER, "--headless", "-H", base_url(target)], env)
    line = _refused(run, target)
    assert expected in line, line


def test_yes_no_settings_are_flags_and_stages_honour_the_duration(
    start_locust: Callable[..., LocustProcess], target: HTTPServer
) -> None:
    """``--scenario-record-log`` and ``--scenario-abort-on-fail`` work alone, as the docs write them (the
    record is printed as a log line; the failing threshold aborts the run: exit 3), and
    ``LOCUST_SCENARIO_DURATION`` stretches the stages profile's stages (the run's plan lasts it)."""
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "1s:1", "LOCUST_SCENARIO_DURATION": "3s",
           "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/"}]', "LOCUST_PROMETHEUS_LINGER": "0"}  # fmt: skip
    run = start_locust(
        ["-f", ENDPOINTS_USER, "--headless", "-H", base_url(target), "--scenario-record-log",
         "--scenario-abort-on-fail", "--scenario-abort-grace", "0s", "--scenario-thresholds", "p50<0.001ms"],
        env,
    )  # fmt: skip
    assert run.wait(timeout=60) == 3, run.output[-3000:]
    record = record_from_log(run.output)
    assert record is not None, run.output[-3000:]
    assert record["scenario"]["duration_seconds"] == 3.0
    [summary] = run.summaries()
    assert summary["aborted"], summary
