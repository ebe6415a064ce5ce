"""`locust-scenarios wait`: its parsing against recorded kubectl outputs, and the command end to end
with a recorded-output kubectl (no Kubernetes API server runs here, so kubectl's answers are replayed
from tests/fixtures/kube, recorded in the shapes the API returns)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from locust_scenarios import ExitCode
from locust_scenarios._cli.kube import (
    RunOutcome,
    exit_code_of,
    job_condition,
    master_exit_code,
    newest_job,
    summary_from_log,
)
from locust_scenarios._cli.main import main

RECORDED = Path(__file__).parent / "fixtures" / "kube"
JOB = "locust-scenarios-master-1129-0334"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


def test_running_and_failure_target_are_not_terminal() -> None:
    """A running Job, and one with only FailureTarget (its pods still terminating), are not done yet."""
    assert job_condition(recorded("job-running.json")) is None
    assert job_condition(recorded("job-failure-target.json")) is None


@pytest.mark.parametrize(
    ("fixture", "kind", "reason"),
    [
        ("job-complete.json", "Complete", "CompletionsReached"),
        ("job-failed.json", "Failed", "BackoffLimitExceeded"),
        ("job-deadline-exceeded.json", "Failed", "DeadlineExceeded"),
    ],
)
def test_terminal_conditions(fixture: str, kind: str, reason: str) -> None:
    """Complete and Failed (with status True) end the wait, whatever else is listed before them."""
    condition = job_condition(recorded(fixture))
    assert condition is not None
    assert (condition["type"], condition["reason"]) == (kind, reason)


def test_exit_code_from_the_master_container() -> None:
    """The master container's terminated exit code is read from the pod list; init containers are not it."""
    assert master_exit_code(recorded("pods-exit-3.json")) == 3
    assert master_exit_code(recorded("pods-exit-0.json")) == 0
    assert master_exit_code(recorded("pods-oom-killed.json")) == 137
    assert master_exit_code(recorded("pods-none.json")) is None


def test_summary_line_from_a_real_master_log() -> None:
    """The summary JSON line of a real master's log (recorded from a run whose threshold failed)."""
    summary = summary_from_log((RECORDED / "master-threshold-failed.log").read_text())
    assert summary is not None
    assert summary["exit_code"] == 3
    assert summary["thresholds"][0]["threshold"] == "p95<1ms"
    assert "event" not in summary
    assert summary_from_log("no summary here\n{not json locust_scenarios.summary") is None


def test_exit_code_falls_back_to_summary_then_condition() -> None:
    """Without a container status: the summary's code; without either: Complete is 0, Failed is 4
    (a pod deleted by the deadline or an eviction never finished its profile)."""
    assert exit_code_of("Failed", 3, {"exit_code": 1}) == 3
    assert exit_code_of("Failed", None, {"exit_code": 3}) == ExitCode.THRESHOLD_FAILED
    assert exit_code_of("Failed", None, None) == ExitCode.INTERRUPTED
    assert exit_code_of("Complete", None, None) == ExitCode.PASSED


def test_newest_master_job_is_chosen() -> None:
    """Without a Job name, the release's newest master Job is the one waited for."""
    assert newest_job(recorded("jobs.json")) == JOB
    assert newest_job({"items": []}) is None


def test_report_names_condition_verdict_and_a_killed_master() -> None:
    """The report's lines: the condition with its reason, the verdict's meaning, the summary; a code
    that is no verdict (137) says so."""
    lines = RunOutcome(JOB, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", 137, None)
    text = "\n".join(lines.lines())
    assert f"job/{JOB} Failed (BackoffLimitExceeded: Job has reached the specified backoff limit)" in text
    assert "exit code 137: not a verdict" in text
    assert "no summary line" in text


FAKE_KUBECTL = '''#!{python}
"""Replays recorded kubectl answers (stands in for an API server)."""
import json, os, sys
folder = os.environ["RECORDED_KUBECTL"]
args = sys.argv[1:]
with open(os.path.join(folder, "calls.log"), "a") as log:
    log.write(json.dumps(args) + "\\n")
plan = json.load(open(os.path.join(folder, "plan.json")))
jsonpath = next((a.split("=", 1)[1] for a in args if a.startswith("jsonpath=")), None)
def answer(name):
    if name is None:
        sys.stderr.write("Error from server (NotFound): pods not found\\n")
        sys.exit(1)
    text = open(os.path.join(plan["recorded"], name)).read()
    if jsonpath and "conditions" in jsonpath:  # the two jsonpath queries of the NOTES recipe
        conditions = json.loads(text)["status"].get("conditions", [])
        text = " ".join(c["type"] for c in conditions if c["status"] == "True")
    elif jsonpath and "exitCode" in jsonpath:
        text = str(json.loads(text)["items"][0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"])
    sys.stdout.write(text)
    sys.exit(0)
if "logs" in args:
    answer(plan.get("log"))
if "jobs" in args:
    answer(plan["jobs"])
if "pods" in args:
    answer(plan["pods"])
if "job" in args:
    counter = os.path.join(folder, "polls")
    polls = int(open(counter).read()) if os.path.exists(counter) else 0
    open(counter, "w").write(str(polls + 1))
    answer(plan["job"][min(polls, len(plan["job"]) - 1)])
sys.stderr.write("unexpected kubectl call %r\\n" % args)
sys.exit(2)
'''


def fake_kubectl(tmp_path: Path, **plan: Any) -> Path:
    """A kubectl that answers from the recorded outputs named in ``plan``."""
    (tmp_path / "plan.json").write_text(json.dumps({"recorded": str(RECORDED), **plan}))
    binary = tmp_path / "kubectl"
    binary.write_text(FAKE_KUBECTL.format(python=sys.executable))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def run_wait(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    os.environ["RECORDED_KUBECTL"] = str(tmp_path)
    try:
        code = main(["wait", "--kubectl", str(tmp_path / "kubectl"), "--interval", "10ms", *args])
    finally:
        del os.environ["RECORDED_KUBECTL"]
    out, err = capsys.readouterr()
    return code, out, err


def test_wait_returns_on_failure_with_the_master_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job that runs, then fails (FailureTarget, then Failed) ends the wait: the verdict and the
    summary line are printed and the exit code is the master's (3), found without a Job name."""
    fake_kubectl(
        tmp_path,
        jobs="jobs.json",
        job=["job-running.json", "job-running.json", "job-failure-target.json", "job-failed.json"],
        pods="pods-exit-3.json",
        log="master-threshold-failed.log",
    )
    code, out, _ = run_wait(tmp_path, capsys, "-n", "locust")
    assert code == ExitCode.THRESHOLD_FAILED
    assert f"job/{JOB} Failed (BackoffLimitExceeded" in out
    assert "verdict: exit code 3: a threshold failed" in out
    assert json.loads(out.splitlines()[-1])["exit_code"] == 3
    calls = [json.loads(line) for line in (tmp_path / "calls.log").read_text().splitlines()]
    assert calls[0][:2] == ["--namespace", "locust"]
    assert sum("job" in call for call in calls) == 4


def test_wait_on_success_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job that completes gives exit 0 and says so."""
    fake_kubectl(tmp_path, job=["job-running.json", "job-complete.json"], pods="pods-exit-0.json", log=None)
    code, out, _ = run_wait(tmp_path, capsys, JOB)
    assert code == ExitCode.PASSED
    assert f"job/{JOB} Complete" in out


def test_deadline_with_the_pod_gone_is_interrupted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DeadlineExceeded deletes the pod: no exit code, no log; the run did not complete, so exit 4."""
    fake_kubectl(tmp_path, job=["job-deadline-exceeded.json"], pods="pods-none.json", log=None)
    code, out, _ = run_wait(tmp_path, capsys, JOB)
    assert code == ExitCode.INTERRUPTED
    assert "DeadlineExceeded" in out


def test_timeout_without_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job still running at --timeout: one line, and the inconclusive code (no verdict known)."""
    fake_kubectl(tmp_path, job=["job-running.json"], pods="pods-none.json")
    code, _, err = run_wait(tmp_path, capsys, JOB, "--timeout", "50ms")
    assert code == ExitCode.INCONCLUSIVE
    assert "has not ended within --timeout" in err


def test_missing_or_failing_kubectl_is_a_tool_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No kubectl, or a kubectl that fails: one line naming it, exit 6 (not 2: the input was fine)."""
    assert main(["wait", "--kubectl", str(tmp_path / "absent")]) == ExitCode.TOOL_FAILED == 6
    assert "--kubectl" in capsys.readouterr().err
    failing = tmp_path / "failing-kubectl"
    failing.write_text("#!/bin/sh\necho 'Unable to connect to the server: dial tcp: i/o timeout' >&2\nexit 1\n")
    failing.chmod(0o755)
    assert main(["wait", JOB, "--kubectl", str(failing)]) == ExitCode.TOOL_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Unable to connect to the server" in err


def test_missing_job_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No master Job of the release: one line naming the release, exit 2."""
    fake_kubectl(tmp_path, jobs="pods-none.json")
    code, _, err = run_wait(tmp_path, capsys, "--release", "nightly", "-n", "perf")
    assert code == ExitCode.INVALID_CONFIG
    assert err.strip() == "locust-scenarios wait: no master Job of release 'nightly' in namespace perf"


def test_notes_recipe_ends_on_failure(tmp_path: Path) -> None:
    """The plain-kubectl loop of NOTES.txt and the docs stops on a Failed Job (not only on Complete)
    and prints the master's exit code."""
    polls = ["job-running.json", "job-failure-target.json", "job-failed.json"]
    fake_kubectl(tmp_path, job=polls, pods="pods-exit-3.json")
    notes = (Path(__file__).parent.parent / "chart" / "templates" / "NOTES.txt").read_text()
    loop = next(line.strip() for line in notes.splitlines() if line.strip().startswith("until "))
    loop = loop.replace("{{ $ns }}", "locust").replace("{{ $masterJob }}", JOB).replace("sleep 10", "sleep 0.01")
    code = next(line.strip() for line in notes.splitlines() if "exitCode" in line)
    code = code.replace("{{ $ns }}", "locust").replace("{{ $masterJob }}", JOB)
    env = {**os.environ, "RECORDED_KUBECTL": str(tmp_path), "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["sh", "-c", f"{loop}\n{code}"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("3")
