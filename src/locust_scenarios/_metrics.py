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

This module imports nothing of ours but ``_distributions``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from locust_scenarios import _distributions as dist

__all__ = [
    "MAX_METRICS",
    "METRICS_KEY",
    "REGISTRY",
    "Definition",
    "MetricKind",
    "Registry",
    "Tally",
    "rounded",
    "table",
]

MetricKind = Literal["trend", "counter", "rate", "gauge"]

MAX_METRICS: Final = 50
"""The most custom metrics one locustfile may declare: each is a family on every scrape and a row in
the record, so a name built from data (a user id, a URL) is refused instead of growing without end."""

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
    """A declared metric: its name, kind, unit and description."""

    name: str
    kind: MetricKind
    unit: str = ""
    description: str = ""


class Registry:
    """The process's custom metrics: their declarations and their tallies."""

    def __init__(self, limit: int = MAX_METRICS) -> None:
        self.limit = limit
        self.definitions: dict[str, Definition] = {}
        self.tallies: dict[str, Tally] = {}
        self._lock = threading.Lock()

    def declare(self, definition: Definition) -> Definition:
        """Declare a metric (the same declaration again is the same metric; ``ValueError`` otherwise)."""
        known = self.definitions.get(definition.name)
        if known is not None:
            if known.kind != definition.kind:
                raise ValueError(f"custom metric {definition.name!r} is already declared as a {known.kind}")
            return known
        if len(self.definitions) >= self.limit:
            raise ValueError(
                f"custom metric {definition.name!r} refused: at most {self.limit} custom metrics "
                "(build names from a fixed list, never from data such as ids or URLs)"
            )
        self.definitions[definition.name] = definition
        self.tallies[definition.name] = Tally()
        return definition

    def observe(self, name: str, value: float, *, true: bool = False) -> None:
        """One observation of a declared metric (``true`` for a rate's true values)."""
        definition = self.definitions[name]
        with self._lock:
            tally = self.tallies[name]
            tally.observe(value, keep_distribution=definition.kind == "trend")
            tally.trues += true

    def increment(self, name: str, amount: float) -> None:
        """A counter grows by ``amount``."""
        with self._lock:
            tally = self.tallies[name]
            tally.count += 1
            tally.total += amount
            tally.last, tally.last_at = tally.total, time.time()

    def clear(self) -> None:
        """A run starts: every tally starts from nothing (the declarations stay)."""
        with self._lock:
            self.tallies = {name: Tally() for name in self.definitions}

    def drain(self) -> dict[str, list[Any]]:
        """A worker's report: every tally with observations since the last report, then cleared."""
        with self._lock:
            report = {name: tally.to_wire() for name, tally in self.tallies.items() if tally.count}
            for name in report:
                self.tallies[name] = Tally()
        return report

    def absorb(self, report: Any) -> None:
        """The master adds a worker's report (unknown names are declared as the report says nothing of
        their kind: the master imported the same locustfile, so they are known)."""
        if not isinstance(report, Mapping):
            return
        with self._lock:
            for name, data in report.items():
                if name in self.tallies:
                    self.tallies[name].add(Tally.from_wire(data))

    def snapshot(self) -> dict[str, Tally]:
        """Copies of every tally now."""
        with self._lock:
            return {name: tally.copy() for name, tally in self.tallies.items()}

    def summary(self) -> list[dict[str, Any]]:
        """Each metric's figures for the summary, the record and the report (name order)."""
        found = self.snapshot()
        return [describe(self.definitions[name], found[name]) for name in sorted(found)]


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
        unit = metric.get("unit") or ""
        if metric["kind"] == "trend":
            shown = ", ".join(f"{key} {_shown(metric.get(key), unit)}" for key in ("avg", "p50", "p95", "p99", "max"))
        elif metric["kind"] == "rate":
            rate = metric.get("rate")
            shown = f"rate {rate * 100:.4g}%" if rate is not None else "rate -"
        elif metric["kind"] == "gauge":
            shown = f"value {_shown(metric.get('value'), unit)} (min {_shown(metric.get('min'), unit)}, "
            shown += f"max {_shown(metric.get('max'), unit)})"
        else:
            shown = f"total {_shown(metric.get('sum'), unit)}"
        rows.append((metric["name"], metric["kind"], str(metric["count"]), shown))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [" ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]) for row in rows]
    lines.insert(1, "-" * len(max(lines, key=len)))
    return "\n".join(lines)


REGISTRY: Final = Registry()
"""This process's custom metrics."""
