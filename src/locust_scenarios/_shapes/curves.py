"""Curves from a formula or a recording: the ``diurnal`` and ``replay`` profiles.

Both sample a curve onto short linear stages, so a plan stays what every other plan is (stages, a
pure function of run time) and previews, records and the exporter's target gauge read it unchanged.
The curve is scaled so that its highest sample is the run's ``users`` (or ``rate``), and squeezed
into ``duration``: a day of shape can run in thirty minutes.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import format_duration

from .plan import Plan, Stage
from .profile import ScenarioProfile, register_profile

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

__all__ = [
    "DiurnalProfile",
    "ReplayProfile",
    "curve_plan",
    "parse_harmonics",
    "read_csv_series",
    "read_prometheus_series",
    "resample",
]

MAX_SEGMENTS = 480
"""The most stages a sampled curve becomes (one per tick at most): smooth in a picture, cheap per tick."""

TICK = 1.0
"""Locust asks the shape about once a second: a curve is never sampled finer than that."""

_FETCH_TIMEOUT = 10.0
_MAX_SOURCE_BYTES = 20_000_000


def _segments(duration: float) -> int:
    return max(1, min(MAX_SEGMENTS, math.ceil(duration / TICK)))


def curve_plan(levels: Sequence[float], duration: float, peak: float, unit: str, name: str) -> Plan:
    """Linear stages through ``levels`` (evenly spaced over ``duration``), scaled so the highest is ``peak``.

    Stages are named ``NAME rising``, ``NAME falling`` or ``NAME steady`` by their direction, so a
    threshold can be scoped to the rises (``[stage=diurnal rising]``) and a preview groups them.
    """
    highest = max(levels, default=0.0)
    factor = peak / highest if highest > 0 else 0.0
    width = duration / (len(levels) - 1)
    scaled = [level * factor for level in levels]
    stages = tuple(
        Stage(width, level, f"{name} {_direction(before, level)}") for before, level in itertools.pairwise(scaled)
    )
    return Plan(stages, start=scaled[0], unit=unit)


def _direction(before: float, after: float) -> str:
    if abs(after - before) <= 1e-9 * max(abs(before), 1.0):
        return "steady"
    return "rising" if after > before else "falling"


def parse_harmonics(text: str | None) -> list[tuple[int, float]]:
    """Extra cycles per period with their amplitude relative to the daily one: ``"2:0.3,3:0.1"``."""
    found: list[tuple[int, float]] = []
    for item in (part.strip() for part in (text or "").split(",")):
        if not item:
            continue
        order, _, amplitude = item.partition(":")
        try:
            harmonic = (int(order), float(amplitude or "0.5"))
        except ValueError:
            raise ValueError(f"{item!r} is not ORDER:AMPLITUDE (e.g. 2:0.3)") from None
        if not 2 <= harmonic[0] <= 48 or not 0 <= harmonic[1] <= 10:
            raise ValueError(f"{item!r}: the order must be 2-48 and the amplitude 0-10")
        found.append(harmonic)
    return found


@register_profile("diurnal")
class DiurnalProfile(ScenarioProfile):
    """A daily curve: from ``trough`` (a share of the peak) up to ``users`` (or ``rate``) and back.

    One cycle lasts ``period`` of run time (default: the whole ``duration``, so a day of shape is
    compressed into the run); ``phase`` is where in the cycle the run starts (0 at the trough, 50% at
    the peak); ``harmonics`` adds shorter cycles such as a second rush (``2:0.3``).
    """

    abstract = True
    description = "a smooth daily curve between trough and peak, one period compressed into the run"
    parameters: ClassVar[tuple[str, ...]] = ("users", "duration", "trough", "period", "phase", "harmonics")
    users = 50
    duration = "30m"
    trough = 0.1
    phase = 0.0

    def build(self, settings: ScenarioSettings) -> Plan:
        peak, unit = self.peak(settings)
        total = self.seconds(settings, "duration")
        period = settings.period or total
        trough = float(self.setting(settings, "trough"))
        phase = float(self.setting(settings, "phase"))
        try:
            harmonics = parse_harmonics(settings.harmonics)
        except ValueError as error:
            raise SettingsError.invalid("harmonics", settings.harmonics, str(error)) from None
        count = _segments(total)

        def shape(t: float) -> float:
            cycle = t / period + phase
            value = -math.cos(2 * math.pi * cycle)
            return value + sum(a * -math.cos(2 * math.pi * k * cycle) for k, a in harmonics)

        raw = [shape(total * i / count) for i in range(count + 1)]
        low, high = min(raw), max(raw)
        spread = (high - low) or 1.0
        levels = [trough + (1 - trough) * (value - low) / spread for value in raw]
        return curve_plan(levels, total, peak, unit, "diurnal")


def _timestamp(text: str) -> float:
    """Seconds from a number (relative seconds or Unix time) or an ISO 8601 date and time."""
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()


def read_csv_series(text: str) -> list[tuple[float, float]]:
    """``(t, value)`` pairs from CSV rows ``t,value`` (a header row is skipped); sorted by time."""
    series: list[tuple[float, float]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2:
            raise ValueError(f"line {number} has no value column: rows are t,value")
        try:
            point = (_timestamp(row[0]), float(row[1]))
        except ValueError:
            if not series and number == 1:
                continue  # a header
            raise ValueError(f"line {number}: {row[0]!r},{row[1]!r} is not a time and a number") from None
        if not (math.isfinite(point[0]) and math.isfinite(point[1])) or point[1] < 0:
            raise ValueError(f"line {number}: the value must be a finite number of zero or more")
        series.append(point)
    return sorted(series)


def read_prometheus_series(
    url: str, query: str, lookback: float, now: float | None = None
) -> list[tuple[float, float]]:
    """The range ``now - lookback .. now`` of a PromQL query, summed over its series, from Prometheus's API."""
    end = time.time() if now is None else now
    step = max(1.0, lookback / 2000)
    parameters = urllib.parse.urlencode({"query": query, "start": end - lookback, "end": end, "step": step})
    address = f"{url.rstrip('/')}/api/v1/query_range?{parameters}"
    with urllib.request.urlopen(address, timeout=_FETCH_TIMEOUT) as response:  # noqa: S310 - http(s) checked before
        answer = json.loads(response.read(_MAX_SOURCE_BYTES))
    if answer.get("status") != "success":
        raise ValueError(f"Prometheus answered {answer.get('errorType', 'an error')}: {answer.get('error', '')}")
    totals: dict[float, float] = {}
    for series in answer["data"]["result"]:
        for stamp, value in series.get("values", []):
            number = float(value)
            if math.isfinite(number):
                totals[float(stamp)] = totals.get(float(stamp), 0.0) + number
    return sorted(totals.items())


def _interpolate(series: Sequence[tuple[float, float]], t: float) -> float:
    """The series' value at ``t``, linear between samples (binary search: sources can be long)."""
    low, high = 0, len(series) - 1
    if t <= series[0][0]:
        return series[0][1]
    if t >= series[-1][0]:
        return series[-1][1]
    while high - low > 1:
        middle = (low + high) // 2
        if series[middle][0] <= t:
            low = middle
        else:
            high = middle
    (t0, v0), (t1, v1) = series[low], series[high]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1


def resample(series: Sequence[tuple[float, float]], count: int) -> list[float]:
    """``count + 1`` levels evenly spaced over the series, each the mean of the source around it.

    The mean over each window smooths what happens faster than one sample of the compressed run
    (the shape's tick), so a noisy recording does not become a comb of instant jumps.
    """
    start, end = series[0][0], series[-1][0]
    width = (end - start) / count
    levels = []
    for index in range(count + 1):
        centre = start + index * width
        window = [centre + width * (k / 8 - 0.5) for k in range(9)]
        levels.append(sum(_interpolate(series, max(start, min(end, t))) for t in window) / len(window))
    return levels


@register_profile("replay")
class ReplayProfile(ScenarioProfile):
    """A recorded curve replayed: a CSV file of ``t,value`` rows, or a PromQL range from Prometheus.

    ``replay_source`` is a CSV path, or a Prometheus URL with ``replay_query`` (PromQL) over the last
    ``replay_range``; it is read once, when the run is configured, and a source that cannot be read
    stops the run before any load. The curve is scaled so that its peak is ``users`` (or ``rate``),
    compressed into ``duration`` (default: as long as the recording) and smoothed to the tick.
    """

    abstract = True
    description = "a recorded curve (CSV t,value or a PromQL range), scaled to the peak and compressed"
    parameters: ClassVar[tuple[str, ...]] = ("users", "duration", "replay_source", "replay_query", "replay_range")
    users = 50
    replay_range = "24h"

    @classmethod
    def class_defaults(cls) -> dict[str, Any]:
        """Without a ``duration`` the recording plays as long as it lasts."""
        defaults = super().class_defaults()
        defaults.pop("duration", None)
        return defaults

    def build(self, settings: ScenarioSettings) -> Plan:
        peak, unit = self.peak(settings)
        series = self.series(settings)
        span = series[-1][0] - series[0][0]
        total = settings.duration if settings.duration is not None else span
        if total <= 0:
            raise SettingsError.invalid("replay_source", settings.replay_source, "holds fewer than two points in time")
        levels = resample(series, _segments(total))
        if max(levels) <= 0:
            raise SettingsError.invalid("replay_source", settings.replay_source, "holds no value above zero")
        return curve_plan(levels, total, peak, unit, "replay")

    def series(self, settings: ScenarioSettings) -> list[tuple[float, float]]:
        """The recorded ``(t, value)`` points, read once from the source; ``SettingsError`` naming it."""
        source = settings.replay_source or getattr(type(self), "replay_source", None)
        if not source:
            raise SettingsError.invalid("replay_source", None, "is required: a CSV file, or a Prometheus URL")
        try:
            if source.startswith(("http://", "https://")):
                if not settings.replay_query:
                    raise SettingsError.invalid("replay_query", None, f"is required to read Prometheus at {source}")
                lookback = self.seconds(settings, "replay_range")
                series = read_prometheus_series(source, settings.replay_query, lookback)
            else:
                with open(source, encoding="utf-8") as file:
                    series = read_csv_series(file.read(_MAX_SOURCE_BYTES))
        except SettingsError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SettingsError.invalid("replay_source", source, f"cannot be read: {_reason(error)}") from None
        if len(series) < 2:
            raise SettingsError.invalid("replay_source", source, "holds fewer than two points in time")
        return series


def _reason(error: BaseException) -> str:
    """A short one-line reason for a source that failed to load."""
    text = " ".join(str(getattr(error, "reason", None) or error).split()) or type(error).__name__
    return text[:200] + (f" (after {format_duration(_FETCH_TIMEOUT)})" if "timed out" in text else "")
