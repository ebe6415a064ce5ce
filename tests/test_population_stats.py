"""Each population's own requests: tallied apart, judged by ``[population=NAME]`` thresholds, reported."""

from __future__ import annotations

import json
import textwrap
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from locust_scenarios import SettingsError
from locust_scenarios._metrics import Registry
from locust_scenarios._population_stats import PopulationStats
from locust_scenarios._thresholds.custom import MetricJudge
from locust_scenarios._thresholds.grammar import parse

from .conftest import REPO, answer_after, base_url, clean_env, free_port, locust, run_master_and_workers

LOCUSTFILE = textwrap.dedent(
    """
    from locust import FastHttpUser, constant, task
    from locust_scenarios import Population, ScenarioShape


    class Fast(FastHttpUser):
        wait_time = constant(0.2)

        @task
        def quick(self):
            self.client.get("/fast")


    class Slow(FastHttpUser):
        wait_time = constant(0.2)

        @task
        def slow(self):
            self.client.get("/slow")


    class Shape(ScenarioShape):
        populations = (
            Population(Fast, profile="stages", stages="1s:2,5s:2", name="fast"),
            Population(Slow, profile="stages", stages="1s:2,5s:2", name="slow"),
        )
    """
)


def test_population_criterion_is_parsed_with_its_stage() -> None:
    """``[population=NAME]`` scopes a request aggregate to one population, alone or with a stage."""
    found = parse("[population=checkout]p95<800ms, [stage=steady][population=browse]fail_ratio<1%")
    assert found[0].population == "checkout"
    assert found[0].quantile == 0.95
    assert found[0].limit == pytest.approx(0.8)
    assert not found[0].on_requests
    assert found[0].where == "population checkout"
    assert found[1].where == "population browse in stage steady"
    assert found[1].kind == "ratio"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[population=a]p95<1s over 10s", "not 'over' windows"),
        ("[population=a][GET /x]p95<1s", "no request selector"),
        ("[population=a]p95<baseline+10%", "relative to the baseline"),
        ("[population=]p95<1s", "names no population"),
        ("[population=a]p95<1", "needs a unit"),
    ],
)
def test_bad_population_criteria_are_refused(text: str, message: str) -> None:
    """A population criterion that cannot be judged is refused naming the reason."""
    with pytest.raises(SettingsError, match=message):
        parse(text)


def test_population_criteria_are_not_stop_criteria() -> None:
    """Stop criteria are judged on Locust's totals only; a population criterion there is refused."""
    with pytest.raises(SettingsError, match=r"\[population=NAME\] criteria apply to thresholds"):
        parse("[population=a]p95<1s", setting="stop_on")


def test_population_criteria_are_judged_by_run_and_by_stage() -> None:
    """Requests, failures, fail ratio, rate and percentiles of one population, over the run and a stage;
    the other population's requests never count."""
    stats = PopulationStats()
    stats.configure([("browse", ["Browser"]), ("checkout", ["Buyer"])])
    now = [0.0]
    judge = MetricJudge(
        parse(
            "[population=checkout]requests>=4, [population=checkout]fail_ratio<=25%, [population=checkout]p50<150ms,"
            "[stage=hold][population=checkout]rps>=0.9, [stage=hold][population=checkout]failures<1,"
            "[population=browse]max<1s"
        ),
        Registry(),
        stats,
        clock=lambda: now[0],
    )
    judge.start()
    judge.tick("ramp")
    stats.observe("checkout", 0.1, true=True)
    stats.observe("browse", 5.0)
    now[0] = 2.0
    judge.tick("hold")
    for _ in range(3):
        stats.observe("checkout", 0.12)
    now[0] = 5.0
    found = judge.results(final=True)
    assert [(r.value, r.passed) for r in found] == [
        (4.0, True),
        (0.25, True),
        (0.12, True),
        (1.0, True),
        (0.0, True),
        (5.0, False),
    ]
    assert found[3].where == "population checkout in stage hold"


def _serve(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/fast").respond_with_data("ok")
    httpserver.expect_request("/slow").respond_with_handler(answer_after(0.05))


def _check(summary: dict[str, Any], record: dict[str, Any]) -> None:
    """Both populations counted apart; the slow one's p95 above 10 ms, its criterion failed, the fast one's passed."""
    rows = {row["name"]: row for row in summary["populations"]}
    assert set(rows) == {"fast", "slow"}
    assert rows["fast"]["requests"] > 0
    assert rows["slow"]["requests"] > 0
    assert rows["slow"]["p95"] >= 0.05
    assert rows["fast"]["failures"] == 0
    assert summary["inconclusive"] == []  # each population tracked its plan
    verdicts = {row["threshold"]: row["passed"] for row in summary["thresholds"]}
    assert verdicts == {"[population=slow]p95<10ms": False, "[population=fast]p95<1s": True}
    schema = json.loads((REPO / "src/locust_scenarios/schemas/run-record.schema.json").read_text())
    jsonschema.validate(record, schema)
    assert [row["name"] for row in record["populations"]] == ["fast", "slow"]


@pytest.mark.e2e
def test_population_thresholds_judge_each_population_locally(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A local run: the slow population's p95 fails ``<10ms`` (exit 3), the fast one's passes ``<1s``;
    the verdict shows a populations table, the summary and the run record list both."""
    _serve(httpserver)
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    port = free_port()
    env = {
        "PYTHONPATH": str(REPO / "src"),
        "LOCUST_SCENARIO_THRESHOLDS": "[population=slow]p95<10ms,[population=fast]p95<1s",
        "LOCUST_SCENARIO_SUMMARY": str(tmp_path / "summary.json"),
        "LOCUST_SCENARIO_RECORD": str(tmp_path / "record.json"),
        "LOCUST_PROMETHEUS_PORT": str(port),
        "LOCUST_PROMETHEUS_HOST": "127.0.0.1",
        "LOCUST_PROMETHEUS_LINGER": "3s",
    }
    scrapes: list[str] = []
    scraper = threading.Thread(target=_scrape, args=(port, scrapes), daemon=True)
    scraper.start()
    run = locust(["-f", "locustfile.py", "--headless", "-H", base_url(httpserver)], env, cwd=tmp_path)
    scraper.join(timeout=30)
    assert run.returncode == 3, run.stderr[-3000:]
    assert "population requests failures" in " ".join(run.stderr.split())
    assert scrapes, "no scrape during the run"
    families = {family.name: family for family in text_string_to_metric_families(scrapes[-1])}
    requests = {s.labels["population"]: s.value for s in families["locust_population_requests"].samples}
    assert requests["fast"] > 0
    assert requests["slow"] > 0
    quantiles = {
        (s.labels["population"], s.labels["quantile"]): s.value
        for s in families["locust_population_response_time_seconds"].samples
        if "quantile" in s.labels
    }
    assert quantiles[("slow", "0.95")] >= 0.05
    labelled = {name for family in families.values() for s in family.samples for name in s.labels}
    assert all("population" not in s.labels for s in families["locust_requests"].samples)
    assert "population" in labelled
    _check(json.loads((tmp_path / "summary.json").read_text()), json.loads((tmp_path / "record.json").read_text()))


@pytest.mark.e2e
def test_population_thresholds_judge_each_population_on_master_and_workers(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Master and two workers: the workers' per-population tallies reach the master and are judged there."""
    _serve(httpserver)
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    env = clean_env(
        {
            "PYTHONPATH": str(REPO / "src"),
            "LOCUST_SCENARIO_THRESHOLDS": "[population=slow]p95<10ms,[population=fast]p95<1s",
            "LOCUST_SCENARIO_SUMMARY": str(tmp_path / "summary.json"),
            "LOCUST_SCENARIO_RECORD": str(tmp_path / "record.json"),
        }
    )
    run = run_master_and_workers("locustfile.py", base_url(httpserver), env, cwd=tmp_path)
    assert run.returncode == 3, run.stderr[-3000:]
    _check(json.loads((tmp_path / "summary.json").read_text()), json.loads((tmp_path / "record.json").read_text()))


def _scrape(port: int, found: list[str]) -> None:
    """Keep the last scrape of ``/metrics`` that shows the populations, for at most 40 s."""
    deadline = time.monotonic() + 40
    misses = 0
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                text = response.read().decode()
            if "locust_population_requests_total" in text:
                found.append(text)
            misses = 0
        except OSError:
            misses += 1
            if found and misses > 2:
                return  # served, then gone: the run is over
        time.sleep(0.5)


def test_unknown_population_in_a_threshold_is_refused_before_load(httpserver: HTTPServer, tmp_path: Path) -> None:
    """``[population=slwo]`` names no population of the shape: exit 2 with a did-you-mean, no request sent."""
    _serve(httpserver)
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    env = {"PYTHONPATH": str(REPO / "src"), "LOCUST_SCENARIO_THRESHOLDS": "[population=slwo]p95<1s"}
    run = locust(["-f", "locustfile.py", "--headless", "-H", base_url(httpserver)], env, cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-3000:]
    assert "no population named 'slwo'; did you mean slow?" in run.stderr
    assert not httpserver.log
