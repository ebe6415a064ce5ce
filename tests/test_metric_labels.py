"""Labels on custom metrics without Locust: declaration checks, the bound of label sets, exact merging per
label set, selection in thresholds, the exposition, the summary table, the record schema and the report."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from locust_scenarios import metrics
from locust_scenarios._exporter.custom import render_custom
from locust_scenarios._metrics import Definition, Registry, table
from locust_scenarios._records.report import render_html
from locust_scenarios._records.validation import check_record
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._thresholds.custom import MetricJudge, check_metrics
from locust_scenarios._thresholds.grammar import parse
from tests.test_record_validation import REAL_RUN


def _checkout(registry: Registry) -> None:
    registry.declare(Definition("checkout", "trend", "s", labels=("region", "tier")))


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (("region-1",), "label name 'region-1' must be letters"),
        (("__region",), "not starting with a digit or __"),
        (("quantile",), "'quantile' is reserved"),
        (("region", "region"), "repeat a name"),
        ("region", "labels must be a tuple of names"),
    ],
)
def test_a_declaration_with_bad_label_names_is_a_value_error(labels: object, message: str) -> None:
    """Label names are Prometheus label names, none reserved by the exposition, none twice, in a tuple."""
    with pytest.raises(ValueError, match=message):
        metrics.trend("labelled_badly", unit="s", labels=labels)  # type: ignore[arg-type]


def test_an_observation_must_give_exactly_the_declared_labels() -> None:
    """Missing or unknown label keywords are refused, naming the declared labels."""
    region_hits = metrics.counter("region_hits_checked", labels=("region",))
    with pytest.raises(ValueError, match=r"takes the labels declared with it \(region\), got none"):
        region_hits.inc()
    with pytest.raises(ValueError, match=r"\(region\), got region, zone"):
        region_hits.inc(region="eu", zone="a")
    with pytest.raises(ValueError, match="already declared with labels"):
        metrics.counter("region_hits_checked", labels=("zone",))


def test_label_sets_beyond_the_bound_are_refused_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """With a bound of 3 label sets the 4th and 5th values are refused without an exception: counted,
    logged once naming the metric and the label, and the known label sets still record."""
    registry = Registry(label_sets=3)
    registry.declare(Definition("orders", "counter", labels=("customer",)))
    with caplog.at_level(logging.WARNING, logger="locust_scenarios._metrics"):
        for customer in ("a", "b", "c", "d", "e", "a"):
            registry.increment("orders", 1, labels=(customer,))
    series = registry.snapshot()["orders"]
    assert sorted(series) == [("a",), ("b",), ("c",)]
    assert series[("a",)].total == 2
    assert registry.refused == {"orders": 2}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "'orders' refused the label set customer='d'" in warnings[0]
    assert "at most 3 label sets" in warnings[0]


def test_the_master_adds_label_sets_exactly_and_bounds_them_too() -> None:
    """Two workers' reports add up per label set; the master applies the bound to label sets the workers
    each kept within theirs, and adds the workers' own refusals."""
    workers = [Registry(label_sets=2) for _ in range(2)]
    master = Registry(label_sets=2)
    for registry in (*workers, master):
        _checkout(registry)
    for value in (0.1, 0.2):
        workers[0].observe("checkout", value, labels=("eu", "gold"))
        workers[1].observe("checkout", value * 2, labels=("eu", "gold"))
    workers[0].observe("checkout", 0.3, labels=("us", "gold"))
    workers[1].observe("checkout", 0.5, labels=("ap", "free"))
    workers[1].observe("checkout", 0.6, labels=("sa", "free"))  # beyond the worker's bound of 2
    workers[0].observe("checkout", 0.7, labels=("af", "free"))  # beyond the worker's bound of 2
    for worker in workers:
        master.absorb(worker.drain())
    series = master.snapshot()["checkout"]
    assert series[("eu", "gold")].count == 4
    assert series[("eu", "gold")].total == pytest.approx(0.9)
    assert sorted(series) == [("eu", "gold"), ("us", "gold")]
    assert master.refused["checkout"] == 3  # one per worker, and one label set beyond the master's bound


def test_thresholds_select_one_label_set_or_judge_all_together() -> None:
    """``[metric=checkout{region="eu"}]`` judges the eu label sets only (all tiers pooled), a selection of
    two labels one label set, and the unselected form every label set together; by stage as well."""
    registry = Registry()
    _checkout(registry)
    text = (
        '[metric=checkout{region="eu"}]p95<1s, [metric=checkout{region="us", tier="gold"}]count==1, '
        '[metric=checkout]p95<1s, [stage=hold][metric=checkout{ region = "eu" }]count==2, '
        '[metric=checkout{region="mars"}]count>0'
    )
    thresholds = parse(text)
    assert thresholds[0].metric_labels == (("region", "eu"),)
    check_metrics(thresholds, registry, text)
    judge = MetricJudge(thresholds, registry)
    judge.start()
    judge.tick("ramp")
    registry.observe("checkout", 0.2, labels=("eu", "gold"))
    registry.observe("checkout", 3.0, labels=("us", "gold"))
    judge.tick("hold")
    registry.observe("checkout", 0.3, labels=("eu", "free"))
    registry.observe("checkout", 0.4, labels=("eu", "gold"))
    eu, us_gold, every, hold_eu, mars = judge.results(final=True)
    assert (eu.value, eu.samples, eu.passed) == (0.4, 3, True)
    assert (us_gold.value, us_gold.passed) == (1.0, True)
    assert (every.value, every.samples, every.passed) == (3.0, 4, False)
    assert (hold_eu.value, hold_eu.passed) == (2.0, True)
    assert (mars.value, mars.passed, mars.note) == (None, False, "no observations of checkout")


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        ('[metric=checkout{zone="a"}]p95<1s', "checkout has no label 'zone' \\(declared labels: region, tier\\)"),
        ("[metric=checkout{region=eu}]p95<1s", 'must be label="value" pairs'),
        ('[metric=checkout{region="eu",region="us"}]p95<1s', "selected twice"),
    ],
)
def test_bad_label_selections_are_refused_before_load(criterion: str, message: str) -> None:
    """An undeclared label, an unquoted value or a label selected twice is an invalid setting."""
    registry = Registry()
    _checkout(registry)
    with pytest.raises(SettingsError, match=message):
        check_metrics(parse(criterion), registry, criterion)


def test_exposition_carries_one_series_per_label_set_with_escaped_values() -> None:
    """Each label set is a series with its labels (values escaped, parsed back intact by prometheus_client's
    parser); refusals are a counter naming the metric."""
    registry = Registry(label_sets=2)
    _checkout(registry)
    registry.declare(Definition("cache_hit", "rate", labels=("cache",)))
    registry.observe("checkout", 0.25, labels=("eu", "gold"))
    registry.observe("checkout", 0.5, labels=('we"ird\\', "free"))
    registry.observe("checkout", 0.5, labels=("us", "free"))  # refused
    registry.observe("cache_hit", 1.0, true=True, labels=("redis",))
    registry.observe("cache_hit", 0.0, labels=("cdn",))
    samples = {
        (
            s.name,
            s.labels.get("region") or s.labels.get("cache") or s.labels.get("metric"),
            s.labels.get("quantile"),
        ): s.value
        for f in text_string_to_metric_families(render_custom(registry))
        for s in f.samples
    }
    assert samples[("locust_custom_checkout_seconds_count", "eu", None)] == 1
    assert samples[("locust_custom_checkout_seconds", 'we"ird\\', "0.95")] == 0.5
    assert samples[("locust_custom_cache_hit_ratio", "redis", None)] == 1.0
    assert samples[("locust_custom_cache_hit_ratio", "cdn", None)] == 0.0
    assert samples[("locust_exporter_custom_refused_total", "checkout", None)] == 1


def test_summary_record_and_report_show_each_label_set() -> None:
    """The summary has all label sets together plus one row per label set; the record with it validates
    against the shipped schema; the table and the HTML report name each label set as PromQL selects it."""
    registry = Registry(label_sets=2)
    _checkout(registry)
    for value, labels in ((0.1, ("eu", "gold")), (0.3, ("eu", "gold")), (0.2, ("us", "free")), (0.9, ("ap", "x"))):
        registry.observe("checkout", value, labels=labels)
    (figures,) = registry.summary()
    assert (figures["count"], figures["labels"], figures["refused"]) == (3, ["region", "tier"], 1)
    by_labels = {tuple(s["labels"].values()): s for s in figures["label_sets"]}
    assert by_labels[("eu", "gold")]["count"] == 2
    assert by_labels[("eu", "gold")]["max"] == pytest.approx(0.3)
    assert 'checkout{region="us",tier="free"}' in table([figures])
    record = {"run_id": "labels", "requests": [], "custom_metrics": [figures], "verdict": {}}
    assert "checkout{region=&quot;eu&quot;,tier=&quot;gold&quot;}" in render_html(record)
    check_record({**json.loads(REAL_RUN.read_text()), "custom_metrics": [figures]})
