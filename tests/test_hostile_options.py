"""Every subcommand of `locust-scenarios`, given hostile option values, as real processes: the exit code is
the documented one, stderr has no traceback, and the error is one line (Locust's own log records aside).

Nothing here sends load: the `run` rows are refused before any user starts, and the only host named is
127.0.0.1. kubectl is a replaying stand-in (tests/k8s/kubectl_replay.py)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from locust_scenarios import ExitCode
from locust_scenarios._cli.main import build_parser
from locust_scenarios._records.record import log_line
from tests.conftest import LOCUSTFILES, clean_env
from tests.k8s.kubectl_replay import Replay, pod, pod_list
from tests.records import record_of

LONG = "r" * 300
"""A file name longer than any file system here allows (255 bytes)."""
UNWRITABLE = "/proc/nope"
"""A folder that cannot be created."""
LOCUSTFILE = str(LOCUSTFILES / "selecting.py")
RUN = ["run", "--headless", "--host", "http://127.0.0.1:9", "--scenario", "stages", "--scenario-stages", "1s:1"]
ENDPOINTS = ["--scenario-endpoints", '[{"path": "/"}]']
LOG_RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d ")
"""The start of one of Locust's own log records (``[2026-01-01 00:00:00,000] host/LEVEL/...``)."""

# (subcommand and options, expected exit code); {tmp}, {record}, {kubectl}, {noise}, {garbage}, {nameless}
# are filled in per test.
CASES: list[tuple[list[str], int]] = [
    (["preview", "load", "-o", f"{UNWRITABLE}/x.txt"], 2),
    (["preview", "load", "-o", f"{{tmp}}/{LONG}.txt"], 2),
    (["preview", "load", "--format", "png", "-o", f"{UNWRITABLE}/x.png"], 2),
    (["preview", "load", "--output", "{tmp}/x.gif"], 2),
    (["preview", "load", "--scenario-users", "abc"], 2),
    (["preview", "no-such-profile"], 2),
    (["preview", "-f", "{tmp}/missing.py"], 2),
    (["list", "-f", "{tmp}/missing.py"], 2),
    (["list", "-f", LOCUSTFILE], 0),
    (["list", "--bogus"], 2),
    (["demo", "--duration", "abc"], 2),
    (["demo", "--users", "0"], 2),
    (["demo", "--users", "many"], 2),
    ([*RUN, *ENDPOINTS, "--scenario-record", f"{{tmp}}/{LONG}.json"], 2),
    ([*RUN, *ENDPOINTS, "--scenario-report", f"{{tmp}}/{LONG}.html"], 2),
    ([*RUN, *ENDPOINTS, "--scenario-summary", f"{{tmp}}/{LONG}.json"], 2),
    ([*RUN, *ENDPOINTS, "--scenario-record", f"{UNWRITABLE}/record.json"], 2),
    (["target", "--port", "99999"], 2),
    (["target", "--port", "-1"], 2),
    (["target", "--port", "http"], 2),
    (["bundle", f"{UNWRITABLE}/deploy", "-f", LOCUSTFILE], 2),
    (["bundle", f"{{tmp}}/{LONG}", "-f", LOCUSTFILE], 2),
    (["bundle", "{tmp}/deploy", "-f", "{tmp}/missing.py"], 2),
    (["bundle", "{tmp}/deploy", "-f", LOCUSTFILE, "--image-python", "three"], 2),
    (["wait", "--timeout", "abc", "--kubectl", "{kubectl}"], 2),
    (["wait", "--interval", "0", "--kubectl", "{kubectl}"], 2),
    (["wait", "--api-retries", "0", "--kubectl", "{kubectl}"], 2),
    (["wait", "--kubectl", "{tmp}/no-kubectl"], 6),
    (["wait", "--kubectl", "{noise}"], 6),
    (["wait", "--kubectl", "{garbage}"], 6),
    (["wait", "--kubectl", "{nameless}"], 6),
    (["report", "{record}", "-o", f"{UNWRITABLE}/x.html"], 2),
    (["report", "{record}", "-o", f"{{tmp}}/{LONG}.html"], 2),
    (["report", "{record}", "-o", "{tmp}"], 2),
    (["report", "{tmp}/missing.json"], 2),
    (["report", "{record}", "--format", "pdf"], 2),
    (["compare", "{record}", "{record}", "--alpha", "0"], 2),
    (["compare", "{record}", "{record}", "--alpha", "1"], 2),
    (["compare", "{record}", "{record}", "--alpha", "often"], 2),
    (["compare", "{record}", "{record}", "--tolerance", "150%"], 2),
    (["compare", "{record}", "{record}", "-o", f"{UNWRITABLE}/x.md"], 2),
    (["compare", "{record}", "{record}", "-o", f"{{tmp}}/{LONG}.md"], 2),
    (["fetch", "shop", "-o", UNWRITABLE, "--kubectl", "{kubectl}"], 2),
    (["fetch", "shop", "-o", f"{{tmp}}/{LONG}", "--kubectl", "{kubectl}"], 2),
    (["fetch", "shop", "-o", "{record}", "--kubectl", "{kubectl}"], 2),
    (["fetch", "shop", "-o", "{tmp}/out", "--kubectl", "{tmp}/no-kubectl"], 6),
    (["fetch", "shop", "-o", "{tmp}/out", "--kubectl", "{noise}"], 6),
    (["fetch", "shop", "-o", "{tmp}/out", "--kubectl", "{garbage}"], 6),
    (["fetch", "shop", "-o", "{tmp}/out", "--kubectl", "{nameless}"], 6),
]


def _places(tmp_path: Path) -> dict[str, str]:
    """The files and stand-in kubectls the table names."""
    record = record_of({("GET", "/"): [10.0] * 5}, run_id="r1")
    (tmp_path / "record.json").write_text(json.dumps(record))
    finished = pod("m-1", run_id="r1", created="2026-01-01T00:00:00Z", running=False, env={})
    kubectl = Replay(tmp_path / "kubectl").on("get", "pods", answers=[{"json": pod_list([finished])}])
    kubectl.on("logs", answers=[{"text": log_line(record) + "\n"}])
    noise = Replay(tmp_path / "noise").on(
        "get",
        answers=[
            {
                "error": "E1201 memcache.go:265] couldn't get current server API group list\n"
                "E1201 memcache.go:265] couldn't get current server API group list\n"
                "error: You must be logged in to the server (Unauthorized)",
                "code": 1,
            }
        ],
    )
    garbage = Replay(tmp_path / "garbage").on("get", answers=[{"text": "<html><body>502 Bad Gateway</body></html>"}])
    nameless = Replay(tmp_path / "nameless").on("get", answers=[{"json": {"items": [{"kind": "Pod", "spec": {}}]}}])
    return {
        "tmp": str(tmp_path),
        "record": str(tmp_path / "record.json"),
        "kubectl": str(kubectl.write()),
        "noise": str(noise.write()),
        "garbage": str(garbage.write()),
        "nameless": str(nameless.write()),
    }


@pytest.mark.parametrize(("arguments", "expected"), CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_hostile_values_end_with_one_line_and_the_documented_code(
    tmp_path: Path, arguments: list[str], expected: int
) -> None:
    """The documented exit code, no traceback, and at most one line of error (no usage block, no kubectl
    noise); nothing is written where the value was refused."""
    places = _places(tmp_path)
    argv = list(arguments)
    for name, value in places.items():
        argv = [argument.replace(f"{{{name}}}", value) for argument in argv]
    done = subprocess.run(
        [sys.executable, "-m", "locust_scenarios", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert done.returncode in {int(code) for code in ExitCode}
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if line.strip() and not LOG_RECORD.match(line)]
    if expected != 0:
        assert len(said) == 1, done.stderr
        assert "usage:" not in done.stderr
    assert not list(Path(tmp_path).glob(f"{LONG[:50]}*"))


def test_every_help_text_is_plain_sentences() -> None:
    """`locust-scenarios COMMAND --help` shows no reST markup (double backquotes, roles) for any command."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    texts = {name: sub.format_help() for name, sub in commands.choices.items()}
    assert {"wait", "fetch", "bundle", "list", "demo", "target", "report", "compare"} <= set(texts)
    for name, text in {"locust-scenarios": parser.format_help(), **texts}.items():
        assert "``" not in text, name
        assert not re.search(r":(class|func|data|meth):`", text), name
