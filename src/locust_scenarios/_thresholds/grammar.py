"""Thresholds: k6-style pass/fail criteria over Locust's own statistics, and the verdict they give.

An expression is a comma-separated list of criteria, each ``[SELECTOR]AGGREGATE OPERATOR VALUE``::

    p95<500ms, p99<1s, fail_ratio<1%, rps>50, [GET /api/items]p95<300ms

``SELECTOR`` (optional, in square brackets) limits a criterion to the requests whose name is exactly
the text, or whose method and name, separated by one space, are the text. Commas inside the brackets
belong to the name. Values carry their unit: durations for latency (``500ms``, ``1.5s``), ratios for
``fail_ratio`` (``1%``, ``0.01``), plain numbers for ``rps``, ``requests`` and ``failures``.

A limit may be relative to a baseline run record (``--scenario-baseline-record FILE``): ``p95<baseline+10%``
fails when this run's p95 is above the baseline's by more than 10% *and* the rise is significant,
judged from the two full response-time distributions (see ``_distributions``), so noise alone never
fails it. For ``fail_ratio`` the percentage is in points (``fail_ratio<baseline+1%``); other
aggregates (``rps>baseline-20%``) compare values only.

``[stage=NAME]`` (before or instead of the request selector) judges a criterion on the requests made
during the profile's stages of that name only (the names ``preview`` shows), and ``over DURATION``
after the value makes it hold in every window of that length (``p95<300ms over 1m``). Both are
judged on the master from what ``Timeline`` records once a second.

Criteria are judged on the whole run at the end (the verdict), on the run so far during it (the
exporter and ``--scenario-abort-on-fail``), or on the last ten seconds or so (the breakpoint profile's
stop condition, built by ``stop_condition``). A criterion with no samples fails the verdict.

This module reads only ``settings`` and Locust's statistics; it never touches Locust's events.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from locust.stats import calculate_response_time_percentile

from locust_scenarios import _distributions as dist
from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.options import (
    SCENARIO,
    SettingsError,
    env_name,
    format_duration,
    option_name,
    parse_duration,
    parse_ratio,
    shown,
)

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.stats import RequestStats, StatsEntry

__all__ = [
    "AGGREGATES",
    "Result",
    "Sample",
    "StopCondition",
    "Threshold",
    "Timeline",
    "Verdict",
    "abort_reason",
    "check_stages",
    "evaluate",
    "format_value",
    "parse",
    "run_totals",
    "sample",
    "stop_condition",
    "with_baseline",
]

Kind = Literal["latency", "ratio", "rate", "count"]

AGGREGATES: Final[Mapping[str, Kind]] = {
    "p50": "latency",
    "p90": "latency",
    "p95": "latency",
    "p99": "latency",
    "p99.9": "latency",
    "avg": "latency",
    "min": "latency",
    "max": "latency",
    "med": "latency",
    "fail_ratio": "ratio",
    "rps": "rate",
    "requests": "count",
    "failures": "count",
}
"""Aggregates by name. Any other percentile is written ``pNN`` or ``p(NN)`` (``p75``, ``p(99.99)``)."""

_OPERATORS: Final[Mapping[str, Callable[[float, float], bool]]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_CRITERION = re.compile(r"^(?P<aggregate>[^<>=!]*?)\s*(?P<operator><=|>=|<|>|==|=|!=)\s*(?P<value>.*)$")
_PERCENTILE = re.compile(r"^p(?:\((?P<paren>\d+(?:\.\d+)?)\)|(?P<plain>\d+(?:\.\d+)?))$")
_BARE_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Threshold:
    """One criterion, with its limit in base units (seconds, a fraction, per second, a count)."""

    text: str
    """The criterion as written, without surrounding spaces (also the ``threshold`` metric label)."""
    aggregate: str
    """``p95``, ``avg``, ``fail_ratio``, ``rps``, ... (``med`` and ``p(95)`` are normalised to ``pNN``)."""
    operator: str
    limit: float
    selector: str | None = None
    quantile: float | None = None
    """For percentiles, the fraction (0.95 for p95)."""
    relative: float | None = None
    """For ``baseline+N%`` limits, ``N/100`` (negative for ``baseline-N%``); ``limit`` is set from the
    baseline by ``with_baseline``."""
    baseline: Sample | None = field(default=None, compare=False, repr=False)
    """The baseline's requests behind a relative limit."""
    stage: str | None = None
    """``[stage=NAME]``: judged on the requests made during the stages of that name only."""
    window: float | None = None
    """``over DURATION``: must hold in every window of this many seconds."""

    @property
    def timed(self) -> bool:
        """Whether the criterion is judged by stage or by window (from the timeline, not the totals)."""
        return self.stage is not None or self.window is not None

    @property
    def where(self) -> str:
        """Where the criterion is measured, for the verdict table: ``run``, ``stage steady``, ``every 1m``."""
        parts = []
        if self.window is not None:
            parts.append(f"every {format_duration(self.window)}")
        if self.stage is not None:
            parts.append(f"stage {self.stage}")
        return " in ".join(parts) or "run"

    @property
    def kind(self) -> Kind:
        """What the aggregate measures, which decides the unit of its limit and value."""
        return "latency" if self.quantile is not None else AGGREGATES[self.aggregate]

    def holds(self, value: float) -> bool:
        """Whether a measured value satisfies the criterion."""
        return _OPERATORS[self.operator](value, self.limit)

    def can_recover(self) -> bool:
        """Whether a run that fails this criterion so far may still pass it by the end.

        Only lower bounds on counts grow towards passing (``requests>1000``); an abort during the run
        must not fire on them.
        """
        return self.kind == "count" and self.operator in (">", ">=")

    def format(self, value: float | None) -> str:
        """A measured value in the criterion's unit, for people."""
        return format_value(self.kind, value)


def format_value(kind: Kind, value: float | None) -> str:
    """``730ms``, ``1.25s``, ``0.12%``, ``53.1/s`` or ``1000``; ``-`` for no value."""
    if value is None or math.isnan(value):
        return "-"
    if kind == "latency":
        return f"{value * 1000:.4g}ms" if value < 1 else f"{value:.4g}s"
    if kind == "ratio":
        return f"{value * 100:.3g}%"
    if kind == "rate":
        return f"{value:.4g}/s"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


# ---------------------------------------------------------------------------------------------------
# Parsing


_RELATIVE = re.compile(r"^baseline\s*(?:(?P<sign>[+-])\s*(?P<percent>\d+(?:\.\d+)?)\s*%)?$")


def parse(text: str | None, *, setting: str = "thresholds") -> tuple[Threshold, ...]:
    """The criteria of an expression; ``SettingsError`` naming the bad criterion if one is invalid.

    ``setting`` is the ``ScenarioSettings`` field the expression came from, named in the message.
    """
    if text is None or not text.strip():
        return ()
    parts = _split(text, setting)
    thresholds = []
    for number, part in enumerate(parts, start=1):
        try:
            threshold = _parse_one(part, relative_allowed=setting == "thresholds")
            if threshold.timed and setting == "stop_on":
                raise ValueError("stages and 'over' windows apply to thresholds, not to stop criteria")
            thresholds.append(threshold)
        except ValueError as error:
            where = f"criterion {number} {shown(part)}" if len(parts) > 1 else shown(part)
            raise _error(setting, text, f"{where}: {error}") from None
    return tuple(thresholds)


def _error(setting: str, text: str, message: str) -> SettingsError:
    model = SCENARIO
    return SettingsError(
        f"invalid setting {env_name(model, setting)}={shown(text)} ({option_name(model, setting)}): {message}"
        " — criteria such as 'p95<500ms,fail_ratio<1%,rps>50,[GET /api/items]p99<1s'"
    )


def _split(text: str, setting: str) -> list[str]:
    """Split on commas outside ``[...]``, so a selected name may contain commas."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "[" and depth == 0:
            depth = 1
        elif char == "]" and depth == 1:
            depth = 0
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    for number, part in enumerate(parts, start=1):
        if not part:
            message = f"criterion {number} is empty (two commas in a row or a trailing comma)"
            raise _error(setting, text, message)
    return parts


_STAGE_PREFIX = "stage="
_OVER = re.compile(r"^(?P<criterion>.*?)\s+over\s+(?P<window>\S+)$")


def _brackets(part: str) -> tuple[str | None, str | None, str]:
    """The request selector and the stage of ``[...]`` prefixes, and the rest of the criterion."""
    selector = stage = None
    rest = part
    while rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ValueError("'[' opens a request name that no ']' closes")
        inside = rest[1:end].strip()
        rest = rest[end + 1 :].strip()
        if inside.startswith(_STAGE_PREFIX) and stage is None:
            stage = inside.removeprefix(_STAGE_PREFIX).strip()
            if not stage:
                raise ValueError("'[stage=]' names no stage; write the name preview shows, e.g. [stage=steady]")
            continue
        if selector is not None:
            raise ValueError("one request selector per criterion; pool requests with Locust's name= instead")
        selector = inside
        if not selector:
            raise ValueError("'[]' selects no request; write a name such as [GET /api/items] or [/api/items]")
    return selector, stage, rest


def _over(rest: str) -> tuple[str, float | None]:
    """The criterion without its ``over DURATION`` suffix, and the window in seconds (``None``: none)."""
    over = _OVER.match(rest)
    if not over:
        return rest, None
    try:
        window = parse_duration(over.group("window"))
    except ValueError as error:
        raise ValueError(f"window {over.group('window')!r} {error}") from None
    if window < 1:
        raise ValueError(f"window {over.group('window')!r} must be at least 1s (judged from per-second data)")
    return over.group("criterion").strip(), window


def _parse_one(part: str, *, relative_allowed: bool = True) -> Threshold:
    selector, stage, rest = _brackets(part)
    rest, window = _over(rest)
    match = _CRITERION.match(rest)
    if not match:
        raise ValueError("no comparison; write AGGREGATE<VALUE or AGGREGATE>VALUE, e.g. p95<500ms or rps>50")
    aggregate_text, op, value_text = (match.group(g).strip() for g in ("aggregate", "operator", "value"))
    if op not in _OPERATORS:
        raise ValueError(f"operator {shown(op)} is not supported; use <, <=, > or >=")
    aggregate, quantile = _aggregate(aggregate_text)
    kind: Kind = "latency" if quantile is not None else AGGREGATES[aggregate]
    if not value_text:
        raise ValueError(f"{aggregate_text}{op} has no value")
    relative = _RELATIVE.match(value_text.lower())
    if relative:
        if not relative_allowed:
            raise ValueError("a limit relative to the baseline is allowed in thresholds only")
        percent = float(relative.group("percent") or 0) / 100
        change = -percent if relative.group("sign") == "-" else percent
        if stage is not None or window is not None:
            raise ValueError("a limit relative to the baseline is judged on the whole run: no stage, no window")
        return Threshold(part, aggregate, op, math.nan, selector=selector, quantile=quantile, relative=change)
    limit = _limit(kind, value_text)
    return Threshold(
        text=part,
        aggregate=aggregate,
        operator=op,
        limit=limit,
        selector=selector,
        quantile=quantile,
        stage=stage,
        window=window,
    )


def check_stages(thresholds: Iterable[Threshold], stages: Sequence[str] | None, text: str | None) -> None:
    """``SettingsError`` when a ``[stage=NAME]`` names no stage of the running profile (``stages``;
    ``None`` when no profile runs)."""
    for threshold in thresholds:
        if threshold.stage is None or (stages is not None and threshold.stage in stages):
            continue
        known = f"the profile's stages are {', '.join(dict.fromkeys(stages))}" if stages else "no profile runs"
        close = difflib.get_close_matches(threshold.stage, list(stages or ()), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise _error(
            "thresholds", text or "", f"{threshold.text!r}: no stage named {threshold.stage!r} ({known}){hint}"
        )


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
            raise _error("thresholds", threshold.text, message)
        base = lookup(threshold.selector)
        value, _ = base.measure(threshold) if base is not None else (None, 0)
        if base is None or value is None:
            what = f"requests named {threshold.selector!r}" if threshold.selector else "requests"
            raise _error(setting, source or "", f"the baseline has no {what} for {threshold.text!r}")
        # the fail ratio's percentage is in points; every other aggregate's is relative
        limit = value + threshold.relative if threshold.kind == "ratio" else value * (1 + threshold.relative)
        resolved.append(replace(threshold, limit=limit, baseline=base))
    return tuple(resolved)


def _aggregate(text: str) -> tuple[str, float | None]:
    name = text.lower().replace(" ", "")
    if name in ("med", "median"):
        return "p50", 0.5
    match = _PERCENTILE.match(name)
    if match:
        number = match.group("paren") or match.group("plain")
        percent = float(number)
        if not 0 < percent <= 100:
            raise ValueError(f"percentile {shown(text)} must be above p0 and at most p100")
        return f"p{number}", round(percent / 100, 12)
    if name in AGGREGATES:
        return name, None
    if not name:
        raise ValueError("no aggregate before the comparison; known: " + _known_aggregates())
    close = difflib.get_close_matches(name, list(AGGREGATES), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ValueError(f"unknown aggregate {shown(text)}{hint} (known: {_known_aggregates()})")


def _known_aggregates() -> str:
    return ", ".join(name for name in AGGREGATES if name != "med") + ", or any pNN"


def _limit(kind: Kind, text: str) -> float:
    if kind == "latency":
        if _BARE_NUMBER.match(text):
            raise ValueError(f"latency {shown(text)} needs a unit, e.g. {text}ms or {text}s")
        try:
            seconds: float = parse_duration(text)
        except ValueError as error:
            raise ValueError(f"latency {shown(text)} {error}") from None
        return seconds
    if kind == "ratio":
        try:
            ratio: float = parse_ratio(text)
        except ValueError as error:
            raise ValueError(f"ratio {shown(text)} {error}") from None
        return ratio
    try:
        number = float(text.removesuffix("/s")) if kind == "rate" else float(text)
    except ValueError:
        unit = "requests per second, e.g. 50" if kind == "rate" else "a count, e.g. 1000"
        raise ValueError(f"value {shown(text)} must be a number of {unit}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"value {shown(text)} must be zero or more")
    return number


# ---------------------------------------------------------------------------------------------------
# Measuring


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


def _selected(stats: RequestStats, selector: str | None) -> list[StatsEntry]:
    if selector is None:
        return [stats.total]
    return [entry for entry in stats.entries.values() if selector in (entry.name, f"{entry.method} {entry.name}")]


def sample(stats: RequestStats, selector: str | None = None, *, window: bool = False) -> Sample:
    """The requests matching ``selector`` (all when ``None``), over the whole run or the recent window.

    The window is the last ten seconds or so, the span Locust's "current" figures use: it compares
    each entry with the copy of its distribution Locust keeps for about ten seconds ago.
    """
    entries = _selected(stats, selector)
    return _merge([_window_sample(entry) if window else _run_sample(entry) for entry in entries])


def _merge(parts: Sequence[Sample]) -> Sample:
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


# ---------------------------------------------------------------------------------------------------
# Judging


@dataclass(frozen=True)
class Result:
    """One criterion judged: the measured value (``None`` with no samples) and whether it passed."""

    threshold: Threshold
    value: float | None
    samples: int
    passed: bool
    note: str = ""
    """Why it failed without a value (no samples, no matching request name)."""
    where: str = "run"
    """Where it was measured: ``run``, ``stage steady (1m)``, ``worst of 5 windows of 1m (2m-3m)``."""

    def describe(self) -> str:
        """``p95<500ms: 730ms over 1200 samples (fail)``, for logs and stop reasons."""
        verdict = "pass" if self.passed else "fail"
        measured = self.note
        if self.samples:
            measured = f"{self.threshold.format(self.value)} over {self.samples} samples"
        return f"{self.threshold.text}: {measured} ({verdict})"

    def to_dict(self) -> dict[str, Any]:
        """The result for JSON: values in base units (seconds, fraction, per second, count)."""
        return {
            "threshold": self.threshold.text,
            "selector": self.threshold.selector,
            "aggregate": self.threshold.aggregate,
            "operator": self.threshold.operator,
            "limit": self.threshold.limit,
            "value": self.value,
            "samples": self.samples,
            "passed": self.passed,
            "stage": self.threshold.stage,
            "window_seconds": self.threshold.window,
            "measured": self.where,
            **({"note": self.note} if self.note else {}),
        }


def evaluate(thresholds: Iterable[Threshold], stats: RequestStats, *, window: bool = False) -> tuple[Result, ...]:
    """Judge each criterion on the whole run (or the recent window). No samples means fail."""
    results = []
    for threshold in thresholds:
        measured = sample(stats, threshold.selector, window=window)
        value, samples = measured.measure(threshold)
        if value is None:
            results.append(Result(threshold, None, 0, passed=False, note=_no_samples(threshold, stats)))
        elif threshold.holds(value) or not _significant(threshold, measured):
            note = "" if threshold.holds(value) else "beyond the limit, but not significantly: within noise"
            results.append(Result(threshold, value, samples, passed=True, note=note))
        else:
            results.append(Result(threshold, value, samples, passed=False))
    return tuple(results)


def _significant(threshold: Threshold, measured: Sample) -> bool:
    """Whether a value beyond a baseline-relative limit is more than noise (always, for absolute limits).

    Upper limits on percentiles and on the fail ratio are judged from the two distributions; other
    relative limits compare values only.
    """
    base = threshold.baseline
    if base is None or threshold.relative is None or threshold.operator not in ("<", "<="):
        return True
    if threshold.quantile is not None:
        return dist.quantile_regressed(
            base.response_times, measured.response_times, threshold.quantile, tolerance=threshold.relative
        )
    if threshold.kind == "ratio":
        before, after = (base.failures, base.requests), (measured.failures, measured.requests)
        return dist.proportion_regressed(before, after, tolerance=threshold.relative)
    return True


def _no_samples(threshold: Threshold, stats: RequestStats) -> str:
    if threshold.selector is None or _selected(stats, threshold.selector):
        return "no samples"
    entries = stats.entries.values()
    names = sorted({f"{e.method} {e.name}" for e in entries} | {e.name for e in entries})
    close = difflib.get_close_matches(threshold.selector, names, n=1, cutoff=0.6)
    return f"no request named {threshold.selector!r}" + (f" (closest: {close[0]!r})" if close else "")


def abort_reason(results: Iterable[Result]) -> str | None:
    """Why the run should stop now, judging the run so far; ``None`` while it may still pass.

    Criteria without samples yet, and lower bounds on counts (which only grow), never abort.
    """
    failed = [r for r in results if not r.passed and r.samples and not r.threshold.can_recover()]
    return "; ".join(r.describe() for r in failed) or None


@dataclass
class StopCondition:
    """The breakpoint profile's stop condition: ``None`` while every criterion holds on recent stats.

    Called every tick; a criterion with no recent samples is not judged (no traffic is not a breach).
    The first breach is kept in ``breach`` with the users and throughput at that moment.
    """

    thresholds: tuple[Threshold, ...]
    environment: Environment
    breach: dict[str, Any] | None = field(default=None, init=False)

    def __call__(self) -> str | None:
        """A short description of the breach, or ``None`` while every criterion holds."""
        runner = self.environment.runner
        if runner is None:
            return None
        stats = self.environment.stats
        results = evaluate(self.thresholds, stats, window=True)
        failed = [r for r in results if r.samples and not r.passed]
        if not failed:
            return None
        description = "; ".join(r.describe() for r in failed)
        if self.breach is None:
            recent = sample(stats, window=True)
            self.breach = {
                "description": description,
                "users": runner.user_count,
                "rps": recent.rps,
                "fail_ratio": recent.failures / recent.requests if recent.requests else None,
                "time": time.time(),
                "criteria": [r.to_dict() for r in failed],
            }
        return description


def stop_condition(thresholds: Sequence[Threshold], environment: Environment) -> StopCondition:
    """A stop condition for the breakpoint profile over ``thresholds``, judged on recent statistics."""
    return StopCondition(tuple(thresholds), environment)


# ---------------------------------------------------------------------------------------------------
# The verdict


@dataclass(frozen=True)
class Verdict:
    """The outcome of a run with thresholds: every result, and the reason if it was aborted."""

    results: tuple[Result, ...]
    aborted: str | None = None
    """Set when ``--scenario-abort-on-fail`` stopped the run: the failing criteria at that moment."""

    @property
    def passed(self) -> bool:
        """True when every criterion passed and the run was not aborted."""
        return self.aborted is None and all(r.passed for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when passed, 3 otherwise."""
        return ExitCode.PASSED if self.passed else ExitCode.THRESHOLD_FAILED

    def table(self, run_exit_code: int | None = None) -> str:
        """The verdict as a text table, printed at the end of the run.

        ``run_exit_code`` is the process's code when something more severe than the thresholds
        decided it (an interrupted or inconclusive run): the last line then says so.
        """
        rows = [("threshold", "value", "samples", "measured", "result")]
        for r in self.results:
            value = r.threshold.format(r.value) if r.samples else r.note
            rows.append((r.threshold.text, value, str(r.samples), r.where, "pass" if r.passed else "FAIL"))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [" ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "-" * len(max(lines, key=len)))
        failed = sum(1 for r in self.results if not r.passed)
        if self.passed:
            count = len(self.results)
            summary = f"Thresholds: PASS ({count} of {count} passed), exit code {ExitCode.PASSED:d}"
        else:
            reason = f"aborted during the run: {self.aborted}" if self.aborted else f"{failed} failed"
            summary = f"Thresholds: FAIL ({reason}), exit code {ExitCode.THRESHOLD_FAILED:d}"
        if run_exit_code is not None and run_exit_code != self.exit_code:
            summary = summary.rsplit(", exit code", 1)[0]
            try:
                meaning = ExitCode(run_exit_code).meaning
            except ValueError:
                meaning = "set by another listener"
            summary += f"; the run's exit code is {run_exit_code:d}: {meaning}"
        return "\n".join([*lines, summary])


# ---------------------------------------------------------------------------------------------------
# By stage and by window


def _difference(now: Sample, base: Sample, seconds: float) -> Sample:
    """The requests of ``now`` (a whole-run sample) made since ``base`` was taken ``seconds`` before."""
    distribution = {
        key: count - base.response_times.get(key, 0)
        for key, count in now.response_times.items()
        if count - base.response_times.get(key, 0) > 0
    }
    keys = sorted(distribution)
    requests = now.requests - base.requests
    return Sample(
        requests=requests,
        failures=now.failures - base.failures,
        timed=now.timed - base.timed,
        response_times=distribution,
        total_response_time=now.total_response_time - base.total_response_time,
        min_response_time=float(keys[0]) if keys else None,
        max_response_time=float(keys[-1]) if keys else 0.0,
        rps=requests / seconds if seconds > 0 else 0.0,
    )


def _pool(first: Sample, second: Sample, seconds: float) -> Sample:
    """Two samples of one selector from different periods, as one (their rate over ``seconds`` in all)."""
    pooled = _merge([first, second])
    return Sample(
        pooled.requests,
        pooled.failures,
        pooled.timed,
        pooled.response_times,
        pooled.total_response_time,
        pooled.min_response_time,
        pooled.max_response_time,
        pooled.requests / seconds if seconds > 0 else 0.0,
    )


def _worse(threshold: Threshold, value: float, than: float) -> bool:
    """Whether ``value`` is further on the failing side of the criterion than ``than``."""
    return value > than if threshold.operator in ("<", "<=") else value < than


@dataclass
class _Window:
    start: float
    stage: str
    base: dict[str | None, Sample]


@dataclass
class _WindowRecord:
    judged: int = 0
    failed: int = 0
    worst: Result | None = None


class Timeline:
    """Judges ``[stage=NAME]`` and ``over DURATION`` criteria from what it records once a second.

    ``tick`` is called about once a second during the run with the run time and the current stage.
    It keeps a copy of the statistics only at stage and window boundaries: the requests of a stage
    are the difference between the statistics at its end and at its start (a stage name that occurs
    twice pools both), and each window is judged when it closes, keeping only the worst result. Windows
    start with each stage; a window cut short by the end of its stage or of the run is judged when it
    lasted at least half its length. Criteria without stage or window are judged on the whole run.
    """

    def __init__(self, thresholds: Iterable[Threshold]) -> None:
        self.thresholds = tuple(thresholds)
        timed = [t for t in self.thresholds if t.timed]
        self._selectors = {t.selector for t in timed}
        self._lengths = sorted({t.window for t in timed if t.window is not None})
        self._records = {t: _WindowRecord() for t in timed if t.window is not None}
        self._stage: str | None = None
        self._stage_start = 0.0
        self._stage_base: dict[str | None, Sample] = {}
        self._stages: dict[tuple[str, str | None], tuple[Sample, float]] = {}
        self._closed: set[str] = set()
        self._open: dict[float, _Window] = {}

    def settled(self, threshold: Threshold) -> bool:
        """Whether the criterion's result so far is final enough to abort on: a failed window stays
        failed, but a stage's result can change until the stage is over."""
        if threshold.window is not None or threshold.stage is None:
            return True
        return threshold.stage in self._closed and threshold.stage != self._stage

    def _snapshot(self, stats: RequestStats) -> dict[str | None, Sample]:
        found = {}
        for selector in self._selectors:
            whole = sample(stats, selector)
            found[selector] = Sample(
                whole.requests,
                whole.failures,
                whole.timed,
                dict(whole.response_times),
                whole.total_response_time,
                whole.min_response_time,
                whole.max_response_time,
                whole.rps,
            )
        return found

    def tick(self, elapsed: float, stage: str, stats: RequestStats) -> None:
        """One second of the run: close the stage or the windows that ended."""
        if not self._selectors:
            return
        if stage != self._stage:
            self._close(elapsed, stats)
            self._stage, self._stage_start = stage, elapsed
            self._stage_base = self._snapshot(stats)
            self._open = {length: _Window(elapsed, stage, self._stage_base) for length in self._lengths}
            return
        for length, window in list(self._open.items()):
            if elapsed - window.start >= length:
                now = self._snapshot(stats)
                self._judge_window(length, window, elapsed, now)
                self._open[length] = _Window(elapsed, stage, now)

    def finish(self, elapsed: float, stats: RequestStats) -> None:
        """The run ended: close the current stage and windows."""
        self._close(elapsed, stats)
        self._stage = None
        self._open = {}

    def _close(self, elapsed: float, stats: RequestStats) -> None:
        if self._stage is None:
            return
        now = self._snapshot(stats)
        for key, part in self._stage_parts(now, elapsed).items():
            self._stages[key] = part
        self._closed.add(self._stage)
        for length, window in self._open.items():
            if elapsed - window.start >= length / 2:
                self._judge_window(length, window, elapsed, now)

    def _stage_parts(
        self, now: Mapping[str | None, Sample], elapsed: float
    ) -> dict[tuple[str, str | None], tuple[Sample, float]]:
        """The closed stages' samples with the current stage's so far added."""
        assert self._stage is not None
        seconds = elapsed - self._stage_start
        parts = {}
        for selector in self._selectors:
            part = _difference(now[selector], self._stage_base[selector], seconds)
            key = (self._stage, selector)
            earlier = self._stages.get(key)
            if earlier is not None:
                part, seconds_in_all = _pool(earlier[0], part, earlier[1] + seconds), earlier[1] + seconds
            else:
                seconds_in_all = seconds
            parts[key] = (part, seconds_in_all)
        return parts

    def _judge_window(self, length: float, window: _Window, elapsed: float, now: Mapping[str | None, Sample]) -> None:
        span = f"{format_duration(round(window.start))}-{format_duration(round(elapsed))}"
        for threshold, record in self._records.items():
            if threshold.window != length or threshold.stage not in (None, window.stage):
                continue
            part = _difference(now[threshold.selector], window.base[threshold.selector], elapsed - window.start)
            value, samples = part.measure(threshold)
            if value is None:
                continue  # no traffic in this window: nothing to judge
            record.judged += 1
            passed = threshold.holds(value)
            record.failed += not passed
            if record.worst is None or record.worst.value is None or _worse(threshold, value, record.worst.value):
                record.worst = Result(threshold, value, samples, passed, where=span)

    def results(self, stats: RequestStats, elapsed: float | None = None) -> tuple[Result, ...]:
        """Every criterion judged: timed ones from the record (and the current stage so far when
        ``elapsed`` is given), the others on the whole run."""
        stages = dict(self._stages)
        if elapsed is not None and self._stage is not None and self._selectors:
            stages.update(self._stage_parts(self._snapshot(stats), elapsed))
        results: list[Result] = []
        for threshold in self.thresholds:
            if not threshold.timed:
                results.extend(evaluate([threshold], stats))
            elif threshold.window is not None:
                results.append(self._window_result(threshold))
            else:
                results.append(self._stage_result(threshold, stages))
        return tuple(results)

    def _window_result(self, threshold: Threshold) -> Result:
        record = self._records[threshold]
        where = threshold.where
        if record.worst is None or record.worst.value is None:
            return Result(threshold, None, 0, passed=False, note=f"no {where} window with samples", where=where)
        worst = record.worst
        where = f"worst of {record.judged} windows of {format_duration(threshold.window or 0)} ({worst.where})"
        if threshold.stage is not None:
            where += f" in stage {threshold.stage}"
        if record.failed:
            where += f", {record.failed} failed"
        return Result(threshold, worst.value, worst.samples, passed=record.failed == 0, where=where)

    def _stage_result(
        self, threshold: Threshold, stages: Mapping[tuple[str, str | None], tuple[Sample, float]]
    ) -> Result:
        assert threshold.stage is not None
        found = stages.get((threshold.stage, threshold.selector))
        where = f"stage {threshold.stage}"
        if found is None:
            return Result(threshold, None, 0, passed=False, note=f"no samples in stage {threshold.stage}", where=where)
        part, seconds = found
        where = f"stage {threshold.stage} ({format_duration(round(seconds))})"
        value, samples = part.measure(threshold)
        if value is None:
            return Result(threshold, None, 0, passed=False, note=f"no samples in stage {threshold.stage}", where=where)
        return Result(threshold, value, samples, passed=threshold.holds(value), where=where)
