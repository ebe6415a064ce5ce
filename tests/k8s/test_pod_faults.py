"""Faults of an ordinary day on a cluster, played with the chart's pods as real local processes in an
environment that has only Locust (the stand-in for the stock image): a worker lost and replaced, a
SIGTERM to the master under its rendered grace period, a master that starts long after its workers
(Locust's retry interval compressed tenfold), a package index out of reach, and an install with no
index at all."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import pytest
from pytest_httpserver import HTTPServer

from locust_scenarios import ExitCode
from locust_scenarios._cli.bundle.build import BundleReport

from .conftest import K8sTools, PodSimulation, RenderedRun, free_port, http_get, python_of, render_run

pytestmark = pytest.mark.e2e

SUMMARY = '"event": "locust_scenarios.summary"'
MISSING_WORKER = re.compile(r'^locust_workers\{state="missing"\} 1(\.0)?$', re.MULTILINE)


def _values(target: HTTPServer, scenario: dict[str, Any], **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "host": target.url_for("/").rstrip("/"),
        "runId": "fault",
        "scenario": scenario,
        "workers": {"replicas": 2},
        "run": {"workerWaitSeconds": 60, "autoquitSeconds": 1},
        "metrics": {"linger": "3s"},
    }
    values.update(extra)
    return values


class Pods:
    """Started pods of one simulated run: processes, their logs, and clean-up."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.handles: dict[str, IO[bytes]] = {}

    def prepare(self, run: RenderedRun, names: list[str]) -> dict[str, PodSimulation]:
        """Create the pods and run their init containers (in parallel, as on several nodes)."""
        pods = {name: run.pod(name, self.workdir / name) for name in names}
        with ThreadPoolExecutor(len(pods)) as pool:
            list(pool.map(lambda pod: pod.run_init_containers(timeout=300), pods.values()))
        return pods

    def start(self, pod: PodSimulation, env: dict[str, str | None] | None = None) -> subprocess.Popen[bytes]:
        """Start the pod's container; ``env`` changes its environment (None removes a variable)."""
        container = dict(pod.spec["containers"][0])
        if env:
            entries = [e for e in container["env"] if e["name"] not in env]
            container["env"] = entries + [{"name": k, "value": v} for k, v in env.items() if v is not None]
        self.handles[pod.name] = (self.workdir / f"{pod.name}.log").open("wb")
        self.processes[pod.name] = pod.start(container, self.handles[pod.name])
        return self.processes[pod.name]

    def log(self, name: str) -> str:
        self.handles[name].flush()
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def context(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-4000:]}" for name in self.processes)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        for handle in self.handles.values():
            handle.close()


@pytest.fixture
def pods(tmp_path: Path) -> Iterator[Pods]:
    """Started pods, killed at the end of the test whatever happened."""
    started = Pods(tmp_path)
    yield started
    started.stop_all()


Render = Callable[[dict[str, Any]], RenderedRun]


@pytest.fixture
def rendered(k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, tmp_path: Path) -> Render:
    """Renders the bundled chart with the given values, ready to run its pods in the stand-in image."""
    return lambda values: render_run(k8s_tools, chart, locust_only_venv, values, tmp_path)


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _users(run: RenderedRun) -> dict[str, Any]:
    stats = http_get(run.url(8089, "/stats/requests"))
    return json.loads(stats) if stats else {}


def _running_with_a_spare_worker(
    rendered: Render, target: HTTPServer, pods: Pods, duration: str
) -> tuple[RenderedRun, dict[str, PodSimulation], subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """A smoke run of 4 users on two workers, running: the run, its pods (worker-2 prepared, not started:
    the Job's replacement), the master's process and worker-1's (the one a test takes away)."""
    scenario = {"name": "smoke", "users": 4, "duration": duration, "rampUp": "1s", "thresholds": "fail_ratio<1%"}
    run = rendered(_values(target, scenario))
    prepared = pods.prepare(run, ["master", "worker-0", "worker-1", "worker-2"])
    master = pods.start(prepared["master"])
    pods.start(prepared["worker-0"])
    worker = pods.start(prepared["worker-1"])
    _wait(lambda: _users(run).get("user_count", 0) == 4, 60, f"4 users\n{pods.context()}")
    return run, prepared, master, worker


def test_a_lost_worker_is_replaced_and_the_run_passes(
    rendered: Render, fast_target: HTTPServer, tmp_path: Path, pods: Pods
) -> None:
    """A worker killed mid-run (evicted, spot reclaim) shows as missing in the exporter and the master's
    log; its replacement pod joins, rebalancing gives it users so the load is back to the plan, and the
    run completes with exit 0 (the lost worker's replacement restored the load in time)."""
    run, prepared, master, victim = _running_with_a_spare_worker(rendered, fast_target, pods, "40s")
    victim.kill()  # as an eviction past its grace period, or a lost node: no goodbye to the master
    victim.wait()
    missing = ""
    deadline = time.monotonic() + 30
    while not MISSING_WORKER.search(missing) and time.monotonic() < deadline:
        missing = http_get(run.url(9646, "/metrics")) or ""
        time.sleep(0.5)
    assert MISSING_WORKER.search(missing), pods.context()
    pods.start(prepared["worker-2"])  # the Job's replacement pod (the disruption is not counted)

    def restored() -> bool:
        workers = _users(run).get("workers", [])
        running = [w for w in workers if w.get("state") in ("running", "spawning")]
        return len(running) == 2 and sum(w.get("user_count", 0) for w in running) == 4

    _wait(restored, 30, f"the replacement to carry its share\n{pods.context()}")
    code = master.wait(timeout=120)
    assert code == ExitCode.PASSED, pods.context()
    assert "failed to send heartbeat, setting state to missing" in pods.log("master"), pods.context()
    assert pods.processes["worker-2"].wait(timeout=60) == 0
    assert pods.processes["worker-0"].wait(timeout=60) == 0
    assert pods.log("master").count(SUMMARY) == 1


def test_a_drained_worker_is_replaced_and_the_lost_worker_rule_decides(
    rendered: Render, fast_target: HTTPServer, tmp_path: Path, pods: Pods
) -> None:
    """A worker drained mid-run (SIGTERM, as an eviction or a preemption sends it) exits 4, not 0: its pod
    failed, so the worker Job (which ignores disruptions) starts a replacement instead of counting a
    completion. The master hears the worker quit and gives its users to the other one at once; the
    replacement rejoins and gets its share (rebalancing); the load never left the plan for longer than
    the lost-worker rule allows, so the run passes (0), its summary naming the lost worker."""
    run, prepared, master, drained = _running_with_a_spare_worker(rendered, fast_target, pods, "30s")
    drained.send_signal(signal.SIGTERM)
    assert drained.wait(timeout=30) == ExitCode.INTERRUPTED, pods.context()
    _wait(lambda: "quit." in pods.log("master"), 30, f"the master to hear the worker quit\n{pods.context()}")
    pods.start(prepared["worker-2"])  # the Job's replacement pod

    def rebalanced() -> bool:
        workers = _users(run).get("workers", [])
        running = [w for w in workers if w.get("state") in ("running", "spawning")]
        return len(running) == 2 and all(w.get("user_count", 0) == 2 for w in running)

    _wait(rebalanced, 30, f"the replacement to carry its share\n{pods.context()}")
    code = master.wait(timeout=120)
    assert code == ExitCode.PASSED, pods.context()
    line = next(line for line in pods.log("master").splitlines() if SUMMARY in line)
    assert len(json.loads(line[line.index("{") :])["workers_lost"]) == 1, line
    assert pods.processes["worker-2"].wait(timeout=60) == 0
    assert pods.processes["worker-0"].wait(timeout=60) == 0


def test_sigterm_ends_the_master_with_4_within_its_grace_period(
    rendered: Render, fast_target: HTTPServer, tmp_path: Path, pods: Pods
) -> None:
    """SIGTERM to the master mid-run (pod deletion, deadline, drain): it exits 4 before the kubelet's
    SIGKILL would come (the rendered terminationGracePeriodSeconds), with exactly one summary line,
    and its workers end too."""
    scenario = {"name": "smoke", "users": 2, "duration": "2m", "rampUp": "1s", "thresholds": "fail_ratio<1%"}
    run = rendered(_values(fast_target, scenario))
    prepared = pods.prepare(run, ["master", "worker-0", "worker-1"])
    master = pods.start(prepared["master"])
    workers = [pods.start(prepared[f"worker-{i}"]) for i in range(2)]
    _wait(lambda: _users(run).get("user_count", 0) == 2 and len(fast_target.log) > 0, 60, f"users\n{pods.context()}")
    grace = prepared["master"].grace_period()
    sent = time.monotonic()
    master.send_signal(signal.SIGTERM)
    try:
        code = master.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        master.kill()  # what the kubelet does at the end of the grace period
        master.wait()
        raise AssertionError(f"no exit within the grace period ({grace} s): SIGKILL\n{pods.context()}") from None
    elapsed = time.monotonic() - sent
    log = pods.log("master")
    assert code == ExitCode.INTERRUPTED, f"exit {code} after {elapsed:.1f} s\n{pods.context()}"
    assert log.count(SUMMARY) == 1, log
    line = next(line for line in log.splitlines() if SUMMARY in line)
    assert json.loads(line[line.index("{") :])["interrupted"] is True
    for worker in workers:
        assert worker.wait(timeout=60) == 0


def test_workers_wait_for_a_late_master(rendered: Render, fast_target: HTTPServer, tmp_path: Path, pods: Pods) -> None:
    """A master that starts 6 minutes after its workers, compressed tenfold (Locust's 5 s retry interval
    made 0.5 s, so its own limit of 61 attempts is 30.5 s instead of 305 s): the same worker without the
    chart's LOCUST_SCENARIO_MASTER_WAIT gives up at Locust's limit (exit 255); the chart's worker, with
    run.workerWaitSeconds 60, is still waiting when the master starts after that, joins it, and the run
    passes."""
    scenario = {"name": "smoke", "users": 2, "duration": "5s", "rampUp": "1s"}
    values = _values(
        fast_target,
        scenario,
        workers={"replicas": 1},
        run={"workerWaitSeconds": 60, "autoquitSeconds": 1},
        env={"LOCUST_SCENARIO_MASTER_RETRY_INTERVAL": "0.5"},
    )
    run = rendered(values)
    prepared = pods.prepare(run, ["master", "worker-0", "plain-worker"])
    started = time.monotonic()
    worker = pods.start(prepared["worker-0"])
    plain = pods.start(prepared["plain-worker"], {"LOCUST_SCENARIO_MASTER_WAIT": None})
    assert plain.wait(timeout=120) == 255, pods.context()  # Locust's own limit
    gave_up = time.monotonic() - started
    assert gave_up >= 30, pods.context()
    assert "Failed to connect to the Locust master" in pods.log("plain-worker")
    assert worker.poll() is None, pods.context()
    master = pods.start(prepared["master"])
    assert master.wait(timeout=120) == ExitCode.PASSED, pods.context()
    assert worker.wait(timeout=60) == 0, pods.context()
    assert not prepared["worker-0"].stopped_by_probe


NO_PIP_CONFIG = {"PIP_CONFIG_FILE": "/dev/null"}  # the stock image has no pip configuration


def test_unreachable_index_fails_the_init_step_with_a_message(
    rendered: Render, fast_target: HTTPServer, tmp_path: Path
) -> None:
    """With no route to the index, the installer fails (the pod never starts Locust) and its log ends
    with one line naming the index, without the credentials its URL carries (from a Secret, as the chart
    requires), and the values that fix it."""
    port = free_port()  # nothing listens there
    values = _values(
        fast_target,
        {"name": "smoke"},
        dependencies={"indexUrlSecret": {"name": "pip-index", "key": "url"}, "pipArgs": ["--retries", "0"]},
    )
    run = rendered(values)
    secrets = {"pip-index": {"url": f"http://ci:s3cret@127.0.0.1:{port}/simple"}}
    pod = run.pod("master", tmp_path / "master", base_env={**run.common["base_env"], **NO_PIP_CONFIG}, secrets=secrets)
    assert pod.run_init_containers(timeout=300, check=False) != 0
    log = (tmp_path / "master" / "install-dependencies.log").read_text()
    last = log.strip().splitlines()[-1]
    assert last.startswith(f"install-dependencies: cannot reach the package index http://127.0.0.1:{port}/simple (")
    assert "Connection refused" in last
    assert "dependencies.wheelhouse" in last
    assert "s3cret" not in log


DOCS = Path(__file__).resolve().parents[2] / "docs" / "kubernetes.md"


def _wheelhouse_recipe(platform: str, python_version: str, requirements: Path, wheels: Path) -> list[str]:
    """The `pip download` line of docs/kubernetes.md for ``platform``, for this interpreter's pip, with
    the given Python version, requirements and target folder."""
    line = next(x for x in DOCS.read_text().splitlines() if x.startswith("pip download") and platform in x)
    args = shlex.split(line)[1:]
    args[args.index("--python-version") + 1] = python_version
    args[args.index("-r") + 1] = str(requirements)
    args[args.index("-d") + 1] = str(wheels)
    return [*args, "-q"]


def test_wheelhouse_recipe_fetches_the_images_platform(tmp_path: Path, bundle: tuple[Path, BundleReport]) -> None:
    """The documented wheelhouse recipe for arm64 nodes, run on this machine (another platform, as a Mac
    or an x86 laptop would be), downloads the pinned list for the image: pydantic-core as a CPython 3.13
    aarch64 manylinux wheel, and only wheels that such a node can install."""
    wheels = tmp_path / "wheels"
    recipe = _wheelhouse_recipe("manylinux2014_aarch64", "3.13", bundle[0] / "requirements.txt", wheels)
    subprocess.run([sys.executable, "-m", "pip", *recipe], check=True, timeout=600)
    names = sorted(p.name for p in wheels.glob("*.whl"))
    core = next(name for name in names if name.startswith("pydantic_core-"))
    assert "-cp313-cp313-" in core, core
    assert "aarch64" in core, core
    for name in names:
        tags = name.removesuffix(".whl").split("-")[-3:]
        assert tags[2] == "any" or "aarch64" in tags[2], name


def test_wheelhouse_installs_with_no_index_at_all(
    rendered: Render, locust_only_venv: Path, fast_target: HTTPServer, tmp_path: Path, bundle: tuple[Path, BundleReport]
) -> None:
    """Wheels downloaded once into a volume, with the documented recipe for the image's platform and
    Python (here the stand-in's), are all the installer needs: with the index unreachable and pip's
    --no-index, it installs the pinned list from the wheelhouse on a ReadOnlyMany claim."""
    wheels = tmp_path / "claim"
    python = python_of(locust_only_venv)
    version = subprocess.run(
        [python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    platform_tag = f"manylinux2014_{os.uname().machine}"
    recipe = _wheelhouse_recipe("manylinux2014_x86_64", version, bundle[0] / "requirements.txt", wheels / "wheels")
    recipe[recipe.index("--platform") + 1] = platform_tag
    subprocess.run([python, "-m", "pip", *recipe], check=True, timeout=600)
    values = _values(
        fast_target,
        {"name": "smoke"},
        dependencies={
            "indexUrl": f"http://127.0.0.1:{free_port()}/simple",
            "wheelhouse": {
                "volume": {"persistentVolumeClaim": {"claimName": "wheels", "readOnly": True}},
                "accessMode": "ReadOnlyMany",
                "path": "wheels",
            },
        },
    )
    run = rendered(values)
    pod = run.pod(
        "master", tmp_path / "master", base_env={**run.common["base_env"], **NO_PIP_CONFIG}, claims={"wheels": wheels}
    )
    pod.run_init_containers(timeout=300)
    installed = {p.name.split("-")[0].lower() for p in pod.volumes["site-packages"].glob("*.dist-info")}
    assert {"pydantic", "pydantic_core", "pydantic_settings", "prometheus_client"} <= installed
