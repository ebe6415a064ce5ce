"""Latency histogram buckets: the defaults, and bounds parsed from a setting onto Locust's rounding grid."""

from __future__ import annotations

from typing import Final

from locust import stats as locust_stats

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import EXPORTER, parse_duration, shown

__all__ = ["DEFAULT_BUCKETS", "parse_buckets"]


DEFAULT_BUCKETS: Final = (
    0.005,
    0.01,
    0.02,
    0.035,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.35,
    0.5,
    0.75,
    1.0,
    1.5,
    2.5,
    5.0,
    10.0,
    30.0,
)
"""Latency bucket bounds in seconds: fine where HTTP services usually answer, coarse towards timeouts."""
_MAX_BUCKET: Final = 3600.0
"""The largest bucket bound in seconds (a response slower than an hour is ``+Inf`` territory)."""


def parse_buckets(text: str | None) -> tuple[float, ...]:
    """Bucket bounds in seconds from ``'5ms,10ms,100ms,1s'``; the defaults when ``None``.

    Every bound must be a value Locust's rounding can produce (exact below 100 ms, then steps of
    10 ms to 1 s, 100 ms to 10 s and 1 s above), so that every bucket count is exact.
    """
    if text is None or not text.strip():
        return DEFAULT_BUCKETS

    def refused(rule: str) -> SettingsError:
        return SettingsError.invalid("buckets", text, rule, group=EXPORTER)

    bounds: list[float] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            seconds = parse_duration(part)
        except ValueError as error:
            raise refused(f"bucket {shown(part)} {error}") from None
        if seconds > _MAX_BUCKET:
            raise refused(f"bucket {shown(part)} is above the largest, 1h")
        milliseconds = seconds * 1000
        rounded = locust_stats.bucket_response_time(milliseconds)
        if rounded <= 0 or abs(rounded - milliseconds) > 1e-6:
            below, above = _grid_neighbours(milliseconds)
            raise refused(
                f"bucket {shown(part)} is not on Locust's response-time grid "
                f"(exact below 100ms, then 10ms steps to 1s, 100ms to 10s, 1s above); "
                f"nearest: {below:g}ms or {above:g}ms"
            )
        bounds.append(rounded / 1000)
    if sorted(set(bounds)) != bounds:
        raise refused("buckets must be distinct and in increasing order")
    return tuple(bounds)


def _grid_neighbours(milliseconds: float) -> tuple[float, float]:
    step = 1.0 if milliseconds < 100 else 10.0 if milliseconds < 1000 else 100.0 if milliseconds < 10000 else 1000.0
    below = max(step, (milliseconds // step) * step)
    return below, below + step
