"""Which pods and Jobs are a release's Locust master, for both engines the helmfile deploys.

This chart labels its pods ``app.kubernetes.io/component: master|worker``, names the Locust container
after the component and runs the master as a Job (run mode) whose pods carry the run id. deliveryhero's
chart (``locust.selectorLabels`` in its ``_helpers.tpl``, ``master-deployment.yaml``) labels them
``component: master|worker``, names the container after its chart (``locust``) and runs Deployments.
Both set ``app.kubernetes.io/instance`` to the release. A release's pods are listed once by that label
and told apart here, so one selector serves both engines.

Everything kubectl prints is checked for the shape read here: a pod without ``metadata.name`` is a one-line
``ToolError``, never a ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .kubectl import Kubectl, ToolError

__all__ = [
    "DELIVERYHERO",
    "ENGINES",
    "INSTANCE",
    "LOCUST_SCENARIOS",
    "RUN_ID",
    "Engine",
    "Master",
    "engine_of",
    "find_master",
    "items_of",
    "name_of",
    "newest",
    "newest_master_job",
    "pods_of_release",
]

INSTANCE = "app.kubernetes.io/instance"
"""The release label both charts set on every pod."""
RUN_ID = "locust-scenarios/run-id"
"""This chart's run-mode pods and Jobs carry the run id under this label."""


@dataclass(frozen=True)
class Engine:
    """How one chart labels and names its Locust pods."""

    name: str
    component_label: str
    """The label whose value is ``master`` or ``worker``."""
    master_container: str
    workload: str
    """What runs the master: ``Job`` (a run that ends with an exit code) or ``Deployment``."""

    def master_selector(self, release: str) -> str:
        """The label selector of the release's master pods (and, for this chart, its master Jobs)."""
        return f"{INSTANCE}={release},{self.component_label}=master"


LOCUST_SCENARIOS = Engine("locust-scenarios", "app.kubernetes.io/component", "master", "Job")
DELIVERYHERO = Engine("deliveryhero", "component", "locust", "Deployment")
ENGINES: tuple[Engine, ...] = (LOCUST_SCENARIOS, DELIVERYHERO)


def items_of(listing: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    """The objects of a ``kubectl get ... -o json`` list, each checked to have ``metadata.name``."""
    items = listing.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise ToolError(f"kubectl's list of {what} has no list of items")
    for item in items:
        name_of(item, what)
    return items


def name_of(obj: Any, what: str) -> str:
    """``metadata.name`` of an object kubectl printed; a one-line ``ToolError`` when it has none."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise ToolError(f"kubectl listed one of the {what} without metadata.name: not an object kubectl prints")
    return name


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """The labels of a checked object (``{}`` when it has none)."""
    labels = obj["metadata"].get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def engine_of(labels: Mapping[str, str]) -> Engine | None:
    """The chart that labelled a pod this way, or ``None`` for a pod of neither."""
    for engine in ENGINES:
        if labels.get(engine.component_label) in ("master", "worker"):
            return engine
    return None


def newest(items: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The most recently created object (RFC 3339 timestamps sort as text)."""
    if not items:
        return None
    return max(items, key=lambda item: str(item["metadata"].get("creationTimestamp", "")))


@dataclass(frozen=True)
class Master:
    """A release's newest master pod and the chart that made it."""

    pod: dict[str, Any]
    engine: Engine

    @property
    def name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def container(self) -> str:
        """The Locust container's name: the engine's, or the pod's only container."""
        containers = (self.pod.get("spec") or {}).get("containers") or []
        names = [str(c.get("name")) for c in containers if isinstance(c, dict)]
        return self.engine.master_container if self.engine.master_container in names or not names else names[0]

    @property
    def labels(self) -> dict[str, str]:
        return labels_of(self.pod)


def pods_of_release(kubectl: Kubectl, release: str) -> list[dict[str, Any]]:
    """Every pod labelled with the release, of either engine."""
    listing = kubectl.json(
        "get", "pods", "--selector", f"{INSTANCE}={release}", what=f"list the pods of release {release!r}"
    )
    return items_of(listing, "pods")


def find_master(kubectl: Kubectl, release: str, run_id: str | None = None) -> Master | None:
    """The release's newest master pod (of one run id, when given), whichever engine made it."""
    masters = []
    for pod in pods_of_release(kubectl, release):
        labels = labels_of(pod)
        engine = engine_of(labels)
        if engine is None or labels.get(engine.component_label) != "master":
            continue
        if run_id is not None and labels.get(RUN_ID) != run_id:
            continue
        masters.append((pod, engine))
    found = newest([pod for pod, _ in masters])
    if found is None:
        return None
    return Master(found, next(engine for pod, engine in masters if pod is found))


def newest_master_job(kubectl: Kubectl, release: str) -> dict[str, Any] | None:
    """The release's newest master Job (this chart's run mode), or ``None``."""
    listing = kubectl.json(
        "get",
        "jobs",
        "--selector",
        LOCUST_SCENARIOS.master_selector(release),
        what=f"list the master Jobs of release {release!r}",
    )
    return newest(items_of(listing, "Jobs"))
