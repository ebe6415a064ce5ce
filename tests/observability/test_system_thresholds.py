"""``promql:`` thresholds judged by a real Prometheus that scrapes a small fake system exporter."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import base_url, free_port

from .conftest import OBSERVED, LocustRun, Prometheus, wait_for

pytestmark = pytest.mark.e2e

StartLocust = Callable[..., LocustRun]
StartPrometheus = Callable[..., Prometheus]

CPU = "promql:max_over_time(sut_cpu[$__range])"


@pytest.fixture
def system_exporter() -> Iterator[HTTPServer]:
    """The system under test's own exporter on 127.0.0.1: its ``sut_cpu`` gauge reads 0.95."""
    server = HTTPServer(host="127.0.0.1", port=free_port())
    server.expect_request("/metrics").respond_with_data("# TYPE sut_cpu gauge\nsut_cpu 0.95\n")
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def judged_run(target: HTTPServer, thresholds: str, prometheus_url: str) -> list[str]:
    """A 4 s local run with 2 users judged by ``thresholds`` against ``prometheus_url``."""
    return ["-f", OBSERVED, "--headless", "-u", "2", "-r", "10", "-t", "4s", "-H", base_url(target),
            "--scenario-thresholds", thresholds, "--scenario-prometheus-url", prometheus_url,
            "--scenario-prometheus-timeout", "3s"]  # fmt: skip


def test_promql_thresholds_fail_pass_and_are_inconclusive_without_prometheus(
    observed_target: HTTPServer, system_exporter: HTTPServer, start_locust: StartLocust, prometheus: StartPrometheus
) -> None:
    """sut_cpu reads 0.95: ``<0.8`` exits 3 naming the expression, ``<0.99`` exits 0, and a Prometheus URL
    at a closed port exits 5 (never a pass); a query Prometheus cannot parse is refused before load (2)."""
    server = prometheus([f"127.0.0.1:{system_exporter.port}"])
    wait_for(lambda: server.query("sut_cpu"), 30, what="Prometheus to scrape sut_cpu")

    failing = start_locust(judged_run(observed_target, f"{CPU}<0.8", server.url))
    assert failing.finish(60) == 3, failing.output()[-3000:]
    output = failing.output()
    assert "max_over_time(sut_cpu[$__range])<0.8" in output
    assert "0.95" in output
    assert "Thresholds: FAIL (1 failed)" in output

    passing = start_locust(judged_run(observed_target, f"{CPU}<0.99", server.url))
    assert passing.finish(60) == 0, passing.output()[-3000:]
    assert "Thresholds: PASS (1 of 1 passed)" in passing.output()

    closed = start_locust(judged_run(observed_target, f"{CPU}<0.99", f"http://127.0.0.1:{free_port()}"))
    assert closed.finish(60) == 5, closed.output()[-3000:]
    assert "NOT JUDGED" in closed.output()
    assert "thresholds_not_judged" in closed.output()

    broken = start_locust(judged_run(observed_target, "promql:max_over_time(sut_cpu[$__range]<0.8", server.url))
    assert broken.finish(60) == 2, broken.output()[-3000:]
    refusals = [line for line in broken.output().splitlines() if line.startswith("locust-scenarios: invalid setting")]
    assert len(refusals) == 1, broken.output()[-3000:]
    assert "LOCUST_SCENARIO_THRESHOLDS" in refusals[0]


def test_promql_threshold_aborts_the_run_when_it_fails_during_it(
    observed_target: HTTPServer, system_exporter: HTTPServer, start_locust: StartLocust, prometheus: StartPrometheus
) -> None:
    """With abort on, a promql: criterion that fails during the run stops it long before its 60 s: exit 3,
    the verdict says it was aborted and names the expression."""
    server = prometheus([f"127.0.0.1:{system_exporter.port}"])
    wait_for(lambda: server.query("sut_cpu"), 30, what="Prometheus to scrape sut_cpu")
    args = judged_run(observed_target, f"{CPU}<0.8", server.url)
    args[args.index("-t") + 1] = "60s"
    run = start_locust(args, {"LOCUST_SCENARIO_ABORT_ON_FAIL": "true", "LOCUST_SCENARIO_ABORT_GRACE": "1s"})
    assert run.finish(45) == 3, run.output()[-3000:]
    assert "aborted during the run: promql:max_over_time(sut_cpu[$__range])<0.8" in run.output()
