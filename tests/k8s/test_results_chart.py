"""The chart's results volume: where the master writes its run record and HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import K8sTools, named, render

pytestmark = pytest.mark.e2e


def _pod(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    spec: dict[str, Any] = named(objects, "Job", f"-{component}-r1")["spec"]["template"]["spec"]
    return spec


def test_master_writes_results_to_an_emptydir_by_default(k8s_tools: K8sTools, chart: Path) -> None:
    """By default only the master mounts a results emptyDir at /results and is told to write the
    record and the report there under the run id, and to print the record in its log."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml"])
    master, worker = _pod(objects, "master"), _pod(objects, "worker")
    volume = next(v for v in master["volumes"] if v["name"] == "results")
    assert volume["emptyDir"] == {"sizeLimit": "64Mi"}
    container = master["containers"][0]
    assert {"name": "results", "mountPath": "/results"} in container["volumeMounts"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LOCUST_SCENARIO_RECORD"] == "/results/r1/record.json"
    assert env["LOCUST_SCENARIO_REPORT"] == "/results/r1/report.html"
    assert env["LOCUST_SCENARIO_RECORD_LOG"] == "true"
    assert not any(v["name"] == "results" for v in worker["volumes"])
    assert not any(e["name"].startswith("LOCUST_SCENARIO_RECORD") for e in worker["containers"][0]["env"])


def test_results_on_a_persistent_volume_claim(k8s_tools: K8sTools, chart: Path) -> None:
    """results.existingClaim puts the files on that PersistentVolumeClaim instead of an emptyDir."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "results-pvc-values.yaml"])
    volume = next(v for v in _pod(objects, "master")["volumes"] if v["name"] == "results")
    assert volume == {"name": "results", "persistentVolumeClaim": {"claimName": "load-test-results"}}


def test_results_off(k8s_tools: K8sTools, chart: Path) -> None:
    """results.enabled=false: no volume, no mount and no record settings on the master."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml"], ["results.enabled=false"])
    master = _pod(objects, "master")
    assert not any(v["name"] == "results" for v in master["volumes"])
    assert not any(e["name"].startswith("LOCUST_SCENARIO_RE") for e in master["containers"][0]["env"])
