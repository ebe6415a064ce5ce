"""The helmfile's deliveryhero engine, against the real deliveryhero/locust 0.35.0 chart.

The chart is not ours and is never copied into the project: the ``deliveryhero_chart`` fixture finds it
(``deliveryhero_chart.py`` says where). Its values come from the helmfile itself
(``write-values --skip-deps``, offline), so what is tested is what users deploy.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pytest_httpserver import HTTPServer

from locust_scenarios._records.record import record_from_log

from .conftest import NAMESPACE, K8sTools, by_kind, helm, http_get, make_bundle, named, python_of
from .deliveryhero_chart import VERSION
from .podsim import PodSimulation, free_port, master_and_workers, running, service_links
from .test_chart import _crd_validator
from .test_helmfile import ENVIRONMENTS, HOST, helmfile

pytestmark = pytest.mark.e2e

RELEASE = "locust-scenarios"
CONFIG_RELEASE = "locust-scenarios-config"
OFFLINE = "engine=deliveryhero,refreshBundle=false"
RUN_ID = "parity-1"
SHARED_VARIABLES = re.compile(r"^(LOCUST_SCENARIO|LOCUST_PROMETHEUS|PYTHON|HOME$)")
"""What both engines give Locust: the profile, the exporter, the results, the process settings."""


@pytest.fixture(scope="module")
def deploy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle with the zip that flat mounts need (what the engine's prepare hook makes)."""
    directory = tmp_path_factory.mktemp("deliveryhero") / "deploy"
    make_bundle(directory, pythonpath_zip_too=True)
    return directory


@dataclass(frozen=True)
class Engine:
    """The helmfile of a bundle with engine=deliveryhero, and the real chart it deploys."""

    tools: K8sTools
    deploy: Path
    cli_shim: Path
    chart: Path
    run_started: str | None = None
    """RUN_STARTED: the apply time, in seconds since the epoch (None: now)."""

    def helmfile(self, *args: str, host: str = HOST) -> subprocess.CompletedProcess[str]:
        """Run the bundle's helmfile offline, with the run id both engines name the run with."""
        run = {"run_id": RUN_ID, "run_started": self.run_started}
        return helmfile(self.tools, self.deploy, self.cli_shim, *args, host=host, **run)

    def state(self, *args: str) -> dict[str, Any]:
        """The state `helmfile build` renders."""
        built = self.helmfile(*args, "build")
        assert built.returncode == 0, built.stderr
        return dict(list(yaml.safe_load_all(built.stdout))[-1])

    def values(
        self, environment: str, out: Path, sets: str = OFFLINE, host: str = HOST, *state_files: Path
    ) -> dict[str, Any]:
        """The values the helmfile gives deliveryhero/locust, from `write-values --skip-deps` (offline),
        with more state values from ``state_files``."""
        files = [arg for path in state_files for arg in ("--state-values-file", str(path))]
        result = self.helmfile(
            *("-e", environment, *files, "--state-values-set", sets, "--selector", "part=test", "write-values"),
            *("--skip-deps", "--output-file-template", str(out / "{{ .Release.Name }}.yaml")),
            host=host,
        )
        assert result.returncode == 0, result.stderr
        return dict(yaml.safe_load((out / f"{RELEASE}.yaml").read_text()))

    def render(self, values: dict[str, Any], workdir: Path) -> list[dict[str, Any]]:
        """`helm template` of the real chart with those values."""
        path = workdir / "deliveryhero-values.yaml"
        path.write_text(yaml.safe_dump(values))
        args = ["template", RELEASE, str(self.chart), "--namespace", NAMESPACE, "-f", str(path)]
        return [doc for doc in yaml.safe_load_all(helm(self.tools.helm, *args).stdout) if doc]

    def config(
        self, environment: str, sets: str = OFFLINE, host: str = HOST, *state_files: Path
    ) -> list[dict[str, Any]]:
        """Our chart's config-only release, rendered by the helmfile (a local chart: offline)."""
        files = [arg for path in state_files for arg in ("--state-values-file", str(path))]
        result = self.helmfile(
            *("-e", environment, *files, "--state-values-set", sets, "--selector", "part=config"),
            *("template", "--skip-deps"),
            host=host,
        )
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture
def engine(k8s_tools: K8sTools, deploy: Path, cli_shim: Path, deliveryhero_chart: Path) -> Engine:
    """The helmfile and the chart of these tests."""
    return Engine(k8s_tools, deploy, cli_shim, deliveryhero_chart)


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    return dict(workload["spec"]["template"]["spec"]["containers"][0])


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def test_state_pins_deliveryhero_after_the_config_release(engine: Engine) -> None:
    """`build` with engine=deliveryhero renders, offline, a deliveryhero/locust release pinned to 0.35.0
    from its real repository that `needs` our chart's config-only release; the refresh (with --zip) is a
    prepare hook of the test release, which every apply changes, and `apply`/`sync` only run it."""
    state = engine.state("-e", "stress", "--state-values-set", "engine=deliveryhero")
    assert state["repositories"] == [{"name": "deliveryhero", "url": "https://charts.deliveryhero.io/"}]
    releases = {r["name"]: r for r in state["releases"]}
    assert set(releases) == {RELEASE, CONFIG_RELEASE}
    test = releases[RELEASE]
    assert (test["chart"], test["version"]) == ("deliveryhero/locust", VERSION)
    assert test["needs"] == [f"locust/{CONFIG_RELEASE}"]
    assert not any("set" in r for r in releases.values()), "values are given as values:, never set:"
    config = releases[CONFIG_RELEASE]
    assert config["chart"] == "../chart"
    assert "hooks" not in config
    assert test["hooks"][0]["events"] == ["prepare"]
    assert test["hooks"][0]["args"][-4:] == ["refresh-bundle", "auto", "{{ .HelmfileCommand }}", "--zip"]
    assert {"workload": {"enabled": False}}.items() <= config["values"][-1].items()
    assert config["values"][-1]["configOnly"]["enabled"] is True
    dag = engine.helmfile("-e", "stress", "--state-values-set", OFFLINE, "show-dag")
    assert dag.returncode == 0, dag.stderr
    rows = [line.split()[:2] for line in dag.stdout.splitlines()[1:] if line.strip()]
    assert rows == [["1", f"locust/{CONFIG_RELEASE}"], ["2", f"locust/{RELEASE}"]]


def test_default_engine_declares_no_repository(engine: Engine) -> None:
    """The default engine's state has no chart repository (its reading commands stay offline); an unknown
    engine fails naming the value and the engines there are."""
    state = engine.state("-e", "stress", "--state-values-set", "refreshBundle=false")
    assert "repositories" not in state or not state["repositories"]
    assert {r["chart"] for r in state["releases"]} == {"../chart"}
    wrong = engine.helmfile("-e", "stress", "--state-values-set", "engine=helm", "build")
    assert wrong.returncode != 0
    assert 'engine: "helm" is not an engine' in wrong.stderr
    assert "deliveryhero" in wrong.stderr


def _our_env(objects: list[dict[str, Any]], job: dict[str, Any]) -> dict[str, str]:
    """A Job's Locust container environment on our chart: the settings ConfigMap, then its env values."""
    container = _container(job)
    env = dict(named(objects, "ConfigMap", "-settings")["data"])
    env.update(_env(container))
    return env


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_renders_and_validates(engine: Engine, environment: str, tmp_path: Path) -> None:
    """For every environment, the values the helmfile computes render the real chart into objects that
    pass strict kubernetes-validate, and each component runs what our chart's would: the same profile,
    exporter, results and process variables, the worker count sized from the peak, the host, the
    bundle's Locust image, the grace period, resources, the same init step with pip's arguments,
    mounts of the config release's ConfigMaps, and the run id and do-not-disrupt annotations; the config
    release's metrics Service and budgets select deliveryhero's pods."""
    values = engine.values(environment, tmp_path)
    objects = engine.render(values, tmp_path)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)
    config = engine.config(environment)
    for obj in config:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)
    ours = engine.helmfile("-e", environment, "--state-values-set", "refreshBundle=false", "template")
    assert ours.returncode == 0, ours.stderr
    our_objects = [doc for doc in yaml.safe_load_all(ours.stdout) if doc]
    our_jobs = {name: named(our_objects, "Job", f"-{name}-{RUN_ID}") for name in ("master", "worker")}
    our_init = our_jobs["master"]["spec"]["template"]["spec"]["initContainers"]
    our_installer = next(c for c in our_init if c["name"] == "install-dependencies")

    master, worker = named(objects, "Deployment", "-master"), named(objects, "Deployment", "-worker")
    assert worker["spec"]["replicas"] == our_jobs["worker"]["spec"]["parallelism"]
    master_container = _container(master)
    assert f"--expect-workers={worker['spec']['replicas']}" in master_container["args"]
    assert {"--master", "--autostart", "--autoquit", "--enable-rebalancing"} <= set(master_container["args"])
    for workload, job in ((master, our_jobs["master"]), (worker, our_jobs["worker"])):
        container = _container(workload)
        env = _env(container)
        assert env["LOCUST_HOST"] == HOST
        shared = {k: v for k, v in env.items() if SHARED_VARIABLES.match(k) and k != "PYTHONPATH"}
        our_env = _our_env(our_objects, job)
        assert shared == {k: v for k, v in our_env.items() if SHARED_VARIABLES.match(k) and k != "PYTHONPATH"}
        assert env["PYTHONPATH"] == "/mnt/locust/lib/pythonpath.zip:/opt/locust-scenarios/site-packages"
        assert container["image"] == _container(job)["image"]
        assert container["resources"] == _container(job)["resources"]
        pod = workload["spec"]["template"]["spec"]
        our_pod = job["spec"]["template"]["spec"]
        assert pod.get("terminationGracePeriodSeconds", 30) == our_pod.get("terminationGracePeriodSeconds", 30)
        installer = pod["initContainers"][0]
        assert installer["command"] == our_installer["command"]
        assert installer["env"] == our_installer["env"]
        assert installer["resources"] == our_installer["resources"]
        assert installer["args"][-2:] == ["-r", "/mnt/locust/lib/requirements.txt"]
        pinned = our_installer["args"][len(installer["args"]) - 2 :]
        assert installer["args"][:-2] + pinned == our_installer["args"], "the same pip arguments, then the list"
        configmaps = {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
        assert {f"{CONFIG_RELEASE}-locustfiles", f"{CONFIG_RELEASE}-lib"} <= configmaps
        assert "packages" not in {v["name"] for v in pod["volumes"]}, "no requirements file: that pip never runs"
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        our_annotations = job["spec"]["template"]["metadata"]["annotations"]
        assert annotations["karpenter.sh/do-not-disrupt"] == our_annotations["karpenter.sh/do-not-disrupt"]
        assert annotations["locust-scenarios/run-id"] == RUN_ID
        assert workload["spec"]["template"]["metadata"]["labels"]["locust-scenarios/run-id"] == RUN_ID
    entrypoint = named(objects, "ConfigMap", "-config")["data"]["docker-entrypoint.sh"].splitlines()
    assert [line for line in entrypoint if line.strip().startswith("pip install") and " -r " not in line] == []
    lib = named(config, "ConfigMap", "-lib")
    assert set(lib["binaryData"]) == {"pythonpath.zip"}
    assert lib["data"]["requirements.txt"].split() == pinned
    assert {o["metadata"]["name"] for o in by_kind(config, "ConfigMap")} == {
        f"{CONFIG_RELEASE}-locustfiles",
        f"{CONFIG_RELEASE}-lib",
        f"{CONFIG_RELEASE}-installer",
    }
    metrics = named(config, "Service", "-metrics")
    assert metrics["spec"]["selector"].items() <= master["spec"]["template"]["metadata"]["labels"].items()
    budgets = {b["metadata"]["name"].rsplit("-", 1)[-1]: b["spec"] for b in by_kind(config, "PodDisruptionBudget")}
    assert budgets["master"]["minAvailable"] == 1
    for component, workload in (("master", master), ("worker", worker)):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert budgets[component]["selector"]["matchLabels"].items() <= labels.items()


def test_keda_bounds_reach_the_scaled_object(engine: Engine, tmp_path: Path) -> None:
    """deliveryhero's ScaledObject reads its bounds from worker.hpa, so worker.keda.maxReplicas (as the
    reference setup wrote it) is silently ignored by the chart itself; the helmfile puts our KEDA bounds,
    and such an override, where the chart reads them. The object validates against KEDA's schema and
    polls the master's /stats/requests user_count, one worker per usersPerWorker users."""
    alone = engine.render({"worker": {"keda": {"enabled": True, "maxReplicas": 9}}}, tmp_path)
    assert named(alone, "ScaledObject", "")["spec"]["maxReplicaCount"] == 100, "the trap this test is about"

    keda = (
        "chart.autoscaling.keda.enabled=true,chart.autoscaling.keda.minReplicas=2,chart.autoscaling.keda.maxReplicas=7"
    )
    values = engine.values("stress", tmp_path, f"{OFFLINE},{keda}")
    objects = engine.render(values, tmp_path)
    scaled = named(objects, "ScaledObject", "")
    errors = list(_crd_validator("ScaledObject").iter_errors(scaled))
    assert not errors, [e.message for e in errors]
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (2, 7)
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["metadata"]["url"] == f"http://{RELEASE}.{NAMESPACE}.svc.cluster.local:8089/stats/requests"
    assert (trigger["metadata"]["valueLocation"], trigger["metadata"]["targetValue"]) == ("user_count", "100")
    assert not by_kind(objects, "HorizontalPodAutoscaler")
    assert "--expect-workers=2" in _container(named(objects, "Deployment", "-master"))["args"]

    override = engine.values("stress", tmp_path, f"{OFFLINE},{keda},deliveryhero.worker.keda.maxReplicas=9")
    scaled = named(engine.render(override, tmp_path), "ScaledObject", "")
    assert scaled["spec"]["maxReplicaCount"] == 9


PARITY_VALUES = """
chart:
  serviceAccount:
    create: true
    annotations: {iam.gke.io/gcp-service-account: load@example.iam.gserviceaccount.com}
  podAnnotations: {team.example.com/owner: performance}
  podLabels: {cost-center: load-tests}
  commonLabels: {team: performance}
  nodeSelector: {kubernetes.io/os: linux}
  master:
    nodeSelector: {node.example.com/pool: regular}
  workers:
    nodeSelector: {node.example.com/pool: spot}
    tolerations: [{key: node.example.com/spot, operator: Exists, effect: NoSchedule}]
  hostAliases: [{ip: 10.0.0.10, hostnames: [api.internal]}]
  extraConfigMaps: {test-data: /etc/test-data}
  extraVolumes: [{name: certs, secret: {secretName: client-certs}}]
  extraVolumeMounts: [{name: certs, mountPath: /etc/client-certs, readOnly: true}]
  extraInitContainers: [{name: fetch-test-data, image: "busybox:1.36", command: ["true"]}]
  envFrom: [{secretRef: {name: api-credentials}}]
  env: {PIP_INDEX_URL: "https://pypi.internal/simple"}
  dependencies:
    proxy: {urlSecret: {name: egress-proxy, key: url}, noProxy: .svc}
    caBundle: {configMap: corporate-ca, key: ca.crt}
  results: {existingClaim: load-results}
  webUi: {login: true}
  service: {type: NodePort, webPort: 8090}
  tmpSizeLimit: 32Mi
  imagePullSecrets: [{name: registry-credentials}]
"""


def test_values_other_charts_users_rely_on_reach_deliveryhero(engine: Engine, tmp_path: Path) -> None:
    """The values users of other Locust charts rely on reach deliveryhero's objects, none dropped: the
    service account's annotations, pod annotations (with do-not-disrupt) and labels, common labels,
    per-component scheduling (spot workers), hostAliases, extra ConfigMaps, volumes, mounts and init
    containers, envFrom (Locust) and env (pip too), the installer's proxy and CA bundle from a Secret
    and a ConfigMap, the results claim, the web login, the Service, /tmp's size, pull secrets; every
    object validates."""
    state = tmp_path / "parity.yaml"
    state.write_text(PARITY_VALUES)
    values = engine.values("stress", tmp_path, OFFLINE, HOST, state)
    objects = engine.render(values, tmp_path)
    for obj in objects + engine.config("stress", OFFLINE, HOST, state):
        kubernetes_validate.validate(obj, "1.30.0", strict=True)
    accounts = by_kind(objects, "ServiceAccount")
    assert {a["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] for a in accounts} == {
        "load@example.iam.gserviceaccount.com"
    }
    assert len(accounts) == 2
    pods = {name: named(objects, "Deployment", f"-{name}")["spec"]["template"] for name in ("master", "worker")}
    for template in pods.values():
        metadata, pod = template["metadata"], template["spec"]
        assert metadata["annotations"]["team.example.com/owner"] == "performance"
        assert metadata["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
        assert {"team": "performance", "cost-center": "load-tests"}.items() <= metadata["labels"].items()
        assert pod["hostAliases"] == [{"ip": "10.0.0.10", "hostnames": ["api.internal"]}]
        assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["test-data"]["configMap"]["name"] == "test-data"
        assert volumes["certs"]["secret"]["secretName"] == "client-certs"
        assert volumes["tmp"]["emptyDir"]["sizeLimit"] == "32Mi"
        assert volumes["ca-bundle"]["configMap"]["name"] == "corporate-ca"
        container = pod["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert (mounts["/etc/test-data"], mounts["/etc/client-certs"]) == ("test-data", "certs")
        assert {"secretRef": {"name": "api-credentials"}} in container["envFrom"]
        assert _env(container)["PIP_INDEX_URL"] == "https://pypi.internal/simple"
        assert [c["name"] for c in pod["initContainers"]] == ["install-dependencies", "fetch-test-data"]
        installer = {e["name"]: e for e in pod["initContainers"][0]["env"]}
        assert installer["PIP_INDEX_URL"]["value"] == "https://pypi.internal/simple"
        assert installer["HTTPS_PROXY"]["valueFrom"]["secretKeyRef"] == {"name": "egress-proxy", "key": "url"}
        assert installer["PIP_CERT"]["value"] == "/etc/locust-scenarios/ca/ca.crt"
        assert {"secretRef": {"name": "api-credentials"}} in pod["initContainers"][0]["envFrom"]
    assert pods["master"]["spec"]["nodeSelector"] == {"node.example.com/pool": "regular"}
    assert pods["worker"]["spec"]["nodeSelector"] == {"node.example.com/pool": "spot"}
    assert pods["worker"]["spec"]["tolerations"][0]["key"] == "node.example.com/spot"
    master_volumes = {v["name"]: v for v in pods["master"]["spec"]["volumes"]}
    assert master_volumes["results"]["persistentVolumeClaim"]["claimName"] == "load-results"
    assert "--web-login" in pods["master"]["spec"]["containers"][0]["args"]
    service = named(objects, "Service", RELEASE)
    assert service["spec"]["type"] == "NodePort"
    assert {p["port"] for p in service["spec"]["ports"]} >= {8090}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("chart.env.LOCUST_SCENARIO_DURATION=8h", "chart.env.LOCUST_SCENARIO_DURATION: set scenario.duration instead"),
        ("chart.master.extraArgs[0]=--scenario-auth-token=x", "chart.master.extraArgs: --scenario-auth-token=..."),
        ("chart.run.workerWaitSeconds=10000", "chart.run.workerWaitSeconds: 10000 is above 4500"),
        (
            "deliveryhero.loadtest.environment.LOCUST_SCENARIO_DURATION=8h",
            "deliveryhero.loadtest.environment.LOCUST_SCENARIO_DURATION: set chart.scenario.duration instead",
        ),
    ],
)
def test_the_checks_of_both_engines_hold_on_deliveryhero(
    engine: Engine, tmp_path: Path, setting: str, message: str
) -> None:
    """The chart's checks of the values stop deliveryhero's release too (write-values renders nothing),
    and a profile variable set in deliveryhero's own environment values is refused like one in `env`:
    the message names the key."""
    result = engine.helmfile(
        *("-e", "endurance", "--state-values-set", f"{OFFLINE},{setting}", "--selector", "part=test"),
        *("write-values", "--skip-deps", "--output-file-template", str(tmp_path / "{{ .Release.Name }}.yaml")),
    )
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert not list(tmp_path.glob("*.yaml"))


@pytest.mark.parametrize(
    "sets",
    [
        "chart.autoscaling.keda.enabled=true,chart.autoscaling.keda.minReplicas=2,chart.autoscaling.keda.maxReplicas=7",
        "chart.locust.existingConfigMap=team-locustfiles,chart.locust.locustfiles[0]=main.py",
    ],
    ids=["keda", "existing-configmap"],
)
def test_sync_renders_both_releases_in_order(engine: Engine, tmp_path: Path, sets: str) -> None:
    """With KEDA, and with an existing locustfiles ConfigMap, `sync` installs the config release and then
    deliveryhero's (show-dag), and both render and validate: KEDA through the same values in run mode
    (no "autoscaling needs mode=service" from the config release), its ScaledObject and bounds; the
    existing ConfigMap mounted by both components and not rendered by the config release."""
    args = ("-e", "stress", "--state-values-set", f"{OFFLINE},{sets}")
    dag = engine.helmfile(*args, "show-dag")
    assert dag.returncode == 0, dag.stderr
    rows = [line.split()[:2] for line in dag.stdout.splitlines()[1:] if line.strip()]
    assert rows == [["1", f"locust/{CONFIG_RELEASE}"], ["2", f"locust/{RELEASE}"]]
    config = engine.config("stress", f"{OFFLINE},{sets}")
    objects = engine.render(engine.values("stress", tmp_path, f"{OFFLINE},{sets}"), tmp_path)
    for obj in config + objects:
        if obj["kind"] == "ScaledObject":
            assert not [e.message for e in _crd_validator("ScaledObject").iter_errors(obj)]
        else:
            kubernetes_validate.validate(obj, "1.30.0", strict=True)
    locustfiles = [o for o in by_kind(config, "ConfigMap") if o["metadata"]["name"].endswith("-locustfiles")]
    for suffix in ("-master", "-worker"):
        pod = named(objects, "Deployment", suffix)["spec"]["template"]["spec"]
        mounted = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "locustfile")
        if "keda" in sets:
            assert mounted == f"{CONFIG_RELEASE}-locustfiles"
            assert locustfiles
        else:
            assert mounted == "team-locustfiles"
            assert not locustfiles
            args_ = pod["containers"][0]["args"]
            assert args_[args_.index("-f") + 1] == "/mnt/locust/main.py"
    if "keda" in sets:
        scaled = named(objects, "ScaledObject", "")
        assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (2, 7)
        assert named(objects, "Deployment", "-worker")["spec"]["replicas"] == 2


def test_a_changed_bundle_or_a_reapply_rolls_the_pods(engine: Engine, tmp_path: Path) -> None:
    """deliveryhero's pod templates change, so its Deployments roll into a new run, when the run id
    changes (every apply: the clock, or RUN_ID) and when the bundle changes under a fixed RUN_ID (a
    digest of what the config release ships: the zip, the locustfiles, the pinned list, the scripts);
    a render of the same bundle and run id changes nothing."""

    def pod_metadata(deploy: Path, run_id: str) -> dict[str, Any]:
        other = replace(engine, deploy=deploy)
        result = helmfile(
            other.tools,
            deploy,
            other.cli_shim,
            *("-e", "smoke", "--state-values-set", OFFLINE, "--selector", "part=test", "write-values"),
            *("--skip-deps", "--output-file-template", str(tmp_path / run_id / "{{ .Release.Name }}.yaml")),
            run_id=run_id,
        )
        assert result.returncode == 0, result.stderr
        values = yaml.safe_load((tmp_path / run_id / f"{RELEASE}.yaml").read_text())
        return dict(named(engine.render(values, tmp_path), "Deployment", "-worker")["spec"]["template"]["metadata"])

    copy = tmp_path / "deploy"
    shutil.copytree(engine.deploy, copy)
    first = pod_metadata(copy, "first")
    assert pod_metadata(copy, "first") == first
    second = pod_metadata(copy, "second")
    assert second["annotations"]["locust-scenarios/run-id"] == "second"
    assert second["labels"]["locust-scenarios/run-id"] == "second"
    assert second["annotations"]["checksum/locust-scenarios"] == first["annotations"]["checksum/locust-scenarios"]
    locustfile = copy / "chart" / "files" / "locustfiles" / "locustfile.py"
    locustfile.write_text(locustfile.read_text() + "\n# changed\n")
    changed = pod_metadata(copy, "first")
    assert changed["annotations"]["checksum/locust-scenarios"] != first["annotations"]["checksum/locust-scenarios"]


def test_host_is_always_the_one_given(engine: Engine, tmp_path: Path) -> None:
    """deliveryhero's default host is a public site; an override cannot bring it back: LOCUST_HOST is $HOST."""
    sets = f"{OFFLINE},deliveryhero.loadtest.locust_host=https://www.google.com,deliveryhero.master.envs_include_default=false"
    values = engine.values("smoke", tmp_path, sets)
    objects = engine.render(values, tmp_path)
    for suffix in ("-master", "-worker"):
        assert _env(_container(named(objects, "Deployment", suffix)))["LOCUST_HOST"] == HOST


@pytest.mark.parametrize(
    ("setting", "named_in_message"),
    [
        ("chart.authTokenSecret.name=api-credentials", "chart.authTokenSecret"),
        ("chart.secretEnv.API_KEY.name=api-credentials", "chart.secretEnv"),
        ("chart.serviceAccount.name=shared", "chart.serviceAccount.name"),
        ("chart.workers.livenessProbe.tcpSocket.port=5557", "chart.workers.livenessProbe"),
        ("chart.package.enabled=false", "chart.package.enabled"),
        ("chart.namespaceOverride=elsewhere", "chart.namespaceOverride"),
        ("chart.run.activeDeadlineSeconds=600", "chart.run.activeDeadlineSeconds"),
        ("chart.envFrom[0].configMapRef.name=team-settings", "chart.envFrom"),
    ],
)
def test_what_deliveryhero_cannot_carry_is_refused(
    engine: Engine, tmp_path: Path, setting: str, named_in_message: str
) -> None:
    """Values the deliveryhero engine cannot pass on stop `write-values` with one line naming them,
    instead of deploying pods that silently lack them."""
    result = engine.helmfile(
        *("-e", "smoke", "--state-values-set", f"{OFFLINE},{setting}", "--selector", "part=test", "write-values"),
        *("--skip-deps", "--output-file-template", str(tmp_path / "{{ .Release.Name }}.yaml")),
    )
    assert result.returncode != 0
    line = next((x for x in result.stderr.splitlines() if "not carried to engine deliveryhero" in x), "")
    assert named_in_message in line, result.stderr


def test_sync_refresh_adds_the_zip(engine: Engine, tmp_path: Path) -> None:
    """A bundle made without --zip gets the zip from the engine's refresh on `sync` (no cluster and no
    chart repository here, so the sync itself fails after it), and later refreshes keep it; reading
    commands refresh nothing."""
    directory = tmp_path / "deploy"
    make_bundle(directory)
    zipped = directory / "chart" / "files" / "pythonpath.zip"
    other = replace(engine, deploy=directory)
    args = ("-e", "smoke", "--state-values-set", "engine=deliveryhero")
    template = other.helmfile(*args, "--selector", "part=config", "template", "--skip-deps")
    assert template.returncode != 0
    assert (
        "files/pythonpath.zip is missing: make the bundle with `locust-scenarios bundle DIR --zip`" in template.stderr
    )
    assert not zipped.exists()
    synced = other.helmfile(*args, "sync", "--skip-deps")
    assert "bundle refreshed: it ships the code installed now" in synced.stdout + synced.stderr
    assert zipped.is_file()
    assert json.loads((directory / "chart" / "files" / "bundle.json").read_text())["pythonpathZip"] is True
    objects = other.config("smoke", "engine=deliveryhero")
    assert named(objects, "ConfigMap", "-lib")["binaryData"]["pythonpath.zip"]


def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def _idle_after_start(pod: PodSimulation, log: Path) -> str:
    """Start the pod's container, see it say it stays idle and keep running (so that its Deployment does
    not restart it again), then end it with SIGTERM, which it obeys at once with 0; its log."""
    with log.open("wb") as handle:
        process = pod.start(pod.spec["containers"][0], handle)
        try:
            assert _wait_for(lambda: "stays idle" in log.read_text(errors="replace"), 30), log.read_text()
            assert process.poll() is None, "an idle container keeps running"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return log.read_text()


def test_deliveryhero_pods_run_the_profile_once_and_reach_the_verdict(
    engine: Engine,
    locust_only_venv: Path,
    fast_target: HTTPServer,
    tmp_path: Path,
) -> None:
    """The deliveryhero layout, run as local processes in a venv with only Locust: the rendered master
    and two workers (the run-once script, deliveryhero's entrypoint, args, env, service links and flat
    ConfigMap mounts, our init step) import locust_scenarios from the zip, run a short profile against a
    local target and quit, as our master Job does: the master exits with the verdict (0), its log holds
    the summary and the run record, the record is on the results volume, the workers exit 0. Restarted
    by their Deployments, the master says it already ran this run and stays idle (nothing listens on
    its ports), and so does a worker; SIGTERM ends the idle containers at once."""
    host = fast_target.url_for("/").rstrip("/")
    scenario = "chart.scenario.users=4,chart.scenario.duration=8s,chart.scenario.rampUp=2s"
    # An 8 s profile on a shared machine lags its 2 s ramp by about a fifth: the generator's tracking
    # is judged by its own tests, this one is about the layout and the verdict's way out.
    loose = "chart.scenario.trustTracking=50%"
    sets = f"{OFFLINE},{scenario},{loose},chart.scenario.thresholds=fail_ratio<1%,chart.workers.replicas=2"
    sets += ",chart.metrics.linger=2s,chart.run.autoquitSeconds=1"
    values = engine.values("smoke", tmp_path, sets, host=host)
    objects = engine.render(values, tmp_path)
    objects += engine.config("smoke", sets, host=host)
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    master, worker = named(objects, "Deployment", "-master"), named(objects, "Deployment", "-worker")
    ports = {5557: free_port(), 8089: free_port(), 9646: free_port()}
    common: dict[str, Any] = {
        "configmaps": configmaps,
        "secrets": {},
        "base_env": {"PATH": f"{locust_only_venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"},
        "binaries": {"/usr/local/bin/python3": str(python_of(locust_only_venv))},
        "hosts": {RELEASE: "127.0.0.1"},
        "ports": ports,
        # deliveryhero keeps service links on: every Service of the namespace becomes variables.
        "service_env": service_links(by_kind(objects, "Service")),
    }
    pods = master_and_workers(master, worker, worker["spec"]["replicas"], tmp_path, **common)
    assert not (pods[0].volumes["site-packages"] / "locust_scenarios").exists(), "the package comes from the zip"

    logs = {pod.name: pod.root / "container.log" for pod in pods}
    users = 0
    with running(pods) as processes:

        def peak() -> bool:
            nonlocal users
            stats = http_get(f"http://127.0.0.1:{ports[8089]}/stats/requests")
            users = max(users, int(json.loads(stats).get("user_count", 0))) if stats else users
            return processes["master"].poll() is not None

        _wait_for(peak, 180)
        master_code = processes["master"].wait(timeout=60)
        worker_codes = [processes[p.name].wait(timeout=60) for p in pods[1:]]
    context = "\n".join(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}" for name, path in logs.items())
    master_log = logs["master"].read_text(errors="replace")
    assert (master_code, worker_codes, users) == (0, [0, 0], 4), context
    summary = next(line for line in master_log.splitlines() if '"event": "locust_scenarios.summary"' in line)
    assert '"exit_code": 0' in summary, summary
    assert '"passed": true' in summary, summary
    record = record_from_log(master_log)
    assert record is not None, context
    assert record["run_id"] == RUN_ID
    assert (pods[0].volumes["results"] / RUN_ID / "record.json").is_file()
    assert len(fast_target.log) > 0
    assert "Traceback" not in context
    assert "unknown variable" not in context, "service-link variables are not typos"

    served = len(fast_target.log)
    for pod in pods[:2]:  # the Deployments restart both containers
        line = _idle_after_start(pod, pod.root / "restarted.log")
        expected = "the master already ran this run (exit code 0" if pod.name == "master" else "the run is over"
        assert expected in line, line
    assert http_get(f"http://127.0.0.1:{ports[8089]}/stats/requests") is None
    assert len(fast_target.log) == served, "no second run"


def test_a_master_recreated_after_its_start_window_runs_nothing(
    engine: Engine, locust_only_venv: Path, tmp_path: Path
) -> None:
    """A master pod that starts more than run.deadlineMarginSeconds after the apply (re-created after
    an eviction once its run is over, with a fresh results emptyDir) does not start the profile again:
    one line says why, nothing listens on its ports, and SIGTERM ends it at once with 0."""
    late = replace(engine, run_started=str(int(time.time()) - 601))
    values = late.values("smoke", tmp_path)
    objects = late.render(values, tmp_path) + late.config("smoke")
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    master = named(objects, "Deployment", "-master")
    ports = {5557: free_port(), 8089: free_port(), 9646: free_port()}
    pod = PodSimulation(
        "master",
        dict(master["spec"]["template"]["spec"]),
        tmp_path / "master",
        configmaps=configmaps,
        secrets={},
        base_env={"PATH": f"{locust_only_venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"},
        binaries={},
        ports=ports,
    )
    log = _idle_after_start(pod, tmp_path / "master.log")  # no init step: the script stops first
    assert "this run had to start by" in log
    assert http_get(f"http://127.0.0.1:{ports[8089]}/") is None
