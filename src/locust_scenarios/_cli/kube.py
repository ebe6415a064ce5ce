"""Wait for a run-mode master Job to end, pass or fail, and report its verdict (``locust-scenarios wait``).

``kubectl wait --for=condition=complete`` never returns for a Job that failed, and a failed verdict
fails the master Job (its exit code is not 0). This waits, through ``kubectl``, for either terminal
condition (``Complete`` or ``Failed``), then prints the outcome, the verdict and the summary line from
the master's log, and exits with the master's exit code. The parsing below is pure, so it is tested
against recorded ``kubectl ... -o json`` and log outputs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.options import parse_duration

__all__ = [
    "SUMMARY_EVENT",
    "Kubectl",
    "RunOutcome",
    "ToolError",
    "add_parser",
    "exit_code_of",
    "job_condition",
    "master_exit_code",
    "newest_job",
    "summary_from_log",
    "wait_for_job",
]

SUMMARY_EVENT = "locust_scenarios.summary"
TERMINAL = ("Complete", "Failed")
MASTER_SELECTOR = "app.kubernetes.io/component=master,app.kubernetes.io/instance={release}"


class ToolError(Exception):
    """An external tool (kubectl) is missing, failed or did not answer; ``str()`` is one line.

    Not invalid configuration: the command's own input was fine, the tool or the cluster was not.
    """

    exit_code: ClassVar[int] = ExitCode.TOOL_FAILED


@dataclass(frozen=True)
class RunOutcome:
    """How a master Job ended."""

    job: str
    condition: str
    reason: str
    message: str
    exit_code: int
    summary: Mapping[str, Any] | None

    def lines(self) -> list[str]:
        """The report: the Job's condition, the verdict, the summary line."""
        detail = ": ".join(part for part in (self.reason, self.message) if part)
        lines = [f"job/{self.job} {self.condition}" + (f" ({detail})" if detail else "")]
        try:
            meaning = ExitCode(self.exit_code).meaning
        except ValueError:
            meaning = "not a verdict: the master was killed or crashed (see its log and events)"
        lines.append(f"verdict: exit code {self.exit_code}: {meaning}")
        if self.summary is not None:
            lines.append(json.dumps({"event": SUMMARY_EVENT, **self.summary}, default=str))
        else:
            lines.append("no summary line in the master's log")
        return lines


def _true_conditions(job: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    conditions = job.get("status", {}).get("conditions") or []
    return [c for c in conditions if str(c.get("status")) == "True"]


def job_condition(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Job's terminal condition (``Complete`` or ``Failed`` with status True), or None while it runs.

    ``FailureTarget`` and ``SuccessCriteriaMet`` (Kubernetes 1.31+) come before the terminal
    condition while pods are still terminating: the master's exit code is not final until then.
    """
    for condition in _true_conditions(job):
        if condition.get("type") in TERMINAL:
            return condition
    return None


def newest_job(jobs: Mapping[str, Any]) -> str | None:
    """The name of the most recently created Job of a ``kubectl get jobs -o json`` list."""
    items = jobs.get("items") or []
    if not items:
        return None
    newest = max(items, key=lambda item: item["metadata"].get("creationTimestamp", ""))
    return str(newest["metadata"]["name"])


def master_exit_code(pods: Mapping[str, Any], container: str = "master") -> int | None:
    """The exit code of the master container in a ``kubectl get pods -o json`` list (newest pod)."""
    items = sorted(pods.get("items") or [], key=lambda item: item["metadata"].get("creationTimestamp", ""))
    for pod in reversed(items):
        for status in pod.get("status", {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated")
            if status.get("name") == container and terminated is not None:
                return int(terminated["exitCode"])
    return None


def summary_from_log(log: str) -> dict[str, Any] | None:
    """The last summary line of a master's log, without its ``event`` key (None when there is none)."""
    for line in reversed(log.splitlines()):
        if SUMMARY_EVENT not in line or "{" not in line:
            continue
        try:
            found = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        if isinstance(found, dict) and found.get("event") == SUMMARY_EVENT:
            found.pop("event")
            return found
    return None


def exit_code_of(condition: str, container_code: int | None, summary: Mapping[str, Any] | None) -> int:
    """The master's exit code: its container's, else the summary's, else what the condition implies.

    A Failed Job whose pod is gone (deadline exceeded, evicted) had a run that did not complete.
    """
    if container_code is not None:
        return container_code
    if summary is not None and isinstance(summary.get("exit_code"), int):
        return int(summary["exit_code"])
    return ExitCode.PASSED if condition == "Complete" else ExitCode.INTERRUPTED


class Kubectl:
    """kubectl with a namespace (and an optional context), returning JSON or text."""

    def __init__(self, binary: str, namespace: str | None, context: str | None = None) -> None:
        found = shutil.which(binary)
        if found is None:
            raise ToolError(f"{binary!r} not found (--kubectl): install kubectl or give its path")
        self.binary = found
        self.scope = [*(["--namespace", namespace] if namespace else []), *(["--context", context] if context else [])]

    def text(self, *args: str) -> str:
        """stdout of ``kubectl <args>``; a failure raises ToolError with kubectl's last line."""
        try:
            result = subprocess.run(
                [self.binary, *self.scope, *args], capture_output=True, text=True, timeout=120, check=False
            )
        except subprocess.TimeoutExpired:
            raise ToolError(f"kubectl {' '.join(args)} did not answer within 120 s") from None
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
            raise ToolError(f"kubectl {' '.join(args)}: {last}")
        return result.stdout

    def json(self, *args: str) -> dict[str, Any]:
        """``kubectl <args> -o json``, parsed."""
        found = json.loads(self.text(*args, "-o", "json"))
        return found if isinstance(found, dict) else {}


def wait_for_job(
    kubectl: Kubectl,
    job: str,
    *,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome | None:
    """Poll the Job until it is Complete or Failed (None after ``timeout`` seconds), then read the
    master's exit code and summary line."""
    deadline = clock() + timeout
    while True:
        condition = job_condition(kubectl.json("get", "job", job))
        if condition is not None:
            break
        if clock() >= deadline:
            return None
        sleep(min(interval, max(0.0, deadline - clock())))
    pods = kubectl.json("get", "pods", "--selector", f"job-name={job}")
    try:
        log = kubectl.text("logs", f"job/{job}", "--container", "master", "--tail", "-1")
    except ToolError:
        log = ""  # the pod is gone (deadline, eviction): the condition still tells the outcome
    summary = summary_from_log(log)
    kind = str(condition["type"])
    return RunOutcome(
        job=job,
        condition=kind,
        reason=str(condition.get("reason") or ""),
        message=str(condition.get("message") or ""),
        exit_code=exit_code_of(kind, master_exit_code(pods), summary),
        summary=summary,
    )


def _seconds(option: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            return parse_duration(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{option}={text!r}: {error}") from None

    return parse


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", nargs="?", help="the master Job (default: the newest master Job of --release)")
    parser.add_argument("-n", "--namespace", help="namespace of the run (default: kubectl's current one)")
    parser.add_argument("--release", default="locust-scenarios", help="release whose newest run to wait for")
    parser.add_argument("--context", help="kubectl context")
    parser.add_argument("--timeout", type=_seconds("--timeout"), default=86400.0, help="give up after (default 24h)")
    parser.add_argument("--interval", type=_seconds("--interval"), default=10.0, help="poll every (default 10s)")
    parser.add_argument("--kubectl", default="kubectl", help="the kubectl binary (default: kubectl on PATH)")


def run(args: argparse.Namespace, out: Any = None) -> int:
    """Run the wait command; the exit code is the master's (2 for bad input, 5 without a verdict, 6 when
    kubectl fails)."""
    out = out or sys.stdout
    try:
        kubectl = Kubectl(args.kubectl, args.namespace, args.context)
        job = args.job
        if not job:
            jobs = kubectl.json("get", "jobs", "--selector", MASTER_SELECTOR.format(release=args.release))
            job = newest_job(jobs)
            if job is None:
                where = f" in namespace {args.namespace}" if args.namespace else ""
                print(f"locust-scenarios wait: no master Job of release {args.release!r}{where}", file=sys.stderr)
                return ExitCode.INVALID_CONFIG
        print(f"waiting for job/{job} to end (Complete or Failed)", file=out, flush=True)
        outcome = wait_for_job(kubectl, job, timeout=args.timeout, interval=args.interval)
    except ToolError as error:
        print(f"locust-scenarios wait: {error}", file=sys.stderr)
        return ToolError.exit_code
    if outcome is None:
        print(f"locust-scenarios wait: job/{job} has not ended within --timeout: no verdict", file=sys.stderr)
        return ExitCode.INCONCLUSIVE
    for line in outcome.lines():
        print(line, file=out)
    return outcome.exit_code


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wait`` on the ``locust-scenarios`` command's subparsers."""
    parser = subparsers.add_parser(
        "wait",
        help="wait for a run-mode master Job to pass or fail; print its verdict; exit with its code",
        description=(__doc__ or "").split("\n\n", 1)[0],
    )
    _configure(parser)
    parser.set_defaults(func=run)
