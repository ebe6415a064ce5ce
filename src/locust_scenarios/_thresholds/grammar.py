"""Threshold expressions: the k6-style grammar of pass/fail criteria, parsed into ``Threshold`` values.

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

Measuring is in ``measure``, judging in ``judging`` and ``timeline``; this module reads only the
option table.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal, Protocol

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import ascii_float, format_duration, parse_duration, parse_ratio, shown

__all__ = [
    "AGGREGATES",
    "Baseline",
    "Kind",
    "Threshold",
    "check_stages",
    "expression_error",
    "format_value",
    "parse",
]


Kind = Literal["latency", "ratio", "rate", "count", "value"]

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
_EQUALITY: Final[Mapping[str, Callable[[float, float], bool]]] = {
    "==": operator.eq,
    "!=": operator.ne,
}
"""Also allowed in ``promql:`` criteria, whose values are often counts that must stay zero."""
_PROMQL_PREFIX = "promql:"
_CRITERION = re.compile(r"^(?P<aggregate>[^<>=!]*?)\s*(?P<operator><=|>=|<|>|==|=|!=)\s*(?P<value>.*)$")
_PERCENTILE = re.compile(r"^p(?:\((?P<paren>[0-9]+(?:\.[0-9]+)?)\)|(?P<plain>[0-9]+(?:\.[0-9]+)?))$")
_BARE_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


class Baseline(Protocol):
    """The baseline's requests a relative limit is judged against (a ``measure.Sample``)."""

    @property
    def requests(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def response_times(self) -> Mapping[int, int]: ...


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
    baseline: Baseline | None = field(default=None, compare=False, repr=False)
    """The baseline's requests behind a relative limit."""
    stage: str | None = None
    """``[stage=NAME]``: judged on the requests made during the stages of that name only."""
    window: float | None = None
    """``over DURATION``: must hold in every window of this many seconds."""
    promql: str | None = None
    """``promql:EXPR OP VALUE``: the PromQL expression judged by Prometheus (``$__range`` not yet expanded)."""
    metric: str | None = None
    """``[metric=NAME]``: judged on the custom metric of that name, not on requests."""
    metric_labels: tuple[tuple[str, str], ...] = ()
    """``[metric=NAME{label="value",...}]``: judged on the label sets with these values only."""
    metric_kind: Kind | None = field(default=None, compare=False)
    """For metric criteria, the unit of the value: ``latency`` when the limit was a duration (``2s``)."""
    population: str | None = None
    """``[population=NAME]``: judged on the requests of that population's users only."""

    @property
    def on_requests(self) -> bool:
        """Whether the criterion is judged from Locust's request statistics (not Prometheus, not a metric)."""
        return self.promql is None and self.metric is None and self.population is None

    @property
    def timed(self) -> bool:
        """Whether the criterion is judged by stage or by window (from the timeline, not the totals)."""
        return self.on_requests and (self.stage is not None or self.window is not None)

    @property
    def where(self) -> str:
        """Where the criterion is measured, for the verdict table: ``run``, ``stage steady``, ``every 1m``."""
        parts = []
        if self.window is not None:
            parts.append(f"every {format_duration(self.window)}")
        if self.stage is not None:
            parts.append(f"stage {self.stage}")
        if self.population is not None:
            parts.insert(0, f"population {self.population}")
        return " in ".join(parts) or "run"

    @property
    def kind(self) -> Kind:
        """What the aggregate measures, which decides the unit of its limit and value."""
        if self.promql is not None:
            return "value"
        if self.metric is not None and self.population is None:
            return self.metric_kind or _METRIC_AGGREGATES.get(self.aggregate, "value")
        return "latency" if self.quantile is not None else AGGREGATES[self.aggregate]

    def holds(self, value: float) -> bool:
        """Whether a measured value satisfies the criterion."""
        return {**_OPERATORS, **_EQUALITY}[self.operator](value, self.limit)

    def can_recover(self) -> bool:
        """Whether a run that fails this criterion so far may still pass it by the end.

        Only lower bounds on counts grow towards passing (``requests>1000``); an abort during the run
        must not fire on them.
        """
        return self.kind == "count" and self.operator in (">", ">=") and self.promql is None

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
    if kind == "value":
        return f"{value:.6g}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


_RELATIVE = re.compile(r"^baseline\s*(?:(?P<sign>[+-])\s*(?P<percent>[0-9]+(?:\.[0-9]+)?)\s*%)?$")


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
            if not threshold.on_requests and setting == "stop_on":
                kinds = "[population=NAME]" if threshold.population is not None else "promql: and [metric=NAME]"
                raise ValueError(f"{kinds} criteria apply to thresholds, not to stop criteria")
            thresholds.append(threshold)
        except ValueError as error:
            where = f"criterion {number} {shown(part)}" if len(parts) > 1 else shown(part)
            raise expression_error(setting, text, f"{where}: {error}") from None
    return tuple(thresholds)


def expression_error(setting: str, text: str | None, message: str) -> SettingsError:
    """The expression of ``setting`` (``thresholds``, ``stop_on``, ``baseline_record``) refused."""
    return SettingsError.invalid(
        setting, text, f"{message} — criteria such as 'p95<500ms,fail_ratio<1%,rps>50,[GET /api/items]p99<1s'"
    )


def _split(text: str, setting: str) -> list[str]:
    """Split on commas outside ``[...]``, so a selected name may contain commas."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    nesting = 0  # ( and { of a PromQL expression
    quote: str | None = None
    for char in text:
        if quote is not None:
            quote = None if char == quote else quote
        elif depth == 1:
            depth = 0 if char == "]" else 1
        elif char in "\"'`" and _PROMQL_PREFIX in "".join(current):
            quote = char
        elif char == "[":
            depth = 1
        elif char in "({":
            nesting += 1
        elif char in ")}":
            nesting = max(0, nesting - 1)
        elif char == "," and nesting == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    for number, part in enumerate(parts, start=1):
        if not part:
            message = f"criterion {number} is empty (two commas in a row or a trailing comma)"
            raise expression_error(setting, text, message)
    return parts


_STAGE_PREFIX = "stage="
_METRIC_PREFIX = "metric="
_POPULATION_PREFIX = "population="
_METRIC_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_SELECTOR = re.compile(r"^(?P<name>[^{]*?)\s*(?:\{(?P<labels>.*)\})?$", re.DOTALL)
_LABEL_MATCHER = re.compile(r'\s*(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE = re.compile(r"\\(.)")
_METRIC_AGGREGATES: Final[Mapping[str, Kind]] = {
    "count": "count",
    "sum": "value",
    "rate": "ratio",
    "value": "value",
    "avg": "value",
    "min": "value",
    "max": "value",
}
"""Aggregates of custom metrics: ``count`` (observations; a counter's total), ``sum``, ``rate`` (the share of
True), ``value`` (a gauge's last value), ``avg``/``min``/``max`` and any percentile (trends)."""
_OVER = re.compile(r"^(?P<criterion>.*?)\s+over\s+(?P<window>\S+)$")


def _brackets(part: str) -> tuple[str | None, str | None, str | None, str]:
    """The request selector (``metric=NAME`` kept as written), the stage and the population of ``[...]``
    prefixes, and the rest."""
    selector = stage = population = None
    rest = part
    while rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ValueError("'[' opens a request name that no ']' closes")
        inside = rest[1:end].strip()
        rest = rest[end + 1 :].strip()
        if inside.startswith(_STAGE_PREFIX):
            if stage is not None:
                raise ValueError("one [stage=...] per criterion; write one criterion for each stage")
            stage = inside.removeprefix(_STAGE_PREFIX).strip()
            if not stage:
                raise ValueError("'[stage=]' names no stage; write the name preview shows, e.g. [stage=steady]")
            continue
        if inside.startswith(_POPULATION_PREFIX):
            if population is not None:
                raise ValueError("one [population=...] per criterion; write one criterion for each population")
            population = inside.removeprefix(_POPULATION_PREFIX).strip()
            if not population:
                raise ValueError("'[population=]' names no population; write its name, e.g. [population=checkout]")
            continue
        if selector is not None:
            raise ValueError("one request selector per criterion; pool requests with Locust's name= instead")
        selector = inside
        if not selector:
            raise ValueError("'[]' selects no request; write a name such as [GET /api/items] or [/api/items]")
    return selector, stage, population, rest


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
    selector, stage, population, rest = _brackets(part)
    if population is not None:
        return _parse_population(part, population, selector, stage, rest)
    if rest.startswith(_PROMQL_PREFIX):
        if selector is not None:
            raise ValueError("a promql: criterion selects its series in PromQL, not with [NAME]; only [stage=NAME]")
        return _parse_promql(part, rest.removeprefix(_PROMQL_PREFIX).strip(), stage)
    metric = None
    if selector is not None and selector.startswith(_METRIC_PREFIX):
        metric, labels = _metric_selector(selector.removeprefix(_METRIC_PREFIX).strip())
        if _OVER.match(rest):
            raise ValueError("custom metrics are judged on the run or a stage, not 'over' windows")
        return replace(_parse_metric(part, metric, stage, rest), metric_labels=labels)
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
        raise expression_error(
            "thresholds", text or "", f"{threshold.text!r}: no stage named {threshold.stage!r} ({known}){hint}"
        )


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
        number = ascii_float(text.removesuffix("/s")) if kind == "rate" else ascii_float(text)
    except ValueError:
        unit = "requests per second, e.g. 50" if kind == "rate" else "a count, e.g. 1000"
        raise ValueError(f"value {shown(text)} must be a number of {unit}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"value {shown(text)} must be zero or more")
    return number


def _parse_promql(part: str, rest: str, stage: str | None) -> Threshold:
    """``promql:EXPR OP VALUE``: the comparison is the last one outside brackets, braces and quotes."""
    found = _last_comparison(rest)
    if found is None:
        raise ValueError("no comparison after the expression; write promql:EXPR<VALUE, e.g. promql:up==1")
    start, op = found
    expression, value_text = rest[:start].strip(), rest[start + len(op) :].strip()
    if not expression:
        raise ValueError("promql: has no expression before the comparison")
    try:
        limit = parse_ratio(value_text) if value_text.endswith("%") else ascii_float(value_text)
    except ValueError:
        raise ValueError(f"the value after {op} must be a number, got {shown(value_text)}") from None
    if not math.isfinite(limit):
        raise ValueError(f"the value after {op} must be a finite number")
    return Threshold(part, "promql", op, limit, stage=stage, promql=expression)


def _last_comparison(text: str) -> tuple[int, str] | None:
    """Where the last comparison outside ``()[]{}`` and quotes starts, and which it is."""
    depth = 0
    quote: str | None = None
    found: tuple[int, str] | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in "<>=!":
            pair = text[index : index + 2]
            op = pair if pair in ("<=", ">=", "==", "!=") else char
            if op in _OPERATORS or op in _EQUALITY:
                found = (index, op)
                index += len(op)
                continue
        index += 1
    return found


def _metric_selector(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``NAME`` or ``NAME{label="value",...}`` (PromQL's equality matchers): the name and the label values."""
    found = _METRIC_SELECTOR.match(text)
    metric = found.group("name") if found else text
    if not _METRIC_NAME.match(metric):
        raise ValueError(f"metric name {shown(metric)} must be letters, digits and _ (as metrics.trend() took it)")
    inside = (found.group("labels") if found else None) or ""
    labels: dict[str, str] = {}
    position = 0
    while inside[position:].strip():
        matcher = _LABEL_MATCHER.match(inside, position)
        if not matcher:
            example = f'{metric}{{region="eu"}}'
            raise ValueError(f'label selection {shown("{" + inside + "}")} must be label="value" pairs, e.g. {example}')
        label, value = (
            matcher.group("label"),
            _UNESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), matcher.group("value")),
        )
        if label in labels:
            raise ValueError(f"label {label!r} is selected twice")
        labels[label] = value
        position = matcher.end()
    return metric, tuple(labels.items())


def _parse_metric(part: str, metric: str, stage: str | None, rest: str) -> Threshold:
    """``[metric=NAME]AGGREGATE OP VALUE``: a custom metric's aggregate against a limit."""
    match = _CRITERION.match(rest)
    if not match:
        raise ValueError("no comparison; write e.g. [metric=checkout]p95<2s or [metric=orders]count>100")
    aggregate_text, op, value_text = (match.group(g).strip() for g in ("aggregate", "operator", "value"))
    if op not in _OPERATORS and op not in _EQUALITY:
        raise ValueError(f"operator {shown(op)} is not supported; use <, <=, >, >=, == or !=")
    name = aggregate_text.lower().replace(" ", "")
    quantile = None
    if name not in _METRIC_AGGREGATES:
        try:
            name, quantile = _aggregate(aggregate_text)
        except ValueError:
            known = ", ".join(_METRIC_AGGREGATES) + ", or any pNN"
            raise ValueError(f"unknown metric aggregate {shown(aggregate_text)} (known: {known})") from None
        if quantile is None:
            raise ValueError(f"{name} applies to requests; a metric takes {', '.join(_METRIC_AGGREGATES)} or pNN")
    if not value_text:
        raise ValueError(f"{aggregate_text}{op} has no value")
    kind = _METRIC_AGGREGATES.get(name, "latency")
    measured_as: Kind | None = None
    if kind == "latency" or (kind == "value" and not _BARE_NUMBER.match(value_text)):
        if _BARE_NUMBER.match(value_text):
            limit = ascii_float(value_text)
        else:
            limit, measured_as = _limit("latency", value_text), "latency"
    else:
        limit = _limit(kind, value_text)
    return Threshold(part, name, op, limit, quantile=quantile, stage=stage, metric=metric, metric_kind=measured_as)


def _parse_population(part: str, population: str, selector: str | None, stage: str | None, rest: str) -> Threshold:
    """``[population=NAME]AGGREGATE OP VALUE``: a request aggregate over one population's requests."""
    if selector is not None:
        raise ValueError("[population=NAME] judges all of that population's requests; no request selector with it")
    if rest.startswith(_PROMQL_PREFIX):
        raise ValueError("a promql: criterion selects its series in PromQL, not with [population=NAME]")
    if _OVER.match(rest):
        raise ValueError("a population's requests are judged on the run or a stage, not 'over' windows")
    threshold = _parse_one(rest)
    if threshold.relative is not None:
        raise ValueError("a limit relative to the baseline applies to the run's requests, not to a population")
    return Threshold(
        text=part,
        aggregate=threshold.aggregate,
        operator=threshold.operator,
        limit=threshold.limit,
        quantile=threshold.quantile,
        stage=stage,
        population=population,
    )
