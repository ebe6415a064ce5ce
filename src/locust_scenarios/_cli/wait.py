"""``locust-scenarios wait``: follow a run on Kubernetes to its end, then report its verdict.

``kubectl wait --for=condition=complete`` never returns for a Job that failed, and a failed verdict
fails the master Job. This polls through kubectl until the master Job is ``Complete`` or ``Failed``
(deliveryhero's master is a Deployment: until its container exits or its metrics say the profile has
stopped), printing a progress line read from the master's metrics every poll. Along the way it retries
an API server that does not answer (up to a bound of polls in a row), says so when the Job is deleted,
and stops at once when a pod cannot start (an image that cannot be pulled, missing config, a failed
dependency install, unschedulable for too long), naming the reason and the kubectl command to run.
The parsing is pure, so it is tested against recorded ``kubectl ... -o json`` and log outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import format_duration

from .arguments import duration, positive_duration, positive_int
from .kubectl import ApiUnavailableError, Kubectl, NotFoundError, ToolError
from .masters import (
    DELIVERYHERO,
    INSTANCE,
    LOCUST_SCENARIOS,
    RUN_ID,
    Master,
    engine_of,
    find_master,
    items_of,
    labels_of,
    newest,
    newest_master_job,
    pods_of_release,
)
from .podstate import PodWatch, starting, terminated_code
from .progress import MetricsSource, Snapshot, progress_line

__all__ = [
    "SUMMARY_EVENT",
    "RunOutcome",
    "add_parser",
    "exit_code_of",
    "job_condition",
    "master_exit_code",
    "run",
    "summary_from_log",
]

SUMMARY_EVENT = "locust_scenarios.summary"
TERMINAL = ("Complete", "Failed")
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: the master Job's condition (or what ended a Deployment's run) and the verdict."""

    job: str
    condition: str
    reason: str
    message: str
    exit_code: int
    summary: Mapping[str, Any] | None

    def lines(self) -> list[str]:
        """The report: the condition, the verdict, the summary line."""
        detail = ": ".join(part for part in (self.reason, self.message) if part)
        lines = [f"{self.job} {self.condition}" + (f" ({detail})" if detail else "")]
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
    conditions = (job.get("status") or {}).get("conditions") or []
    return [c for c in conditions if isinstance(c, dict) and str(c.get("status")) == "True"]


def job_condition(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Job's terminal condition (``Complete`` or ``Failed`` with status True), or None while it runs.

    ``FailureTarget`` and ``SuccessCriteriaMet`` (Kubernetes 1.31+) come before the terminal
    condition while pods are still terminating: the master's exit code is not final until then.
    """
    for condition in _true_conditions(job):
        if condition.get("type") in TERMINAL:
            return condition
    return None


def master_exit_code(pods: Mapping[str, Any], container: str = "master") -> int | None:
    """The exit code of the master container in a ``kubectl get pods -o json`` list (newest pod first)."""
    items = sorted(items_of(pods, "pods"), key=lambda item: str(item["metadata"].get("creationTimestamp", "")))
    for pod in reversed(items):
        code = terminated_code(pod, container)
        if code is not None:
            return code
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


@dataclass(frozen=True)
class Poll:
    """What one poll found: an ending, or the pods to read (and the master pod for metrics)."""

    outcome: RunOutcome | None = None
    gone: str | None = None
    pods: tuple[dict[str, Any], ...] = ()
    master: dict[str, Any] | None = None


def _log(kubectl: Kubectl, pod: str, container: str, *, previous: bool = False) -> str:
    """The pod's log, or "" when it is gone; an unavailable API server is left to the caller's retry."""
    args = ["logs", pod, "--container", container, "--tail", "-1", *(["--previous"] if previous else [])]
    try:
        return kubectl.text(*args, what=f"read the log of pod {pod}", timeout=300)
    except ApiUnavailableError:
        raise
    except ToolError:
        return ""


class JobRun:
    """This chart's run mode: the master Job, and the pods of its run (master and workers)."""

    def __init__(self, kubectl: Kubectl, job: str) -> None:
        self.kubectl, self.job, self.seen = kubectl, job, False

    @property
    def title(self) -> str:
        return f"job/{self.job}"

    def _pods(self, job: Mapping[str, Any]) -> list[dict[str, Any]]:
        labels = labels_of(job)
        if RUN_ID in labels and INSTANCE in labels:
            selector = f"{INSTANCE}={labels[INSTANCE]},{RUN_ID}={labels[RUN_ID]}"
        else:
            selector = f"job-name={self.job}"
        listing = self.kubectl.json("get", "pods", "--selector", selector, what=f"list the pods of {self.title}")
        return items_of(listing, "pods")

    def ended_by_metrics(self, _snapshot: Snapshot, _master: Mapping[str, Any]) -> RunOutcome | None:
        """A Job's run ends with the Job: the metrics never end it."""
        return None

    def _is_master(self, pod: Mapping[str, Any]) -> bool:
        return any(labels_of(pod).get(key) == self.job for key in JOB_NAME_LABELS)

    def poll(self) -> Poll:
        try:
            job = self.kubectl.json("get", "job", self.job, what=f"read {self.title}")
        except NotFoundError:
            if not self.seen:
                raise
            return Poll(gone=f"{self.title} is gone: it was deleted before it ended, so the run was interrupted")
        self.seen = True
        pods = self._pods(job)
        masters = [pod for pod in pods if self._is_master(pod)]
        condition = job_condition(job)
        if condition is None:
            return Poll(pods=tuple(pods), master=newest(masters))
        container = LOCUST_SCENARIOS.master_container
        master = newest(masters)
        log = _log(self.kubectl, str(master["metadata"]["name"]), container) if master else ""
        summary = summary_from_log(log)
        kind = str(condition["type"])
        code = exit_code_of(kind, master_exit_code({"items": masters}, container), summary)
        reason, message = str(condition.get("reason") or ""), str(condition.get("message") or "")
        return Poll(outcome=RunOutcome(self.title, kind, reason, message, code, summary))


class DeploymentRun:
    """deliveryhero's master Deployment: the run ends when its container exits or its metrics say stopped."""

    def __init__(self, kubectl: Kubectl, release: str) -> None:
        self.kubectl, self.release, self.seen = kubectl, release, False

    @property
    def title(self) -> str:
        return f"the deliveryhero master of release {self.release!r}"

    def poll(self) -> Poll:
        pods = [pod for pod in pods_of_release(self.kubectl, self.release) if engine_of(labels_of(pod)) is DELIVERYHERO]
        found = find_master_in(pods)
        if found is None:
            if self.seen:
                return Poll(gone=f"{self.title} is gone: its pods were deleted before the run ended")
            raise NotFoundError(f"no master pod of release {self.release!r}")
        self.seen = True
        code = terminated_code(found.pod, found.container)
        if code is None:
            return Poll(pods=tuple(pods), master=found.pod)
        statuses = (found.pod.get("status") or {}).get("containerStatuses") or []
        restarted = not any(
            isinstance(s, dict) and s.get("name") == found.container and "terminated" in (s.get("state") or {})
            for s in statuses
        )
        summary = summary_from_log(_log(self.kubectl, found.name, found.container, previous=restarted))
        return Poll(outcome=RunOutcome(f"pod/{found.name}", "exited", "", "", code, summary))

    def ended_by_metrics(self, snapshot: Snapshot, master: Mapping[str, Any]) -> RunOutcome | None:
        """deliveryhero keeps the master up after the profile: a stopped runner that ran is the end."""
        if snapshot.state != "stopped" or snapshot.requests == 0:
            return None
        name = str(master["metadata"]["name"])
        return RunOutcome(
            f"pod/{name}",
            "profile ended",
            "read from the master's metrics",
            "the master keeps running (deliveryhero has no Job); its own exit code comes when it stops",
            snapshot.verdict(),
            None,
        )


def find_master_in(pods: list[dict[str, Any]]) -> Master | None:
    """The newest deliveryhero master among a release's pods."""
    masters = [pod for pod in pods if labels_of(pod).get(DELIVERYHERO.component_label) == "master"]
    found = newest(masters)
    return Master(found, DELIVERYHERO) if found is not None else None


@dataclass
class Patience:
    """Consecutive polls the API server may fail before the wait gives up (a success resets it)."""

    limit: int
    failures: int = 0

    def failed(self, error: ApiUnavailableError, out: TextIO) -> None:
        """Count a failed poll; past the limit, give up with a ``ToolError`` saying so."""
        self.failures += 1
        if self.failures > self.limit:
            raise ToolError(f"the API server failed {self.failures} polls in a row, giving up (--api-retries): {error}")
        print(f"API server unavailable ({self.failures} of {self.limit} retries): {error}", file=out, flush=True)


class Waiter:
    """The polling loop, with its clock and sleep injectable for tests."""

    def __init__(
        self,
        kubectl: Kubectl,
        args: argparse.Namespace,
        out: TextIO,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kubectl, self.args, self.out, self.clock, self.sleep = kubectl, args, out, clock, sleep
        self.started = clock()
        self.patience = Patience(args.api_retries)
        self.watch = PodWatch(args.unschedulable_timeout)
        self.previous: Snapshot | None = None
        self.metrics: MetricsSource | None = None

    def follow(self, target: JobRun | DeploymentRun) -> int:
        """Poll until the run ends, cannot start, is gone, or ``--timeout`` passes; return the exit code."""
        deadline = self.started + self.args.timeout
        while True:
            code = self._step(target)
            if code is not None:
                return code
            if self.clock() >= deadline:
                print(
                    f"locust-scenarios wait: {target.title} has not ended within --timeout: no verdict yet",
                    file=sys.stderr,
                )
                return ExitCode.NO_VERDICT
            self.sleep(min(self.args.interval, max(0.0, deadline - self.clock())))

    def _step(self, target: JobRun | DeploymentRun) -> int | None:
        """One poll: the exit code when the wait is over, else ``None`` after a progress line."""
        now = self.clock()
        try:
            poll = target.poll()
        except ApiUnavailableError as error:
            self.patience.failed(error, self.out)
            return None
        self.patience.failures = 0
        if poll.outcome is not None:
            return self._report(poll.outcome)
        if poll.gone is not None:
            print(f"locust-scenarios wait: {poll.gone}", file=sys.stderr)
            return ExitCode.INTERRUPTED
        blocker = self.watch.blocker(poll.pods, now)
        if blocker is not None:
            print(f"locust-scenarios wait: the run cannot start: {blocker.line()}", file=sys.stderr)
            return ExitCode.INVALID_CONFIG
        ended = self._progress(target, poll.master, now)
        return None if ended is None else self._report(ended)

    def _progress(
        self, target: JobRun | DeploymentRun, master: Mapping[str, Any] | None, now: float
    ) -> RunOutcome | None:
        """Print what the master does, or the progress line from its metrics; the outcome when the
        metrics end the run."""
        state = "no master pod yet" if master is None else starting(master)
        if master is None or state is not None:
            self._say(now, f"master pod {state}" if master is not None else str(state))
            return None
        if self.metrics is None:
            namespace = self.kubectl.namespace or str(master["metadata"].get("namespace") or "default")
            self.metrics = MetricsSource(self.kubectl, namespace)
        snapshot = self.metrics.read(master, now)
        if isinstance(snapshot, str):
            self._say(now, f"no metrics: {snapshot}")
            return None
        print(progress_line(snapshot, self.previous, now - self.started), file=self.out, flush=True)
        self.previous = snapshot
        return target.ended_by_metrics(snapshot, master)

    def _say(self, now: float, what: str) -> None:
        print(f"progress {format_duration(round(now - self.started))} · {what}", file=self.out, flush=True)

    def _report(self, outcome: RunOutcome) -> int:
        for line in outcome.lines():
            print(line, file=self.out)
        return outcome.exit_code


def _target(kubectl: Kubectl, args: argparse.Namespace) -> JobRun | DeploymentRun | None:
    """The run to follow: the Job named, else the release's newest master Job, else its deliveryhero master."""
    if args.job:
        return JobRun(kubectl, args.job)
    job = newest_master_job(kubectl, args.release)
    if job is not None:
        return JobRun(kubectl, str(job["metadata"]["name"]))
    master = find_master(kubectl, args.release)
    if master is not None and master.engine is DELIVERYHERO:
        return DeploymentRun(kubectl, args.release)
    if master is not None:
        raise SettingsError(
            f"release {args.release!r} runs in service mode: its master is a Deployment whose runs start "
            "from the web UI and never end; wait follows run mode (mode: run) and the deliveryhero engine"
        )
    return None


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the wait command; the exit code is the run's verdict, or what kept it from having one."""
    out = out or sys.stdout
    kubectl = Kubectl(args.kubectl, args.namespace, args.context)
    patience = Patience(args.api_retries)
    while True:
        try:
            target = _target(kubectl, args)
            break
        except ApiUnavailableError as error:
            patience.failed(error, out)
            time.sleep(args.interval)
    if target is None:
        where = f" in namespace {args.namespace}" if args.namespace else ""
        print(f"locust-scenarios wait: no master Job or pod of release {args.release!r}{where}", file=sys.stderr)
        return ExitCode.INVALID_CONFIG
    print(f"waiting for {target.title} to end", file=out, flush=True)
    try:
        return Waiter(kubectl, args, out).follow(target)
    except NotFoundError as error:
        print(f"locust-scenarios wait: {target.title} not found: {error}", file=sys.stderr)
        return ExitCode.INVALID_CONFIG


DESCRIPTION = (
    "Wait for a run on Kubernetes to end, print its verdict and exit with the master's exit code. "
    "It follows the newest master Job of a release (or the Job you name; with the deliveryhero chart, "
    "its master pod), prints a progress line read from the master's metrics at every poll, retries "
    "an API server that does not answer, and stops early when a pod cannot start. Exit codes: the "
    "master's (0 to 5); 2 when there is no such run or a pod cannot start; 4 when the Job was deleted; "
    "6 when kubectl fails or the API server stays unavailable; 7 when --timeout passes with no verdict yet."
)


def add_parser(commands: Any) -> None:
    """Register ``wait`` on the ``locust-scenarios`` command's subparsers."""
    parser = commands.add_parser(
        "wait",
        help="wait for a run on Kubernetes to pass or fail, with live progress; exit with its code",
        description=DESCRIPTION,
    )
    parser.add_argument("job", nargs="?", help="the master Job (default: the newest master Job of --release)")
    parser.add_argument("-n", "--namespace", help="namespace of the run (default: kubectl's current one)")
    parser.add_argument("--release", default="locust-scenarios", help="release whose newest run to wait for")
    parser.add_argument("--context", help="kubectl context")
    parser.add_argument("--timeout", type=duration, default=86400.0, help="give up after this long (default 24h)")
    parser.add_argument(
        "--interval", type=positive_duration, default=10.0, help="poll and print progress this often (10s)"
    )
    parser.add_argument(
        "--api-retries",
        type=positive_int,
        default=12,
        help="polls in a row the API server may fail before giving up (default 12)",
    )
    parser.add_argument(
        "--unschedulable-timeout",
        type=duration,
        default=600.0,
        help="how long a pod may stay unschedulable before giving up (default 10m)",
    )
    parser.add_argument("--kubectl", default="kubectl", help="the kubectl binary (default: kubectl on PATH)")
    parser.set_defaults(func=run)
