"""`locust-scenarios fetch` against a replaying kubectl (no Kubernetes API server runs here): the record
from a finished master's log, from its results volume while it lingers, from a results claim through a
reader pod once the pod is gone, for either engine; and one line, never kubectl's noise, when it cannot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from locust_scenarios import ExitCode
from locust_scenarios._cli.kubectl import ApiUnavailableError, Kubectl
from locust_scenarios._cli.main import main
from locust_scenarios._records.record import log_line
from tests.k8s.kubectl_replay import (
    RECORDED,
    Replay,
    calls,
    not_found,
    pod,
    pod_list,
    replaying_kubectl,
    stdins,
)
from tests.records import record_of

RECORD_ENV = {"LOCUST_SCENARIO_RECORD": "/results/r2/record.json"}
MISSING_FILE = {"error": "cat: /results/r2/record.json: No such file or directory\ncommand terminated with exit code 1"}


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
    assert asked[0] == [
        "--namespace",
        "load",
        "get",
        "pods",
        "--selector",
        "app.kubernetes.io/instance=shop",
        "-o",
        "json",
    ]
    assert asked[1][2:4] == ["logs", "shop-locust-scenarios-master-r2-fghij"]
    assert not [p for p in output.iterdir() if p.name.startswith(".tmp")]


def test_running_master_is_read_from_its_results_volume(tmp_path: Path) -> None:
    """While the master lingers after quitting, fetch reads the file the pod's LOCUST_SCENARIO_RECORD names
    from the results volume with kubectl exec, for the run id asked for (not the newer run)."""
    record = record_of({("GET", "/b"): [30.0] * 3}, run_id="r2")
    kubectl = replaying_kubectl(
        tmp_path / "kubectl",
        pods=[
            pod("shop-master-r2-x", run_id="r2", created="2026-01-02T00:00:00Z", running=True, env=RECORD_ENV),
            pod("shop-master-r3-y", run_id="r3", created="2026-01-03T00:00:00Z", running=True, env=RECORD_ENV),
        ],
        files={"/results/r2/record.json": json.dumps(record)},
    )
    output = tmp_path / "out"
    assert main(["fetch", "shop", "--run-id", "r2", "-o", str(output), "--kubectl", str(kubectl)]) == 0
    assert json.loads((output / "record.json").read_text())["run_id"] == "r2"
    asked = calls(tmp_path / "kubectl")
    assert asked[1][:2] == ["exec", "shop-master-r2-x"]
    assert asked[1][-2:] == ["cat", "/results/r2/record.json"]


def test_a_master_that_has_not_quit_has_no_record_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The record is written when the master quits: during the profile fetch says so, exit 7 (no verdict
    yet), one line, and writes nothing."""
    replay = Replay(tmp_path / "kubectl")
    replay.on(
        "get",
        "pods",
        answers=[
            {"json": pod_list([pod("m-1", run_id="r2", created="2026-01-02T00:00:00Z", running=True, env=RECORD_ENV)])}
        ],
    )
    replay.on("exec", answers=[MISSING_FILE])  # fmt: skip
    output = tmp_path / "out"
    assert main(["fetch", "shop", "-o", str(output), "--kubectl", str(replay.write())]) == ExitCode.NO_VERDICT == 7
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the run record is written when the master quits" in err
    assert not output.exists()


def test_no_master_pod_or_no_record_exits_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No master pod for the release (and no claim), or a finished pod whose log has no record: exit 2,
    one line each saying what to do."""
    empty = replaying_kubectl(tmp_path / "none", pods=[])
    assert main(["fetch", "shop", "-o", str(tmp_path / "a"), "--kubectl", str(empty)]) == 2
    assert "its pods are gone; give --claim CLAIM" in capsys.readouterr().err
    silent = replaying_kubectl(
        tmp_path / "silent",
        pods=[pod("m-1", run_id="r1", created="2026-01-01T00:00:00Z", running=False, env=RECORD_ENV)],
        logs={"m-1": "[2026-01-01 00:00:01,000] master/INFO/locust.main: Starting Locust\n"},
    )
    assert main(["fetch", "shop", "-o", str(tmp_path / "b"), "--kubectl", str(silent)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pod m-1 has no run record in its log" in err
    assert not (tmp_path / "b" / "record.json").exists()


def claim_replay(folder: Path, *, pods: list[dict[str, object]], cat: dict[str, object]) -> Path:
    """A kubectl whose release has ``pods`` and whose reader pod finds the newest record on the claim."""
    replay = Replay(folder)
    replay.on("get", "pods", answers=[{"json": pod_list(pods)}])
    replay.on("logs", answers=[{"text": "[2026-01-01 00:00:01,000] master/INFO/locust.main: Starting Locust\n"}])
    replay.on("create", "-f", "-", answers=[{"text": "pod/locust-scenarios-fetch created\n"}])
    replay.on("wait", "--for=condition=Ready", answers=[{"text": "pod/locust-scenarios-fetch condition met\n"}])
    replay.on("exec", "sh", "-c", answers=[{"text": "/results/r2/record.json\n"}])
    replay.on("exec", "cat", answers=[cat])
    replay.on("delete", "pod", answers=[{"text": 'pod "locust-scenarios-fetch" deleted\n'}])
    return replay.write()


def test_a_record_on_a_results_claim_is_read_after_the_pod_is_gone(tmp_path: Path) -> None:
    """No master pod any more, --claim given: a reader pod mounts the claim read-only (restricted pod
    security), the newest record is copied out, and the reader pod is deleted."""
    record = record_of({("GET", "/c"): [40.0] * 4}, run_id="r2")
    kubectl = claim_replay(tmp_path / "kubectl", pods=[], cat={"text": json.dumps(record)})
    output = tmp_path / "out"
    code = main(["fetch", "shop", "-n", "load", "--claim", "results", "-o", str(output), "--kubectl", str(kubectl)])
    assert code == 0
    assert json.loads((output / "record.json").read_text())["run_id"] == "r2"
    asked = [call[2:] for call in calls(tmp_path / "kubectl")]
    order = [call[0] for call in asked]
    assert order == ["get", "create", "wait", "exec", "exec", "delete"]
    (manifest,) = (json.loads(text) for text in stdins(tmp_path / "kubectl"))
    name = manifest["metadata"]["name"]
    assert asked[-1] == ["delete", "pod", name, "--ignore-not-found", "--wait=false"]
    spec = manifest["spec"]
    assert spec["volumes"] == [{"name": "results", "persistentVolumeClaim": {"claimName": "results", "readOnly": True}}]
    (container,) = spec["containers"]
    assert container["volumeMounts"][0]["readOnly"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["activeDeadlineSeconds"] > 0


def test_the_reader_pod_is_deleted_when_reading_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A finished master whose log has no record but whose results volume is a claim: the claim is read
    through a reader pod automatically; when reading fails, the reader pod is still deleted."""
    gone = pod("m-1", run_id="r2", created="2026-01-01T00:00:00Z", running=False, env=RECORD_ENV, claim="results")
    kubectl = claim_replay(tmp_path / "kubectl", pods=[gone], cat=MISSING_FILE)
    code = main(["fetch", "shop", "--run-id", "r2", "-o", str(tmp_path / "out"), "--kubectl", str(kubectl)])
    assert code == ExitCode.INVALID_CONFIG
    assert "claim 'results' has no /results/r2/record.json" in capsys.readouterr().err
    asked = calls(tmp_path / "kubectl")
    assert asked[-1][:2] == ["delete", "pod"]
    (manifest,) = (json.loads(text) for text in stdins(tmp_path / "kubectl"))
    assert manifest["spec"]["containers"][0]["image"] == "locustio/locust:2.47.0"  # the master's image


def test_deliveryhero_master_is_read_from_its_container(tmp_path: Path) -> None:
    """With the deliveryhero engine, the master pod is found by deliveryhero's labels and its log read
    from its container, named after that chart (locust)."""
    record = record_of({("GET", "/d"): [5.0] * 2}, run_id="dh")
    pods = json.loads((RECORDED / "deliveryhero-pods-master-exited.json").read_text())
    replay = Replay(tmp_path / "kubectl").on("get", "pods", answers=[{"json": pods}])
    replay.on("logs", answers=[{"text": log_line(record) + "\n"}])
    assert main(["fetch", "locust-scenarios", "-o", str(tmp_path / "out"), "--kubectl", str(replay.write())]) == 0
    logs = calls(tmp_path / "kubectl")[1]
    assert logs[:4] == ["logs", "locust-scenarios-master-7d9c5b8f4-x2k9p", "-c", "locust"]


def test_output_onto_a_file_is_refused_and_earlier_files_are_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o naming an existing file is refused (exit 2, one line, the file untouched); record.json and
    report.html already in the output folder are replaced, as documented."""
    record = record_of({("GET", "/e"): [1.0] * 2}, run_id="r1")
    kubectl = replaying_kubectl(
        tmp_path / "kubectl",
        pods=[pod("m-1", run_id="r1", created="2026-01-01T00:00:00Z", running=False, env=RECORD_ENV)],
        logs={"m-1": log_line(record)},
    )
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    assert main(["fetch", "shop", "-o", str(existing), "--kubectl", str(kubectl)]) == ExitCode.INVALID_CONFIG
    assert "is a file: give a folder" in capsys.readouterr().err
    assert existing.read_text() == "mine"
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "record.json").write_text("old")
    assert main(["fetch", "shop", "-o", str(folder), "--kubectl", str(kubectl)]) == 0
    assert json.loads((folder / "record.json").read_text())["run_id"] == "r1"


def test_a_failing_kubectl_exits_6_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """kubectl missing or failing (the cluster unreachable) is a tool failure, exit 6, one line naming what
    failed and kubectl's last line, not its whole stderr."""
    assert main(["fetch", "shop", "-o", str(tmp_path / "a"), "--kubectl", str(tmp_path / "absent")]) == 6
    noisy = Replay(tmp_path / "noisy").on(
        "get",
        answers=[
            {
                "error": "E1201 10:00:00.000000   1 memcache.go:265] couldn't get current server API group list: "
                'Get "https://10.0.0.1:6443/api?timeout=32s": dial tcp 10.0.0.1:6443: i/o timeout\n'
                "E1201 10:00:30.000000   1 memcache.go:265] couldn't get current server API group list\n"
                "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout",
                "code": 1,
            }
        ],
    )
    capsys.readouterr()
    assert main(["fetch", "shop", "-o", str(tmp_path / "b"), "--kubectl", str(noisy.write())]) == 6
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.strip() == (
        "locust-scenarios: could not list the pods of release 'shop': "
        "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout"
    )


@pytest.mark.parametrize(
    "answer",
    [{"text": "error: You must be logged in to the server (Unauthorized)?"}, {"json": {"items": [{"spec": {}}]}}],
)
def test_kubectl_output_of_the_wrong_shape_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answer: dict[str, object]
) -> None:
    """kubectl printing something that is not JSON, or a pod without metadata: exit 6, one line."""
    replay = Replay(tmp_path).on("get", "pods", answers=[answer])
    assert main(["fetch", "shop", "-o", str(tmp_path / "out"), "--kubectl", str(replay.write())]) == 6
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_a_kubectl_that_does_not_answer_is_a_tool_failure(tmp_path: Path) -> None:
    """A cluster that does not answer within the time allowed raises a ToolError that a retry may cure
    (exit 6), not a setting error (exit 2)."""
    silent = tmp_path / "kubectl"
    silent.write_text("#!/bin/sh\nexec sleep 5\n")
    silent.chmod(0o755)
    with pytest.raises(ApiUnavailableError, match="did not answer within") as raised:
        Kubectl(str(silent)).text("get", "pods", what="list the pods", timeout=0.5)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED


def test_not_found_is_told_apart(tmp_path: Path) -> None:
    """kubectl's NotFound is its own error (a deleted object), not a failed tool."""
    replay = Replay(tmp_path).on("get", answers=[not_found("jobs.batch", "x")])
    kubectl = Kubectl(str(replay.write()))
    with pytest.raises(Exception, match="NotFound") as raised:
        kubectl.json("get", "job", "x", what="read job/x")
    assert type(raised.value).__name__ == "NotFoundError"
