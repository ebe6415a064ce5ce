"""``promql:EXPR OP VALUE`` criteria: the system under test judged by its own Prometheus.

``Prometheus`` is a small client over Prometheus' HTTP API with the standard library (no new
dependency): a bearer token or basic auth read from the settings (never echoed: messages name the
URL and Prometheus' own error only), an optional CA bundle and a timeout. ``SystemJudge`` evaluates
the criteria with ``$__range`` expanded to the length of the run so far (or of the scoped stage), at
the end of the run and, cached, while it runs.

An unreachable Prometheus, a query error or a timeout leaves the criterion *not judged*, which makes
the run inconclusive (exit 5), never a pass. An empty result fails like a criterion with no samples.
"""

from __future__ import annotations

import base64
import json
import math
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from locust_scenarios._settings.options import format_duration

from .grammar import Threshold
from .judging import Result

__all__ = ["RANGE", "Prometheus", "PrometheusError", "SystemJudge", "expand"]

RANGE: Final = "$__range"
"""Replaced by the run's (or the scoped stage's) length in whole seconds, as Grafana's variable is."""

_REFRESH_SECONDS: Final = 5.0
"""During the run, results are queried again at most this often (the exporter and the abort watcher
ask every second)."""


class PrometheusError(Exception):
    """A query that did not give a result: ``unavailable`` (connection, timeout, HTTP 5xx, auth) or a
    query error (``bad_data``: the expression is wrong)."""

    def __init__(self, message: str, *, unavailable: bool) -> None:
        super().__init__(message)
        self.unavailable = unavailable


def expand(expression: str, seconds: float) -> str:
    """``expression`` with ``$__range`` replaced by ``seconds`` rounded up to whole seconds (at least 1s)."""
    return expression.replace(RANGE, f"{max(1, math.ceil(seconds))}s")


@dataclass(frozen=True)
class Prometheus:
    """Prometheus' HTTP API at ``url`` (``/api/v1/...`` below it), with its credentials."""

    url: str
    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    timeout: float = 10.0

    def _call(self, path: str, params: Mapping[str, str]) -> Any:
        """POST ``params`` to ``path``; the ``data`` of a successful reply (``PrometheusError`` otherwise)."""
        request = urllib.request.Request(  # noqa: S310  (http or https: the settings check the URL)
            f"{self.url}{path}",
            data=urllib.parse.urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        elif self.user is not None:
            pair = f"{self.user}:{self.password or ''}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode("ascii"))
        context = ssl.create_default_context(cafile=self.ca_bundle) if self.url.startswith("https:") else None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as response:  # noqa: S310
                reply = json.loads(response.read())
        except urllib.error.HTTPError as error:
            reply = _json_or_none(error.read())
            if error.code in (400, 422) and isinstance(reply, dict) and reply.get("errorType"):
                raise PrometheusError(str(reply.get("error") or reply["errorType"]), unavailable=False) from None
            raise PrometheusError(f"{self.url} answered HTTP {error.code} to {path}", unavailable=True) from None
        except (OSError, ValueError) as error:  # refused, unreachable, timed out, TLS, not JSON
            reason = getattr(error, "reason", None) or error
            raise PrometheusError(f"{self.url} did not answer {path}: {reason}", unavailable=True) from None
        if not isinstance(reply, dict) or reply.get("status") != "success":
            message = reply.get("error") if isinstance(reply, dict) else None
            raise PrometheusError(str(message or f"{self.url} gave no result for {path}"), unavailable=False)
        return reply.get("data")

    def check(self, expression: str) -> None:
        """Prometheus' own parser on ``expression`` (``/api/v1/parse_query``; where that API is missing,
        as in Prometheus before 2.47, an instant query at time 0, which parses but finds no data)."""
        try:
            self._call("/api/v1/parse_query", {"query": expression})
        except PrometheusError as error:
            if not error.unavailable:
                raise
            self._call("/api/v1/query", {"query": expression, "time": "0"})

    def values(self, expression: str, at: float) -> list[float]:
        """The values of an instant query at ``at`` (a UNIX time): one per series, or one scalar."""
        data = self._call("/api/v1/query", {"query": expression, "time": f"{at:.3f}"})
        kind, result = data.get("resultType"), data.get("result")
        if kind in ("scalar", "string"):
            return [float(result[1])]
        if kind == "vector":
            return [float(series["value"][1]) for series in result]
        if kind == "matrix":
            message = "the expression gives a range vector; wrap it, e.g. max_over_time(...)"
            raise PrometheusError(message, unavailable=False)
        return []


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _worst(threshold: Threshold, values: Iterable[float]) -> float:
    """The value furthest on the failing side of the criterion (every series must hold)."""
    found = list(values)
    if any(math.isnan(value) for value in found):
        return math.nan
    if threshold.operator in ("<", "<="):
        return max(found)
    if threshold.operator in (">", ">="):
        return min(found)
    failing = [value for value in found if not threshold.holds(value)]
    return (failing or found)[0]


@dataclass
class SystemJudge:
    """Judges the run's ``promql:`` criteria against ``prometheus``.

    ``start`` at the run's start and ``tick`` once a second with the current stage record when each
    stage ran (wall-clock times); ``results`` judges each criterion over the run so far, or over each
    time its stage ran (the worst of them), with ``$__range`` the length judged.
    """

    thresholds: tuple[Threshold, ...]
    prometheus: Prometheus
    clock: Callable[[], float] = field(default=time.time, repr=False)
    _start: float | None = field(default=None, init=False)
    _spans: list[tuple[str, float, float]] = field(default_factory=list, init=False)
    _cached: tuple[float, tuple[Result, ...]] | None = field(default=None, init=False)
    _final: tuple[Result, ...] | None = field(default=None, init=False)

    def start(self) -> None:
        """A run starts: forget the last one."""
        self._start = self.clock()
        self._spans = []
        self._cached = self._final = None

    def tick(self, stage: str) -> None:
        """One second of the run in ``stage``: extend its span or open the next."""
        now = self.clock()
        if self._spans and self._spans[-1][0] == stage:
            name, begun, _ = self._spans[-1]
            self._spans[-1] = (name, begun, now)
        else:
            self._spans.append((stage, now, now))

    def results(self, *, final: bool = False) -> tuple[Result, ...]:
        """Each criterion judged now: at the end once for good (``final``), during the run at most every
        few seconds (the earlier results in between)."""
        if self._final is not None:
            return self._final
        now = self.clock()
        if not final and self._cached is not None and now - self._cached[0] < _REFRESH_SECONDS:
            return self._cached[1]
        results = tuple(self._judge(threshold, now, final) for threshold in self.thresholds)
        if final:
            self._final = results
        self._cached = (now, results)
        return results

    def _judge(self, threshold: Threshold, now: float, final: bool) -> Result:
        if threshold.stage is None:
            start = self._start if self._start is not None else now
            return self._judge_span(threshold, start, now, "run")
        spans = [(begun, end) for name, begun, end in self._spans if name == threshold.stage]
        if self._spans and self._spans[-1][0] == threshold.stage:
            spans[-1] = (spans[-1][0], now)
            if not final:
                spans = spans[:-1]  # the stage is still running: judged once it is over
        if not spans:
            note = f"stage {threshold.stage} has not run" + ("" if final else " to its end yet")
            return Result(threshold, None, 0, passed=False, note=note, where=f"stage {threshold.stage}")
        judged = [self._judge_span(threshold, begun, end, f"stage {threshold.stage}") for begun, end in spans]
        failed = [result for result in judged if not result.passed]
        return (failed or judged)[-1]

    def _judge_span(self, threshold: Threshold, start: float, end: float, where: str) -> Result:
        assert threshold.promql is not None
        seconds = max(1.0, end - start)
        where = f"{where} ({format_duration(max(1, math.ceil(seconds)))})"
        try:
            values = self.prometheus.values(expand(threshold.promql, seconds), end)
        except PrometheusError as error:
            return Result(threshold, None, 0, passed=False, note=str(error), where=where, unjudged=True)
        if not values:
            return Result(threshold, None, 0, passed=False, note="empty result: no series", where=where)
        value = _worst(threshold, values)
        if math.isnan(value):
            return Result(threshold, None, len(values), passed=False, note="the result is NaN", where=where)
        return Result(threshold, value, len(values), passed=threshold.holds(value), where=where)
