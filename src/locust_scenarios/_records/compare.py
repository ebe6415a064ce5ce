"""Regression against a baseline: two run records compared request by request.

For each request in both runs: the deltas of p50, p95 and p99, of the fail ratio and of the
throughput, and whether each latency or fail-ratio delta is significant. Significance is decided
from the two full response-time distributions the records keep (``_distributions``): a percentile
regressed when its lower confidence bound in the current run lies above the baseline's upper bound
raised by the tolerance; the fail ratio by a one-sided two-proportion test. Throughput is reported,
not judged (the profile sets it). A significant regression beyond the tolerance makes the exit code 3.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from locust_scenarios import _distributions as dist
from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._thresholds.grammar import format_value

from .report import page

__all__ = ["Comparison", "Delta", "RequestComparison", "compare"]

QUANTILES: Final = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


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
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> tuple[RequestComparison, ...]:
        """The requests that regressed significantly beyond the tolerance."""
        return tuple(r for r in self.requests if r.regressed)

    @property
    def exit_code(self) -> int:
        """3 when some request regressed, else 0."""
        return ExitCode.THRESHOLD_FAILED if self.regressions else ExitCode.PASSED

    def summary(self) -> str:
        """One line: which requests regressed, or that none did."""
        if not self.regressions:
            return f"no significant regression beyond {self.tolerance:.0%} (exit code {ExitCode.PASSED:d})"
        names = ", ".join(
            f"{r.label} ({', '.join(d.figure for d in r.deltas if d.regressed)})" for r in self.regressions
        )
        return f"significant regression beyond {self.tolerance:.0%}: {names} (exit code {self.exit_code:d})"

    def markdown(self) -> str:
        """The comparison as a Markdown table, with the summary line."""
        header = ["request", *(f"{q} before → after" for q in QUANTILES), "fail ratio", "rps", "result"]
        lines = [
            f"### Comparison with baseline {self.baseline_id or '-'} (current {self.current_id or '-'})",
            "",
            f"Tolerance {self.tolerance:.0%} on percentiles, {self.fail_tolerance * 100:g} points on the fail ratio; "
            f"significance level {self.alpha:g} per figure. **{self.summary()}**",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
        ]
        for row in self.requests:
            lines.append("| " + " | ".join(_cells(row)) + " |")
        for name in self.only_baseline:
            lines.append(f"- only in the baseline: {name}")
        for name in self.only_current:
            lines.append(f"- only in the current run: {name}")
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """The comparison as a self-contained HTML page."""
        header = ["request", *(f"{q}" for q in QUANTILES), "fail ratio", "rps", "result"]
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        rows = []
        for row in self.requests:
            cells = _cells(row)
            marks = ["", *(_mark(d) for d in row.deltas), "bad" if row.regressed else "good"]
            rows.append(
                "<tr>"
                + "".join(f'<td class="{m}">{html.escape(c)}</td>' for c, m in zip(cells, marks, strict=True))
                + "</tr>"
            )
        title = f"Comparison with baseline {self.baseline_id or '-'}"
        extra = "".join(f"<li>only in the baseline: {html.escape(n)}</li>" for n in self.only_baseline)
        extra += "".join(f"<li>only in the current run: {html.escape(n)}</li>" for n in self.only_current)
        return page(
            title,
            f'<h1>{html.escape(title)}</h1><div class="meta"><span>current {html.escape(self.current_id or "-")}</span>'
            f"<span>tolerance {self.tolerance:.0%}</span><span>level {self.alpha:g}</span></div>"
            f'<div class="verdict {"fail" if self.regressions else "pass"}">{html.escape(self.summary())}</div>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<ul>{extra}</ul>",
        )


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
    )
