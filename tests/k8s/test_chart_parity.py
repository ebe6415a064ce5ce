"""Values that deliveryhero/locust users rely on, in our chart: each ci file renders what it promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import RELEASE, K8sTools, by_kind, helm, named, render

pytestmark = pytest.mark.e2e


def _objects(tools: K8sTools, chart: Path, values: str, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return render(tools.helm, chart, [chart / "ci" / values], sets)


def _pod(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    workload = next(
        o for o in by_kind(objects, "Job") + by_kind(objects, "Deployment") if f"-{component}" in o["metadata"]["name"]
    )
    return dict(workload["spec"]["template"]["spec"])


def test_per_component_scheduling(k8s_tools: K8sTools, chart: Path) -> None:
    """A component's own nodeSelector/tolerations/affinity replace the global ones; unset ones keep them."""
    objects = _objects(k8s_tools, chart, "per-component-scheduling-values.yaml")
    master, worker = _pod(objects, "master"), _pod(objects, "worker")
    assert master["nodeSelector"] == {"node.example.com/pool": "regular"}
    assert "tolerations" not in master
    assert worker["nodeSelector"] == {"node.example.com/pool": "spot"}
    assert worker["tolerations"] == [{"key": "node.example.com/spot", "operator": "Exists", "effect": "NoSchedule"}]
    assert "nodeAffinity" in worker["affinity"]
    globals_only = _objects(k8s_tools, chart, "scheduling-values.yaml")
    assert _pod(globals_only, "master")["tolerations"] == _pod(globals_only, "worker")["tolerations"]


def test_service_account_with_annotations(k8s_tools: K8sTools, chart: Path) -> None:
    """serviceAccount.create renders the account with its annotations and every pod runs as it; the API
    token stays unmounted unless asked for."""
    objects = _objects(k8s_tools, chart, "service-account-values.yaml")
    account = named(objects, "ServiceAccount", "load-tests")
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].startswith("load-tests@")
    for component in ("master", "worker"):
        pod = _pod(objects, component)
        assert pod["serviceAccountName"] == "load-tests"
        assert pod["automountServiceAccountToken"] is False
    existing = _objects(k8s_tools, chart, "host-values.yaml", ("serviceAccount.name=shared",))
    assert not by_kind(existing, "ServiceAccount")
    assert _pod(existing, "worker")["serviceAccountName"] == "shared"
    assert "serviceAccountName" not in _pod(_objects(k8s_tools, chart, "host-values.yaml"), "worker")


def test_extra_volumes_and_configmaps(k8s_tools: K8sTools, chart: Path) -> None:
    """extraVolumes/extraVolumeMounts and extraConfigMaps reach every pod and Locust container."""
    objects = _objects(k8s_tools, chart, "extra-volumes-values.yaml")
    for component in ("master", "worker"):
        pod = _pod(objects, component)
        assert {"client-certs", "scratch"} <= {v["name"] for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["/etc/client-certs"] == "client-certs"
    objects = _objects(k8s_tools, chart, "extra-configmaps-values.yaml")
    pod = _pod(objects, "worker")
    assert {"name": "extra-test-data", "configMap": {"name": "test-data"}} in pod["volumes"]
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/etc/test-data"] == {"name": "extra-test-data", "mountPath": "/etc/test-data", "readOnly": True}


def test_env_from_whole_secrets_and_configmaps(k8s_tools: K8sTools, chart: Path) -> None:
    """envFrom follows the settings ConfigMap in every Locust container's envFrom."""
    objects = _objects(k8s_tools, chart, "env-from-values.yaml")
    for component in ("master", "worker"):
        env_from = _pod(objects, component)["containers"][0]["envFrom"]
        assert env_from[0]["configMapRef"]["name"].endswith("-settings")
        assert env_from[1:] == [
            {"secretRef": {"name": "api-credentials"}},
            {"configMapRef": {"name": "test-parameters"}, "prefix": "TEST_"},
        ]


def test_existing_locustfile_configmap(k8s_tools: K8sTools, chart: Path) -> None:
    """With locust.existingConfigMap the pods mount that ConfigMap (flat) at /mnt/locust and run the named
    locustfiles from it; the bundle's locustfiles ConfigMap is not rendered. Without locustfiles it fails."""
    objects = _objects(k8s_tools, chart, "existing-configmap-values.yaml")
    assert not any(o["metadata"]["name"].endswith("-locustfiles") for o in by_kind(objects, "ConfigMap"))
    pod = _pod(objects, "master")
    volume = next(v for v in pod["volumes"] if v["name"] == "locustfiles")
    assert volume == {"name": "locustfiles", "configMap": {"name": "my-loadtest-locustfile"}}
    args = pod["containers"][0]["args"]
    assert args[args.index("-f") + 1] == "/mnt/locust/main.py"
    result = helm(
        k8s_tools.helm,
        *("template", RELEASE, str(chart), "--set", "host=http://127.0.0.1", "--set", "locust.existingConfigMap=x"),
        check=False,
    )
    assert result.returncode != 0
    assert "locust.existingConfigMap=x needs locust.locustfiles" in result.stderr


def test_host_aliases_init_containers_and_extra_objects(k8s_tools: K8sTools, chart: Path) -> None:
    """hostAliases reach the pods, extra init containers run after the dependency install, and
    extraObjects render through tpl (maps and strings)."""
    pod = _pod(_objects(k8s_tools, chart, "host-aliases-values.yaml"), "worker")
    assert pod["hostAliases"] == [{"ip": "10.0.0.10", "hostnames": ["api.internal", "auth.internal"]}]
    pod = _pod(_objects(k8s_tools, chart, "init-containers-values.yaml"), "worker")
    assert [c["name"] for c in pod["initContainers"]] == ["install-dependencies", "fetch-test-data"]
    objects = _objects(k8s_tools, chart, "extra-objects-values.yaml")
    assert named(objects, "NetworkPolicy", "-egress")["metadata"]["name"] == f"{RELEASE}-egress"
    assert named(objects, "ConfigMap", "-notes")["data"] == {"owner": "performance-team"}


def test_probes_are_configurable(k8s_tools: K8sTools, chart: Path) -> None:
    """The master's readiness, liveness and startup probes and the workers' liveness probe follow the
    values; without them run mode keeps its master-reachability probe on workers."""
    objects = _objects(k8s_tools, chart, "probes-values.yaml")
    master = _pod(objects, "master")["containers"][0]
    assert master["readinessProbe"]["periodSeconds"] == 5
    assert master["livenessProbe"] == {"tcpSocket": {"port": "web"}, "initialDelaySeconds": 30}
    assert master["startupProbe"]["failureThreshold"] == 30
    assert _pod(objects, "worker")["containers"][0]["livenessProbe"]["exec"]["command"][-1] == "import locust"
    default = _pod(_objects(k8s_tools, chart, "host-values.yaml"), "worker")["containers"][0]
    assert "socket" in default["livenessProbe"]["exec"]["command"][2]


def test_service_monitor_scheme_tls_auth_and_relabelings(k8s_tools: K8sTools, chart: Path) -> None:
    """The ServiceMonitor endpoint carries scheme, TLS, basic auth and relabelling from the values."""
    endpoint = named(_objects(k8s_tools, chart, "servicemonitor-auth-values.yaml"), "ServiceMonitor", "")["spec"][
        "endpoints"
    ][0]
    assert endpoint["scheme"] == "https"
    assert endpoint["tlsConfig"]["serverName"] == "locust-metrics.load.svc"
    assert endpoint["basicAuth"]["password"] == {"name": "metrics-auth", "key": "password"}
    assert endpoint["relabelings"][0]["targetLabel"] == "node"
    assert endpoint["metricRelabelings"][0]["action"] == "drop"


def test_web_login_and_common_labels(k8s_tools: K8sTools, chart: Path) -> None:
    """webUi.login puts Locust's --web-login on the master; commonLabels land on every object but never
    in a selector."""
    master = _pod(_objects(k8s_tools, chart, "web-login-values.yaml"), "master")["containers"][0]
    assert "--web-login" in master["args"]
    objects = _objects(k8s_tools, chart, "common-labels-values.yaml")
    for obj in objects:
        assert obj["metadata"]["labels"]["team"] == "performance", obj["metadata"]["name"]
    for service in by_kind(objects, "Service"):
        assert "team" not in service["spec"]["selector"]


def test_config_only_notes_say_where_the_verdict_is(k8s_tools: K8sTools, chart: Path) -> None:
    """In config-only mode NOTES.txt names the ConfigMaps it made and where the verdict is read, since
    the other chart's pods give no exit code."""
    result = helm(
        k8s_tools.helm,
        *("install", RELEASE, str(chart), "--dry-run=client", "-n", "load"),
        *("-f", str(chart / "ci" / "config-only-values.yaml")),
    )
    notes = result.stdout.split("NOTES:", 1)[1]
    assert f"{RELEASE}-locust-scenarios-lib (pythonpath.zip)" in notes
    assert "locust_threshold_passing" in notes
