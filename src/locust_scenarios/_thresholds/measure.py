"""Measuring: the requests a criterion is judged on, from Locust's statistics, as ``Sample`` values.

Over the whole run or the last ten seconds or so (Locust's "current" window); ``response_times`` is
Locust's rounded distribution, so percentiles are the very numbers Locust reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from locust.stats import calculate_response_time_percentile

from .grammar import Threshold, expression_error

if TYPE_CHECKING:
    from locust.stats import RequestStats, StatsEntry

__all__ = ["Sample", "merge", "run_totals", "sample", "selected", "with_baseline"]


@dataclass(frozen=True)
class Sample:
    """The requests one criterion is judged on, over the whole run or a recent window.

    ``response_times`` is Locust's rounded distribution (milliseconds → count), so percentiles are
    the very numbers Locust reports.
    """

    requests: int
    failures: int
    timed: int
    """Requests with a response time (Locust allows ``None``); the denominator of latency aggregates."""
    response_times: Mapping[int, int]
    total_response_time: float
    min_response_time: float | None
    max_response_time: float
    rps: float

    def measure(self, threshold: Threshold) -> tuple[float | None, int]:
        """The value of the threshold's aggregate and the number of samples behind it."""
        kind = threshold.kind
        if kind == "latency":
            if self.timed == 0:
                return None, 0
            return self._latency_ms(threshold) / 1000, self.timed
        if self.requests == 0:
            return None, 0
        values = {
            "fail_ratio": self.failures / self.requests,
            "rps": self.rps,
            "requests": float(self.requests),
            "failures": float(self.failures),
        }
        return values[threshold.aggregate], self.requests

    def _latency_ms(self, threshold: Threshold) -> float:
        if threshold.quantile is not None:
            distribution = dict(self.response_times)
            return float(calculate_response_time_percentile(distribution, self.timed, threshold.quantile))
        if threshold.aggregate == "avg":
            return self.total_response_time / self.timed
        if threshold.aggregate == "min":
            return self.min_response_time or 0.0
        return self.max_response_time


_EMPTY = Sample(0, 0, 0, {}, 0.0, None, 0.0, 0.0)


def selected(stats: RequestStats, selector: str | None) -> list[StatsEntry]:
    if selector is None:
        return [stats.total]
    return [entry for entry in stats.entries.values() if selector in (entry.name, f"{entry.method} {entry.name}")]


def sample(stats: RequestStats, selector: str | None = None, *, window: bool = False) -> Sample:
    """The requests matching ``selector`` (all when ``None``), over the whole run or the recent window.

    The window is the last ten seconds or so, the span Locust's "current" figures use: it compares
    each entry with the copy of its distribution Locust keeps for about ten seconds ago.
    """
    entries = selected(stats, selector)
    return merge([_window_sample(entry) if window else _run_sample(entry) for entry in entries])


def merge(parts: Sequence[Sample]) -> Sample:
    """One sample pooling ``parts`` (their rates add up)."""
    if not parts:
        return _EMPTY
    if len(parts) == 1:
        return parts[0]
    merged: dict[int, int] = {}
    for part in parts:
        for key, count in part.response_times.items():
            merged[key] = merged.get(key, 0) + count
    minimums = [p.min_response_time for p in parts if p.min_response_time is not None]
    return Sample(
        requests=sum(p.requests for p in parts),
        failures=sum(p.failures for p in parts),
        timed=sum(p.timed for p in parts),
        response_times=merged,
        total_response_time=sum(p.total_response_time for p in parts),
        min_response_time=min(minimums) if minimums else None,
        max_response_time=max(p.max_response_time for p in parts),
        rps=sum(p.rps for p in parts),
    )


def _run_sample(entry: StatsEntry) -> Sample:
    return Sample(
        requests=entry.num_requests,
        failures=entry.num_failures,
        timed=entry.num_requests - entry.num_none_requests,
        response_times=entry.response_times,
        total_response_time=float(entry.total_response_time),
        min_response_time=entry.min_response_time,
        max_response_time=float(entry.max_response_time),
        rps=float(entry.total_rps),
    )


_WINDOW_SECONDS: Final = 10
"""The span of "recent" statistics, as in Locust's current response-time percentiles."""


def _window_sample(entry: StatsEntry) -> Sample:
    """Requests and failures of the last ten seconds; latency since Locust's snapshot of ten seconds ago.

    Counts come from Locust's per-second tallies; the latency distribution is the difference between
    the entry's distribution now and its cached copy closest to (at or before) ten seconds ago.
    """
    now = int(time.time())
    first_second = now - _WINDOW_SECONDS
    requests = sum(count for second, count in entry.num_reqs_per_sec.items() if second >= first_second)
    failures = sum(count for second, count in entry.num_fail_per_sec.items() if second >= first_second)
    cache = entry.response_times_cache
    if cache:
        older = [stamp for stamp in cache if stamp <= first_second]
        base = cache[max(older) if older else min(cache)]
        distribution = {
            key: count - base.response_times.get(key, 0)
            for key, count in entry.response_times.items()
            if count - base.response_times.get(key, 0) > 0
        }
    else:
        distribution = dict(entry.response_times)
    keys = sorted(distribution)
    return Sample(
        requests=requests,
        failures=min(failures, requests),
        timed=sum(distribution.values()),
        response_times=distribution,
        total_response_time=float(sum(key * count for key, count in distribution.items())),
        min_response_time=float(keys[0]) if keys else None,
        max_response_time=float(keys[-1]) if keys else 0.0,
        rps=float(entry.current_rps),
    )


def run_totals(stats: RequestStats) -> dict[str, float | int | None]:
    """Whole-run figures for the summary: counts, fail ratio, throughput and latency in seconds."""
    whole = sample(stats)
    totals: dict[str, float | int | None] = {
        "requests": whole.requests,
        "failures": whole.failures,
        "fail_ratio": whole.failures / whole.requests if whole.requests else None,
        "rps": whole.rps,
    }
    for name in ("avg", "min", "p50", "p90", "p95", "p99", "max"):
        quantile = float(name[1:]) / 100 if name.startswith("p") else None
        value, _ = whole.measure(Threshold(name, name, "<", 0.0, quantile=quantile))
        totals[f"{name}_seconds"] = value
    return totals


def with_baseline(
    thresholds: Sequence[Threshold], lookup: Callable[[str | None], Sample | None] | None, source: str | None = None
) -> tuple[Threshold, ...]:
    """Relative limits (``p95<baseline+10%``) made absolute from the baseline's requests.

    ``lookup`` gives the baseline's ``Sample`` for a selector; ``SettingsError`` when a relative limit
    has no baseline, or the baseline has no samples for its requests.
    """
    resolved = []
    for threshold in thresholds:
        if threshold.relative is None:
            resolved.append(threshold)
            continue
        setting = "baseline_record"
        if lookup is None:
            message = f"{threshold.text!r} compares with a baseline: give a run record with --scenario-baseline-record"
            raise expression_error("thresholds", threshold.text, message)
        base = lookup(threshold.selector)
        value, _ = base.measure(threshold) if base is not None else (None, 0)
        if base is None or value is None:
            what = f"requests named {threshold.selector!r}" if threshold.selector else "requests"
            raise expression_error(setting, source, f"the baseline has no {what} for {threshold.text!r}")
        # the fail ratio's percentage is in points; every other aggregate's is relative
        limit = value + threshold.relative if threshold.kind == "ratio" else value * (1 + threshold.relative)
        resolved.append(replace(threshold, limit=limit, baseline=base))
    return tuple(resolved)
