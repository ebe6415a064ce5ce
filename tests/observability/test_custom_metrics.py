"""Custom metrics (``locust_scenarios.metrics``) in real runs: master + 2 workers, and a local run's exporter."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import base_url, free_port, master_options, worker_options

from .conftest import LOCUSTFILES, LocustRun, http_get, wait_for

pytestmark = pytest.mark.e2e

StartLocust = Callable[..., LocustRun]
CUSTOM = str(LOCUSTFILES / "custom_metrics.py")
LABELLED = str(LOCUSTFILES / "labelled_metrics.py")


def test_master_adds_every_workers_observations_exactly_and_judges_them(
    observed_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """Master + 2 workers: the trend observed once per iteration counts exactly the iterations made (the
    requests), the counter their sum, the rate 100%; ``[metric=checkout]p95<1ms`` fails the run (exit 3)
    and the summary names each metric with its count."""
    master_port = free_port()
    summary = tmp_path / "summary.json"
    thresholds = "[metric=checkout]p95<1ms,[metric=cache_hit]rate>0.9,[metric=orders]count>10"
    master = start_locust(
        ["-f", CUSTOM, *master_options(master_port), "-u", "6", "-r", "20", "-t", "6s", "-H", base_url(observed_target),
         "--scenario-thresholds", thresholds, "--scenario-summary", str(summary)],
        name="master",
    )  # fmt: skip
    workers = [start_locust(["-f", CUSTOM, *worker_options(master_port)], name="worker") for _ in range(2)]
    assert master.finish(60) == 3, master.output()[-3000:]
    for worker in workers:
        worker.finish(30)
    found = json.loads(summary.read_text())
    figures = {metric["name"]: metric for metric in found["custom_metrics"]}
    iterations = found["totals"]["requests"]
    assert iterations > 20
    assert figures["checkout"]["count"] == iterations
    assert figures["orders"]["count"] == 2 * iterations
    assert figures["cache_hit"]["count"] == iterations
    assert figures["cache_hit"]["rate"] == 1.0
    assert figures["queue_depth"]["value"] == 17
    assert figures["checkout"]["p95"] >= 0.005  # /slow answers after 5 to 60 ms
    results = {result["threshold"]: result for result in found["thresholds"]}
    assert not results["[metric=checkout]p95<1ms"]["passed"]
    assert results["[metric=checkout]p95<1ms"]["samples"] == iterations
    assert results["[metric=cache_hit]rate>0.9"]["passed"]
    assert results["[metric=orders]count>10"]["passed"]
    assert "[metric=checkout]p95<1ms" in master.output()


def test_local_run_exports_custom_families_and_refuses_an_unknown_metric(
    observed_target: HTTPServer, start_locust: StartLocust
) -> None:
    """The exporter serves ``locust_custom_<name>`` families during the run; a threshold on a metric the
    locustfile does not declare is refused before load (exit 2), naming the closest declared one."""
    metrics_port = free_port()
    run = start_locust(
        ["-f", CUSTOM, "--headless", "-u", "2", "-r", "10", "-t", "5s", "-H", base_url(observed_target),
         "--prometheus-port", str(metrics_port), "--prometheus-host", "127.0.0.1", "--prometheus-linger", "0"]
    )  # fmt: skip

    def scraped() -> str | None:
        status, _, body = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
        text = body.decode()
        return text if status == 200 and "locust_custom_checkout_seconds_count" in text else None

    text = wait_for(scraped, 30, what="custom metrics on /metrics")
    assert "# TYPE locust_custom_checkout_seconds summary" in text
    assert 'locust_custom_checkout_seconds{quantile="0.95"}' in text
    assert "# TYPE locust_custom_orders_total counter" in text
    assert "locust_custom_cache_hit_ratio 1.0" in text
    assert "locust_custom_queue_depth 17" in text
    assert run.finish(60) == 0, run.output()[-3000:]

    refused = start_locust(
        ["-f", CUSTOM, "--headless", "-u", "1", "-t", "3s", "-H", base_url(observed_target),
         "--scenario-thresholds", "[metric=chekout]p95<1s"]
    )  # fmt: skip
    assert refused.finish(60) == 2, refused.output()[-3000:]
    assert "did you mean checkout?" in refused.output()


def test_master_adds_label_sets_exactly_bounds_them_and_judges_a_selected_one(
    observed_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """Master + 2 workers with labelled metrics: the regions' counts add up to the iterations made; a
    counter labelled by a new customer each time keeps 100 label sets on the master, the rest refused and
    counted (kept + refused = iterations), logged once, and the run ends normally; a threshold on one region
    fails the run (exit 3) while the same figure on the other region's label set is judged on its own."""
    master_port = free_port()
    summary = tmp_path / "summary.json"
    thresholds = (
        '[metric=checkout{region="eu"}]p95<1ms,[metric=checkout{region="us"}]count>10,[metric=checkout]count>20'
    )
    master = start_locust(
        ["-f", LABELLED, *master_options(master_port), "-u", "6", "-r", "20", "-t", "6s",
         "-H", base_url(observed_target), "--scenario-thresholds", thresholds, "--scenario-summary", str(summary)],
        name="master",
    )  # fmt: skip
    workers = [start_locust(["-f", LABELLED, *worker_options(master_port)], name="worker") for _ in range(2)]
    assert master.finish(60) == 3, master.output()[-3000:]
    for worker in workers:
        assert worker.finish(30) == 0, worker.output()[-3000:]
        # A worker's bound applies between two reports (each report empties its tallies): at most one line.
        assert worker.output().count("custom metric 'orders' refused the label set customer=") <= 1
    found = json.loads(summary.read_text())
    figures = {metric["name"]: metric for metric in found["custom_metrics"]}
    iterations = found["totals"]["requests"]
    assert iterations > 150  # more customers than the bound of 100 label sets
    checkout, orders = figures["checkout"], figures["orders"]
    regions = {s["labels"]["region"]: s["count"] for s in checkout["label_sets"]}
    assert set(regions) == {"eu", "us"}
    assert checkout["count"] == sum(regions.values()) == iterations
    assert len(orders["label_sets"]) == 100
    assert orders["count"] + orders["refused"] == iterations
    assert orders["refused"] > 0
    assert master.output().count("custom metric 'orders' refused the label set customer=") == 1
    results = {result["threshold"]: result for result in found["thresholds"]}
    eu = results['[metric=checkout{region="eu"}]p95<1ms']
    assert (eu["passed"], eu["samples"]) == (False, regions["eu"])
    assert results['[metric=checkout{region="us"}]count>10']["value"] == regions["us"]
    assert results["[metric=checkout]count>20"]["value"] == iterations
    assert 'checkout{region="eu"}' in master.output()
