"""A real Prometheus scraping the exporter every second during real Locust runs (local; master + 2 workers)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from locust.stats import calculate_response_time_percentile
from pytest_httpserver import HTTPServer

from locust_scenarios._exporter.buckets import DEFAULT_BUCKETS
from tests.conftest import answer_after, base_url, free_port, master_options, worker_options

from .conftest import OBSERVED, SPAWNING_COMPLETE, LocustRun, Prometheus, wait_for
from .test_dashboards_and_alerts import ALERTS, alert_queries, dashboard_queries

pytestmark = pytest.mark.e2e

StartLocust = Callable[..., LocustRun]
StartPrometheus = Callable[..., Prometheus]


def locust_figures(json_file: Path) -> tuple[int, float]:
    """Locust's own request count and whole-run p95 (seconds), from its --json-file."""
    entries = json.loads(json_file.read_text())
    merged: dict[int, int] = {}
    for entry in entries:
        for milliseconds, count in entry["response_times"].items():
            merged[int(float(milliseconds))] = merged.get(int(float(milliseconds)), 0) + count
    requests = sum(int(entry["num_requests"]) for entry in entries)
    timed = sum(merged.values())
    return requests, calculate_response_time_percentile(merged, timed, 0.95) / 1000


def bucket_index(seconds: float) -> int:
    """Which histogram bucket (by position, +Inf last) a latency falls in."""
    return next((i for i, bound in enumerate(DEFAULT_BUCKETS) if seconds <= bound + 1e-9), len(DEFAULT_BUCKETS))


def assert_prometheus_agrees_with_locust(prometheus: Prometheus, json_file: Path) -> None:
    """The stored series sum to Locust's count; histogram_quantile(0.95) sits within a bucket of its p95."""
    requests, p95 = locust_figures(json_file)
    stored = prometheus.value("sum(last_over_time(locust_requests_total[5m]))")
    assert stored == requests
    estimate = prometheus.value(
        "histogram_quantile(0.95, sum by (le) (last_over_time(locust_request_duration_seconds_bucket[5m])))"
    )
    assert abs(bucket_index(estimate) - bucket_index(p95)) <= 1, (estimate, p95)
    exact = prometheus.value(
        'last_over_time(locust_request_duration_quantile_seconds{name="Aggregated",quantile="0.95",window="run"}[5m])'
    )
    assert exact == p95


def scraped_local_run(target: HTTPServer, metrics_port: int, *extra: str) -> list[str]:
    """A 6 s local run of the plain locustfile with 5 users, its exporter on ``metrics_port``."""
    return ["-f", OBSERVED, "--headless", "-u", "5", "-r", "20", "-t", "6s", "-H", base_url(target),
            "--prometheus-port", str(metrics_port), "--prometheus-host", "127.0.0.1",
            "--prometheus-linger", "4s", *extra]  # fmt: skip


def test_local_run_prometheus_counts_and_quantile_match_locust(
    observed_target: HTTPServer, start_locust: StartLocust, prometheus: StartPrometheus, tmp_path: Path
) -> None:
    """Local run: Prometheus' sum(locust_requests_total) equals Locust's count; the histogram's p95 is
    within one bucket of Locust's, the exported quantile equals it."""
    metrics_port = free_port()
    server = prometheus([f"127.0.0.1:{metrics_port}"])
    run = start_locust(scraped_local_run(observed_target, metrics_port, "--json-file", str(tmp_path / "stats")))
    assert run.finish(60) == 0, run.output()[-3000:]
    assert_prometheus_agrees_with_locust(server, tmp_path / "stats.json")


def test_master_and_workers_every_dashboard_and_alert_query_returns_data(
    flaky_target: HTTPServer, start_locust: StartLocust, prometheus: StartPrometheus, tmp_path: Path
) -> None:
    """Master + 2 workers: every dashboard query and every alert's measured part return data mid-run;
    after the run Prometheus agrees with Locust's own count and p95."""
    master_port, metrics_port = free_port(), free_port()
    server = prometheus([f"127.0.0.1:{metrics_port}"], rule_files=[ALERTS])
    master = start_locust(
        [
            "-f",
            OBSERVED,
            *master_options(master_port),
            "-u",
            "6",
            "-r",
            "20",
            "-t",
            "14s",
            "-H",
            base_url(flaky_target),
            "--json-file",
            str(tmp_path / "stats"),
            "--prometheus-port",
            str(metrics_port),
            "--prometheus-host",
            "127.0.0.1",
            "--prometheus-linger",
            "5s",
        ],
        {"LOCUST_SCENARIO_THRESHOLDS": "p95<5s,fail_ratio<50%"},
        name="master",
    )
    workers = [start_locust(["-f", OBSERVED, *worker_options(master_port)], name="worker") for _ in range(2)]
    master.wait_for_output(SPAWNING_COMPLETE, 30)
    wait_for(
        lambda: server.query("sum(rate(locust_errors_total[1m])) > 0"), 20, what="Prometheus to see requests and errors"
    )
    empty = [f"{title}: {expr}" for title, expr in dashboard_queries() if not server.query(expr)]
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
    empty = [f"{name}: {expr}" for name, expr in alert_queries() if not server.query(expr)]
    assert not empty, "alert expressions without data:\n" + "\n".join(empty)
    assert server.value('sum(locust_workers{state=~"ready|spawning|running"})') == 2
    assert server.value("locust_workers_expected") == 2

    master.wait_for_output("serving the final metrics", 30)
    assert master.finish(30) == 0, master.output()[-3000:]
    assert [worker.finish(30) for worker in workers] == [0, 0]
    assert_prometheus_agrees_with_locust(server, tmp_path / "stats.json")
    assert server.value('last_over_time(locust_threshold_passing{threshold="fail_ratio<50%"}[5m])') == 1


def test_exported_p95_of_a_50ms_endpoint_equals_the_csv_p95_exactly(
    httpserver: HTTPServer, start_locust: StartLocust, prometheus: StartPrometheus, tmp_path: Path
) -> None:
    """Against an endpoint of about 50 ms, the stored window="run" p95 of the request equals the 95%
    column of Locust's own CSV for it, to the millisecond (the histogram can only bracket it)."""
    httpserver.expect_request("/slow").respond_with_handler(answer_after(0.05))
    httpserver.expect_request("/").respond_with_data("ok")
    metrics_port = free_port()
    server = prometheus([f"127.0.0.1:{metrics_port}"])
    run = start_locust(scraped_local_run(httpserver, metrics_port, "--csv", str(tmp_path / "run")))
    assert run.finish(60) == 0, run.output()[-3000:]
    with (tmp_path / "run_stats.csv").open() as rows:
        slow = next(row for row in csv.DictReader(rows) if row["Name"] == "/slow")
    csv_p95 = int(slow["95%"]) / 1000
    assert 0.05 <= csv_p95 < 0.5
    exported = server.value(
        'last_over_time(locust_request_duration_quantile_seconds{name="/slow",quantile="0.95",window="run"}[5m])'
    )
    assert exported == csv_p95
