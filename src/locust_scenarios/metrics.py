"""Your own metrics, judged with the run: trends, counters, rates and gauges for locustfiles.

Declare them once, at the top of the locustfile, and record from the users' tasks::

    from locust_scenarios import metrics

    checkout = metrics.trend("checkout", unit="s")  # a distribution: percentiles, histogram
    orders = metrics.counter("orders")
    cache_hit = metrics.rate("cache_hit")  # the share of True
    queue = metrics.gauge("queue_depth")

    checkout.observe(0.42)
    orders.inc()
    cache_hit.add(True)
    queue.set(17)

With workers, the master adds up every worker's observations exactly (counts, sums and the full
distribution). Each metric is exported as ``locust_custom_<name>``, shown in the summary, the run
record and the report, and judged by thresholds such as ``[metric=checkout]p95<2s``,
``[metric=cache_hit]rate>0.9`` or ``[stage=hold][metric=orders]count>100``. A locustfile declares at
most 50 metrics; names are letters, digits and ``_``.

A metric may carry labels, named when it is declared and given as keywords with each value::

    checkout = metrics.trend("checkout", unit="s", labels=("region",))
    checkout.observe(0.42, region="eu")

Each combination of label values (a label set) is tallied, exported and shown on its own, and
``[metric=checkout{region="eu"}]p95<2s`` judges one of them (``[metric=checkout]p95<2s`` judges all
together). A metric keeps at most 100 label sets: an observation that would open one more is refused,
counted in the summary and logged once, and the run goes on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from locust_scenarios._metrics import REGISTRY, Definition, LabelValues, MetricKind

__all__ = ["Counter", "Gauge", "Rate", "Trend", "counter", "gauge", "rate", "trend"]

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


_RESERVED_LABELS = frozenset({"quantile", "le"})
"""Label names the exposition itself uses for summaries and histograms."""


def _label_names(name: str, labels: Iterable[str]) -> tuple[str, ...]:
    """The declared label names, checked: Prometheus label names, none reserved, none twice."""
    if isinstance(labels, str):
        raise ValueError(f"custom metric {name!r}: labels must be a tuple of names, e.g. labels=({labels!r},)")
    names = tuple(labels)
    for label in names:
        if not isinstance(label, str) or not _NAME.fullmatch(label) or label.startswith("__"):
            raise ValueError(
                f"custom metric {name!r}: label name {label!r} must be letters, digits and _, "
                "not starting with a digit or __"
            )
        if label in _RESERVED_LABELS:
            raise ValueError(f"custom metric {name!r}: label name {label!r} is reserved (quantile, le)")
    if len(set(names)) != len(names):
        raise ValueError(f"custom metric {name!r}: label names {names} repeat a name")
    return names


def _declare(
    name: str, kind: MetricKind, unit: str = "", description: str = "", labels: Iterable[str] = ()
) -> Definition:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"custom metric name {name!r} must be letters, digits and _, not starting with a digit")
    if unit not in ("", "s"):
        raise ValueError(f"custom metric {name!r}: unit {unit!r} must be 's' (seconds) or '' (a plain number)")
    return REGISTRY.declare(Definition(name, kind, unit, description, _label_names(name, labels)))


def _values(definition: Definition, given: dict[str, object]) -> LabelValues:
    """The label values of one observation, in declared order (``ValueError``: not the declared names)."""
    if given.keys() != set(definition.labels):
        declared, got = ", ".join(definition.labels) or "none", ", ".join(given) or "none"
        raise ValueError(f"custom metric {definition.name!r} takes the labels declared with it ({declared}), got {got}")
    return tuple(str(given[label]) for label in definition.labels)


def _number(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"custom metric {name!r}: {value!r} is not a finite number")
    return number


class Trend:
    """A distribution of values (durations, sizes): count, sum, extremes and percentiles."""

    def __init__(self, name: str, unit: str = "", description: str = "", labels: Iterable[str] = ()) -> None:
        self._definition = _declare(name, "trend", unit, description, labels)
        self.name = self._definition.name

    def observe(self, value: float, **labels: object) -> None:
        """Record one value (in seconds when the unit is ``s``), with the declared labels' values."""
        REGISTRY.observe(self.name, _number(self.name, value), labels=_values(self._definition, labels))


class Counter:
    """A total that only grows (orders placed, items seen)."""

    def __init__(self, name: str, description: str = "", labels: Iterable[str] = ()) -> None:
        self._definition = _declare(name, "counter", "", description, labels)
        self.name = self._definition.name

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        """Add ``amount`` (zero or more) to the total, with the declared labels' values."""
        number = _number(self.name, amount)
        if number < 0:
            raise ValueError(f"custom metric {self.name!r}: a counter only grows; {amount!r} is negative")
        REGISTRY.increment(self.name, number, labels=_values(self._definition, labels))


class Rate:
    """The share of true values among those recorded (cache hits, successful checks)."""

    def __init__(self, name: str, description: str = "", labels: Iterable[str] = ()) -> None:
        self._definition = _declare(name, "rate", "", description, labels)
        self.name = self._definition.name

    def add(self, value: bool, **labels: object) -> None:
        """Record one yes or no, with the declared labels' values."""
        REGISTRY.observe(self.name, 1.0 if value else 0.0, true=bool(value), labels=_values(self._definition, labels))


class Gauge:
    """A value that goes up and down (a queue's depth); the latest value set counts."""

    def __init__(self, name: str, description: str = "", labels: Iterable[str] = ()) -> None:
        self._definition = _declare(name, "gauge", "", description, labels)
        self.name = self._definition.name

    def set(self, value: float, **labels: object) -> None:
        """Set the current value (of the label set the declared labels' values name)."""
        REGISTRY.observe(self.name, _number(self.name, value), labels=_values(self._definition, labels))


def trend(name: str, unit: str = "", description: str = "", labels: Iterable[str] = ()) -> Trend:
    """Declare a trend: a distribution judged by ``pNN``, ``avg``, ``min``, ``max``, ``count`` (``unit="s"``:
    values are seconds, and limits such as ``2s`` or ``500ms`` apply; ``labels``: the label names each
    observation gives values for, as keywords)."""
    return Trend(name, unit, description, labels)


def counter(name: str, description: str = "", labels: Iterable[str] = ()) -> Counter:
    """Declare a counter: a total judged by ``count`` (or ``sum``); ``labels`` as for ``trend``."""
    return Counter(name, description, labels)


def rate(name: str, description: str = "", labels: Iterable[str] = ()) -> Rate:
    """Declare a rate: the share of true values, judged by ``rate`` (and ``count``); ``labels`` as for ``trend``."""
    return Rate(name, description, labels)


def gauge(name: str, description: str = "", labels: Iterable[str] = ()) -> Gauge:
    """Declare a gauge: the latest value set, judged by ``value`` (and ``min``, ``max``, ``avg``); ``labels``
    as for ``trend`` (each label set keeps its own latest value)."""
    return Gauge(name, description, labels)
