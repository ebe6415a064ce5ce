"""The chart's pods, run for real as local processes in an environment that has only Locust.

This is what the stock image does in a cluster: the init container pip-installs the pinned list into
the shared volume, the master and two workers import locust_scenarios from the package ConfigMap
(projected back into its layout), run the profile against a local target, and the master exits with
the verdict while serving its metrics.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pytest_httpserver import HTTPServer

from locust_scenarios._cli.bundle.build import BundleReport
from locust_scenarios._cli.fetch import fetch
from locust_scenarios._cli.kubectl import Kubectl
from locust_scenarios._records.record import schema
from tests.conftest import answer_after

from .conftest import RELEASE, K8sTools, by_kind, helm, http_get, python_of, render_run
from .kubectl_replay import pod, replaying_kubectl
from .podsim import PodSimulation, running

pytestmark = pytest.mark.e2e


@dataclass
class RunResult:
    """What the simulated run produced."""

    master_code: int
    worker_codes: list[int]
    logs: dict[str, str]
    max_users: int
    metrics: str
    metrics_over_ipv6: str
    """/metrics as scraped at [::1]: the chart's metrics.bindAddress "::" takes IPv6 too."""
    requests_served: int
    stopped_by_probe: list[bool]
    served: dict[str, str]
    """The master's /results/ files as its metrics port served them (the last answer seen)."""
    results: Path
    """The master's results volume on local disk."""


@pytest.fixture
def slow_target(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """A local target whose / answers after 30 ms."""
    httpserver.expect_request("/").respond_with_handler(answer_after(0.03))
    yield httpserver
    httpserver.clear()


def simulate_run(
    k8s_tools: K8sTools,
    chart: Path,
    venv: Path,
    target: HTTPServer,
    *,
    workdir: Path,
    scenario: dict[str, Any],
    worker_wait: int = 120,
    worker_timeout: float = 60,
    kill_master: bool = False,
) -> RunResult:
    """Render the chart in run mode with two workers, then run its pods locally to completion."""
    values = {
        "host": target.url_for("/").rstrip("/"),
        "runId": "sim",
        "scenario": scenario,
        "workers": {"replicas": 2},
        "run": {"workerWaitSeconds": worker_wait, "autoquitSeconds": 1},
        "metrics": {"linger": "3s"},
    }
    run = render_run(k8s_tools, chart, venv, values, workdir)
    ports = run.ports
    pods = [run.pod("master", workdir / "master")]
    pods += [run.pod(f"worker-{i}", workdir / f"worker-{i}") for i in range(run.parallelism)]
    with ThreadPoolExecutor(len(pods)) as pool:
        list(pool.map(lambda pod: pod.run_init_containers(timeout=300), pods))

    logs: dict[str, Path] = {pod.name: pod.root / "container.log" for pod in pods}
    max_users, metrics, metrics_over_ipv6 = 0, "", ""
    served: dict[str, str] = {}
    with running(pods) as processes:
        deadline = time.monotonic() + 180
        while processes["master"].poll() is None and time.monotonic() < deadline:
            stats = http_get(f"http://127.0.0.1:{ports[8089]}/stats/requests")
            if stats:
                max_users = max(max_users, int(json.loads(stats).get("user_count", 0)))
            if kill_master and max_users > 0:
                processes["master"].kill()  # as an OOM kill or a lost node would: no goodbye to workers
                break
            scraped = http_get(f"http://127.0.0.1:{ports[9646]}/metrics")
            if scraped and "locust" in scraped:
                metrics = scraped
                metrics_over_ipv6 = http_get(f"http://[::1]:{ports[9646]}/metrics") or metrics_over_ipv6
            for name in ("record.json", "report.html"):
                answer = http_get(f"http://127.0.0.1:{ports[9646]}/results/{name}")
                if answer:
                    served[name] = answer
            time.sleep(0.5)
        master_code = processes["master"].wait(timeout=30)
        worker_codes = [processes[p.name].wait(timeout=worker_timeout) for p in pods[1:]]
    return RunResult(
        master_code=master_code,
        worker_codes=worker_codes,
        logs={name: path.read_text(errors="replace") for name, path in logs.items()},
        max_users=max_users,
        metrics=metrics,
        metrics_over_ipv6=metrics_over_ipv6,
        requests_served=len(target.log),
        stopped_by_probe=[pod.stopped_by_probe for pod in pods[1:]],
        served=served,
        results=pods[0].volumes["results"],
    )


def test_stand_in_image_lacks_the_dependencies(locust_only_venv: Path) -> None:
    """Before the init step, the environment has Locust but not pydantic or prometheus_client."""
    for module in ("pydantic", "prometheus_client", "locust_scenarios"):
        probe = subprocess.run(
            [python_of(locust_only_venv), "-c", f"import {module}"], capture_output=True, check=False
        )
        assert probe.returncode != 0, f"{module} is importable in the stand-in image"


def test_init_container_installs_the_pinned_list(
    k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, bundle: tuple[Path, BundleReport], tmp_path: Path
) -> None:
    """The init container's real command fills the shared volume with exactly the pinned versions, and
    no second Locust or gevent."""
    manifest = helm(k8s_tools.helm, "template", RELEASE, str(chart), "--set", "host=http://127.0.0.1:1").stdout
    objects = [o for o in yaml.safe_load_all(manifest) if o]
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    master = next(o for o in by_kind(objects, "Job") if "-master-" in o["metadata"]["name"])
    pod = PodSimulation(
        "master",
        master["spec"]["template"]["spec"],
        tmp_path,
        configmaps=configmaps,
        secrets={},
        base_env={"PATH": f"{locust_only_venv / 'bin'}:/usr/bin:/bin"},
        binaries={"/usr/local/bin/python3": str(python_of(locust_only_venv))},
    )
    pod.run_init_containers(timeout=300)
    installed = {
        p.name.split("-")[0].lower().replace("_", "-"): p.name.removesuffix(".dist-info").split("-")[1]
        for p in pod.volumes["site-packages"].glob("*.dist-info")
    }
    expected = dict(item.split("==") for item in bundle[1].requirements)
    assert installed == {name.replace("_", "-"): version for name, version in expected.items()}
    assert not (pod.volumes["site-packages"] / "locust").exists()
    assert not (pod.volumes["site-packages"] / "gevent").exists()


def test_run_mode_pods_pass(
    k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, fast_target: HTTPServer, tmp_path: Path
) -> None:
    """Master and two workers, started from the rendered Jobs, import the package from the mounted
    ConfigMap, run the smoke profile against the local target, serve /stats/requests and /metrics
    during the run (the metrics on IPv4 and IPv6: the chart binds "::"), and all exit 0 (the master's 0
    is the passing verdict)."""
    result = simulate_run(
        k8s_tools,
        chart,
        locust_only_venv,
        fast_target,
        workdir=tmp_path,
        scenario={"name": "smoke", "users": 4, "duration": "8s", "rampUp": "2s", "thresholds": "fail_ratio<1%"},
    )
    context = "\n".join(f"--- {name}\n{log[-4000:]}" for name, log in result.logs.items())
    assert result.master_code == 0, context
    assert result.worker_codes == [0, 0], context
    assert result.requests_served > 0
    assert result.max_users >= 2, context
    assert "locust" in result.metrics, context
    assert "locust_users" in result.metrics_over_ipv6, context
    for name in ("worker-0", "worker-1"):
        assert "Traceback" not in result.logs[name], context


def test_failing_threshold_is_the_master_exit_code(
    k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, slow_target: HTTPServer, tmp_path: Path
) -> None:
    """With a threshold the slow target cannot meet (p95 under 1 ms), the master exits 3: in a
    cluster that fails the master Job."""
    result = simulate_run(
        k8s_tools,
        chart,
        locust_only_venv,
        slow_target,
        workdir=tmp_path,
        scenario={"name": "smoke", "users": 2, "duration": "6s", "rampUp": "1s", "thresholds": "p95<1ms"},
    )
    context = "\n".join(f"--- {name}\n{log[-4000:]}" for name, log in result.logs.items())
    assert result.requests_served > 0
    assert result.master_code == 3, context


def test_invalid_configuration_exits_2_and_no_pod_hangs(
    k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, fast_target: HTTPServer, tmp_path: Path
) -> None:
    """A profile name no locustfile registers passes the chart's schema but not the settings: the master
    exits 2 before any user spawns and the target sees no request. Each worker ends too: it exits 2 on
    the same check, or, when it hangs on the way out, its liveness probe stops it."""
    result = simulate_run(
        k8s_tools,
        chart,
        locust_only_venv,
        fast_target,
        workdir=tmp_path,
        scenario={"name": "no-such-profile", "users": 2, "duration": "5s"},
        worker_wait=10,
        worker_timeout=90,
    )
    context = "\n".join(f"--- {name}\n{log[-4000:]}" for name, log in result.logs.items())
    assert result.master_code == 2, context
    assert "no-such-profile" in result.logs["master"]
    assert result.requests_served == 0
    for code, stopped in zip(result.worker_codes, result.stopped_by_probe, strict=True):
        assert code == 2 or stopped, context


def test_workers_end_when_the_master_dies(
    k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, fast_target: HTTPServer, tmp_path: Path
) -> None:
    """A master killed mid-run (OOM, lost node) never tells its workers; their liveness probe stops them
    once its port has been unreachable longer than the master's wait for workers, so the worker Job
    finishes instead of holding pods forever."""
    result = simulate_run(
        k8s_tools,
        chart,
        locust_only_venv,
        fast_target,
        workdir=tmp_path,
        scenario={"name": "smoke", "users": 2, "duration": "2m", "rampUp": "1s"},
        worker_wait=10,
        worker_timeout=90,
        kill_master=True,
    )
    context = "\n".join(f"--- {name}\n{log[-4000:]}" for name, log in result.logs.items())
    assert result.master_code == -9, context
    assert result.requests_served > 0
    assert result.stopped_by_probe == [True, True], context


def test_workers_pass_their_liveness_probe_during_a_run(
    k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, fast_target: HTTPServer, tmp_path: Path
) -> None:
    """With a master to talk to, the liveness probe never stops a worker: they exit on the master's quit."""
    result = simulate_run(
        k8s_tools,
        chart,
        locust_only_venv,
        fast_target,
        workdir=tmp_path,
        scenario={"name": "smoke", "users": 2, "duration": "12s", "rampUp": "1s"},
        worker_wait=10,
    )
    context = "\n".join(f"--- {name}\n{log[-4000:]}" for name, log in result.logs.items())
    assert result.stopped_by_probe == [False, False], context
    assert result.worker_codes == [0, 0], context
    assert "Got quit message from master" in result.logs["worker-0"], context


def test_master_writes_serves_and_logs_the_run_record(
    k8s_tools: K8sTools, chart: Path, locust_only_venv: Path, fast_target: HTTPServer, tmp_path: Path
) -> None:
    """With the chart's defaults the master writes record.json and report.html to its results volume
    under the run id, serves both at /results/ on its metrics port during the linger, and prints the
    record in its log; `locust-scenarios fetch` gets the same record from that log once the pod has
    finished (kubectl replayed: no API server runs here). Workers write no results."""
    result = simulate_run(
        k8s_tools,
        chart,
        locust_only_venv,
        fast_target,
        workdir=tmp_path,
        scenario={"name": "smoke", "users": 2, "duration": "6s", "rampUp": "1s", "thresholds": "p99<10s"},
    )
    context = "\n".join(f"--- {name}\n{log[-4000:]}" for name, log in result.logs.items())
    assert result.master_code == 0, context
    written = json.loads((result.results / "sim" / "record.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(written)
    assert written["run_id"] == "sim"
    assert written["generator"]["mode"] == "master"
    assert written["generator"]["workers"] == 2
    assert written["total"]["requests"] > 0
    assert written["verdict"]["exit_code"] == 0
    assert json.loads(result.served["record.json"]) == written
    assert result.served["report.html"] == (result.results / "sim" / "report.html").read_text()
    assert "<svg" in result.served["report.html"]
    for name in ("worker-0", "worker-1"):
        assert not (tmp_path / name / "volumes" / "results").exists()

    master = next(
        o
        for o in yaml.safe_load_all(
            helm(k8s_tools.helm, "template", RELEASE, str(chart), "--set", "host=http://h").stdout
        )
        if o and o["kind"] == "Job" and "-master-" in o["metadata"]["name"]
    )
    env = {e["name"]: e["value"] for e in master["spec"]["template"]["spec"]["containers"][0]["env"] if "value" in e}
    kubectl = replaying_kubectl(
        tmp_path / "kubectl",
        pods=[pod("shop-master-sim-abcde", run_id="sim", created="2026-01-01T00:00:00Z", running=False, env=env)],
        logs={"shop-master-sim-abcde": result.logs["master"]},
    )
    fetched = fetch("shop", tmp_path / "fetched", kubectl=Kubectl(str(kubectl), "load"))
    assert fetched.source == "log"
    assert json.loads(fetched.record.read_text()) == written
