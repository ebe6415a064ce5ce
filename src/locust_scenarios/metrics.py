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
"""

from __future__ import annotations

import math
import re

from locust_scenarios._metrics import REGISTRY, Definition, MetricKind

__all__ = ["Counter", "Gauge", "Rate", "Trend", "counter", "gauge", "rate", "trend"]

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _declare(name: str, kind: MetricKind, unit: str = "", description: str = "") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"custom metric name {name!r} must be letters, digits and _, not starting with a digit")
    if unit not in ("", "s"):
        raise ValueError(f"custom metric {name!r}: unit {unit!r} must be 's' (seconds) or '' (a plain number)")
    return REGISTRY.declare(Definition(name, kind, unit, description)).name


def _number(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"custom metric {name!r}: {value!r} is not a finite number")
    return number


class Trend:
    """A distribution of values (durations, sizes): count, sum, extremes and percentiles."""

    def __init__(self, name: str, unit: str = "", description: str = "") -> None:
        self.name = _declare(name, "trend", unit, description)

    def observe(self, value: float) -> None:
        """Record one value (in seconds when the unit is ``s``)."""
        REGISTRY.observe(self.name, _number(self.name, value))


class Counter:
    """A total that only grows (orders placed, items seen)."""

    def __init__(self, name: str, description: str = "") -> None:
        self.name = _declare(name, "counter", "", description)

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (zero or more) to the total."""
        number = _number(self.name, amount)
        if number < 0:
            raise ValueError(f"custom metric {self.name!r}: a counter only grows; {amount!r} is negative")
        REGISTRY.increment(self.name, number)


class Rate:
    """The share of true values among those recorded (cache hits, successful checks)."""

    def __init__(self, name: str, description: str = "") -> None:
        self.name = _declare(name, "rate", "", description)

    def add(self, value: bool) -> None:
        """Record one yes or no."""
        REGISTRY.observe(self.name, 1.0 if value else 0.0, true=bool(value))


class Gauge:
    """A value that goes up and down (a queue's depth); the latest value set counts."""

    def __init__(self, name: str, description: str = "") -> None:
        self.name = _declare(name, "gauge", "", description)

    def set(self, value: float) -> None:
        """Set the current value."""
        REGISTRY.observe(self.name, _number(self.name, value))


def trend(name: str, unit: str = "", description: str = "") -> Trend:
    """Declare a trend: a distribution judged by ``pNN``, ``avg``, ``min``, ``max``, ``count`` (``unit="s"``:
    values are seconds, and limits such as ``2s`` or ``500ms`` apply)."""
    return Trend(name, unit, description)


def counter(name: str, description: str = "") -> Counter:
    """Declare a counter: a total judged by ``count`` (or ``sum``)."""
    return Counter(name, description)


def rate(name: str, description: str = "") -> Rate:
    """Declare a rate: the share of true values, judged by ``rate`` (and ``count``)."""
    return Rate(name, description)


def gauge(name: str, description: str = "") -> Gauge:
    """Declare a gauge: the latest value set, judged by ``value`` (and ``min``, ``max``, ``avg``)."""
    return Gauge(name, description)
