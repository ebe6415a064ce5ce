"""Response-time quantiles exactly as Locust computes them, over the run and over its current window.

Plain functions over Locust's rounded distributions (``StatsEntry.response_times``): one pass over
the sorted times gives every quantile, where Locust sorts once per quantile.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from locust.stats import CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW

if TYPE_CHECKING:
    from locust.stats import StatsEntry

__all__ = ["QUANTILES", "current_quantiles", "quantiles", "window_start"]


QUANTILES: Final = (0.5, 0.9, 0.95, 0.99)
"""Quantiles exported exactly as Locust computes them (``locust_request_duration_quantile_seconds``)."""


def quantiles(distribution: Mapping[int, int], timed: int) -> tuple[tuple[float, float], ...]:
    """``QUANTILES`` of a rounded distribution in seconds (none without samples).

    The same rule as Locust's ``calculate_response_time_percentile`` (walk the response times from
    the slowest down until at most ``int(timed * q)`` requests remain), for every quantile in one
    pass over the sorted times instead of one sort per quantile.
    """
    if timed <= 0:
        return ()
    wanted = [(q, int(timed * q)) for q in QUANTILES]
    found: dict[float, int] = {}
    processed = 0
    for milliseconds in sorted(distribution, reverse=True):
        processed += distribution[milliseconds]
        while wanted and timed - processed <= wanted[-1][1]:
            found[wanted.pop()[0]] = milliseconds
        if not wanted:
            break
    return tuple((q, found.get(q, 0) / 1000) for q in QUANTILES)


def window_start(entry: StatsEntry) -> tuple[int, Any] | None:
    """The cached distribution Locust's ``get_current_response_time_percentile`` compares with now
    (its second and the cached entry), or ``None`` while it has none."""
    cache = entry.response_times_cache
    if not cache:
        return None
    now = int(time.time())
    window = CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW
    preferred = [now - window] + [stamp for i in range(1, 9) for stamp in (now - window - i, now - window + i)]
    return next(((stamp, cache[stamp]) for stamp in preferred if stamp in cache), None)


def current_quantiles(entry: StatsEntry, cached: Any) -> tuple[tuple[float, float], ...]:
    """``QUANTILES`` over Locust's current window (about the last ten seconds) against the ``cached``
    distribution ``window_start`` picked, exactly as ``get_current_response_time_percentile``
    computes them, with one difference per entry instead of one per quantile."""
    old = cached.response_times
    recent = {ms: count - old.get(ms, 0) for ms, count in entry.response_times.items() if count - old.get(ms, 0)}
    timed = (entry.num_requests - entry.num_none_requests) - (cached.num_requests - cached.num_none_requests)
    return quantiles(recent, timed)
