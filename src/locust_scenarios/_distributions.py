"""Statistics over Locust's rounded response-time distributions (milliseconds → count), pure Python.

A distribution here is what ``StatsEntry.response_times`` holds and what a run record keeps: each
rounded response time in milliseconds with the number of requests that took it. Percentiles are
read exactly as Locust reads them, and the significance tests work on the whole distributions.

Whether a percentile got worse is decided with distribution-free confidence bounds: the q-quantile
of n observations lies between the order statistics of rank ``n*q +- z*sqrt(n*q*(1-q))`` (normal
approximation of the binomial count below the quantile), which needs no assumption about the
shape of the distribution and handles ties (many requests share one rounded value). A regression
beyond a tolerance is significant when the current lower bound exceeds the baseline's upper bound
scaled by ``1 + tolerance``. Each bound uses ``z = z(1-alpha)/sqrt(2)``: for two independent estimates of
equal spread the gap then exceeds both half-widths with probability alpha when nothing changed, so alpha is
the false-positive rate of one comparison (lower with ties, which make the bounds coarser).

This module imports nothing of ours and nothing outside the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "MIN_SAMPLES",
    "QuantileBounds",
    "merge",
    "percentile",
    "proportion_regressed",
    "quantile_bounds",
    "quantile_improved",
    "quantile_regressed",
    "value_at_rank",
]

MIN_SAMPLES = 20
"""Fewer observations than this on either side are never called significant."""

Distribution = Mapping[int, int]


def merge(distributions: Iterable[Distribution]) -> dict[int, int]:
    """The sum of several distributions."""
    merged: dict[int, int] = {}
    for distribution in distributions:
        for key, count in distribution.items():
            merged[key] = merged.get(key, 0) + count
    return merged


def value_at_rank(distribution: Distribution, rank: int) -> float:
    """The ``rank``-th smallest observation (1-based, clamped to the observations there are)."""
    total = sum(distribution.values())
    if total == 0:
        return math.nan
    wanted = min(max(rank, 1), total)
    seen = 0
    for key in sorted(distribution):
        seen += distribution[key]
        if seen >= wanted:
            return float(key)
    return float(max(distribution))


def percentile(distribution: Distribution, quantile: float) -> float:
    """The ``quantile`` (0.95 for p95) exactly as Locust computes it, so a record's percentiles equal
    the ones Locust printed: walking down from the largest value, the first value at which at most
    ``int(n·q)`` requests remain below."""
    total = sum(distribution.values())
    if total == 0:
        return math.nan
    below_limit = int(total * quantile)
    processed = 0
    for key in sorted(distribution, reverse=True):
        processed += distribution[key]
        if total - processed <= below_limit:
            return float(key)
    return 0.0


@dataclass(frozen=True)
class QuantileBounds:
    """A confidence interval of one quantile, in the distribution's unit (milliseconds)."""

    low: float
    high: float
    samples: int


def _z(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha) / math.sqrt(2)


def quantile_bounds(distribution: Distribution, quantile: float, alpha: float = 0.05) -> QuantileBounds:
    """Distribution-free bounds of the ``quantile`` for a one-sided comparison at level ``alpha``."""
    total = sum(distribution.values())
    if total == 0:
        return QuantileBounds(math.nan, math.nan, 0)
    spread = _z(alpha) * math.sqrt(total * quantile * (1 - quantile))
    centre = total * quantile
    low = value_at_rank(distribution, math.floor(centre - spread))
    high = value_at_rank(distribution, math.ceil(centre + spread) + 1)
    return QuantileBounds(low, high, total)


def _both_bounds(
    baseline: Distribution, current: Distribution, quantile: float, alpha: float
) -> tuple[QuantileBounds, QuantileBounds] | None:
    """The bounds of the quantile in both runs, or ``None`` when either has too few observations."""
    before = quantile_bounds(baseline, quantile, alpha)
    after = quantile_bounds(current, quantile, alpha)
    return None if min(before.samples, after.samples) < MIN_SAMPLES else (before, after)


def quantile_regressed(
    baseline: Distribution, current: Distribution, quantile: float, *, tolerance: float = 0.0, alpha: float = 0.05
) -> bool:
    """Whether the current ``quantile`` is significantly above the baseline's times ``1 + tolerance``."""
    bounds = _both_bounds(baseline, current, quantile, alpha)
    return bounds is not None and bounds[1].low > bounds[0].high * (1 + tolerance)


def quantile_improved(
    baseline: Distribution, current: Distribution, quantile: float, *, tolerance: float = 0.0, alpha: float = 0.05
) -> bool:
    """Whether the current ``quantile`` is significantly below the baseline's (the mirror of a regression)."""
    bounds = _both_bounds(baseline, current, quantile, alpha)
    return bounds is not None and bounds[1].high * (1 + tolerance) < bounds[0].low


def proportion_regressed(
    baseline: tuple[int, int], current: tuple[int, int], *, tolerance: float = 0.0, alpha: float = 0.05
) -> bool:
    """Whether the current share (``(failures, requests)``) is significantly above the baseline's plus
    ``tolerance`` (absolute, 0.01 = one percentage point): a one-sided two-proportion z-test with continuity
    correction."""
    (bad_before, n_before), (bad_after, n_after) = baseline, current
    if min(n_before, n_after) < MIN_SAMPLES:
        return False
    before, after = bad_before / n_before, bad_after / n_after
    # Yates' continuity correction keeps the normal approximation at or below alpha for rare failures
    gap = after - before - tolerance - (1 / n_before + 1 / n_after) / 2
    if gap <= 0:
        return False
    pooled = (bad_before + bad_after) / (n_before + n_after)
    spread = math.sqrt(max(pooled * (1 - pooled), 1 / (n_before + n_after)) * (1 / n_before + 1 / n_after))
    return gap / spread > NormalDist().inv_cdf(1 - alpha)
