"""Judging: each criterion against its measured value, the abort and stop conditions, and the verdict.

Criteria are judged on the whole run at the end (the verdict), on the run so far during it (the
exporter and ``--scenario-abort-on-fail``), or on the last ten seconds or so (the breakpoint profile's
stop condition, built by ``stop_condition``). A criterion with no samples fails the verdict.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from locust_scenarios import _distributions as dist
from locust_scenarios._exitcodes import ExitCode

from .grammar import Threshold
from .measure import Sample, sample, selected

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.stats import RequestStats

__all__ = ["Result", "StopCondition", "Verdict", "abort_reason", "evaluate", "in_order", "stop_condition"]


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
    unjudged: bool = False
    """It could not be judged (Prometheus unreachable, a query error, a timeout): the run is inconclusive,
    never a pass; ``passed`` is then False but the criterion does not count as failed."""

    def describe(self) -> str:
        """``p95<500ms: 730ms over 1200 samples (fail)``, for logs and stop reasons."""
        verdict = "pass" if self.passed else "not judged" if self.unjudged else "fail"
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
            **({"unjudged": True} if self.unjudged else {}),
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


def in_order(thresholds: Iterable[Threshold], results: Iterable[Result]) -> tuple[Result, ...]:
    """``results`` in the order of ``thresholds`` (requests, Prometheus and custom metrics are judged apart)."""
    found = {result.threshold: result for result in results}
    return tuple(found[threshold] for threshold in thresholds if threshold in found)


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
    if threshold.selector is None or selected(stats, threshold.selector):
        return "no samples"
    entries = stats.entries.values()
    names = sorted({f"{e.method} {e.name}" for e in entries} | {e.name for e in entries})
    close = difflib.get_close_matches(threshold.selector, names, n=1, cutoff=0.6)
    return f"no request named {threshold.selector!r}" + (f" (closest: {close[0]!r})" if close else "")


def abort_reason(results: Iterable[Result]) -> str | None:
    """Why the run should stop now, judging the run so far; ``None`` while it may still pass.

    Criteria without samples yet, and lower bounds on counts (which only grow), never abort.
    """
    failed = [r for r in results if not r.passed and r.samples and not r.unjudged and not r.threshold.can_recover()]
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


@dataclass(frozen=True)
class Verdict:
    """The outcome of a run with thresholds: every result, and the reason if it was aborted."""

    results: tuple[Result, ...]
    aborted: str | None = None
    """Set when ``--scenario-abort-on-fail`` stopped the run: the failing criteria at that moment."""

    @property
    def passed(self) -> bool:
        """True when every criterion passed and the run was not aborted."""
        return self.aborted is None and all(r.passed or r.unjudged for r in self.results)

    @property
    def unjudged(self) -> tuple[Result, ...]:
        """The criteria that could not be judged (they make the run inconclusive, exit 5)."""
        return tuple(r for r in self.results if r.unjudged)

    @property
    def exit_code(self) -> int:
        """0 when passed, 3 otherwise."""
        return ExitCode.PASSED if self.passed else ExitCode.THRESHOLD_FAILED

    def table(self, run_exit_code: int | None = None) -> str:
        """The verdict as a text table, printed at the end of the run: each criterion's value and its
        limit (for ``p95<baseline+10%`` the limit computed from the baseline).

        ``run_exit_code`` is the process's code when something more severe than the thresholds
        decided it (an interrupted or inconclusive run): the last line then says so.
        """
        rows = [("threshold", "value", "limit", "samples", "measured", "result")]
        for r in self.results:
            value = r.threshold.format(r.value) if r.samples else r.note
            limit = f"{r.threshold.operator} {r.threshold.format(r.threshold.limit)}"
            result = "pass" if r.passed else "NOT JUDGED" if r.unjudged else "FAIL"
            rows.append((r.threshold.text, value, limit, str(r.samples), r.where, result))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [" ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "-" * len(max(lines, key=len)))
        failed = sum(1 for r in self.results if not r.passed and not r.unjudged)
        if self.passed and self.unjudged:
            count, judged = len(self.results), len(self.results) - len(self.unjudged)
            summary = f"Thresholds: NOT JUDGED ({judged} of {count} passed, {len(self.unjudged)} not judged)"
            summary += f", exit code {ExitCode.INCONCLUSIVE:d}"
        elif self.passed:
            count = len(self.results)
            summary = f"Thresholds: PASS ({count} of {count} passed), exit code {ExitCode.PASSED:d}"
        else:
            reason = f"aborted during the run: {self.aborted}" if self.aborted else f"{failed} failed"
            summary = f"Thresholds: FAIL ({reason}), exit code {ExitCode.THRESHOLD_FAILED:d}"
        own_code = ExitCode.INCONCLUSIVE if self.passed and self.unjudged else self.exit_code
        if run_exit_code is not None and run_exit_code != own_code:
            summary = summary.rsplit(", exit code", 1)[0]
            try:
                meaning = ExitCode(run_exit_code).meaning
            except ValueError:
                meaning = "set by another listener"
            summary += f"; the run's exit code is {run_exit_code:d}: {meaning}"
        return "\n".join([*lines, summary])
