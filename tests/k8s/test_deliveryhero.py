"""The helmfile's deliveryhero engine, against the real deliveryhero/locust 0.35.0 chart.

The chart is not ours and is never copied into the project: the ``deliveryhero_chart`` fixture finds it
(``deliveryhero_chart.py`` says where). Its values come from the helmfile itself
(``write-values --skip-deps``, offline), so what is tested is what users deploy.
"""

from __future__ import annotations

import json
import re
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

from .conftest import NAMESPACE, K8sTools, by_kind, helm, http_get, make_bundle, named, python_of
from .deliveryhero_chart import VERSION
from .podsim import free_port, master_and_workers, running, service_links
from .test_chart import _crd_validator
from .test_helmfile import ENVIRONMENTS, HOST, helmfile

pytestmark = pytest.mark.e2e

RELEASE = "locust-scenarios"
CONFIG_RELEASE = "locust-scenarios-config"
OFFLINE = "engine=deliveryhero,refreshBundle=false"


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

    def helmfile(self, *args: str, host: str = HOST) -> subprocess.CompletedProcess[str]:
        """Run the bundle's helmfile offline."""
        return helmfile(self.tools, self.deploy, self.cli_shim, *args, host=host)

    def state(self, *args: str) -> dict[str, Any]:
        """The state `helmfile build` renders."""
        built = self.helmfile(*args, "build")
        assert built.returncode == 0, built.stderr
        return dict(list(yaml.safe_load_all(built.stdout))[-1])

    def values(self, environment: str, out: Path, sets: str = OFFLINE, host: str = HOST) -> dict[str, Any]:
        """The values the helmfile gives deliveryhero/locust, from `write-values --skip-deps` (offline)."""
        result = self.helmfile(
            *("-e", environment, "--state-values-set", sets, "--selector", "part=test", "write-values"),
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

    def config(self, environment: str, sets: str = OFFLINE, host: str = HOST) -> list[dict[str, Any]]:
        """Our chart's config-only release, rendered by the helmfile (a local chart: offline)."""
        result = self.helmfile(
            *("-e", environment, "--state-values-set", sets, "--selector", "part=config", "template", "--skip-deps"),
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
    from its real repository that `needs` our chart's config-only release, whose refresh adds --zip."""
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
    assert config["hooks"][0]["events"] == ["presync"]
    assert config["hooks"][0]["args"][-3:] == ["refresh-bundle", "auto", "--zip"]
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


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_renders_and_validates(engine: Engine, environment: str, tmp_path: Path) -> None:
    """For every environment, the values the helmfile computes render the real chart into objects that
    pass strict kubernetes-validate, and they carry what our chart would run: the profile's variables,
    the worker count sized from its peak, the host, the bundle's Locust image, the same init step, and
    mounts of the config release's ConfigMaps."""
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
    our_settings = named(our_objects, "ConfigMap", "-settings")["data"]
    our_workers = next(o for o in by_kind(our_objects, "Job") if "-worker-" in o["metadata"]["name"])
    our_init = next(o for o in by_kind(our_objects, "Job") if "-master-" in o["metadata"]["name"])
    our_installer = next(
        c for c in our_init["spec"]["template"]["spec"]["initContainers"] if c["name"] == "install-dependencies"
    )

    master, worker = named(objects, "Deployment", "-master"), named(objects, "Deployment", "-worker")
    assert worker["spec"]["replicas"] == our_workers["spec"]["parallelism"]
    master_container = _container(master)
    assert f"--expect-workers={worker['spec']['replicas']}" in master_container["args"]
    assert {"--master", "--autostart", "--enable-rebalancing"} <= set(master_container["args"])
    for workload in (master, worker):
        container = _container(workload)
        env = _env(container)
        assert env["LOCUST_HOST"] == HOST
        scenario = {k: v for k, v in env.items() if k.startswith("LOCUST_SCENARIO")}
        assert scenario == {k: v for k, v in our_settings.items() if k.startswith("LOCUST_SCENARIO")}
        assert env["PYTHONPATH"] == "/mnt/locust/lib/pythonpath.zip:/opt/locust-scenarios/site-packages"
        assert container["image"] == _container(our_workers)["image"]
        pod = workload["spec"]["template"]["spec"]
        installer = pod["initContainers"][0]
        assert installer["command"] == our_installer["command"]
        assert installer["args"][-2:] == ["-r", "/mnt/locust/lib/requirements.txt"]
        pinned = our_installer["args"][len(installer["args"]) - 2 :]
        assert installer["args"][:-2] + pinned == our_installer["args"], "the same pip arguments, then the list"
        configmaps = {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
        assert {f"{CONFIG_RELEASE}-locustfiles", f"{CONFIG_RELEASE}-lib"} <= configmaps
        assert "packages" not in {v["name"] for v in pod["volumes"]}, "no requirements file: that pip never runs"
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
        ("chart.dependencies.wheelhouse.image=registry.internal/wheels:1", "chart.dependencies.wheelhouse"),
        ("chart.dependencies.caBundle.configMap=corporate-ca", "chart.dependencies.caBundle"),
        ("chart.authTokenSecret.name=api-credentials", "chart.authTokenSecret"),
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
    """A bundle made without --zip gets the zip from the engine's refresh on `sync` (no cluster here, so
    the install itself fails after it), and later refreshes keep it; reading commands refresh nothing."""
    directory = tmp_path / "deploy"
    make_bundle(directory)
    zipped = directory / "chart" / "files" / "pythonpath.zip"
    other = replace(engine, deploy=directory)
    args = ("-e", "smoke", "--state-values-set", "engine=deliveryhero", "--selector", "part=config")
    template = other.helmfile(*args, "template", "--skip-deps")
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


def test_deliveryhero_pods_import_the_package_and_reach_the_verdict(
    engine: Engine,
    locust_only_venv: Path,
    fast_target: HTTPServer,
    tmp_path: Path,
) -> None:
    """The deliveryhero layout, run as local processes in a venv with only Locust: the rendered master
    and two workers (its entrypoint script, args, env, service links and flat ConfigMap mounts, our
    init step) import
    locust_scenarios from the zip in the lib mount, run a short profile against a local target, and
    serve the verdict while the pods stay up; stopping the master (as deleting the pod does) ends it
    with the verdict's exit code and the summary line."""
    host = fast_target.url_for("/").rstrip("/")
    scenario = "chart.scenario.users=4,chart.scenario.duration=8s,chart.scenario.rampUp=2s"
    # An 8 s profile on a shared machine lags its 2 s ramp by about a fifth: the generator's tracking
    # is judged by its own tests, this one is about the layout and the verdict's way out.
    loose = "chart.env.LOCUST_SCENARIO_TRUST_TRACKING=0.5"
    sets = f"{OFFLINE},{scenario},{loose},chart.scenario.thresholds=fail_ratio<1%,chart.workers.replicas=2"
    sets += ",chart.metrics.linger=2s"
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
    users, state, metrics = 0, "", ""
    with running(pods) as processes:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and processes["master"].poll() is None:
            stats = http_get(f"http://127.0.0.1:{ports[8089]}/stats/requests")
            if stats:
                data = json.loads(stats)
                users, state = max(users, int(data.get("user_count", 0))), str(data.get("state"))
                if users > 0 and state == "stopped":
                    metrics = http_get(f"http://127.0.0.1:{ports[9646]}/metrics") or ""
                    break
            time.sleep(0.5)
        context = "\n".join(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}" for name, path in logs.items())
        assert processes["master"].poll() is None, f"the master of a Deployment must stay up\n{context}"
        assert (users, state) == (4, "stopped"), context
        passing = re.search(r'^locust_threshold_passing\{[^}]*threshold="fail_ratio<1%"[^}]*\} (\S+)$', metrics, re.M)
        assert passing is not None, f"{metrics}\n{context}"
        assert float(passing.group(1)) == 1.0, passing.group(0)
        processes["master"].send_signal(signal.SIGTERM)
        master_code = processes["master"].wait(timeout=60)
        worker_codes = [processes[p.name].wait(timeout=60) for p in pods[1:]]
    master_log = logs["master"].read_text(errors="replace")
    context = "\n".join(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}" for name, path in logs.items())
    assert master_code == 0, context
    assert worker_codes == [0, 0], context
    summary = next(line for line in master_log.splitlines() if '"event": "locust_scenarios.summary"' in line)
    assert '"exit_code": 0' in summary, summary
    assert '"passed": true' in summary, summary
    assert len(fast_target.log) > 0
    assert "Traceback" not in context
    assert "unknown variable" not in context, "service-link variables are not typos"
