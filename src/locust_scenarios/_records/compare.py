"""Regression against a baseline: two run records compared request by request.

For each request in both runs: the deltas of p50, p95 and p99, of the fail ratio and of the
throughput, and whether each latency or fail-ratio delta is significant. Significance is decided
from the two full response-time distributions the records keep (``_distributions``): a percentile
regressed when its lower confidence bound in the current run lies above the baseline's upper bound
raised by the tolerance; the fail ratio by a one-sided two-proportion test. Throughput is reported,
not judged (the profile sets it). A significant regression beyond the tolerance makes the exit code 3.

Before any figure, what the two runs have in common: profile, load unit, peak, planned and actual
duration, target host and request mix. Every difference is stated; runs of different profiles or load
units, or without a request in common, cannot be compared at all: the figures are still shown, but the
exit code is 8 (``ExitCode.NOT_COMPARABLE``) whatever they say.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from locust_scenarios import _distributions as dist
from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._thresholds.grammar import format_value

from .page import page, table
from .report import line_text, markdown_text

__all__ = ["Aspect", "Comparison", "Delta", "RequestComparison", "aspects", "compare"]

QUANTILES: Final = {"p50": 0.5, "p95": 0.95, "p99": 0.99}

MIX_POINTS: Final = 0.05
"""A request's share of all requests that moved by this much (5 points) is a different request mix."""

SUMMARY_LIMIT: Final = 600
"""The most characters of the summary line before its exit code (request names can be long)."""

DURATION_CHANGE: Final = 0.2
"""Actual durations that differ by more than this (20%) are stated as a difference."""


@dataclass(frozen=True)
class Aspect:
    """One thing both runs have, in each run: the same or not, and whether a difference makes
    comparing them meaningless (``blocking``)."""

    figure: str
    before: str
    after: str
    differs: bool = False
    blocking: bool = False

    def describe(self) -> str:
        """``profile load → stress``."""
        return f"{self.figure} {self.before} → {self.after}"

    @property
    def verdict(self) -> str:
        """``same``, ``differs`` or ``NOT COMPARABLE``."""
        return "NOT COMPARABLE" if self.blocking else "differs" if self.differs else "same"


@dataclass(frozen=True)
class Delta:
    """One figure before and after, and what the test made of the change."""

    figure: str
    before: float | None
    after: float | None
    regressed: bool = False
    improved: bool = False

    @property
    def change(self) -> float | None:
        """The relative change (0.1 = 10% more); ``None`` without both values or from zero."""
        if self.before is None or self.after is None or self.before == 0:
            return None
        return self.after / self.before - 1


@dataclass(frozen=True)
class RequestComparison:
    """One request's deltas (``method`` ``None`` for all requests together)."""

    method: str | None
    name: str
    deltas: tuple[Delta, ...]
    samples: tuple[int, int]

    @property
    def label(self) -> str:
        """``GET /api/items``, or ``all requests``."""
        return f"{self.method} {self.name}" if self.method else "all requests"

    @property
    def regressed(self) -> bool:
        """Whether any figure got significantly worse beyond the tolerance."""
        return any(d.regressed for d in self.deltas)


@dataclass(frozen=True)
class Comparison:
    """Every request of two runs compared, with the settings of the comparison."""

    baseline_id: str | None
    current_id: str | None
    tolerance: float
    fail_tolerance: float
    alpha: float
    requests: tuple[RequestComparison, ...]
    only_baseline: tuple[str, ...] = ()
    only_current: tuple[str, ...] = ()
    aspects: tuple[Aspect, ...] = ()
    """What the two runs have in common or not: profile, load unit, peak, durations, host, request mix."""
    notes: list[str] = field(default_factory=list)

    @property
    def differences(self) -> tuple[Aspect, ...]:
        """The aspects in which the two runs differ."""
        return tuple(a for a in self.aspects if a.differs)

    @property
    def regressions(self) -> tuple[RequestComparison, ...]:
        """The requests that regressed significantly beyond the tolerance."""
        return tuple(r for r in self.requests if r.regressed)

    @property
    def comparable(self) -> bool:
        """Whether the runs can be compared at all (same profile and load unit, some request in common)."""
        return not any(a.blocking for a in self.aspects)

    @property
    def exit_code(self) -> int:
        """8 when the runs cannot be compared, else 3 when some request regressed, else 0."""
        if not self.comparable:
            return ExitCode.NOT_COMPARABLE
        return ExitCode.THRESHOLD_FAILED if self.regressions else ExitCode.PASSED

    def summary(self) -> str:
        """One line for a terminal: whether the runs compare, what differs, which requests regressed or
        that none did (characters a terminal would act on shown as escapes; long lines cut)."""
        if not self.comparable:
            verdict = f"not comparable: {self._blocking()}; the figures mean nothing"
        elif self.regressions:
            names = ", ".join(
                f"{r.label} ({', '.join(d.figure for d in r.deltas if d.regressed)})" for r in self.regressions
            )
            verdict = f"significant regression beyond {self.tolerance:.0%}: {names}"
        else:
            verdict = f"no significant regression beyond {self.tolerance:.0%}"
        if self.comparable and self.differences:
            verdict += f", but the runs differ: {'; '.join(d.describe() for d in self.differences)}"
        return f"{line_text(verdict, SUMMARY_LIMIT)} (exit code {self.exit_code:d})"

    def _rows(self) -> list[list[str]]:
        """What the runs have in common and how they differ, figure by figure."""
        return [[a.figure, a.before, a.after, a.verdict] for a in self.aspects]

    def _blocking(self) -> str:
        return "; ".join(a.describe() for a in self.aspects if a.blocking)

    def markdown(self) -> str:
        """The comparison as Markdown: what differs between the runs, the table, the summary line."""
        header = ["request", *(f"{q} before → after" for q in QUANTILES), "fail ratio", "rps", "result"]
        lines = [
            markdown_text(f"### Comparison with baseline {self.baseline_id or '-'} (current {self.current_id or '-'})"),
            "",
        ]
        if not self.comparable:
            lines += [
                f"> **Not comparable**: {markdown_text(self._blocking())}. The figures below are shown for "
                f"reference only (exit code {self.exit_code:d}).",
                "",
            ]
        lines += [
            "| figure | baseline | current | |",
            "|---|---|---|---|",
            *("| " + " | ".join(_cell(c) for c in row) + " |" for row in self._rows()),
            "",
            f"Tolerance {self.tolerance:.0%} on percentiles, {self.fail_tolerance:.2%} (in points) on the fail ratio; "
            f"significance level {self.alpha:g} per figure. **{markdown_text(self.summary())}**",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
        ]
        for row in self.requests:
            lines.append("| " + " | ".join(_cell(c) for c in _cells(row)) + " |")
        for name in self.only_baseline:
            lines.append(f"- only in the baseline: {markdown_text(name)}")
        for name in self.only_current:
            lines.append(f"- only in the current run: {markdown_text(name)}")
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """The comparison as a self-contained HTML page."""
        header = ["request", *(f"{q}" for q in QUANTILES), "fail ratio", "rps", "result"]
        rows, marks = [], []
        for row in self.requests:
            rows.append(_cells(row))
            marks.append(["", *(_mark(d) for d in row.deltas), "bad" if row.regressed else "good"])
        title = f"Comparison with baseline {self.baseline_id or '-'}"
        extra = "".join(f"<li>only in the baseline: {html.escape(n)}</li>" for n in self.only_baseline)
        extra += "".join(f"<li>only in the current run: {html.escape(n)}</li>" for n in self.only_current)
        state = "other" if not self.comparable else "fail" if self.regressions else "pass"
        notice = (
            ""
            if self.comparable
            else f'<div class="notice"><strong>Not comparable</strong>: {html.escape(self._blocking())}. '
            "The figures below are shown for reference only.</div>"
        )
        verdicts = [["", "", "", "bad" if a.blocking else "" if a.differs else "good"] for a in self.aspects]
        common = table(("figure", "baseline", "current", ""), self._rows(), verdicts, kind="facts")
        return page(
            title,
            f'<h1>{html.escape(title)}</h1><div class="meta"><span>current {html.escape(self.current_id or "-")}</span>'
            f"<span>tolerance {self.tolerance:.0%}</span><span>level {self.alpha:g}</span></div>"
            f'<div class="verdict {state}">{html.escape(self.summary())}</div>{notice}'
            f"<h2>What the runs have in common</h2>{common}"
            f"<h2>Requests</h2>{table(header, rows, marks)}"
            f"<ul>{extra}</ul>",
        )


def _cell(text: str) -> str:
    return markdown_text(text).replace("|", "\\|")


def _mark(delta: Delta) -> str:
    return "bad" if delta.regressed else "good" if delta.improved else ""


def _change(delta: Delta) -> str:
    change = delta.change
    flag = " ▲ significant" if delta.regressed else " ▼ significant" if delta.improved else ""
    return f"{change:+.1%}{flag}" if change is not None else flag.strip() or "-"


def _cells(row: RequestComparison) -> list[str]:
    cells = [row.label]
    for delta in row.deltas[: len(QUANTILES)]:
        cells.append(
            f"{format_value('latency', delta.before)} → {format_value('latency', delta.after)} ({_change(delta)})"
        )
    fail, rps = row.deltas[len(QUANTILES)], row.deltas[len(QUANTILES) + 1]
    fail_flag = " ▲ significant" if fail.regressed else ""
    cells.append(f"{format_value('ratio', fail.before)} → {format_value('ratio', fail.after)}{fail_flag}")
    cells.append(f"{format_value('rate', rps.before)} → {format_value('rate', rps.after)} ({_change(rps)})")
    cells.append("REGRESSED" if row.regressed else "ok")
    return cells


def _distribution(entry: Mapping[str, Any]) -> dict[int, int]:
    return {int(key): int(count) for key, count in entry.get("response_times") or []}


def _key(entry: Mapping[str, Any]) -> tuple[str | None, str]:
    return entry.get("method"), str(entry["name"])


def _compare_entry(
    before: Mapping[str, Any], after: Mapping[str, Any], *, tolerance: float, fail_tolerance: float, alpha: float
) -> RequestComparison:
    old, new = _distribution(before), _distribution(after)
    deltas = []
    for figure, quantile in QUANTILES.items():
        deltas.append(
            Delta(
                figure,
                before.get(f"{figure}_seconds"),
                after.get(f"{figure}_seconds"),
                regressed=dist.quantile_regressed(old, new, quantile, tolerance=tolerance, alpha=alpha),
                improved=dist.quantile_improved(old, new, quantile, tolerance=tolerance, alpha=alpha),
            )
        )
    counts_before = (int(before["failures"]), int(before["requests"]))
    counts_after = (int(after["failures"]), int(after["requests"]))
    deltas.append(
        Delta(
            "fail_ratio",
            before.get("fail_ratio"),
            after.get("fail_ratio"),
            regressed=dist.proportion_regressed(counts_before, counts_after, tolerance=fail_tolerance, alpha=alpha),
        )
    )
    deltas.append(Delta("rps", before.get("rps"), after.get("rps")))
    return RequestComparison(
        after.get("method"), str(after["name"]), tuple(deltas), (sum(old.values()), sum(new.values()))
    )


def compare(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    tolerance: float = 0.10,
    fail_tolerance: float = 0.01,
    alpha: float = 0.05,
) -> Comparison:
    """Compare two run records request by request, and all requests together.

    ``tolerance`` is the relative rise of a percentile that is accepted (0.10 = 10%),
    ``fail_tolerance`` the rise of the fail ratio in absolute terms (0.01 = one point), ``alpha`` the
    false-positive rate of each significance test.
    """
    before = {_key(e): e for e in baseline.get("requests") or []}
    after = {_key(e): e for e in current.get("requests") or []}
    settings = {"tolerance": tolerance, "fail_tolerance": fail_tolerance, "alpha": alpha}
    rows = [_compare_entry(before[key], after[key], **settings) for key in after if key in before]
    if baseline.get("total") and current.get("total"):
        rows.append(_compare_entry(baseline["total"], current["total"], **settings))
    trends_before, trends_after = _trends(baseline), _trends(current)
    rows += [_compare_entry(trends_before[n], trends_after[n], **settings) for n in trends_after if n in trends_before]

    def names(keys: Sequence[tuple[str | None, str]]) -> tuple[str, ...]:
        return tuple(f"{m} {n}" if m else n for m, n in keys)

    return Comparison(
        baseline_id=baseline.get("run_id"),
        current_id=current.get("run_id"),
        tolerance=tolerance,
        fail_tolerance=fail_tolerance,
        alpha=alpha,
        requests=tuple(rows),
        only_baseline=names([k for k in before if k not in after]),
        only_current=names([k for k in after if k not in before]),
        aspects=aspects(baseline, current),
    )


# ---------------------------------------------------------------------------------------------------
# What the two runs have in common


def _trends(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The record's custom trends as request-like entries (``custom NAME``), compared like requests:
    their distributions are in thousandths of their unit, as response times are in milliseconds."""
    found = {}
    for metric in record.get("custom_metrics") or []:
        if metric.get("kind") != "trend":
            continue
        entry: dict[str, Any] = {"method": "custom", "name": metric["name"], "requests": metric["count"]}
        entry |= {"failures": 0, "fail_ratio": 0.0, "rps": None, "response_times": metric.get("distribution") or []}
        entry |= {f"{figure}_seconds": metric.get(figure) for figure in QUANTILES}
        found[str(metric["name"])] = entry
    return found


def _profile(record: Mapping[str, Any]) -> Mapping[str, Any]:
    scenario = record.get("scenario")
    return scenario if isinstance(scenario, Mapping) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _differs(before: float | None, after: float | None, share: float = 1e-9) -> bool:
    if before is None or after is None:
        return before is not after
    return not math.isclose(before, after, rel_tol=share, abs_tol=1e-9)


def _mix(record: Mapping[str, Any]) -> dict[str, float]:
    """Each request's share of all requests."""
    entries = [e for e in record.get("requests") or [] if isinstance(e, Mapping)]
    total = sum(int(e.get("requests") or 0) for e in entries)
    return {_label(e): int(e.get("requests") or 0) / total for e in entries} if total else {}


def _label(entry: Mapping[str, Any]) -> str:
    method, name = _key(entry)
    return f"{method} {name}" if method else name


def aspects(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[Aspect, ...]:
    """What two runs have in common or not: profile and load unit (another one is blocking), peak,
    planned and actual duration (beyond 20%), target host, and the request mix (a request's share moved
    by 5 points or more; no request in common is blocking)."""
    old, new = _profile(baseline), _profile(current)
    found = [
        _aspect(figure, str(old.get(key) or "none"), str(new.get(key) or "none"), blocking=True)
        for figure, key in (("profile", "name"), ("load unit", "unit"))
    ]
    unit = str(new.get("unit") or "")
    peak = _number(old.get("peak")), _number(new.get("peak"))
    found.append(Aspect("peak", _amount(peak[0], unit), _amount(peak[1], unit), differs=_differs(*peak)))
    planned = _number(old.get("duration_seconds")), _number(new.get("duration_seconds"))
    found.append(Aspect("planned duration", _duration(planned[0]), _duration(planned[1]), differs=_differs(*planned)))
    lasted = _number(baseline.get("duration_seconds")), _number(current.get("duration_seconds"))
    differs = _differs(*lasted, share=DURATION_CHANGE)
    found.append(Aspect("duration", _duration(lasted[0]), _duration(lasted[1]), differs=differs))
    hosts = [str((r.get("generator") or {}).get("host") or "none") for r in (baseline, current)]
    found.append(_aspect("target host", hosts[0], hosts[1]))
    found.append(_mix_aspect(_mix(baseline), _mix(current)))
    return tuple(found)


def _aspect(figure: str, before: str, after: str, *, blocking: bool = False) -> Aspect:
    differs = before != after
    return Aspect(figure, before, after, differs=differs, blocking=blocking and differs)


def _mix_aspect(before: Mapping[str, float], after: Mapping[str, float]) -> Aspect:
    if before and after and not set(before) & set(after):
        return Aspect("request mix", _shares(before), _shares(after), differs=True, blocking=True)
    names = dict.fromkeys([*before, *after])
    moved = [name for name in names if abs(after.get(name, 0.0) - before.get(name, 0.0)) >= MIX_POINTS]
    return Aspect("request mix", _shares(before, moved), _shares(after, moved), differs=bool(moved))


def _shares(mix: Mapping[str, float], names: Sequence[str] = ()) -> str:
    """``GET /a 70%, GET /b 30%``: the named requests (else the largest shares), at most five."""
    chosen = list(names) or sorted(mix, key=lambda name: -mix[name])
    shown = ", ".join(f"{name} {mix.get(name, 0.0):.0%}" for name in chosen[:5])
    more = f" and {len(chosen) - 5} more" if len(chosen) > 5 else ""
    return (shown + more) or "no requests"


def _amount(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:g} {unit}".strip()


def _duration(value: float | None) -> str:
    return format_value("latency", value)
