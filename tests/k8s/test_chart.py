"""The chart that `locust-scenarios bundle` writes, linted, rendered and validated with the real tools."""

from __future__ import annotations

import ast
import copy
import json
import math
import re
import shutil
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from locust_scenarios import ScenarioSettings, parse_duration
from locust_scenarios._cli.bundle.build import BundleReport, settings_env
from locust_scenarios._cli.bundle.payload import CONFIGMAP_KEY, MAX_CONFIGMAP_BYTES, MAX_RELEASE_BYTES, release_size
from locust_scenarios._settings.options import env_name

from .conftest import HERE, RELEASE, K8sTools, by_kind, ci_values, helm, make_bundle, named, render

pytestmark = pytest.mark.e2e

CI_NAMES = [p.name for p in ci_values(HERE.parent.parent / "chart")]
BAD_VALUES = HERE / "bad-values"
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
CRD_SCHEMAS = HERE / "crd-schemas"
CRD_KINDS = {"ServiceMonitor": "servicemonitor", "PrometheusRule": "prometheusrule", "ScaledObject": "scaledobject"}


def _crd_validator(kind: str) -> jsonschema.Draft7Validator:
    registry: Registry[Any] = Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()))) for path in CRD_SCHEMAS.glob("*.json")
    )
    schema = json.loads((CRD_SCHEMAS / f"{CRD_KINDS[kind]}.json").read_text())
    return jsonschema.Draft7Validator(schema, registry=registry)


def test_every_ci_values_file_is_in_the_bundled_chart(chart: Path) -> None:
    """The bundle writes the chart with every ci/*-values.yaml of the repository's chart."""
    assert [p.name for p in ci_values(chart)] == CI_NAMES
    assert "host-values.yaml" in CI_NAMES


def test_smallest_ci_values_file_sets_only_the_host(chart: Path) -> None:
    """One ci values file sets nothing but the host: the chart's defaults are a working test."""
    smallest = yaml.safe_load((chart / "ci" / "host-values.yaml").read_text())
    assert list(smallest) == ["host"]


CiObjects = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="module")
def ci_objects(k8s_tools: K8sTools, chart: Path) -> CiObjects:
    """`helm template` of a ci values file with helm 4 (major "helm") or "helm3", rendered once for
    the module; each call gets its own copy."""
    rendered: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def objects(values: str, major: str = "helm") -> list[dict[str, Any]]:
        if (values, major) not in rendered:
            rendered[values, major] = render(getattr(k8s_tools, major), chart, [chart / "ci" / values])
        return copy.deepcopy(rendered[values, major])

    return objects


@pytest.mark.parametrize("values", CI_NAMES)
@pytest.mark.parametrize("major", ["helm", "helm3"])
def test_lint_strict_and_template(
    k8s_tools: K8sTools, chart: Path, ci_objects: CiObjects, values: str, major: str
) -> None:
    """`helm lint --strict` passes and `helm template` renders, with helm 4 and helm 3, per ci file."""
    binary = getattr(k8s_tools, major)
    lint = helm(binary, "lint", "--strict", str(chart), "-f", str(chart / "ci" / values))
    assert "0 chart(s) failed" in lint.stdout
    objects = ci_objects(values, major)
    kinds = {o["kind"] for o in objects}
    if values == "monitoring-only-values.yaml":
        assert kinds == {"ConfigMap", "ServiceMonitor", "PrometheusRule"}
    elif values == "config-only-values.yaml":
        assert kinds == {"ConfigMap", "Service", "ServiceMonitor", "PrometheusRule", "PodDisruptionBudget"}
    else:
        assert {"ConfigMap", "Service", "Job" if "Job" in kinds else "Deployment"} <= kinds


@pytest.mark.parametrize("values", CI_NAMES)
def test_objects_pass_kubernetes_validate_strict(ci_objects: CiObjects, values: str) -> None:
    """Every built-in object validates strictly against Kubernetes 1.30 and the newest bundled schemas;
    ServiceMonitor, PrometheusRule and ScaledObject validate against their CRD schemas."""
    objects = ci_objects(values)
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            errors = list(_crd_validator(obj["kind"]).iter_errors(obj))
            assert not errors, f"{obj['kind']}: {[e.message for e in errors]}"
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def test_crd_schemas_reject_wrong_objects() -> None:
    """The trimmed CRD schemas catch typos and wrong types, so passing them means something."""
    bad = {
        "ServiceMonitor": {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "x"},
            "spec": {"endpoints": [{"port": "m", "intervall": "5s"}]},
        },
        "PrometheusRule": {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "x"},
            "spec": {"groups": [{"name": "g", "rules": [{"alert": "A"}]}]},
        },
        "ScaledObject": {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "x"},
            "spec": {
                "scaleTargetRef": {"name": "w"},
                "triggers": [{"type": "metrics-api", "metadata": {"targetValue": 100}}],
            },
        },
    }
    for kind, obj in bad.items():
        assert list(_crd_validator(kind).iter_errors(obj)), kind


def test_monitoring_objects_come_from_the_bundled_dashboards(k8s_tools: K8sTools, chart: Path) -> None:
    """The PrometheusRule carries the groups of dashboards/alerts.yaml and the dashboard ConfigMap the
    dashboard JSON, with the sidecar label; the ServiceMonitor scrapes the master's metrics port."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "monitoring-values.yaml"])
    rules = yaml.safe_load((chart / "files" / "dashboards" / "alerts.yaml").read_text())
    assert named(objects, "PrometheusRule", "")["spec"]["groups"] == rules["groups"]
    dashboard = named(objects, "ConfigMap", "-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    for path in (chart / "files" / "dashboards").glob("*.json"):
        assert json.loads(dashboard["data"][path.name]) == json.loads(path.read_text())
    monitor = named(objects, "ServiceMonitor", "")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = named(objects, "Service", "-master")
    assert {"name": "metrics", "port": 9646, "targetPort": "metrics"} in service["spec"]["ports"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["spec"]["selector"].items()


def test_dashboard_label_is_configurable(k8s_tools: K8sTools, chart: Path) -> None:
    """The sidecar label of the dashboard ConfigMap follows metrics.dashboard.label/labelValue."""
    objects = render(
        k8s_tools.helm,
        chart,
        [chart / "ci" / "monitoring-values.yaml"],
        ["metrics.dashboard.label=dashboards", "metrics.dashboard.labelValue=locust"],
    )
    labels = named(objects, "ConfigMap", "-dashboard")["metadata"]["labels"]
    assert labels["dashboards"] == "locust"
    assert "grafana_dashboard" not in labels


@pytest.mark.parametrize("values", CI_NAMES)
def test_configmap_keys_and_sizes(ci_objects: CiObjects, values: str) -> None:
    """Every ConfigMap key is valid, every ConfigMap is at most 1 MiB, and every items[] key exists."""
    objects = ci_objects(values)
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    for name, configmap in configmaps.items():
        data = configmap.get("data", {})
        assert all(CONFIGMAP_KEY.fullmatch(key) for key in data), name
        assert sum(len(k.encode()) + len(v.encode()) for k, v in data.items()) <= MAX_CONFIGMAP_BYTES
    for workload in by_kind(objects, "Job") + by_kind(objects, "Deployment"):
        for volume in workload["spec"]["template"]["spec"]["volumes"]:
            if "configMap" in volume and volume["configMap"]["name"] in configmaps:
                data = configmaps[volume["configMap"]["name"]]["data"]
                items = volume["configMap"].get("items", [{"key": key} for key in data])
                assert {item["key"] for item in items} == set(data)


def test_package_configmap_holds_the_installed_package_without_assets(k8s_tools: K8sTools, chart: Path) -> None:
    """The package ConfigMap has the package's Python files with their nested paths (items[].path),
    a dist-info for importlib.metadata, the run-record schema, and none of the chart, helmfile or
    dashboards."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml"])
    data = named(objects, "ConfigMap", "-package")["data"]
    master = named(objects, "Job", "-master-r1")
    volume = next(v for v in master["spec"]["template"]["spec"]["volumes"] if v["name"] == "package")
    paths = {item["path"] for item in volume["configMap"]["items"]}
    assert "locust_scenarios/__init__.py" in paths
    assert "locust_scenarios/_plugin.py" in paths
    assert "locust_scenarios/_cli/bundle/build.py" not in paths  # host-only: pods never import it
    assert any(p.endswith(".dist-info/METADATA") for p in paths)
    assert "locust_scenarios/schemas/run-record.schema.json" in paths  # package data, not an asset
    assets = [p for p in paths if "_assets" in p or p.endswith((".yaml", ".json", ".tpl", ".gotmpl"))]
    assert assets == ["locust_scenarios/schemas/run-record.schema.json"]
    source = chart / "files" / "package" / "locust_scenarios" / "_shapes" / "profiles.py"
    assert data["locust_scenarios._shapes.profiles.py"] == source.read_text()


def test_run_mode_jobs(k8s_tools: K8sTools, chart: Path) -> None:
    """Run mode: master and workers are Jobs named after the run id, the master never retried, with worker
    pods sized from the profile's peak users and the master waiting a bounded time for them."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "run-values.yaml"])
    assert not by_kind(objects, "Deployment")
    master = named(objects, "Job", "-master-0101-120000")
    workers = named(objects, "Job", "-worker-0101-120000")
    assert master["spec"]["backoffLimit"] == 0
    assert workers["spec"]["backoffLimit"] == 3
    assert workers["spec"]["completions"] == workers["spec"]["parallelism"] == math.ceil(250 / 100)
    args = master["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {"--master", "--autostart"} <= set(args)
    assert args[args.index("--autoquit") + 1] == "10"
    assert args[args.index("--expect-workers") + 1] == "3"
    assert args[args.index("--expect-workers-max-wait") + 1] == "120"
    assert master["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert master["spec"]["activeDeadlineSeconds"] == 1800
    worker_args = workers["spec"]["template"]["spec"]["containers"][0]["args"]
    assert worker_args[worker_args.index("--master-host") + 1] == f"{RELEASE}-locust-scenarios-master"


def test_run_id_defaults_to_the_release_revision(k8s_tools: K8sTools, chart: Path) -> None:
    """Without runId the Job names carry the revision, so every upgrade starts a new run."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml"])
    assert {o["metadata"]["name"] for o in by_kind(objects, "Job")} == {
        f"{RELEASE}-locust-scenarios-master-r1",
        f"{RELEASE}-locust-scenarios-worker-r1",
    }


@pytest.mark.parametrize(
    ("users", "per_worker", "expected"), [(None, 100, 1), (1, 100, 1), (100, 100, 1), (101, 100, 2), (5000, 10, 50)]
)
def test_worker_count_from_peak_users(
    k8s_tools: K8sTools, chart: Path, users: int | None, per_worker: int, expected: int
) -> None:
    """Workers = ceil(users / usersPerWorker), at least 1, at most workers.maxReplicas (50)."""
    sets = [f"workers.usersPerWorker={per_worker}"] + ([f"scenario.users={users}"] if users else [])
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml"], sets)
    assert named(objects, "Job", "-worker-r1")["spec"]["parallelism"] == expected


def test_service_mode_deployments_and_autoscaling(k8s_tools: K8sTools, chart: Path) -> None:
    """Service mode: Deployments, rebalancing on; KEDA polls the master's /stats/requests user_count
    and scales the worker Deployment (which then has no fixed replica count)."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "keda-values.yaml"])
    assert not by_kind(objects, "Job")
    master = named(objects, "Deployment", "-master")
    worker = named(objects, "Deployment", "-worker")
    assert "--enable-rebalancing" in master["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "replicas" not in worker["spec"]
    scaled = named(objects, "ScaledObject", "-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"]
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["metadata"]["valueLocation"] == "user_count"
    assert trigger["metadata"]["targetValue"] == "50"
    assert re.fullmatch(
        rf"http://{RELEASE}-locust-scenarios-master\.load\.svc\.cluster\.local:8089/stats/requests",
        trigger["metadata"]["url"],
    )


def test_pods_are_locked_down(k8s_tools: K8sTools, chart: Path) -> None:
    """Non-root with a numeric user, read-only root, no privilege escalation, no capabilities; the only
    writable mounts are the /tmp and pip-target emptyDirs; no service links, no API token."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml"])
    for job in by_kind(objects, "Job"):
        pod = job["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert isinstance(pod["securityContext"]["runAsUser"], int)
        assert pod["enableServiceLinks"] is False
        assert pod["automountServiceAccountToken"] is False
        empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            writable = {m["name"] for m in container["volumeMounts"] if not m.get("readOnly")}
            assert writable <= empty_dirs, container["name"]


def test_dependencies_init_container(k8s_tools: K8sTools, chart: Path, bundle: tuple[Path, BundleReport]) -> None:
    """The init container's installer pip-installs exactly the bundle's pinned list into the shared
    volume, with --no-deps and wheels only from the installer script itself (the args carry only what
    the values decide); the image tag is the Locust version the bundle was made with."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "private-index-values.yaml"])
    pod = named(objects, "Job", "-master-r1")["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert init["command"][1] == "/opt/locust-scenarios/installer/install_dependencies.py"
    script = ast.parse(named(objects, "ConfigMap", "-installer")["data"]["install_dependencies.py"])
    fixed = next(
        ast.literal_eval(node.value)
        for node in script.body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["FIXED_ARGS"]
    )
    assert {"--no-deps", "--only-binary=:all:", "--no-input"} <= set(fixed)
    command = init["args"]
    assert not set(fixed) & set(command), "pip's fixed arguments are written once, in the installer script"
    assert command[command.index("--target") + 1] == "/opt/locust-scenarios/site-packages"
    assert command[command.index("--index-url") + 1] == "https://pypi.example.com/simple"
    assert command[-len(bundle[1].requirements) :] == bundle[1].requirements
    assert {r.split("==")[0] for r in bundle[1].requirements} >= {"pydantic", "pydantic-core", "pydantic-settings"}
    assert "locust" not in {r.split("==")[0] for r in bundle[1].requirements}
    assert pod["containers"][0]["image"] == f"locustio/locust:{bundle[1].locust_version}"


def test_custom_image_needs_no_init_container(k8s_tools: K8sTools, chart: Path) -> None:
    """With dependencies.install=false and package.enabled=false nothing is installed or mounted."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "custom-image-values.yaml"])
    assert not any(c["metadata"]["name"].endswith("-package") for c in by_kind(objects, "ConfigMap"))
    pod = named(objects, "Job", "-master-r1")["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert "PYTHONPATH" not in env, "the image's own PYTHONPATH must survive"
    assert {v["name"] for v in pod["volumes"]} == {"locustfiles", "tmp", "results"}  # results: the master's own


def test_secrets_only_through_secret_refs(k8s_tools: K8sTools, chart: Path) -> None:
    """The auth token reaches the pods only as a secretKeyRef, never as a ConfigMap value."""
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "secrets-values.yaml"])
    container = named(objects, "Job", "-worker-r1")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["LOCUST_SCENARIO_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "api-credentials", "key": "token"}
    settings = named(objects, "ConfigMap", "-settings")["data"]
    assert not any("AUTH_TOKEN" in key for key in settings)


SCENARIO_EXAMPLES: dict[str, Any] = {
    "users": 10,
    "rate": 5,
    "duration": "1m",
    "rampUp": "10s",
    "rampDown": "10s",
    "hold": "5s",
    "spawnRate": 2,
    "steps": 3,
    "baseline": "5%",
    "stages": "10s:5,10s:0",
    "thinkTime": "1s-2s",
    "pacing": "2s",
    "populations": "mix.toml",
    "arrivals": "poisson",
    "seed": 7,
    "maxUsers": 20,
    "trough": "10%",
    "period": "10m",
    "phase": "25%",
    "harmonics": "2:0.3",
    "replaySource": "yesterday.csv",
    "replayQuery": "sum(rate(http_requests_total[5m]))",
    "replayRange": "24h",
    "endpoints": "endpoints.json",
    "authHeader": "X-Token",
    "authScheme": "Token",
    "authOrigins": "https://auth.example.com",
    "requestTimeout": "30s",
    "thresholds": "p95<1s",
    "stopOn": "fail_ratio<5%",
    "abortOnFail": True,
    "abortGrace": "30s",
    "summary": "/tmp/summary.json",
    "record": "/tmp/record.json",
    "report": "/tmp/report.html",
    "recordLog": True,
    "tags": "environment=ci,team=shop",
    "baselineRecord": "baseline.json",
    "trust": False,
    "trustCpu": "80%",
    "trustLag": "1s",
    "trustCpuShare": "5%",
    "trustTracking": "25%",
    "trustLate": "0.2",
    "trustWorkerGrace": "1m",
    "prometheusUrl": "http://prometheus.monitoring.svc:9090",
    "prometheusUser": "loadtest",
    "prometheusCaBundle": "ca.pem",
    "prometheusTimeout": "5s",
    "trace": "10%",
}


def test_scenario_values_map_to_known_settings(k8s_tools: K8sTools, chart: Path, tmp_path: Path) -> None:
    """Every scenario key of values.yaml becomes a LOCUST_SCENARIO* variable that the settings know,
    and every setting except the secrets (tokens and passwords come from Secrets) has a key."""
    scenario = yaml.safe_load((chart / "values.yaml").read_text())["scenario"]
    assert set(SCENARIO_EXAMPLES) == set(scenario) - {"name"}
    values = tmp_path / "all-scenario-values.yaml"
    # The image is taken to have every package (jsonschema too, which a baseline record needs).
    values.write_text(yaml.safe_dump({"scenario": SCENARIO_EXAMPLES, "dependencies": {"install": False}}))
    objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml", values])
    data = named(objects, "ConfigMap", "-settings")["data"]
    known = {env_name(ScenarioSettings, field) for field in ScenarioSettings.model_fields}
    rendered = {key for key in data if key.startswith("LOCUST_SCENARIO")}
    assert rendered <= known
    secrets = {"LOCUST_SCENARIO_AUTH_TOKEN", "LOCUST_SCENARIO_PROMETHEUS_TOKEN", "LOCUST_SCENARIO_PROMETHEUS_PASSWORD"}
    assert known - rendered == secrets
    assert data["LOCUST_SCENARIO"] == "load"
    assert data["LOCUST_SCENARIO_RAMP_UP"] == "10s"
    assert data["LOCUST_SCENARIO_ABORT_ON_FAIL"] == "true"
    assert data["LOCUST_HOST"] == "http://127.0.0.1:8080"


def test_defaults_without_host_are_rejected(k8s_tools: K8sTools, chart: Path) -> None:
    """The chart's defaults alone do not render: the message names `host`, with both helm majors."""
    for binary in (k8s_tools.helm, k8s_tools.helm3):
        result = helm(binary, "template", RELEASE, str(chart), check=False)
        assert result.returncode != 0
        assert "host" in result.stderr


def test_template_checks_reject_without_schema(k8s_tools: K8sTools, chart: Path) -> None:
    """validateValues catches what the schema cannot, with readable messages."""
    cases = {
        "autoscaling needs mode=service": ["autoscaling.keda.enabled=true"],
        "enable either keda or hpa": ["mode=service", "autoscaling.keda.enabled=true", "autoscaling.hpa.enabled=true"],
        "serverAddress is required": [
            "mode=service",
            "autoscaling.keda.enabled=true",
            "autoscaling.keda.trigger=prometheus",
        ],
        "ingress.hostname is required": ["ingress.enabled=true"],
        "is not in the bundle": ["locust.locustfiles={missing.py}"],
    }
    for message, sets in cases.items():
        args = ["template", RELEASE, str(chart), "--set", "host=http://127.0.0.1"]
        for item in sets:
            args += ["--set", item]
        result = helm(k8s_tools.helm, *args, check=False)
        assert result.returncode != 0
        assert message in result.stderr, result.stderr


@pytest.mark.parametrize("values", sorted(p.name for p in BAD_VALUES.glob("*.yaml")))
@pytest.mark.parametrize("major", ["helm", "helm3"])
def test_bad_values_files_are_rejected_readably(k8s_tools: K8sTools, chart: Path, values: str, major: str) -> None:
    """Each bad values file fails lint and template; the message names the offending value (the file's
    first line says which)."""
    path = BAD_VALUES / values
    expected = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    binary = getattr(k8s_tools, major)
    for command in (["lint", "--strict", str(chart)], ["template", RELEASE, str(chart)]):
        result = helm(binary, *command, "-f", str(path), check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert re.search(expected, output), f"{values} ({major}): {expected!r} not in\n{output}"


def test_chart_without_bundle_explains_itself(k8s_tools: K8sTools, tmp_path: Path) -> None:
    """The repository's chart, not yet filled by the bundle step, refuses with a message naming it."""
    chart_copy = tmp_path / "chart"
    shutil.copytree(HERE.parent.parent / "chart", chart_copy)
    result = helm(k8s_tools.helm, "template", RELEASE, str(chart_copy), "--set", "host=http://127.0.0.1", check=False)
    assert result.returncode != 0
    assert "locust-scenarios bundle" in result.stderr


def test_settings_variables_come_from_the_bundle(k8s_tools: K8sTools, chart: Path, tmp_path: Path) -> None:
    """The settings ConfigMap names each scenario value's variable as bundle.json's settingsEnv does;
    a value the bundle names no variable for is refused with its key, never dropped silently."""
    chart_copy = tmp_path / "chart"
    shutil.copytree(chart, chart_copy)
    manifest_path = chart_copy / "files" / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["settingsEnv"]["rampUp"] = "LOCUST_SCENARIO_RAMP_UP_RENAMED"
    del manifest["settingsEnv"]["hold"]
    manifest_path.write_text(json.dumps(manifest))
    host = chart / "ci" / "host-values.yaml"
    objects = render(k8s_tools.helm, chart_copy, [host], ["scenario.rampUp=30s"])
    data = named(objects, "ConfigMap", "-settings")["data"]
    assert data["LOCUST_SCENARIO_RAMP_UP_RENAMED"] == "30s"
    assert "LOCUST_SCENARIO_RAMP_UP" not in data
    args = ("template", RELEASE, str(chart_copy), "-f", str(host), "--set", "scenario.hold=1m")
    refused = helm(k8s_tools.helm, *args, check=False)
    assert refused.returncode != 0
    assert "scenario.hold: files/bundle.json names no variable for it" in refused.stderr


@pytest.mark.parametrize(("zipped", "share"), [(False, 0.6), (True, 0.8)])
def test_release_size_estimate_is_close_and_errs_high(
    k8s_tools: K8sTools, tmp_path: Path, zipped: bool, share: float
) -> None:
    """The bundle's estimate of the stored release is within 25% of (and above) the size computed
    with the real rendered manifest, and leaves at least 40% of Helm's 1 MiB limit to a user's own files
    for this bundle (20% with the zip of --zip, which the chart files then carry too). With its modules
    shipped without docstrings and comments, the package alone took 52% and 72% of it in December 2026
    (journeys, traffic models, custom metrics and PromQL criteria included): a budget for its growth,
    not a limit of the product."""
    report = make_bundle(tmp_path / "deploy", pythonpath_zip_too=zipped)
    chart = tmp_path / "deploy" / "chart"
    manifest = helm(
        k8s_tools.helm, "template", RELEASE, str(chart), "-f", str(chart / "ci" / "monitoring-values.yaml")
    ).stdout
    exact = release_size(chart, manifest)
    estimate = report.release_bytes
    assert exact <= estimate <= exact * 1.25
    assert estimate < MAX_RELEASE_BYTES * share


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            "host-values.yaml",
            ["logs -f job/perf-locust-scenarios-master-r1", "port-forward svc/perf-locust-scenarios-web"],
        ),
        ("service-mode-values.yaml", ["Service mode", "port-forward svc/perf-locust-scenarios-web 8089"]),
        ("ingress-values.yaml", ["https://locust.example.com/"]),
        ("monitoring-only-values.yaml", ["Monitoring objects for the release locust-scenarios", "ServiceMonitor"]),
    ],
)
def test_notes_tell_how_to_follow_the_run(k8s_tools: K8sTools, chart: Path, values: str, expected: list[str]) -> None:
    """NOTES.txt (helm 4 client-side dry run) tells how to follow the run, reach the UI and the metrics."""
    result = helm(
        k8s_tools.helm,
        "install",
        RELEASE,
        str(chart),
        "--dry-run=client",
        "-n",
        "load",
        "-f",
        str(chart / "ci" / values),
    )
    notes = result.stdout.split("NOTES:", 1)[1]
    for text in expected:
        assert text in notes, notes


def _is_duration(annotation: Any, metadata: Sequence[Any] = ()) -> bool:
    """Whether a settings field's type is the settings' Duration (parsed by parse_duration)."""
    metadata = (*metadata, *getattr(annotation, "__metadata__", ()))
    if any(getattr(meta, "func", None) is parse_duration for meta in metadata):
        return True
    return any(_is_duration(arg) for arg in typing.get_args(annotation))


def test_schema_defines_durations_and_ports_once(chart: Path) -> None:
    """The schema writes the duration grammar and the port range once, as definitions; every scenario
    value the settings parse as a duration, metrics.linger, and both ports refer to them."""
    text = (chart / "values.schema.json").read_text()
    schema = json.loads(text)
    duration_pattern = schema["definitions"]["optionalDuration"]["pattern"]
    assert text.count(json.dumps(duration_pattern)) == 1
    assert text.count("65535") == 1
    names = settings_env()
    scenario = schema["properties"]["scenario"]["properties"]
    durations = [
        key
        for key, variable in names.items()
        for field, info in ScenarioSettings.model_fields.items()
        if env_name(ScenarioSettings, field) == variable and _is_duration(info.annotation, info.metadata)
    ]
    assert {"duration", "rampUp", "abortGrace", "trustWorkerGrace"} <= set(durations)
    for key in durations:
        assert scenario[key]["$ref"] == "#/definitions/optionalDuration", key
    properties = schema["properties"]
    assert properties["metrics"]["properties"]["linger"]["$ref"] == "#/definitions/duration"
    assert properties["metrics"]["properties"]["port"]["$ref"] == "#/definitions/port"
    assert properties["service"]["properties"]["webPort"]["$ref"] == "#/definitions/port"
    validator = jsonschema.Draft7Validator(schema)
    bad = {"host": "http://127.0.0.1", "mode": "run", "scenario": {"name": "load", "rampUp": "2 minutes"}}
    assert [list(e.absolute_path) for e in validator.iter_errors(bad)] == [["scenario", "rampUp"]]
    assert not list(validator.iter_errors({**bad, "scenario": {"name": "load", "rampUp": None}}))
    assert list(validator.iter_errors({**bad, "scenario": {"name": "load"}, "metrics": {"linger": None}}))
    assert list(validator.iter_errors({**bad, "scenario": {"name": "load"}, "service": {"webPort": 5557}}))


def test_values_schema_is_draft7_and_accepts_every_ci_file(chart: Path) -> None:
    """values.schema.json is a valid draft-07 schema; the defaults plus a host, and every ci values file
    merged over the defaults, satisfy it; the defaults alone do not (no host)."""
    schema = json.loads((chart / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    assert [e.path[0] for e in validator.iter_errors(defaults)] == ["host", "host"]

    def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            out[key] = (
                merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
            )
        return out

    for path in ci_values(chart):
        values = merged(defaults, yaml.safe_load(path.read_text()))
        assert not list(validator.iter_errors(values)), path.name


def test_promql_thresholds_default_to_the_monitoring_prometheus(
    k8s_tools: K8sTools, chart: Path, tmp_path: Path
) -> None:
    """With the ServiceMonitor on, the master asks kube-prometheus-stack's Prometheus service for its
    promql: thresholds; scenario.prometheusUrl replaces it; without monitoring nothing is set."""

    def master_env(*files: Path) -> dict[str, str]:
        objects = render(k8s_tools.helm, chart, [chart / "ci" / "host-values.yaml", *files])
        (master,) = [job for job in by_kind(objects, "Job") if "-master" in job["metadata"]["name"]]
        container = master["spec"]["template"]["spec"]["containers"][0]
        return {entry["name"]: entry.get("value", "") for entry in container.get("env", [])}

    monitoring = chart / "ci" / "monitoring-values.yaml"
    assert master_env(monitoring)["LOCUST_SCENARIO_PROMETHEUS_URL"] == (
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    )
    own = tmp_path / "own-prometheus.yaml"
    own.write_text(yaml.safe_dump({"scenario": {"prometheusUrl": "https://prometheus.example.com"}}))
    assert "LOCUST_SCENARIO_PROMETHEUS_URL" not in master_env(monitoring, own)
    assert "LOCUST_SCENARIO_PROMETHEUS_URL" not in master_env()
