"""The one master selector of `wait` and `fetch`, against what both engines really render.

The labels and container names come from `helm template` of this chart and of the real deliveryhero/locust
0.35.0 chart (not from a copy of them in the code); the recorded kubectl outputs in tests/fixtures/kube
that the wait and fetch tests replay must carry those labels, so the replays stay true to the charts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from locust_scenarios._cli.masters import DELIVERYHERO, LOCUST_SCENARIOS, RUN_ID, engine_of
from locust_scenarios._cli.progress import find_metrics_service

from .conftest import NAMESPACE, RELEASE, REPO, K8sTools, by_kind, helm, named, render
from .kubectl_replay import RECORDED

#: Labels the API server or a controller adds to pods (never in a chart's pod template).
ADDED_BY_CONTROLLERS = {"batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid"}


def pod_template(workload: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The labels and container names of a Job's or Deployment's pods."""
    template = workload["spec"]["template"]
    return dict(template["metadata"]["labels"]), [c["name"] for c in template["spec"]["containers"]]


def recorded_labels(name: str, component: str, key: str) -> dict[str, str]:
    """The labels of the first pod of a recorded pod list whose ``key`` label is ``component``."""
    items = json.loads((RECORDED / name).read_text())["items"]
    return next(dict(p["metadata"]["labels"]) for p in items if p["metadata"]["labels"].get(key) == component)


def as_listing(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "List", "items": objects}


def test_this_charts_master_is_selected_by_its_rendered_labels(k8s_tools: K8sTools, chart: Path) -> None:
    """This chart's master Job pods: recognised as this engine's master, the container named as the
    selector expects, the run id on the pod, and the master Service's `metrics` port selects them."""
    objects = render(k8s_tools.helm, chart, sets=["host=http://127.0.0.1:1"])
    labels, containers = pod_template(next(o for o in by_kind(objects, "Job") if "-master-" in o["metadata"]["name"]))
    assert engine_of(labels) is LOCUST_SCENARIOS
    assert labels[LOCUST_SCENARIOS.component_label] == "master"
    assert LOCUST_SCENARIOS.master_container in containers
    assert RUN_ID in labels
    service = find_metrics_service(as_listing(by_kind(objects, "Service")), labels)
    assert service == named(objects, "Service", "-master")["metadata"]["name"]
    worker, _ = pod_template(next(o for o in by_kind(objects, "Job") if "-worker-" in o["metadata"]["name"]))
    assert engine_of(worker) is LOCUST_SCENARIOS
    assert worker[LOCUST_SCENARIOS.component_label] == "worker"
    # The recorded pods carry every label the template renders (plus what the Job controller adds).
    recorded = recorded_labels("pods-running.json", "master", LOCUST_SCENARIOS.component_label)
    assert set(labels) <= set(recorded) <= set(labels) | ADDED_BY_CONTROLLERS | {"job-name"}


def _helmfile_master_selector() -> dict[str, str]:
    """The ``configOnly.masterSelector`` the helmfile gives the config release (``$release`` filled in):
    one of the selectors its ``range`` over the components writes."""
    text = (REPO / "helmfile" / "helmfile.yaml.gotmpl").read_text()
    block = re.search(r"\n( +)\{\{ \$component \}\}Selector:\n((?:\1 +.+\n)+)", text)
    assert block is not None
    pairs = (line.strip().split(": ", 1) for line in block.group(2).splitlines() if not line.strip().startswith("{{-"))
    filled = {"{{ $release }}": RELEASE, "{{ $component }}": "master"}
    return {key: filled.get(value, value) for key, value in pairs}


def test_deliveryhero_master_is_selected_by_its_rendered_labels(
    k8s_tools: K8sTools, chart: Path, deliveryhero_chart: Path, tmp_path: Path
) -> None:
    """deliveryhero's master Deployment pods (its own labels, its container named after the chart) are
    recognised as that engine's master, and the config release's metrics Service, with the selector the
    helmfile gives it, is the one the progress line reads."""
    objects = [
        doc
        for doc in yaml.safe_load_all(
            helm(k8s_tools.helm, "template", RELEASE, str(deliveryhero_chart), "--namespace", NAMESPACE).stdout
        )
        if doc
    ]
    labels, containers = pod_template(named(objects, "Deployment", "-master"))
    assert engine_of(labels) is DELIVERYHERO
    assert labels[DELIVERYHERO.component_label] == "master"
    assert containers == [DELIVERYHERO.master_container]
    worker, _ = pod_template(named(objects, "Deployment", "-worker"))
    assert engine_of(worker) is DELIVERYHERO
    assert worker[DELIVERYHERO.component_label] == "worker"

    selector = _helmfile_master_selector()
    values = tmp_path / "config-only.yaml"
    values.write_text(
        json.dumps(
            {
                "workload": {"enabled": False},
                "configOnly": {"enabled": True, "masterSelector": selector},
                "metrics": {"enabled": True},
            }
        )
    )
    config = render(k8s_tools.helm, chart, values=[values], sets=["host=http://127.0.0.1:1"])
    services = as_listing(by_kind(objects, "Service") + by_kind(config, "Service"))
    assert find_metrics_service(services, labels) == named(config, "Service", "-metrics")["metadata"]["name"]

    # The recorded pods carry every label the template renders (plus the ReplicaSet's hash).
    recorded = recorded_labels("deliveryhero-pods-running.json", "master", DELIVERYHERO.component_label)
    assert set(labels) <= set(recorded) <= set(labels) | {"pod-template-hash"}
    recorded_selector = next(
        s["spec"]["selector"]
        for s in json.loads((RECORDED / "deliveryhero-services.json").read_text())["items"]
        if s["metadata"]["name"].endswith("-metrics")
    )
    assert set(recorded_selector) == set(selector)
