"""What a run's pods say about why nothing runs: reasons that no amount of waiting cures.

Read from ``kubectl get pods -o json`` at every poll of ``wait``: an image that cannot be pulled, a
container whose config is missing (a Secret or ConfigMap key), a dependency install that failed in the
init container, or a pod the scheduler cannot place for longer than a bound. Each becomes a ``Blocker``
whose line names the pod, the reason and the kubectl command that shows more.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from locust_scenarios._settings.options import format_duration

__all__ = ["FATAL_WAITING", "Blocker", "PodWatch", "starting", "terminated_code"]

FATAL_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
"""Container waiting reasons that need someone to change something: the kubelet retries them forever."""


@dataclass(frozen=True)
class Blocker:
    """A pod that cannot run the test, and why."""

    pod: str
    namespace: str | None
    container: str | None
    reason: str
    detail: str

    def line(self) -> str:
        """One line: the pod, the reason, and the kubectl commands to run."""
        scope = f"-n {self.namespace} " if self.namespace else ""
        where = f"pod {self.pod}" + (f", container {self.container}" if self.container else "")
        detail = f": {self.detail}" if self.detail else ""
        logs = f"kubectl {scope}logs {self.pod}" + (f" -c {self.container}" if self.container else "")
        return f"{where}: {self.reason}{detail} (see: {logs}; kubectl {scope}describe pod {self.pod})"


def _statuses(pod: Mapping[str, Any], key: str) -> Iterator[Mapping[str, Any]]:
    for status in (pod.get("status") or {}).get(key) or []:
        if isinstance(status, dict):
            yield status


def _one_line(text: object) -> str:
    return " ".join(str(text or "").split())[:300]


def terminated_code(pod: Mapping[str, Any], container: str) -> int | None:
    """The exit code of ``container``'s last run: its state, else its last state (a restarted container)."""
    for status in _statuses(pod, "containerStatuses"):
        if status.get("name") != container:
            continue
        for key in ("state", "lastState"):
            terminated = (status.get(key) or {}).get("terminated")
            if isinstance(terminated, dict) and isinstance(terminated.get("exitCode"), int):
                return int(terminated["exitCode"])
    return None


def starting(pod: Mapping[str, Any]) -> str | None:
    """What a pod that does not run yet is doing (scheduling, an init container, a pull), or ``None``."""
    status = pod.get("status") or {}
    if status.get("phase") not in (None, "Pending"):
        return None
    for key, what in (("initContainerStatuses", "init container"), ("containerStatuses", "container")):
        for container in _statuses(pod, key):
            state = container.get("state") or {}
            if "running" in state and key == "initContainerStatuses":
                return f"{what} {container.get('name')} running"
            waiting = state.get("waiting") or {}
            if waiting.get("reason") and waiting.get("reason") != "PodInitializing":
                return f"{what} {container.get('name')} waiting: {waiting['reason']}"
    unschedulable = _unschedulable(pod)
    return "Pending" + (f": not scheduled yet ({unschedulable})" if unschedulable is not None else "")


def _failed_init(pod: Mapping[str, Any]) -> tuple[str, str] | None:
    """(container, detail) of an init container that exited with an error (now, or before a restart)."""
    for status in _statuses(pod, "initContainerStatuses"):
        for key in ("state", "lastState"):
            terminated = (status.get(key) or {}).get("terminated")
            if isinstance(terminated, dict) and terminated.get("exitCode") not in (0, None):
                reason = terminated.get("reason") or "Error"
                message = _one_line(terminated.get("message"))
                detail = f"exited with code {terminated['exitCode']} ({reason}{': ' + message if message else ''})"
                return str(status.get("name")), detail
    return None


def _fatal_waiting(pod: Mapping[str, Any]) -> tuple[str, str, str] | None:
    for key in ("initContainerStatuses", "containerStatuses"):
        for status in _statuses(pod, key):
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in FATAL_WAITING:
                return str(status.get("name")), str(waiting["reason"]), _one_line(waiting.get("message"))
    return None


def _unschedulable(pod: Mapping[str, Any]) -> str | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if (
            isinstance(condition, dict)
            and condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return _one_line(condition.get("message"))
    return None


@dataclass
class PodWatch:
    """Reads a run's pods at each poll; remembers since when each pod has been unschedulable."""

    unschedulable_for: float
    """How long a pod may stay unschedulable (a cluster autoscaler may be adding a node) before it blocks."""
    since: dict[str, float] = field(default_factory=dict)

    def blocker(self, pods: Sequence[Mapping[str, Any]], now: float) -> Blocker | None:
        """The first pod that cannot run the test, or ``None`` while all may still start."""
        pending = set()
        for pod in pods:
            metadata = pod["metadata"]
            name, namespace = str(metadata["name"]), metadata.get("namespace")
            failed = _failed_init(pod)
            if failed is not None:
                container, detail = failed
                return Blocker(name, namespace, container, "the init container failed", detail)
            waiting = _fatal_waiting(pod)
            if waiting is not None:
                return Blocker(name, namespace, *waiting)
            message = _unschedulable(pod)
            if message is not None:
                pending.add(name)
                first = self.since.setdefault(name, now)
                if now - first >= self.unschedulable_for:
                    waited = format_duration(round(now - first))
                    return Blocker(name, namespace, None, f"Unschedulable for {waited}", message)
        self.since = {name: at for name, at in self.since.items() if name in pending}
        return None
