"""The Grafana dashboard's JSON model and the alert rules, checked without a running test."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from .conftest import tool

REPO = Path(__file__).parent.parent.parent
DASHBOARD = REPO / "dashboards" / "locust-scenarios.json"
ALERTS = REPO / "dashboards" / "alerts.yaml"
ALERT_TESTS = Path(__file__).parent / "alerts.test.yaml"

_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "5m",
    "$job": ".*",
    "$instance": ".*",
}
_FINAL_COMPARISON = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*[0-9.]+\s*$")


def dashboard() -> dict[str, Any]:
    """The dashboard's JSON model."""
    model: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return model


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those nested in rows."""
    found: list[dict[str, Any]] = []
    for panel in model["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every panel target and template variable, variables substituted."""
    model = dashboard()
    queries = [(p["title"], t["expr"]) for p in panels(model) for t in p.get("targets", []) if "expr" in t]
    for variable in model["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
            queries.append((f"variable {variable['name']}", match.group(1) if match else query))
    substituted = []
    for title, expr in queries:
        text = expr
        for name, value in sorted(_VARIABLES.items(), key=lambda item: -len(item[0])):
            text = text.replace(name, value)
        substituted.append((title, text))
    return substituted


def alert_queries() -> list[tuple[str, str]]:
    """(alert name, expression without its final comparison) for every alert rule."""
    rules = yaml.safe_load(ALERTS.read_text())
    return [
        (rule["alert"], _FINAL_COMPARISON.sub("", rule["expr"].strip()))
        for group in rules["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_dashboard_is_portable() -> None:
    """A datasource variable (no __inputs), a fixed uid of at most 40 characters and a null id."""
    model = dashboard()
    assert "__inputs" not in model
    assert model["id"] is None
    assert model["uid"] == "locust-scenarios"
    assert len(model["uid"]) <= 40
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(model):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
    assert "${DS_" not in DASHBOARD.read_text()


def test_dashboard_has_the_promised_panels_each_described() -> None:
    """Users vs target with the stage, RPS, failures, latency, per-request table, workers, thresholds."""
    model = dashboard()
    titles = [p["title"] for p in panels(model)]
    for wanted in (
        "Users vs target",
        "Stage",
        "Requests per second",
        "Failures and fail ratio",
        "Latency p50 / p95 / p99",
        "Requests by name",
        "Workers by state",
        "Threshold status",
    ):
        assert wanted in titles
    assert all(p.get("description") for p in panels(model))
    ids = [p["id"] for p in panels(model)]
    assert len(ids) == len(set(ids))
    latency = next(p for p in panels(model) if p["title"] == "Latency p50 / p95 / p99")
    assert [t["expr"].split(",")[0] for t in latency["targets"]] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.95",
        "histogram_quantile(0.99",
    ]


def test_dashboard_queries_are_documented_metrics_only() -> None:
    """Every metric a dashboard query names is one the exporter documents in docs/metrics.md."""
    documented = (REPO / "docs" / "metrics.md").read_text()
    for title, expr in dashboard_queries():
        for metric in re.findall(r"\blocust_[a-z_]+", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", metric)
            assert f"`{base}" in documented, f"{title}: {metric} is not documented"


def test_promtool_checks_the_rule_file() -> None:
    """`promtool check rules` accepts dashboards/alerts.yaml."""
    check = subprocess.run(
        [tool("promtool"), "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 6 rules found" in check.stdout


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    """`promtool test rules` runs the alert unit tests: each alert fires when it should and only then."""
    run = subprocess.run(
        [tool("promtool"), "test", "rules", ALERT_TESTS.name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ALERT_TESTS.parent,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_every_alert_has_a_final_comparison_to_strip() -> None:
    """Each alert expression ends in a comparison with a number, so its measured part can be queried alone."""
    rules = yaml.safe_load(ALERTS.read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    assert {rule["alert"] for rule in alerts} == {
        "LocustThresholdFailing",
        "LocustFailRatioHigh",
        "LocustWorkersMissing",
        "LocustWorkersBelowExpected",
        "LocustExporterDown",
        "LocustRunInconclusive",
    }
    for rule in alerts:
        assert _FINAL_COMPARISON.search(rule["expr"].strip()), rule["alert"]
        assert rule["annotations"]["summary"]
        assert rule["labels"]["severity"] in ("warning", "critical")


def test_exact_numbers_come_from_locusts_quantiles_and_aggregates_from_the_histogram() -> None:
    """The per-request table and 'Exact p95 by request' use the exported quantiles; the histogram
    panels say they are estimates; the generator's health has its panels."""
    by_title = {p["title"]: p for p in panels(dashboard())}
    table = [t["expr"] for t in by_title["Requests by name"]["targets"]]
    for quantile in ("0.5", "0.95", "0.99"):
        assert any(f'quantile="{quantile}", window="run"' in expr for expr in table), quantile
    assert not any("histogram_quantile" in expr for expr in table)
    exact = by_title["Exact p95 by request"]["targets"][0]["expr"]
    assert 'locust_request_duration_quantile_seconds{quantile="0.95", window="current"' in exact
    for title in ("Latency p50 / p95 / p99", "p95 latency by request"):
        assert "Estimated" in by_title[title]["description"]
    for title, metric in (
        ("Generator CPU by process", "locust_generator_cpu_usage_ratio"),
        ("Users by process", "locust_generator_users"),
        ("Heartbeat age and loop lag", "locust_generator_loop_lag_seconds"),
        ("Iterations per second: planned vs achieved", "locust_iterations_total"),
        ("Late and dropped iterations", "locust_iterations_dropped_total"),
        ("Tracking error", "locust_users_tracking_error_ratio"),
        ("Inconclusive reasons", "locust_generator_inconclusive"),
    ):
        assert any(metric in t["expr"] for t in by_title[title]["targets"]), title
