"""Thresholds: k6-style pass/fail criteria over Locust's own statistics, and the verdict they give.

An expression is a comma-separated list of criteria, each ``[SELECTOR]AGGREGATE OPERATOR VALUE``::

    p95<500ms, p99<1s, fail_ratio<1%, rps>50, [GET /api/items]p95<300ms

``SELECTOR`` (optional, in square brackets) limits a criterion to the requests whose name is exactly
the text, or whose method and name, separated by one space, are the text. Commas inside the brackets
belong to the name. Values carry their unit: durations for latency (``500ms``, ``1.5s``), ratios for
``fail_ratio`` (``1%``, ``0.01``), plain numbers for ``rps``, ``requests`` and ``failures``.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from locust.stats import calculate_response_time_percentile

from .exitcodes import ExitCode
from .settings import ScenarioSettings, SettingsError, env_name, option_name, parse_duration, parse_ratio, shown

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.stats import RequestStats, StatsEntry

__all__ = [
    "AGGREGATES",
    "Result",
    "Sample",
    "StopCondition",
    "Threshold",
    "Verdict",
    "abort_reason",
    "evaluate",
    "format_value",
    "parse",
    "run_totals",
    "sample",
    "stop_condition",
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
            thresholds.append(_parse_one(part))
        except ValueError as error:
            where = f"criterion {number} {shown(part)}" if len(parts) > 1 else shown(part)
            raise _error(setting, text, f"{where}: {error}") from None
    return tuple(thresholds)


def _error(setting: str, text: str, message: str) -> SettingsError:
    model = ScenarioSettings
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


def _parse_one(part: str) -> Threshold:
    selector = None
    rest = part
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ValueError("'[' opens a request name that no ']' closes")
        selector = rest[1:end].strip()
        if not selector:
            raise ValueError("'[]' selects no request; write a name such as [GET /api/items] or [/api/items]")
        rest = rest[end + 1 :].strip()
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
    limit = _limit(kind, value_text)
    return Threshold(text=part, aggregate=aggregate, operator=op, limit=limit, selector=selector, quantile=quantile)


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
    parts = [_window_sample(entry) if window else _run_sample(entry) for entry in entries]
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
        else:
            results.append(Result(threshold, value, samples, passed=threshold.holds(value)))
    return tuple(results)


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

    def table(self) -> str:
        """The verdict as a text table, printed at the end of the run."""
        rows = [("threshold", "value", "samples", "result")]
        for r in self.results:
            value = r.threshold.format(r.value) if r.samples else r.note
            rows.append((r.threshold.text, value, str(r.samples), "pass" if r.passed else "FAIL"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [" ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "-" * len(max(lines, key=len)))
        failed = sum(1 for r in self.results if not r.passed)
        if self.passed:
            count = len(self.results)
            summary = f"Thresholds: PASS ({count} of {count} passed), exit code {ExitCode.PASSED:d}"
        else:
            reason = f"aborted during the run: {self.aborted}" if self.aborted else f"{failed} failed"
            summary = f"Thresholds: FAIL ({reason}), exit code {ExitCode.THRESHOLD_FAILED:d}"
        return "\n".join([*lines, summary])
