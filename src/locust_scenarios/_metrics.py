"""Custom metrics: what a locustfile measures itself, tallied exactly and merged on the master.

A ``Tally`` holds one metric's observations as plain values that add up: the count, the sum, the
number of true values (rates), the extremes, the last value (gauges) and the full distribution,
kept as ``_distributions`` keeps response times (thousandths of the metric's unit, rounded as
Locust rounds milliseconds: two significant digits from 100 on). So the master's totals are the
workers' tallies added, never averages of averages, and percentiles are read as Locust reads them.

Each process keeps one ``Registry``: metrics are declared when the locustfile is imported, before
any Locust environment exists. A worker sends what it tallied since its last report with each report
to the master and starts again; the master adds every report to its totals; a local runner's totals
are its own. A run start clears the values (the declarations stay).

A metric declared with label names keeps one tally per combination of label values (a label set),
at most ``MAX_LABEL_SETS`` of them per metric in each process and on the master: an observation
that would open one more is refused, counted in ``refused`` and logged once per metric, so a label
fed from data (a user id, a URL) cannot grow the exposition without end nor stop the run.

This module imports nothing of ours but ``_distributions``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from locust_scenarios import _distributions as dist

__all__ = [
    "MAX_LABEL_SETS",
    "MAX_METRICS",
    "METRICS_KEY",
    "REGISTRY",
    "Definition",
    "LabelValues",
    "MetricKind",
    "Registry",
    "Tally",
    "merged",
    "rounded",
    "series_name",
    "table",
]

MetricKind = Literal["trend", "counter", "rate", "gauge"]

LabelValues = tuple[str, ...]
"""One label set of a metric: its label values, in the order of the declared label names."""

logger = logging.getLogger(__name__)

MAX_METRICS: Final = 50
"""The most custom metrics one locustfile may declare: each is a family on every scrape and a row in
the record, so a name built from data (a user id, a URL) is refused instead of growing without end."""

MAX_LABEL_SETS: Final = 100
"""The most label sets (combinations of label values) one custom metric keeps; further ones are refused."""

METRICS_KEY: Final = "locust_scenarios_metrics"
"""Where a worker's report to the master carries its custom metrics' tallies."""

_SCALE: Final = 1000
"""Distribution keys are thousandths of the metric's unit (milliseconds for a trend in seconds)."""


def rounded(value: float) -> int:
    """The distribution key of ``value``: thousandths, rounded as Locust rounds response times."""
    scaled = abs(value) * _SCALE
    key: float
    if scaled < 100:
        key = round(scaled)
    elif scaled < 1000:
        key = round(scaled, -1)
    elif scaled < 10000:
        key = round(scaled, -2)
    else:
        key = round(scaled, -3)
    return int(key) if value >= 0 else -int(key)


@dataclass
class Tally:
    """One metric's observations, as values that add up across processes."""

    count: int = 0
    """Observations (a counter's increments are in ``total``)."""
    total: float = 0.0
    trues: int = 0
    minimum: float | None = None
    maximum: float | None = None
    last: float | None = None
    last_at: float = 0.0
    """When ``last`` was set (a UNIX time): the master keeps the latest gauge value of all workers."""
    distribution: dict[int, int] = field(default_factory=dict)

    def observe(self, value: float, *, keep_distribution: bool) -> None:
        """One observation of ``value``."""
        self.count += 1
        self.total += value
        self.minimum = value if self.minimum is None else min(self.minimum, value)
        self.maximum = value if self.maximum is None else max(self.maximum, value)
        self.last, self.last_at = value, time.time()
        if keep_distribution:
            key = rounded(value)
            self.distribution[key] = self.distribution.get(key, 0) + 1

    def add(self, other: Tally) -> None:
        """Add ``other``'s observations (another process's, or a later report's)."""
        self.count += other.count
        self.total += other.total
        self.trues += other.trues
        for name, pick in (("minimum", min), ("maximum", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None else pick(mine, theirs))
        if other.last is not None and other.last_at >= self.last_at:
            self.last, self.last_at = other.last, other.last_at
        for key, count in other.distribution.items():
            self.distribution[key] = self.distribution.get(key, 0) + count

    def copy(self) -> Tally:
        """An independent copy (a stage's starting point)."""
        return Tally.from_wire(self.to_wire())

    def since(self, base: Tally) -> Tally:
        """The observations made after ``base`` was copied from this tally (extremes from the distribution)."""
        distribution = {
            key: count - base.distribution.get(key, 0)
            for key, count in self.distribution.items()
            if count > base.distribution.get(key, 0)
        }
        keys = sorted(distribution)
        count = self.count - base.count
        return Tally(
            count,
            self.total - base.total,
            self.trues - base.trues,
            keys[0] / _SCALE if keys else (self.minimum if count else None),
            keys[-1] / _SCALE if keys else (self.maximum if count else None),
            self.last if count else None,
            self.last_at,
            distribution,
        )

    def percentile(self, quantile: float) -> float | None:
        """The ``quantile`` of the observations (in the metric's unit); ``None`` without a distribution."""
        if not self.distribution:
            return None
        return dist.percentile(self.distribution, quantile) / _SCALE

    def to_wire(self) -> list[Any]:
        """Plain values for a worker's report (msgpack: lists, numbers, a dict of int keys)."""
        extremes = [self.minimum, self.maximum, self.last, self.last_at]
        return [self.count, self.total, self.trues, *extremes, dict(self.distribution)]

    @classmethod
    def from_wire(cls, data: Any) -> Tally:
        """The tally of a worker's report (``ValueError`` for anything else)."""
        count, total, trues, minimum, maximum, last, last_at, distribution = data
        return cls(
            int(count),
            float(total),
            int(trues),
            None if minimum is None else float(minimum),
            None if maximum is None else float(maximum),
            None if last is None else float(last),
            float(last_at),
            {int(key): int(value) for key, value in dict(distribution).items()},
        )


@dataclass(frozen=True)
class Definition:
    """A declared metric: its name, kind, unit, description and label names."""

    name: str
    kind: MetricKind
    unit: str = ""
    description: str = ""
    labels: tuple[str, ...] = ()


def merged(series: Mapping[LabelValues, Tally], labels: tuple[str, ...], selected: Mapping[str, str]) -> Tally:
    """The label sets of ``series`` whose values match every ``selected`` label, added into one tally."""
    whole = Tally()
    if any(name not in labels for name in selected):
        return whole
    wanted = [(labels.index(name), value) for name, value in selected.items()]
    for values, tally in series.items():
        if all(values[index] == value for index, value in wanted):
            whole.add(tally)
    return whole


def _quoted(value: str) -> str:
    """A label value inside double quotes, escaped as PromQL and the exposition escape it."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_name(name: str, labels: Mapping[str, str]) -> str:
    """A label set as PromQL writes it: ``checkout{region="eu"}`` (the name alone without labels)."""
    if not labels:
        return name
    quoted = ",".join(f'{key}="{_quoted(value)}"' for key, value in labels.items())
    return f"{name}{{{quoted}}}"


class Registry:
    """The process's custom metrics: their declarations and their tallies, one per label set."""

    def __init__(self, limit: int = MAX_METRICS, label_sets: int = MAX_LABEL_SETS) -> None:
        self.limit = limit
        self.label_sets = label_sets
        self.definitions: dict[str, Definition] = {}
        self.tallies: dict[str, dict[LabelValues, Tally]] = {}
        self.refused: dict[str, int] = {}
        """Observations refused per metric (label sets beyond the bound), since the run started."""
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def declare(self, definition: Definition) -> Definition:
        """Declare a metric (the same declaration again is the same metric; ``ValueError`` otherwise)."""
        known = self.definitions.get(definition.name)
        if known is not None:
            if known.kind != definition.kind:
                raise ValueError(f"custom metric {definition.name!r} is already declared as a {known.kind}")
            if known.labels != definition.labels:
                raise ValueError(f"custom metric {definition.name!r} is already declared with labels {known.labels}")
            return known
        if len(self.definitions) >= self.limit:
            raise ValueError(
                f"custom metric {definition.name!r} refused: at most {self.limit} custom metrics "
                "(build names from a fixed list, never from data such as ids or URLs)"
            )
        self.definitions[definition.name] = definition
        self.tallies[definition.name] = {}
        return definition

    def _series(self, name: str, values: LabelValues, observations: int = 1) -> Tally | None:
        """The tally of one label set, opened if the bound allows (call with the lock held)."""
        series = self.tallies[name]
        tally = series.get(values)
        if tally is not None:
            return tally
        if len(series) < self.label_sets:
            tally = series[values] = Tally()
            return tally
        self.refused[name] = self.refused.get(name, 0) + observations
        if name not in self._warned:
            self._warned.add(name)
            pairs = zip(self.definitions[name].labels, values, strict=True)
            shown = ", ".join(f"{label}={value!r}" for label, value in pairs)
            logger.warning(
                "custom metric %r refused the label set %s: at most %d label sets per metric; "
                "further refusals are counted in the summary, not logged (use labels with a few fixed values)",
                name,
                shown,
                self.label_sets,
            )
        return None

    def observe(self, name: str, value: float, *, true: bool = False, labels: LabelValues = ()) -> None:
        """One observation of a declared metric (``true`` for a rate's true values)."""
        definition = self.definitions[name]
        with self._lock:
            tally = self._series(name, labels)
            if tally is None:
                return
            tally.observe(value, keep_distribution=definition.kind == "trend")
            tally.trues += true

    def increment(self, name: str, amount: float, *, labels: LabelValues = ()) -> None:
        """A counter grows by ``amount``."""
        with self._lock:
            tally = self._series(name, labels)
            if tally is None:
                return
            tally.count += 1
            tally.total += amount
            tally.last, tally.last_at = tally.total, time.time()

    def clear(self) -> None:
        """A run starts: every tally starts from nothing (the declarations stay)."""
        with self._lock:
            self.tallies = {name: {} for name in self.definitions}
            self.refused, self._warned = {}, set()

    def drain(self) -> dict[str, list[Any]]:
        """A worker's report: per metric, the observations refused and every label set's tally with
        observations since the last report (``[refused, [[values, tally], ...]]``), then cleared."""
        with self._lock:
            report: dict[str, list[Any]] = {}
            for name, series in self.tallies.items():
                sets = [[list(values), tally.to_wire()] for values, tally in series.items() if tally.count]
                refused = self.refused.get(name, 0)
                if sets or refused:
                    report[name] = [refused, sets]
                    self.tallies[name] = {}
            self.refused = {}
        return report

    def absorb(self, report: Any) -> None:
        """The master adds a worker's report (names it does not know are ignored: the master imported
        the same locustfile, so they are known); label sets beyond the bound are refused here too."""
        if not isinstance(report, Mapping):
            return
        with self._lock:
            for name, (refused, sets) in report.items():
                if name not in self.tallies:
                    continue
                if refused:
                    self.refused[name] = self.refused.get(name, 0) + int(refused)
                for values, data in sets:
                    found = Tally.from_wire(data)
                    tally = self._series(name, tuple(str(value) for value in values), found.count)
                    if tally is not None:
                        tally.add(found)

    def snapshot(self) -> dict[str, dict[LabelValues, Tally]]:
        """Copies of every tally now, by metric and label set."""
        with self._lock:
            return {name: {v: t.copy() for v, t in series.items()} for name, series in self.tallies.items()}

    def summary(self) -> list[dict[str, Any]]:
        """Each metric's figures for the summary, the record and the report (name order); a labelled
        metric's figures are all its label sets together, with each label set's own in ``label_sets``."""
        found = self.snapshot()
        with self._lock:
            refused = dict(self.refused)
        figures = []
        for name in sorted(found):
            definition, series = self.definitions[name], found[name]
            whole = describe(definition, merged(series, definition.labels, {}))
            if definition.labels:
                whole["labels"] = list(definition.labels)
                whole["label_sets"] = [
                    {"labels": dict(zip(definition.labels, values, strict=True))}
                    | {
                        k: v
                        for k, v in describe(definition, series[values]).items()
                        if k not in ("name", "kind", "unit")
                    }
                    for values in sorted(series)
                ]
                whole["refused"] = refused.get(name, 0)
            figures.append(whole)
        return figures


def measure(definition: Definition, tally: Tally, aggregate: str, quantile: float | None) -> float | None:
    """The value of ``aggregate`` over ``tally`` (``None``: no observations)."""
    if tally.count == 0:
        return None
    if quantile is not None:
        return tally.percentile(quantile)
    values = {
        "count": tally.total if definition.kind == "counter" else float(tally.count),
        "sum": tally.total,
        "rate": tally.trues / tally.count,
        "value": tally.last,
        "avg": tally.total / tally.count,
        "min": tally.minimum,
        "max": tally.maximum,
    }
    return values.get(aggregate)


AGGREGATES_BY_KIND: Final[Mapping[MetricKind, frozenset[str]]] = {
    "trend": frozenset({"count", "sum", "avg", "min", "max", "percentile"}),
    "counter": frozenset({"count", "sum"}),
    "rate": frozenset({"count", "rate"}),
    "gauge": frozenset({"count", "value", "avg", "min", "max"}),
}
"""The aggregates each kind of metric can be judged by (``percentile``: any pNN)."""


def describe(definition: Definition, tally: Tally) -> dict[str, Any]:
    """A metric's figures as plain values."""
    figures: dict[str, Any] = {"name": definition.name, "kind": definition.kind, "unit": definition.unit}
    figures["count"] = int(tally.total) if definition.kind == "counter" else tally.count
    figures["sum"] = tally.total
    if definition.kind == "rate":
        figures["rate"] = tally.trues / tally.count if tally.count else None
    if definition.kind == "gauge":
        figures["value"] = tally.last
    if definition.kind in ("trend", "gauge"):
        figures["avg"] = tally.total / tally.count if tally.count else None
        figures["min"], figures["max"] = tally.minimum, tally.maximum
    if definition.kind == "trend":
        for quantile in (0.5, 0.9, 0.95, 0.99):
            figures[f"p{round(quantile * 100)}"] = tally.percentile(quantile)
        figures["distribution"] = sorted(tally.distribution.items())
    return {key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in figures.items()}


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.4g}ms" if abs(value) < 1 else f"{value:.4g}s"
    return f"{value:.6g}"


def table(figures: list[dict[str, Any]]) -> str:
    """The custom metrics as a text table under the verdict: each one's count and main figures."""
    rows = [("custom metric", "kind", "count", "figures")]
    for metric in figures:
        rows.append(_row(metric["name"], metric["kind"], metric))
        for found in metric.get("label_sets") or []:
            rows.append(
                _row(
                    "  " + series_name(metric["name"], found["labels"]),
                    metric["kind"],
                    {"unit": metric.get("unit")} | found,
                )
            )
        if metric.get("refused"):
            rows.append((f"  refused: {metric['refused']} observations beyond the label set bound", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [" ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]) for row in rows]
    lines.insert(1, "-" * len(max(lines, key=len)))
    return "\n".join(lines)


def _row(shown_name: str, kind: str, figures: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """One line of the table: a metric's or a label set's count and main figures."""
    unit = figures.get("unit") or ""
    if kind == "trend":
        shown = ", ".join(f"{key} {_shown(figures.get(key), unit)}" for key in ("avg", "p50", "p95", "p99", "max"))
    elif kind == "rate":
        rate = figures.get("rate")
        shown = f"rate {rate * 100:.4g}%" if rate is not None else "rate -"
    elif kind == "gauge":
        shown = f"value {_shown(figures.get('value'), unit)} (min {_shown(figures.get('min'), unit)}, "
        shown += f"max {_shown(figures.get('max'), unit)})"
    else:
        shown = f"total {_shown(figures.get('sum'), unit)}"
    return (shown_name, kind, str(figures["count"]), shown)


REGISTRY: Final = Registry()
"""This process's custom metrics."""
