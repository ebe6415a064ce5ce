"""Custom metrics without Locust: exact merging, bounds, stage judging, the exposition, the report and compare."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from locust_scenarios import metrics
from locust_scenarios._exporter.custom import render_custom
from locust_scenarios._metrics import Definition, Registry, Tally, table
from locust_scenarios._records.compare import compare
from locust_scenarios._records.report import render_html
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._thresholds.custom import MetricJudge, check_metrics
from locust_scenarios._thresholds.grammar import parse

values = st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), max_size=60)


@given(st.lists(values, min_size=1, max_size=4))
def test_workers_tallies_add_up_to_the_tally_of_all_observations(parts: list[list[float]]) -> None:
    """Tallies sent over the wire and added give exactly the counts, sum, extremes and distribution of
    one tally that saw every value (no average of averages)."""
    whole = Tally()
    merged = Tally()
    for part in parts:
        worker = Tally()
        for value in part:
            worker.observe(value, keep_distribution=True)
            whole.observe(value, keep_distribution=True)
        merged.add(Tally.from_wire(worker.to_wire()))
    assert merged.count == whole.count
    assert merged.total == pytest.approx(whole.total)
    assert merged.distribution == whole.distribution
    assert (merged.minimum, merged.maximum) == (whole.minimum, whole.maximum)
    assert merged.percentile(0.95) == whole.percentile(0.95)


def test_a_worker_report_drains_its_tallies_and_the_master_absorbs_them() -> None:
    """A drained report carries what was observed since the last one; the master's totals add up."""
    worker, master = Registry(), Registry()
    for registry in (worker, master):
        registry.declare(Definition("checkout", "trend", "s"))
    for value in (0.1, 0.2, 0.3):
        worker.observe("checkout", value)
    master.absorb(worker.drain())
    worker.observe("checkout", 0.4)
    master.absorb(worker.drain())
    assert worker.drain() == {}
    assert master.tallies["checkout"][()].count == 4
    assert master.tallies["checkout"][()].total == pytest.approx(1.0)


def test_the_number_of_metrics_is_bounded_and_the_refusal_names_the_metric() -> None:
    """Beyond the bound a new metric is refused by name; a name reused with another kind is refused."""
    registry = Registry(limit=2)
    registry.declare(Definition("a", "counter"))
    assert registry.declare(Definition("a", "counter")).name == "a"
    registry.declare(Definition("b", "gauge"))
    with pytest.raises(ValueError, match="'c' refused: at most 2"):
        registry.declare(Definition("c", "trend"))
    with pytest.raises(ValueError, match="already declared as a counter"):
        registry.declare(Definition("a", "rate"))


@pytest.mark.parametrize("name", ["user-42", "", "1st", "a b"])
def test_public_api_refuses_names_that_are_not_metric_names(name: str) -> None:
    """metrics.trend() and friends take letters, digits and _ only."""
    with pytest.raises(ValueError, match="letters, digits and _"):
        metrics.trend(name)


def test_metric_criteria_are_judged_by_run_and_by_stage() -> None:
    """A stage's tally is what was observed while it ran; the run's is everything."""
    registry = Registry()
    registry.declare(Definition("orders", "counter"))
    registry.declare(Definition("checkout", "trend", "s"))
    thresholds = parse("[metric=orders]count>=5, [stage=hold][metric=orders]count>=5, [metric=checkout]p95<1s")
    check_metrics(thresholds, registry, "text")
    judge = MetricJudge(thresholds, registry)
    judge.start()
    judge.tick("ramp")
    for _ in range(3):
        registry.increment("orders", 1)
    judge.tick("hold")
    for _ in range(4):
        registry.increment("orders", 1)
    registry.observe("checkout", 2.5)
    run, hold, checkout = judge.results(final=True)
    assert (run.value, run.passed) == (7.0, True)
    assert (hold.value, hold.passed, hold.where) == (4.0, False, "stage hold")
    assert (checkout.value, checkout.passed) == (2.5, False)


def test_criteria_on_unknown_metrics_or_wrong_aggregates_are_refused() -> None:
    """An undeclared metric is named with the closest declared one; a rate has no percentiles."""
    registry = Registry()
    registry.declare(Definition("cache_hit", "rate"))
    with pytest.raises(SettingsError, match="did you mean cache_hit"):
        check_metrics(parse("[metric=cache_hits]rate>0.9"), registry, "x")
    with pytest.raises(SettingsError, match="cache_hit is a rate, judged by count, rate"):
        check_metrics(parse("[metric=cache_hit]p95<1s"), registry, "x")


def test_exposition_families_parse_and_carry_the_figures() -> None:
    """The custom families are valid Prometheus text with Prometheus naming (checked by its parser)."""
    registry = Registry()
    for definition in (
        Definition("checkout", "trend", "s"),
        Definition("orders", "counter"),
        Definition("cache_hit", "rate"),
        Definition("queue_depth", "gauge"),
    ):
        registry.declare(definition)
    registry.observe("checkout", 0.25)
    registry.increment("orders", 3)
    registry.observe("cache_hit", 1.0, true=True)
    registry.observe("cache_hit", 0.0)
    registry.observe("queue_depth", 17)
    families = {f.name: f for f in text_string_to_metric_families(render_custom(registry))}
    assert families["locust_custom_checkout_seconds"].type == "summary"
    samples = {(s.name, s.labels.get("quantile")): s.value for f in families.values() for s in f.samples}
    assert samples[("locust_custom_checkout_seconds_count", None)] == 1
    assert samples[("locust_custom_checkout_seconds", "0.95")] == 0.25
    assert samples[("locust_custom_orders_total", None)] == 3
    assert samples[("locust_custom_cache_hit_ratio", None)] == 0.5
    assert samples[("locust_custom_queue_depth", None)] == 17
    assert "queue_depth" in table(registry.summary())


def _record(figure: float) -> dict[str, object]:
    """A minimal record with one custom trend whose 100 values are all ``figure`` seconds."""
    registry = Registry()
    registry.declare(Definition("checkout", "trend", "s"))
    for _ in range(100):
        registry.observe("checkout", figure)
    return {"run_id": f"r{figure}", "requests": [], "custom_metrics": registry.summary(), "verdict": {}}


def test_report_and_compare_show_custom_trends() -> None:
    """The HTML report has a custom metrics table; compare judges a custom trend like a request."""
    assert "Custom metrics" in render_html(_record(0.2))
    comparison = compare(_record(0.2), _record(0.5))
    assert [row.label for row in comparison.regressions] == ["custom checkout"]
