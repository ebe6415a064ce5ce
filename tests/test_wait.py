"""`locust-scenarios wait`: its parsing against recorded kubectl outputs, and the command end to end
with a replaying kubectl (no Kubernetes API server runs here, so kubectl's answers are replayed from
tests/fixtures/kube, in the shapes the API returns): transient API errors, a deleted Job, pods that
cannot start, the timeout, and the deliveryhero engine's Deployment."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from locust_scenarios import ExitCode
from locust_scenarios._cli.main import main
from locust_scenarios._cli.masters import newest
from locust_scenarios._cli.wait import (
    RunOutcome,
    exit_code_of,
    job_condition,
    master_exit_code,
    summary_from_log,
)
from tests.k8s.kubectl_replay import RECORDED, Replay, calls, not_found, unavailable

JOB = "locust-scenarios-master-1129-0334"
MASTER_POD = "locust-scenarios-master-1129-0334-x7k2p"
NO_METRICS = {"error": "Error from server (ServiceUnavailable): no endpoints available for service", "code": 1}


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


def fixture(name: str) -> dict[str, str]:
    return {"fixture": name}


def test_running_and_failure_target_are_not_terminal() -> None:
    """A running Job, and one with only FailureTarget (its pods still terminating), are not done yet."""
    assert job_condition(recorded("job-running.json")) is None
    assert job_condition(recorded("job-failure-target.json")) is None


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("job-complete.json", "Complete", "CompletionsReached"),
        ("job-failed.json", "Failed", "BackoffLimitExceeded"),
        ("job-deadline-exceeded.json", "Failed", "DeadlineExceeded"),
    ],
)
def test_terminal_conditions(name: str, kind: str, reason: str) -> None:
    """Complete and Failed (with status True) end the wait, whatever else is listed before them."""
    condition = job_condition(recorded(name))
    assert condition is not None
    assert (condition["type"], condition["reason"]) == (kind, reason)


def test_exit_code_from_the_master_container() -> None:
    """The master container's terminated exit code is read from the pod list; init containers are not it."""
    assert master_exit_code(recorded("pods-exit-3.json")) == 3
    assert master_exit_code(recorded("pods-exit-0.json")) == 0
    assert master_exit_code(recorded("pods-oom-killed.json")) == 137
    assert master_exit_code(recorded("pods-none.json")) is None
    assert master_exit_code(recorded("pods-install-failed.json")) is None


def test_summary_line_from_a_real_master_log() -> None:
    """The summary JSON line of a real master's log (recorded from a run whose threshold failed)."""
    summary = summary_from_log((RECORDED / "master-threshold-failed.log").read_text())
    assert summary is not None
    assert summary["exit_code"] == 3
    assert summary["thresholds"][0]["threshold"] == "p95<1ms"
    assert "event" not in summary
    assert summary_from_log("no summary here\n{not json locust_scenarios.summary") is None


def test_exit_code_falls_back_to_summary_then_condition() -> None:
    """Without a container status: the summary's code; without either: Complete is 0, Failed is 4
    (a pod deleted by the deadline or an eviction never finished its profile)."""
    assert exit_code_of("Failed", 3, {"exit_code": 1}) == 3
    assert exit_code_of("Failed", None, {"exit_code": 3}) == ExitCode.THRESHOLD_FAILED
    assert exit_code_of("Failed", None, None) == ExitCode.INTERRUPTED
    assert exit_code_of("Complete", None, None) == ExitCode.PASSED


def test_newest_master_job_is_chosen() -> None:
    """Without a Job name, the release's newest master Job is the one waited for."""
    found = newest(recorded("jobs.json")["items"])
    assert found is not None
    assert found["metadata"]["name"] == JOB
    assert newest([]) is None


def test_report_names_condition_verdict_and_a_killed_master() -> None:
    """The report's lines: the condition with its reason, the verdict's meaning, the summary; a code
    that is no verdict (137) says so."""
    outcome = RunOutcome(
        f"job/{JOB}", "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", 137, None
    )
    text = "\n".join(outcome.lines())
    assert f"job/{JOB} Failed (BackoffLimitExceeded: Job has reached the specified backoff limit)" in text
    assert "exit code 137: not a verdict" in text
    assert "no summary line" in text


def job_replay(
    folder: Path,
    *,
    job: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
    log: str | None = None,
    metrics: Mapping[str, Any] = NO_METRICS,
) -> Path:
    """A kubectl that answers for one run of this chart: its Jobs, its pods, its Services, the master's
    metrics through the service proxy and the master's log."""
    replay = Replay(folder)
    replay.on("get", "jobs", answers=[fixture("jobs.json")])
    replay.on("get", "job", JOB, answers=job)
    replay.on("get", "pods", answers=pods)
    replay.on("get", "services", answers=[fixture("services.json")])
    replay.on("get", "--raw", answers=[metrics])
    replay.on("logs", MASTER_POD, answers=[fixture(log) if log else not_found("pods", MASTER_POD)])
    return replay.write()


def run_wait(capsys: pytest.CaptureFixture[str], kubectl: Path, *args: str) -> tuple[int, str, str]:
    code = main(["wait", "--kubectl", str(kubectl), "--interval", "10ms", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_wait_returns_on_failure_with_the_master_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job that runs, then fails (FailureTarget, then Failed) ends the wait: the verdict and the
    summary line are printed and the exit code is the master's (3), found without a Job name."""
    running, failing = fixture("job-running.json"), fixture("job-failure-target.json")
    kubectl = job_replay(
        tmp_path,
        job=[running, running, failing, fixture("job-failed.json")],
        pods=[fixture("pods-running.json")] * 3 + [fixture("pods-exit-3.json")],
        log="master-threshold-failed.log",
    )
    code, out, _ = run_wait(capsys, kubectl, "-n", "locust")
    assert code == ExitCode.THRESHOLD_FAILED
    assert f"job/{JOB} Failed (BackoffLimitExceeded" in out
    assert "verdict: exit code 3: a threshold failed" in out
    assert json.loads(out.splitlines()[-1])["exit_code"] == 3
    asked = calls(tmp_path)
    assert asked[0][:2] == ["--namespace", "locust"]
    assert sum(call[2:4] == ["get", "job"] for call in asked) == 4
    # The run's pods are selected by the Job's release and run id (master and workers).
    assert "app.kubernetes.io/instance=locust-scenarios,locust-scenarios/run-id=1129-0334" in asked[2]
    assert out.count("no metrics:") == 3


def test_wait_on_success_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job that completes gives exit 0 and says so; while the init container installs the dependencies,
    the progress line says that instead of reading metrics."""
    kubectl = job_replay(
        tmp_path,
        job=[fixture("job-running.json"), fixture("job-complete.json")],
        pods=[fixture("pods-installing.json"), fixture("pods-exit-0.json")],
    )
    code, out, _ = run_wait(capsys, kubectl, JOB)
    assert code == ExitCode.PASSED
    assert f"job/{JOB} Complete" in out
    assert "master pod init container install-dependencies running" in out


def test_a_transient_api_error_is_retried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A kubectl that fails once with a connection error, then reports the Job Complete: exit 0, and the
    retry is said on the way."""
    kubectl = job_replay(
        tmp_path,
        job=[unavailable(), fixture("job-complete.json")],
        pods=[fixture("pods-exit-0.json")],
    )
    code, out, _ = run_wait(capsys, kubectl, JOB)
    assert code == ExitCode.PASSED
    assert "API server unavailable (1 of 12 retries)" in out
    assert "was refused" in out
    assert f"job/{JOB} Complete" in out


@pytest.mark.parametrize(
    "error",
    [
        "Unable to connect to the server: net/http: TLS handshake timeout",
        'Error from server (InternalError): an error on the server ("") has prevented the request from succeeding',
        "Error from server (ServiceUnavailable): the server is currently unable to handle the request",
    ],
)
def test_the_wait_gives_up_after_a_bound_of_api_errors_in_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], error: str
) -> None:
    """TLS handshake timeouts and 5xx answers are retried --api-retries times in a row, then the wait
    gives up with exit 6 and one line saying so."""
    kubectl = job_replay(tmp_path, job=[unavailable(error)], pods=[fixture("pods-running.json")])
    code, out, err = run_wait(capsys, kubectl, JOB, "--api-retries", "3")
    assert code == ExitCode.TOOL_FAILED
    assert out.count("API server unavailable") == 3
    assert err.count("\n") == 1
    assert "failed 4 polls in a row, giving up (--api-retries)" in err
    assert error.rsplit(": ", maxsplit=1)[-1] in err


def test_a_deleted_job_is_named_and_is_not_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job that disappears while it runs: the wait ends with 4 (interrupted, not 2) and says it is gone."""
    kubectl = job_replay(
        tmp_path,
        job=[fixture("job-running.json"), not_found("jobs.batch", JOB)],
        pods=[fixture("pods-running.json")],
    )
    code, _, err = run_wait(capsys, kubectl, JOB)
    assert code == ExitCode.INTERRUPTED
    assert code != ExitCode.INVALID_CONFIG
    assert err.strip() == (
        f"locust-scenarios wait: job/{JOB} is gone: it was deleted before it ended, so the run was interrupted"
    )


def test_a_job_that_never_existed_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job name that is not there at the first poll: one line, exit 2."""
    kubectl = job_replay(tmp_path, job=[not_found("jobs.batch", JOB)], pods=[fixture("pods-none.json")])
    code, _, err = run_wait(capsys, kubectl, JOB)
    assert code == ExitCode.INVALID_CONFIG
    assert err.count("\n") == 1
    assert "not found" in err


@pytest.mark.parametrize(
    ("pods", "reason", "container"),
    [
        ("pods-image-pull-backoff.json", 'ImagePullBackOff: Back-off pulling image "locustio/locust:2.47.9"', "master"),
        (
            "pods-create-config-error.json",
            "CreateContainerConfigError: couldn't find key token in Secret locust/shop-token",
            "master",
        ),
        ("pods-install-failed.json", "the init container failed: exited with code 1 (Error)", "install-dependencies"),
    ],
)
def test_a_pod_that_cannot_start_ends_the_wait_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pods: str, reason: str, container: str
) -> None:
    """An image that cannot be pulled, missing container config or a failed dependency install: the first
    poll ends the wait with exit 2, naming the pod, the reason and the kubectl logs command to run."""
    kubectl = job_replay(tmp_path, job=[fixture("job-running.json")], pods=[fixture(pods)])
    code, _, err = run_wait(capsys, kubectl, JOB, "--timeout", "1h")
    assert code == ExitCode.INVALID_CONFIG
    assert err.count("\n") == 1
    assert f"the run cannot start: pod {MASTER_POD}, container {container}: {reason}" in err
    assert f"kubectl -n locust logs {MASTER_POD} -c {container}" in err
    assert sum(call[:2] == ["get", "job"] for call in calls(tmp_path)) == 1


def test_an_unschedulable_pod_ends_the_wait_after_its_bound(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A worker the scheduler cannot place is waited for (an autoscaler may add a node) until
    --unschedulable-timeout, then the wait ends with 2 and the scheduler's message."""
    kubectl = job_replay(tmp_path, job=[fixture("job-running.json")], pods=[fixture("pods-unschedulable.json")])
    code, out, err = run_wait(capsys, kubectl, JOB, "--unschedulable-timeout", "100ms")
    assert code == ExitCode.INVALID_CONFIG
    assert sum(call[:2] == ["get", "job"] for call in calls(tmp_path)) >= 2  # seen, then waited for
    assert "pod locust-scenarios-worker-1129-0334-q4w8z: Unschedulable for" in err
    assert "0/3 nodes are available: 3 Insufficient cpu." in err
    assert "progress" in out


def test_deadline_with_the_pod_gone_is_interrupted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DeadlineExceeded deletes the pod: no exit code, no log; the run did not complete, so exit 4."""
    kubectl = job_replay(tmp_path, job=[fixture("job-deadline-exceeded.json")], pods=[fixture("pods-none.json")])
    code, out, _ = run_wait(capsys, kubectl, JOB)
    assert code == ExitCode.INTERRUPTED
    assert "DeadlineExceeded" in out


def test_timeout_without_verdict_has_its_own_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Job still running at --timeout: one line, and exit 7 (no verdict yet), not 5 (inconclusive)."""
    kubectl = job_replay(tmp_path, job=[fixture("job-running.json")], pods=[fixture("pods-running.json")])
    code, _, err = run_wait(capsys, kubectl, JOB, "--timeout", "50ms")
    assert code == ExitCode.NO_VERDICT == 7
    assert code != ExitCode.INCONCLUSIVE
    assert err.strip() == f"locust-scenarios wait: job/{JOB} has not ended within --timeout: no verdict yet"


def test_missing_or_failing_kubectl_is_a_tool_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No kubectl, or a kubectl that refuses the request: one line naming it, exit 6 (not 2: the input
    was fine)."""
    assert main(["wait", "--kubectl", str(tmp_path / "absent")]) == ExitCode.TOOL_FAILED == 6
    assert "--kubectl" in capsys.readouterr().err
    forbidden = Replay(tmp_path / "forbidden").on(
        "get",
        answers=[
            {
                "error": "E1129 03:34:00.000000   1 memcache.go:265] couldn't get current server API group list\n"
                'Error from server (Forbidden): jobs.batch "x" is forbidden: User "ci" cannot get resource "jobs"',
                "code": 1,
            }
        ],
    )
    assert main(["wait", JOB, "--kubectl", str(forbidden.write())]) == ExitCode.TOOL_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "could not read job/locust-scenarios-master-1129-0334: Error from server (Forbidden)" in err


@pytest.mark.parametrize(
    "answer",
    [{"text": "<html>502 Bad Gateway</html>"}, {"json": {"items": [{"kind": "Pod", "status": {}}]}}],
)
def test_kubectl_output_of_the_wrong_shape_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answer: dict[str, Any]
) -> None:
    """kubectl printing something that is not JSON, or a pod without metadata: one line, exit 6."""
    replay = Replay(tmp_path).on("get", "jobs", answers=[{"json": {"items": []}}]).on("get", "pods", answers=[answer])
    code = main(["wait", "--kubectl", str(replay.write())])
    err = capsys.readouterr().err
    assert code == ExitCode.TOOL_FAILED
    assert err.count("\n") == 1
    assert "not JSON" in err or "without metadata.name" in err
    assert "Traceback" not in err


def test_missing_job_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No master Job or pod of the release: one line naming the release, exit 2."""
    replay = Replay(tmp_path).on("get", answers=[fixture("pods-none.json")])
    code, _, err = run_wait(capsys, replay.write(), "--release", "nightly", "-n", "perf")
    assert code == ExitCode.INVALID_CONFIG
    assert err.strip() == "locust-scenarios wait: no master Job or pod of release 'nightly' in namespace perf"


def test_service_mode_has_nothing_to_wait_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A release of this chart in service mode (a master Deployment, no Job): one line saying why there is
    no end to wait for, exit 2."""
    running = recorded("pods-running.json")
    for item in running["items"]:
        del item["metadata"]["labels"]["locust-scenarios/run-id"]
    replay = Replay(tmp_path).on("get", "jobs", answers=[fixture("pods-none.json")])
    replay.on("get", "pods", answers=[{"json": running}])
    code, _, err = run_wait(capsys, replay.write(), "-n", "locust")
    assert code == ExitCode.INVALID_CONFIG
    assert err.strip() == (
        "locust-scenarios: release 'locust-scenarios' runs in service mode: its master is a Deployment whose "
        "runs start from the web UI and never end; wait follows run mode (mode: run) and the deliveryhero engine"
    )


def deliveryhero_replay(folder: Path, pods: str, log: str | None = None) -> Path:
    """A kubectl that answers for a release deployed with the deliveryhero engine (no Jobs)."""
    replay = Replay(folder)
    replay.on("get", "jobs", answers=[fixture("pods-none.json")])
    replay.on("get", "pods", answers=[fixture(pods)])
    replay.on("get", "services", answers=[fixture("deliveryhero-services.json")])
    replay.on("get", "--raw", answers=[NO_METRICS])
    replay.on("logs", answers=[fixture(log) if log else {"text": ""}])
    return replay.write()


def test_deliveryhero_master_that_exited_gives_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """deliveryhero runs the master as a Deployment: its container's exit (here before a restart) is the
    verdict, and the summary comes from the log of that previous run of the container."""
    kubectl = deliveryhero_replay(tmp_path, "deliveryhero-pods-master-exited.json", log="master-threshold-failed.log")
    code, out, _ = run_wait(capsys, kubectl, "-n", "locust")
    assert code == 2
    assert "pod/locust-scenarios-master-7d9c5b8f4-x2k9p exited" in out
    logs = next(call for call in calls(tmp_path) if "logs" in call)
    assert logs[2:] == [
        "logs",
        "locust-scenarios-master-7d9c5b8f4-x2k9p",
        "--container",
        "locust",
        "--tail",
        "-1",
        "--previous",
    ]


def test_deliveryhero_pods_are_found_by_its_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no master Job, the release's deliveryhero master pod is followed; the metrics are read through
    the config release's metrics Service (the one that selects deliveryhero's master labels)."""
    kubectl = deliveryhero_replay(tmp_path, "deliveryhero-pods-running.json")
    code, out, err = run_wait(capsys, kubectl, "-n", "locust", "--timeout", "30ms")
    assert code == ExitCode.NO_VERDICT
    assert "waiting for the deliveryhero master of release 'locust-scenarios' to end" in out
    raw = next(call for call in calls(tmp_path) if "--raw" in call)
    assert raw[-1] == "/api/v1/namespaces/locust/services/locust-scenarios-config-metrics:metrics/proxy/metrics"
    assert "has not ended within --timeout" in err


def test_documented_kubectl_loop_ends_on_failure_and_on_a_deleted_job(tmp_path: Path) -> None:
    """The plain-kubectl loop of docs/kubernetes.md stops on a Failed Job and prints the master's exit
    code; it also stops, saying so, when the Job is deleted (instead of polling forever)."""
    docs = (Path(__file__).parent.parent / "docs" / "kubernetes.md").read_text()
    recipe = docs.split("With kubectl alone", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    recipe = recipe.replace("sleep 10", "sleep 0.01").replace("job=locust-scenarios-master-1126-162739", f"job={JOB}")
    failed = Replay(tmp_path / "failed")
    failed.on("get", "job", answers=[{"text": f"{JOB}:"}, {"text": f"{JOB}:FailureTarget Failed"}])
    failed.on("logs", answers=[fixture("master-threshold-failed.log")])
    failed.on("get", "pods", answers=[{"text": "3"}])
    deleted = Replay(tmp_path / "deleted")
    deleted.on("get", "job", answers=[{"text": f"{JOB}:"}, {"text": ""}])
    deleted.on("logs", answers=[not_found("pods", JOB)])
    deleted.on("get", "pods", answers=[{"text": ""}])
    outputs = []
    for replay in (failed, deleted):
        replay.write()
        env = {**os.environ, "PATH": f"{replay.folder}{os.pathsep}{os.environ['PATH']}"}
        result = subprocess.run(["sh", "-c", recipe], env=env, capture_output=True, text=True, timeout=60, check=False)
        outputs.append(result.stdout)
    assert outputs[0].strip().endswith("3")
    assert f"job/{JOB} is gone" in outputs[1]
    get_job = [call for call in calls(tmp_path / "deleted") if call[2:4] == ["get", "job"]]
    assert "--ignore-not-found" in get_job[0]


def test_notes_recipe_ends_on_failure_and_on_a_deleted_job(tmp_path: Path) -> None:
    """The plain-kubectl loop NOTES.txt prints stops on a Failed Job (not only on Complete) and prints the
    master's exit code; it also stops, saying so, when the Job is deleted (instead of polling forever)."""
    notes = (Path(__file__).parent.parent / "chart" / "templates" / "NOTES.txt").read_text()
    loop = next(line.strip() for line in notes.splitlines() if line.strip().startswith("job="))
    loop = loop.replace("{{ $ns }}", "locust").replace("{{ $masterJob }}", JOB).replace("sleep 10", "sleep 0.01")
    code = next(line.strip() for line in notes.splitlines() if "exitCode" in line)
    code = code.replace("{{ $ns }}", "locust").replace("{{ $masterJob }}", JOB)
    failed = Replay(tmp_path / "failed")
    failed.on(
        "get",
        "job",
        answers=[{"text": f"{JOB}:"}, {"text": f"{JOB}:FailureTarget"}, {"text": f"{JOB}:FailureTarget Failed"}],
    )
    failed.on("get", "pods", answers=[{"text": "3"}])
    deleted = Replay(tmp_path / "deleted")
    deleted.on("get", "job", answers=[{"text": f"{JOB}:"}, {"text": ""}])
    deleted.on("get", "pods", answers=[{"text": ""}])
    outputs = []
    for replay in (failed, deleted):
        replay.write()
        env = {**os.environ, "PATH": f"{replay.folder}{os.pathsep}{os.environ['PATH']}"}
        result = subprocess.run(
            ["sh", "-c", f"{loop}\n{code}"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0].strip().endswith("3")
    assert sum(call[2:4] == ["get", "job"] for call in calls(tmp_path / "failed")) == 3
    assert f"job/{JOB} is gone" in outputs[1]
