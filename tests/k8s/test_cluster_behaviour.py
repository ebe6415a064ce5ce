"""What a cluster does with the rendered chart: disruption, SIGTERM grace, deadlines, the installer's
access to an index, namespaces, monitoring labels, and values a cluster would reject (helm 4, real)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from locust_scenarios import parse_duration

from .conftest import FIXTURES, HERE, NAMESPACE, RELEASE, K8sTools, by_kind, free_port, helm, named, render

pytestmark = pytest.mark.e2e

REFUSED_BY_TEMPLATE = HERE / "bad-values-template"


def _pod(objects: list[dict[str, Any]], suffix: str) -> dict[str, Any]:
    pod: dict[str, Any] = named(objects, "Job", suffix)["spec"]["template"]["spec"]
    return pod


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _installer(objects: list[dict[str, Any]], suffix: str = "-master-r1") -> dict[str, Any]:
    containers = _pod(objects, suffix)["initContainers"]
    init: dict[str, Any] = next(c for c in containers if c["name"] == "install-dependencies")
    return init


def test_env_envfrom_and_secret_env_reach_the_installer(k8s_tools: K8sTools, chart: Path) -> None:
    """`env` (PIP_INDEX_URL here), `envFrom` and `secretEnv` are in the installer's environment as in
    the Locust containers'."""
    objects = render(
        k8s_tools.helm,
        chart,
        sets=[
            "host=http://127.0.0.1:8080",
            "env.PIP_INDEX_URL=https://pypi.internal/simple",
            "secretEnv.PIP_EXTRA_INDEX_URL.name=pip",
            "secretEnv.PIP_EXTRA_INDEX_URL.key=extra",
            "envFrom[0].secretRef.name=pip-settings",
        ],
    )
    for suffix in ("-master-r1", "-worker-r1"):
        installer = _installer(objects, suffix)
        locust = _pod(objects, suffix)["containers"][0]
        for container in (installer, locust):
            env = _env(container)
            assert env["PIP_INDEX_URL"]["value"] == "https://pypi.internal/simple"
            assert env["PIP_EXTRA_INDEX_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pip", "key": "extra"}
            assert {"secretRef": {"name": "pip-settings"}} in container["envFrom"]


def test_index_proxy_and_ca_from_secrets_reach_only_the_installer(k8s_tools: K8sTools, chart: Path) -> None:
    """Index URL and proxy URL come from Secrets, the CA bundle from a ConfigMap mounted read-only as
    PIP_CERT; none of it reaches the Locust containers (their load must not go through pip's proxy)."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "private-index-secret-values.yaml"])
    installer = _installer(objects)
    env = _env(installer)
    assert env["PIP_INDEX_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pip-index", "key": "url"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "egress-proxy", "key": "url"}
    assert env["NO_PROXY"]["value"] == ".svc,.cluster.local"
    assert env["PIP_CERT"]["value"] == "/etc/locust-scenarios/ca/ca.crt"
    mounts = {m["name"]: m for m in installer["volumeMounts"]}
    assert mounts["ca-bundle"] == {"name": "ca-bundle", "mountPath": "/etc/locust-scenarios/ca", "readOnly": True}
    volumes = {v["name"]: v for v in _pod(objects, "-master-r1")["volumes"]}
    assert volumes["ca-bundle"]["configMap"] == {"name": "corporate-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    assert "--index-url" not in installer["args"]
    locust_env = _env(_pod(objects, "-master-r1")["containers"][0])
    assert not {"PIP_INDEX_URL", "HTTP_PROXY", "HTTPS_PROXY", "PIP_CERT"} & set(locust_env)


def test_wheelhouse_installs_without_an_index(k8s_tools: K8sTools, chart: Path) -> None:
    """A wheelhouse volume is mounted read-only and pip runs with --no-index --find-links on it; an
    image is copied into an emptyDir by an init container first."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "wheelhouse-volume-values.yaml"])
    args = _installer(objects)["args"]
    assert "--no-index" in args
    assert args[args.index("--find-links") + 1] == "/opt/locust-scenarios/wheelhouse/wheels"
    volumes = {v["name"]: v for v in _pod(objects, "-master-r1")["volumes"]}
    assert volumes["wheelhouse"]["persistentVolumeClaim"]["claimName"] == "locust-wheels"

    objects = render(k8s_tools.helm, chart, [chart / "ci" / "wheelhouse-image-values.yaml"])
    init = _pod(objects, "-master-r1")["initContainers"]
    assert [c["name"] for c in init] == ["copy-wheelhouse", "install-dependencies"]
    assert init[0]["image"] == "registry.example.com/load/wheels:0.1.0"
    assert init[0]["command"] == ["cp", "-R", "/wheels/.", "/opt/locust-scenarios/wheelhouse/"]
    args = init[1]["args"]
    assert args[args.index("--find-links") + 1] == "/opt/locust-scenarios/wheelhouse"


@pytest.mark.parametrize(("linger", "metrics", "grace"), [("30s", True, 50), ("1m30s", True, 110), ("30s", False, 20)])
def test_master_grace_period_exceeds_its_linger(
    k8s_tools: K8sTools, chart: Path, linger: str, metrics: bool, grace: int
) -> None:
    """The master's terminationGracePeriodSeconds is its linger plus run.terminationMarginSeconds (20):
    SIGTERM ends in exit 4 and one summary before a SIGKILL. Workers keep the default."""
    objects = render(
        k8s_tools.helm,
        chart,
        sets=["host=http://127.0.0.1:8080", f"metrics.linger={linger}", f"metrics.enabled={str(metrics).lower()}"],
    )
    assert _pod(objects, "-master-r1")["terminationGracePeriodSeconds"] == grace
    assert "terminationGracePeriodSeconds" not in _pod(objects, "-worker-r1")


def test_service_mode_master_grace_period_exceeds_its_linger(k8s_tools: K8sTools, chart: Path) -> None:
    """A service-mode master (a Deployment: rollouts and drains send SIGTERM too) gets the same grace
    period, its linger plus 20 s, instead of Kubernetes' 30 s for a 30 s linger."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "service-mode-values.yaml"])
    pod = named(objects, "Deployment", "-master")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30 + 20


@pytest.mark.parametrize(
    ("sets", "deadline"),
    [
        # load's default 10m: 600 + 60 (10%) + 300 (worker wait) + 10 (autoquit) + 50 (grace) + 600 (margin)
        ([], 1620),
        (["scenario.name=smoke"], 60 + 6 + 300 + 10 + 50 + 600),
        (["scenario.duration=1h30m"], 5400 + 540 + 960),
        (["scenario.stages=30s:5\\,2m:5\\,30s:0"], 180 + 18 + 960),
        (["scenario.name=my-own-profile"], 3600 + 360 + 960),
        (["run.activeDeadlineSeconds=99"], 99),
    ],
)
def test_default_deadline_from_the_planned_duration(
    k8s_tools: K8sTools, chart: Path, sets: list[str], deadline: int
) -> None:
    """Both Jobs get activeDeadlineSeconds: the planned duration (stages, duration, or the profile's
    default recorded by the bundle; 1 h for a profile the bundle does not know) plus 10%, the wait for
    workers, the autoquit, the master's grace period and 600 s; run.activeDeadlineSeconds overrides."""
    objects = render(k8s_tools.helm, chart, sets=["host=http://127.0.0.1:8080", *sets])
    assert {job["spec"]["activeDeadlineSeconds"] for job in by_kind(objects, "Job")} == {deadline}


def test_disruption_policy_of_the_jobs(k8s_tools: K8sTools, chart: Path) -> None:
    """The worker Job ignores pods lost to disruptions (they are replaced and rejoin: rebalancing is on),
    fails at once on invalid configuration (exit 2: a replacement would fail the same way), and replaces
    any other failed worker (an OOM kill, 137) up to run.workerReplacements times; the master Job fails
    at once on a disruption and never retries."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "run-values.yaml"])
    workers = named(objects, "Job", "-worker-0101-120000")["spec"]
    master = named(objects, "Job", "-master-0101-120000")["spec"]
    disruption = [{"type": "DisruptionTarget", "status": "True"}]
    assert workers["podFailurePolicy"]["rules"] == [
        {"action": "Ignore", "onPodConditions": disruption},
        {"action": "FailJob", "onExitCodes": {"containerName": "worker", "operator": "In", "values": [2]}},
    ]
    assert workers["backoffLimit"] == 3
    assert master["podFailurePolicy"]["rules"] == [{"action": "FailJob", "onPodConditions": disruption}]
    assert master["backoffLimit"] == 0
    bounded = render(k8s_tools.helm, chart, [chart / "ci" / "run-values.yaml"], ["run.workerReplacements=7"])
    assert named(bounded, "Job", "-worker-0101-120000")["spec"]["backoffLimit"] == 7
    assert named(bounded, "Job", "-master-0101-120000")["spec"]["backoffLimit"] == 0
    assert "--enable-rebalancing" in master["template"]["spec"]["containers"][0]["args"]


def test_pod_disruption_budgets(k8s_tools: K8sTools, chart: Path) -> None:
    """Run mode: a PDB keeps the master (minAvailable 1) and all but workersMaxUnavailable workers
    (Job pods allow only an integer minAvailable); each selects exactly its run's pods."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "run-values.yaml"])
    pdbs = by_kind(objects, "PodDisruptionBudget")
    budgets = {pdb["metadata"]["name"].rsplit("-", 1)[-1]: pdb["spec"] for pdb in pdbs}
    assert budgets["master"]["minAvailable"] == 1
    assert budgets["worker"]["minAvailable"] == 3 - 1
    for component, suffix in (("master", "-master-0101-120000"), ("worker", "-worker-0101-120000")):
        labels = named(objects, "Job", suffix)["spec"]["template"]["metadata"]["labels"]
        assert budgets[component]["selector"]["matchLabels"].items() <= labels.items()
    service = render(k8s_tools.helm, chart, [chart / "ci" / "service-mode-values.yaml"])
    assert not by_kind(service, "PodDisruptionBudget"), "a service-mode budget would block drains for days"


def test_do_not_disrupt_annotations(k8s_tools: K8sTools, chart: Path) -> None:
    """Run-mode pods ask cluster-autoscaler and Karpenter to keep their node; a null drops one;
    service-mode pods carry neither."""
    objects = render(k8s_tools.helm, chart, sets=["host=http://127.0.0.1:8080"])
    for suffix in ("-master-r1", "-worker-r1"):
        annotations = named(objects, "Job", suffix)["spec"]["template"]["metadata"]["annotations"]
        assert annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
        assert annotations["karpenter.sh/do-not-disrupt"] == "true"
    objects = render(
        k8s_tools.helm,
        chart,
        sets=["host=http://127.0.0.1:8080", "disruption.podAnnotations.karpenter\\.sh/do-not-disrupt=null"],
    )
    annotations = named(objects, "Job", "-master-r1")["spec"]["template"]["metadata"]["annotations"]
    assert "karpenter.sh/do-not-disrupt" not in annotations
    service = render(k8s_tools.helm, chart, [chart / "ci" / "service-mode-values.yaml"])
    annotations = named(service, "Deployment", "-master")["spec"]["template"]["metadata"]["annotations"]
    assert "cluster-autoscaler.kubernetes.io/safe-to-evict" not in annotations


def test_workers_wait_for_the_master_as_long_as_it_waits_for_them(k8s_tools: K8sTools, chart: Path) -> None:
    """Workers get LOCUST_SCENARIO_MASTER_WAIT = run.workerWaitSeconds (Locust alone gives up after
    about 305 s); the master does not."""
    objects = render(k8s_tools.helm, chart, sets=["host=http://127.0.0.1:8080", "run.workerWaitSeconds=600"])
    assert _env(_pod(objects, "-worker-r1")["containers"][0])["LOCUST_SCENARIO_MASTER_WAIT"]["value"] == "600"
    assert "LOCUST_SCENARIO_MASTER_WAIT" not in _env(_pod(objects, "-master-r1")["containers"][0])


def test_every_object_has_the_namespace(k8s_tools: K8sTools, chart: Path) -> None:
    """Every object carries metadata.namespace: the release's, or namespaceOverride, which the
    ServiceMonitor's namespaceSelector and KEDA's URL follow too."""
    values = [chart / "ci" / "monitoring-values.yaml"]
    for sets, expected in (([], NAMESPACE), (["namespaceOverride=perf-tests"], "perf-tests")):
        objects = render(k8s_tools.helm, chart, values, sets)
        assert {o["metadata"].get("namespace") for o in objects} == {expected}
        assert named(objects, "ServiceMonitor", "")["spec"]["namespaceSelector"]["matchNames"] == [expected]
    keda = render(k8s_tools.helm, chart, [chart / "ci" / "keda-values.yaml"], ["namespaceOverride=perf-tests"])
    assert ".perf-tests.svc." in named(keda, "ScaledObject", "-worker")["spec"]["triggers"][0]["metadata"]["url"]


def test_monitoring_objects_carry_a_release_label(k8s_tools: K8sTools, chart: Path) -> None:
    """ServiceMonitor and PrometheusRule carry `release: kube-prometheus-stack` by default (what that
    chart's Prometheus selects), overridable and removable."""
    values = [chart / "ci" / "monitoring-only-values.yaml"]
    objects = render(k8s_tools.helm, chart, values)
    for kind in ("ServiceMonitor", "PrometheusRule"):
        assert named(objects, kind, "")["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    objects = render(
        k8s_tools.helm,
        chart,
        values,
        ["metrics.serviceMonitor.labels.release=monitoring", "metrics.prometheusRule.labels.release=null"],
    )
    assert named(objects, "ServiceMonitor", "")["metadata"]["labels"]["release"] == "monitoring"
    assert "release" not in named(objects, "PrometheusRule", "")["metadata"]["labels"]


def test_master_has_resources_by_default(k8s_tools: K8sTools, chart: Path) -> None:
    """With no resources given, the master still requests CPU and memory (not BestEffort)."""
    objects = render(k8s_tools.helm, chart, sets=["host=http://127.0.0.1:8080"])
    resources = _pod(objects, "-master-r1")["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert resources["limits"] == {"memory": "1Gi"}


def test_files_placed_by_hand_are_checked(k8s_tools: K8sTools, chart: Path, tmp_path: Path) -> None:
    """A locustfile copied straight into files/ (not through the bundle step) over 1 MiB, or with a name
    that cannot be a ConfigMap key, is refused by helm template with a message naming it."""
    copy = tmp_path / "chart"
    shutil.copytree(chart, copy)
    (copy / "files" / "locustfiles" / "huge.py").write_text("# padding\n" * 110_000)
    (copy / "files" / "locustfiles" / "my test.py").write_text("pass\n")
    result = helm(k8s_tools.helm, "template", RELEASE, str(copy), "--set", "host=http://127.0.0.1:8080", check=False)
    assert result.returncode != 0
    assert "files/locustfiles/: " in result.stderr
    assert "above the 1 MiB" in result.stderr
    assert "files/locustfiles/my test.py: my test.py cannot be a ConfigMap key" in result.stderr


def test_host_must_be_one_url(k8s_tools: K8sTools, chart: Path) -> None:
    """The host pattern checks the whole value: a path is allowed, a space anywhere is not."""
    for host, accepted in (("https://x/base/path", True), ("https://x/ path", False), ("https://x y", False)):
        result = helm(k8s_tools.helm, "template", RELEASE, str(chart), "--set", f"host={host}", check=False)
        assert (result.returncode == 0) is accepted, (host, result.stderr)
        if not accepted:
            assert "host" in result.stderr


def test_linger_parse_matches_the_settings(k8s_tools: K8sTools, chart: Path) -> None:
    """The chart's duration arithmetic agrees with the settings' parser on the syntax both accept."""
    for linger in ("500ms", "45s", "2m", "1h1m1s", "12"):
        objects = render(k8s_tools.helm, chart, sets=["host=http://127.0.0.1:8080", f"metrics.linger={linger}"])
        expected = -(-parse_duration(linger) // 1) + 20
        assert _pod(objects, "-master-r1")["terminationGracePeriodSeconds"] == expected


@pytest.mark.parametrize("values", sorted(p.name for p in REFUSED_BY_TEMPLATE.glob("*.yaml")))
@pytest.mark.parametrize("major", ["helm", "helm3"])
def test_values_a_cluster_rejects_are_refused(k8s_tools: K8sTools, chart: Path, values: str, major: str) -> None:
    """Values that render but that a cluster rejects or that deadlock a run are refused by helm template
    (validateValues; helm lint only logs a template's fail), the message naming the key (first line)."""
    path = REFUSED_BY_TEMPLATE / values
    expected = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    result = helm(getattr(k8s_tools, major), "template", RELEASE, str(chart), "-f", str(path), check=False)
    assert result.returncode != 0
    assert re.search(expected, result.stderr), f"{values} ({major}): {expected!r} not in\n{result.stderr}"


def test_a_baseline_record_renders_once_jsonschema_is_installed(k8s_tools: K8sTools, chart: Path) -> None:
    """`scenario.baselineRecord` with jsonschema among the packages the pods install renders, and the
    master gets the record's path (refused without it: bad-values-template/baseline-record-without-jsonschema)."""
    result = _template(
        k8s_tools,
        chart,
        "scenario.baselineRecord=baseline.json",
        "dependencies.packages={pydantic-settings==2.16.3,jsonschema==4.23.0}",
    )
    assert result.returncode == 0, result.stderr
    assert "baseline.json" in result.stdout


def _template(k8s_tools: K8sTools, chart: Path, *sets: str) -> subprocess.CompletedProcess[str]:
    """`helm template` of the chart with a host and ``sets``, whether it renders or not."""
    args = [arg for item in ("host=http://127.0.0.1:8080", *sets) for arg in ("--set", item)]
    return helm(k8s_tools.helm, "template", RELEASE, str(chart), *args, check=False)


@pytest.mark.parametrize(
    ("setting", "named_in_message", "secret"),
    [
        ("master.extraArgs={--scenario-auth-token=s3cret-token}", "authTokenSecret", "s3cret-token"),
        ("workers.extraArgs={--scenario-auth-token,s3cret-token}", "authTokenSecret", "s3cret-token"),
        ("workers.extraArgs={--scenario-auth-to=s3cret-token}", "authTokenSecret", "s3cret-token"),
        ("dependencies.indexUrl=https://ci:s3cret@pypi.internal/simple", "dependencies.indexUrlSecret", "s3cret"),
        (
            "dependencies.extraIndexUrls={https://s3cret@extra.internal/simple}",
            "secretEnv.PIP_EXTRA_INDEX_URL",
            "s3cret",
        ),
        ("dependencies.proxy.url=http://me:s3cret@proxy.internal:3128", "dependencies.proxy.urlSecret", "s3cret"),
        ("env.PIP_INDEX_URL=https://ci:s3cret@pypi.internal/simple", "secretEnv.PIP_INDEX_URL", "s3cret"),
    ],
)
def test_plaintext_secrets_are_refused(
    k8s_tools: K8sTools, chart: Path, setting: str, named_in_message: str, secret: str
) -> None:
    """The token option in extraArgs (with its value, before it, or abbreviated as Locust's parser
    allows) and credentials in a URL are refused by helm template, in one line that names the
    Secret-based value to use instead and never repeats the secret."""
    result = _template(k8s_tools, chart, setting)
    assert result.returncode != 0
    line = next((x for x in result.stderr.splitlines() if "plain text" in x), "")
    assert named_in_message in line, result.stderr
    assert secret not in result.stderr


def test_values_like_secrets_but_not_secrets_render(k8s_tools: K8sTools, chart: Path) -> None:
    """Neighbours of the refused values still render: the token's header and scheme options, an index
    URL without credentials, an `@` in a URL's path."""
    render(
        k8s_tools.helm,
        chart,
        sets=[
            "host=http://127.0.0.1:8080",
            "master.extraArgs={--scenario-auth-header=X-Api-Key,--scenario-auth-scheme=none}",
            "dependencies.indexUrl=https://pypi.internal/simple",
            "env.TEAM_PAGE=https://wiki.internal/@performance",
        ],
    )


def _worker_giving_up(tries: int) -> subprocess.CompletedProcess[str]:
    """A real `locust --worker` with no master, making ``tries`` attempts 1 ms apart (Locust's 5 s
    interval compressed five-thousandfold, the number of tries unchanged)."""
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(FIXTURES / "locustfile.py"), "--worker"],
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "LOCUST_MASTER_NODE_HOST": "127.0.0.1",
            "LOCUST_MASTER_NODE_PORT": str(free_port()),
            "LOCUST_SCENARIO_MASTER_RETRY_INTERVAL": "0.001",
            "LOCUST_SCENARIO_MASTER_WAIT": str(tries * 0.001),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_worker_wait_is_bounded_below_locusts_recursion(k8s_tools: K8sTools, chart: Path) -> None:
    """run.workerWaitSeconds 4500 renders and 4501 is refused, naming the key: at Locust's 5 s interval
    4500 s is 900 tries, and a real worker making 900 tries gives up with Locust's own message (exit
    255), while the 2000 tries of 10000 s crash its recursive connect loop (RecursionError)."""
    accepted = render(k8s_tools.helm, chart, sets=["host=http://127.0.0.1:8080", "run.workerWaitSeconds=4500"])
    assert _env(_pod(accepted, "-worker-r1")["containers"][0])["LOCUST_SCENARIO_MASTER_WAIT"]["value"] == "4500"
    refused = _template(k8s_tools, chart, "run.workerWaitSeconds=4501")
    assert refused.returncode != 0
    assert "run.workerWaitSeconds: 4501 is above 4500" in refused.stderr
    safe = _worker_giving_up(4500 // 5)
    assert safe.returncode == 255, safe.stderr[-2000:]
    assert "Failed to connect to the Locust master" in safe.stderr
    assert "RecursionError" not in safe.stderr
    crashed = _worker_giving_up(10000 // 5)
    assert "RecursionError" in crashed.stderr, crashed.stderr[-2000:]


def test_installer_and_locust_containers_have_resources(k8s_tools: K8sTools, chart: Path) -> None:
    """Every container the chart makes, the installer's init containers included, requests CPU and
    memory and limits memory by default: a namespace with a ResourceQuota admits such pods."""
    for values in ("host-values.yaml", "wheelhouse-image-values.yaml", "service-mode-values.yaml"):
        objects = render(k8s_tools.helm, chart, [chart / "ci" / values])
        for workload in by_kind(objects, "Job") + by_kind(objects, "Deployment"):
            pod = workload["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                resources = container.get("resources", {})
                assert {"cpu", "memory"} <= set(resources.get("requests", {})), (values, container["name"])
                assert "memory" in resources.get("limits", {}), (values, container["name"])


def test_extra_objects_get_the_chart_namespace(k8s_tools: K8sTools, chart: Path) -> None:
    """extraObjects without a namespace (maps and strings) land in namespaceOverride like every other
    object, for `helm template | kubectl apply`; one that names its namespace keeps it, and
    cluster-scoped kinds get none."""
    objects = render(
        k8s_tools.helm,
        chart,
        [chart / "ci" / "extra-objects-values.yaml"],
        ["namespaceOverride=perf-tests"],
    )
    assert named(objects, "NetworkPolicy", "-egress")["metadata"]["namespace"] == "perf-tests"
    assert named(objects, "ConfigMap", "-notes")["metadata"]["namespace"] == "perf-tests"
    assert named(objects, "ConfigMap", "-shared")["metadata"]["namespace"] == "shared"
    assert "namespace" not in named(objects, "ClusterRole", "-reader")["metadata"]
