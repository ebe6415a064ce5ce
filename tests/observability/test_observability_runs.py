"""Real Locust processes with the exporter and thresholds: exit codes, abort, summary, workers, push."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from tests.conftest import base_url, free_port, master_options, worker_options

from .conftest import OBSERVED, OBSERVED_PROFILE, SPAWNING_COMPLETE, LocustRun, http_get, wait_for

pytestmark = pytest.mark.e2e

StartLocust = Callable[..., LocustRun]


def headless(target: HTTPServer, *extra: str, run_time: str = "3s", users: int = 4) -> list[str]:
    """Arguments of a short local headless run of the plain locustfile."""
    return ["-f", OBSERVED, "--headless", "-u", str(users), "-r", "20", "-t", run_time, "-H", base_url(target), *extra]


def locust_count(json_file: Path) -> int:
    """Requests Locust itself counted, from its --json-file."""
    return sum(int(entry["num_requests"]) for entry in json.loads(json_file.read_text()))


def summary_line(output: str) -> dict[str, Any]:
    """The one JSON summary line the master prints at the end."""
    lines = [line for line in output.splitlines() if '"event": "locust_scenarios.summary"' in line]
    assert len(lines) == 1, output[-3000:]
    record: dict[str, Any] = json.loads(lines[0])
    return record


def scrape_total(port: int) -> float:
    """sum(locust_requests_total) from one scrape of the exporter."""
    _, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    return sum(
        s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "locust_requests_total"
    )


def test_passing_thresholds_exit_0_with_the_verdict_table(
    observed_target: HTTPServer, start_locust: StartLocust
) -> None:
    """'fail_ratio<50%' on a healthy endpoint: exit 0, a PASS table and a summary line saying so; the
    table comes after Locust's own final tables, so that it does not scroll away above them."""
    run = start_locust(headless(observed_target), {"LOCUST_SCENARIO_THRESHOLDS": "fail_ratio<50%"})
    assert run.finish(60) == 0, run.output()[-3000:]
    output = run.output()
    assert "Thresholds: PASS (1 of 1 passed), exit code 0" in output
    assert output.rindex("Thresholds: PASS") > output.rindex("Response time percentiles")
    record = summary_line(output)
    assert record["exit_code"] == 0
    assert record["thresholds"][0]["threshold"] == "fail_ratio<50%"
    assert record["thresholds"][0]["passed"] is True


def test_failing_latency_threshold_exits_3_with_the_verdict_table(
    observed_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """'p95<1ms' against a slow endpoint: exit 3, the table shows FAIL, the summary file says why."""
    summary = tmp_path / "out" / "summary.json"
    env = {"LOCUST_SCENARIO_THRESHOLDS": "[GET /slow]p95<1ms", "LOCUST_SCENARIO_SUMMARY": str(summary)}
    run = start_locust(headless(observed_target, "--json-file", str(tmp_path / "stats")), env)
    assert run.finish(60) == 3, run.output()[-3000:]
    output = run.output()
    table = output[output.index("threshold ") : output.index("Thresholds: FAIL")]
    row = next(line for line in table.splitlines() if line.startswith("[GET /slow]p95<1ms"))
    assert row.split()[-1] == "FAIL"
    assert "Thresholds: FAIL (1 failed), exit code 3" in output
    written = json.loads(summary.read_text())
    assert written["exit_code"] == 3
    assert written["passed"] is False
    assert written["thresholds"][0]["value"] >= 0.005
    assert written["totals"]["requests"] == locust_count(tmp_path / "stats.json")


def test_a_threshold_without_samples_fails(observed_target: HTTPServer, start_locust: StartLocust) -> None:
    """A criterion on a request name that never ran has no samples and fails the run (exit 3)."""
    run = start_locust(headless(observed_target), {"LOCUST_SCENARIO_THRESHOLDS": "fail_ratio<50%,[GET /never]p95<1s"})
    assert run.finish(60) == 3, run.output()[-3000:]
    assert "no request named 'GET /never'" in run.output()


def test_invalid_expression_exits_2_before_any_request(observed_target: HTTPServer, start_locust: StartLocust) -> None:
    """A bad threshold stops Locust with exit 2 and one line pointing at the bad part; nothing is sent."""
    run = start_locust(headless(observed_target), {"LOCUST_SCENARIO_THRESHOLDS": "p95<500ms,fail_ratio<1x%"})
    assert run.finish(30) == 2, run.output()[-3000:]
    errors = [line for line in run.output().splitlines() if line.startswith("locust-scenarios:")]
    assert len(errors) == 1
    assert "criterion 2 'fail_ratio<1x%'" in errors[0]
    assert len(observed_target.log) == 0


def test_invalid_stop_on_and_buckets_exit_2(observed_target: HTTPServer, start_locust: StartLocust) -> None:
    """Bad breakpoint criteria or bad histogram buckets are configuration errors too (exit 2)."""
    bad_stop = start_locust(
        ["-f", OBSERVED_PROFILE, "--headless", "-H", base_url(observed_target)],
        {"LOCUST_SCENARIO": "breakpoint", "LOCUST_SCENARIO_STOP_ON": "p95<"},
    )
    bad_buckets = start_locust(headless(observed_target), {"LOCUST_PROMETHEUS_BUCKETS": "5ms,105ms"})
    assert bad_stop.finish(30) == 2, bad_stop.output()[-2000:]
    assert "LOCUST_SCENARIO_STOP_ON='p95<'" in bad_stop.output()
    assert bad_buckets.finish(30) == 2, bad_buckets.output()[-2000:]
    assert "nearest: 100ms or 110ms" in bad_buckets.output()
    assert len(observed_target.log) == 0


def test_no_thresholds_keeps_locusts_own_exit_code(observed_target: HTTPServer, start_locust: StartLocust) -> None:
    """Without thresholds a failed request still exits 1, as in plain Locust."""
    observed_target.expect_request("/slow").respond_with_data("no", status=500)
    observed_target.handlers.reverse()  # the failing /slow handler wins
    run = start_locust(headless(observed_target))
    assert run.finish(60) == 1, run.output()[-3000:]
    assert "Thresholds:" not in run.output()
    assert summary_line(run.output())["exit_code"] == 1


def test_abort_on_fail_stops_a_profile_early_with_exit_3(
    observed_target: HTTPServer, start_locust: StartLocust
) -> None:
    """With abort on, a failing threshold stops a 60 s profile after the grace period; exit 3, not 4."""
    env = {
        "LOCUST_SCENARIO": "stages",
        "LOCUST_SCENARIO_STAGES": "1s:3,60s:3",
        "LOCUST_SCENARIO_THRESHOLDS": "[GET /slow]p95<1ms",
        "LOCUST_SCENARIO_ABORT_ON_FAIL": "true",
        "LOCUST_SCENARIO_ABORT_GRACE": "2s",
    }
    started = time.monotonic()
    run = start_locust(["-f", OBSERVED_PROFILE, "--headless", "-H", base_url(observed_target)], env)
    code = run.finish(45)
    assert code == 3, run.output()[-3000:]
    assert time.monotonic() - started < 30
    output = run.output()
    assert "stopping the run (--scenario-abort-on-fail)" in output
    assert "Thresholds: FAIL (aborted during the run: [GET /slow]p95<1ms" in output
    assert summary_line(output)["aborted"].startswith("[GET /slow]p95<1ms")


def test_breakpoint_reports_the_breach_and_is_not_a_failure(
    observed_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """A breakpoint run that breaks its stop criteria stops early, exits 0 and reports users and rps."""
    summary = tmp_path / "breach.json"
    env = {
        "LOCUST_SCENARIO": "breakpoint",
        "LOCUST_SCENARIO_USERS": "6",
        "LOCUST_SCENARIO_DURATION": "60s",
        "LOCUST_SCENARIO_STOP_ON": "[GET /slow]p95<1ms",
        "LOCUST_SCENARIO_SUMMARY": str(summary),
    }
    started = time.monotonic()
    run = start_locust(["-f", OBSERVED_PROFILE, "--headless", "-H", base_url(observed_target)], env)
    assert run.finish(45) == 0, run.output()[-3000:]
    assert time.monotonic() - started < 30
    breach = json.loads(summary.read_text())["breach"]
    assert breach["description"].startswith("[GET /slow]p95<1ms")
    assert breach["users"] >= 0
    assert breach["rps"] >= 0
    assert "breakpoint reached:" in run.output()


def test_master_and_two_workers_scrape_during_linger_equals_locusts_final_count(
    observed_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """Master + 2 workers: a scrape while lingering sums to Locust's final count; workers listen on nothing."""
    master_port, metrics_port, *worker_ports = (free_port() for _ in range(4))
    common = ["-f", OBSERVED]
    master = start_locust(
        [
            *common,
            *master_options(master_port),
            "-u",
            "6",
            "-r",
            "20",
            "-t",
            "6s",
            "-H",
            base_url(observed_target),
            "--json-file",
            str(tmp_path / "stats"),
            "--prometheus-port",
            str(metrics_port),
            "--prometheus-host",
            "127.0.0.1",
            "--prometheus-linger",
            "6s",
        ],
        name="master",
    )
    workers = [
        start_locust(
            [
                *common,
                *worker_options(master_port),
                "--prometheus-port",
                str(port),
                "--prometheus-host",
                "127.0.0.1",
            ],
            name="worker",
        )
        for port in worker_ports
    ]
    master.wait_for_output(SPAWNING_COMPLETE, 30)
    for port in worker_ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"a worker listens on {port}"
    wait_for(lambda: scrape_total(metrics_port) > 0, 10, what="the workers' first report to reach the master")
    master.wait_for_output("serving the final metrics", 30)
    lingering = scrape_total(metrics_port)
    assert master.finish(30) == 0, master.output()[-3000:]
    assert [worker.finish(30) for worker in workers] == [0, 0]
    assert lingering == locust_count(tmp_path / "stats.json")


def test_final_state_is_pushed_to_the_pushgateway(
    observed_target: HTTPServer, start_locust: StartLocust, pushgateway: str, tmp_path: Path
) -> None:
    """--prometheus-pushgateway pushes the final counters, grouped by the run id, at the end of the run."""
    run = start_locust(
        headless(
            observed_target,
            "--json-file",
            str(tmp_path / "stats"),
            "--prometheus-pushgateway",
            pushgateway,
            "--prometheus-run-id",
            "push-test-1",
        ),
    )
    assert run.finish(60) == 0, run.output()[-3000:]
    _, _, body = http_get(f"{pushgateway}/metrics")
    pushed = [
        s
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "locust_requests_total"
    ]
    assert pushed
    assert all(s.labels["job"] == "locust" and s.labels["run_id"] == "push-test-1" for s in pushed)
    assert sum(s.value for s in pushed) == locust_count(tmp_path / "stats.json")
    wait_for(lambda: "pushed the final metrics" in run.output(), 5, what="the push log line")


@pytest.mark.parametrize(("check", "expected"), [("--check-rps=100000", 3), ("--check-rps=0.1", 0)])
def test_locust_plugins_checks_and_our_thresholds_agree_on_exit_codes(
    observed_target: HTTPServer, start_locust: StartLocust, check: str, expected: int
) -> None:
    """With locust-plugins loaded too, a failed check of theirs still exits 3 although our thresholds pass."""
    locustfile = str(Path(OBSERVED).parent / "with_plugins.py")
    run = start_locust(
        ["-f", locustfile, "--headless", "-u", "2", "-r", "10", "-t", "3s", "-H", base_url(observed_target), check],
        {"LOCUST_SCENARIO_THRESHOLDS": "fail_ratio<50%"},
    )
    assert run.finish(60) == expected, run.output()[-3000:]
    assert "Thresholds: PASS" in run.output()


def test_a_passing_verdict_never_lowers_an_exit_code_set_by_another_listener(
    observed_target: HTTPServer, start_locust: StartLocust
) -> None:
    """A locustfile's own check that set exit code 3 keeps it although every threshold passes."""
    locustfile = str(Path(OBSERVED).parent / "own_exit_code.py")
    run = start_locust(
        ["-f", locustfile, "--headless", "-u", "2", "-r", "10", "-t", "2s", "-H", base_url(observed_target)],
        {"LOCUST_SCENARIO_THRESHOLDS": "fail_ratio<50%"},
    )
    assert run.finish(60) == 3, run.output()[-3000:]
    assert "Thresholds: PASS" in run.output()
