"""`locust-scenarios fetch` against a replaying kubectl (no Kubernetes API server runs here): the
record from a finished master's log, or from its results volume while it still runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from locust_scenarios import ExitCode
from locust_scenarios._cli.fetch import _kubectl
from locust_scenarios._cli.kube import ToolError
from locust_scenarios._cli.main import main
from locust_scenarios._records.record import log_line
from tests.k8s.kubectl_replay import calls, pod, replaying_kubectl
from tests.records import record_of

RECORD_ENV = {"LOCUST_SCENARIO_RECORD": "/results/r2/record.json"}


def test_finished_run_comes_from_the_log(tmp_path: Path) -> None:
    """For a completed master pod, fetch reads its log, decodes the record line, writes record.json and
    rebuilds report.html; of two runs it takes the newest master pod."""
    old = record_of({("GET", "/a"): [10.0] * 5}, run_id="r1")
    new = record_of({("GET", "/a"): [20.0] * 7}, run_id="r2")
    log = (
        "[2026-01-01 00:00:01,000] master/INFO/locust.main: Starting Locust\n"
        f"[2026-01-01 00:01:00,000] master/INFO/locust.stats_logger: {log_line(new)}\n"
    )
    kubectl = replaying_kubectl(
        tmp_path / "kubectl",
        pods=[
            pod(
                "shop-locust-scenarios-master-r1-abcde",
                run_id="r1",
                created="2026-01-01T00:00:00Z",
                running=False,
                env=RECORD_ENV,
            ),
            pod(
                "shop-locust-scenarios-master-r2-fghij",
                run_id="r2",
                created="2026-01-02T00:00:00Z",
                running=False,
                env=RECORD_ENV,
            ),
        ],
        logs={"shop-locust-scenarios-master-r1-abcde": log_line(old), "shop-locust-scenarios-master-r2-fghij": log},
    )
    output = tmp_path / "out"
    assert main(["fetch", "shop", "-n", "load", "-o", str(output), "--kubectl", str(kubectl)]) == 0
    fetched = json.loads((output / "record.json").read_text())
    assert fetched == json.loads(json.dumps(new))
    assert "r2" in (output / "report.html").read_text()
    asked = calls(tmp_path / "kubectl")
    assert asked[0][:2] == ["get", "pods"]
    assert "app.kubernetes.io/instance=shop,app.kubernetes.io/component=master" in asked[0]
    assert asked[1][:1] == ["logs"]
    assert "shop-locust-scenarios-master-r2-fghij" in asked[1]


def test_running_master_is_read_from_its_results_volume(tmp_path: Path) -> None:
    """While the master still runs (its linger), fetch reads the file the pod's LOCUST_SCENARIO_RECORD
    names from the results volume with kubectl exec, for the run id asked for."""
    record = record_of({("GET", "/b"): [30.0] * 3}, run_id="r2")
    kubectl = replaying_kubectl(
        tmp_path / "kubectl",
        pods=[pod("shop-master-r2-x", run_id="r2", created="2026-01-02T00:00:00Z", running=True, env=RECORD_ENV)],
        files={"/results/r2/record.json": json.dumps(record)},
    )
    output = tmp_path / "out"
    assert main(["fetch", "shop", "--run-id", "r2", "-o", str(output), "--kubectl", str(kubectl)]) == 0
    assert json.loads((output / "record.json").read_text())["run_id"] == "r2"
    asked = calls(tmp_path / "kubectl")
    assert "app.kubernetes.io/instance=shop,app.kubernetes.io/component=master,locust-scenarios/run-id=r2" in asked[0]
    assert asked[1][0] == "exec"
    assert asked[1][-2:] == ["cat", "/results/r2/record.json"]


def test_no_master_pod_or_no_record_exits_2_with_the_reason(tmp_path: Path) -> None:
    """No master pod for the release, or a finished pod whose log has no record: exit 2, one line."""
    empty = replaying_kubectl(tmp_path / "none", pods=[])
    assert main(["fetch", "shop", "-o", str(tmp_path / "a"), "--kubectl", str(empty)]) == 2
    silent = replaying_kubectl(
        tmp_path / "silent",
        pods=[pod("m-1", run_id="r1", created="2026-01-01T00:00:00Z", running=False, env=RECORD_ENV)],
        logs={"m-1": "[2026-01-01 00:00:01,000] master/INFO/locust.main: Starting Locust\n"},
    )
    assert main(["fetch", "shop", "-o", str(tmp_path / "b"), "--kubectl", str(silent)]) == 2
    assert not (tmp_path / "b" / "record.json").exists()


def test_a_failing_kubectl_exits_6_not_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """kubectl missing or failing (the cluster unreachable) is a tool failure, exit 6, one line."""
    assert main(["fetch", "shop", "-o", str(tmp_path / "a"), "--kubectl", str(tmp_path / "absent")]) == 6
    failing = tmp_path / "kubectl"
    failing.write_text("#!/bin/sh\necho 'Unable to connect to the server' >&2\nexit 1\n")
    failing.chmod(0o755)
    assert main(["fetch", "shop", "-o", str(tmp_path / "b"), "--kubectl", str(failing)]) == ExitCode.TOOL_FAILED
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "Unable to connect to the server" in lines[1]


def test_a_kubectl_that_does_not_answer_is_a_tool_failure(tmp_path: Path) -> None:
    """A cluster that does not answer within the time allowed raises ToolError (exit 6), not a setting
    error (exit 2)."""
    silent = tmp_path / "kubectl"
    silent.write_text("#!/bin/sh\nexec sleep 5\n")
    silent.chmod(0o755)
    with pytest.raises(ToolError, match="did not answer within") as raised:
        _kubectl([str(silent)], "get", "pods", timeout=0.5)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
