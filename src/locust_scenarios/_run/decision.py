"""The decision at quitting: the facts of a run in, the exit code, the reasons and the verdict out.

A pure function of plain values, like ``trust.judge``: nothing here reads Locust, a clock or the
environment, so every rule of the exit-code contract is tested with values alone.

- **Interrupted** (4): a signal arrived before the run completed, no run started, the runner is still
  running, or the profile started and did not complete.
- **Thresholds** (3 or 0): their verdict, when thresholds are configured. A breakpoint's stop
  criteria without thresholds pass: that run is judged by where it broke, not by its failures.
- **Inconclusive** (5): the generator's reasons, then a worker that went missing without rebalancing
  (one that quit had its users started on the others), then "no request completed": a run in which
  no request completed is never a pass.
- **Locust's own rule** when none of these has a say: the exit code is left to Locust (``None``), and
  the verdict states the code Locust will use (1 when a request failed, else 0, unless another
  listener set one).
- A code another listener set (locust-plugins' checks set 3) is never masked by a less severe one.
  Precedence of the codes a run can give: 2 > 4 > 3 > 5 > 1 > 0 (``exitcodes.PRECEDENCE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from locust_scenarios._exitcodes import ExitCode, most_severe
from locust_scenarios._thresholds.judging import Verdict
from locust_scenarios._trust import Verdict as GeneratorVerdict

__all__ = ["Decision", "Facts", "decide"]


@dataclass(frozen=True)
class Facts:
    """Everything the verdict at quitting depends on, as plain values."""

    run_id: str
    scenario: str | None = None
    """The profile's name (``None``: the locustfile has no profile of ours)."""
    started: bool = True
    """A run started in this process (``test_start``)."""
    signalled: bool = False
    """A signal asked the process to stop before the run completed."""
    running: bool = False
    """The runner was still spawning or running users."""
    profile_unfinished: bool = False
    """The profile started and did not reach its end."""
    thresholds: Verdict | None = None
    """The thresholds' verdict (``None``: no thresholds configured)."""
    generator: GeneratorVerdict | None = None
    """The load generator's verdict (``None``: not observed, e.g. no run started)."""
    stop_criteria: bool = False
    """A breakpoint's stop criteria judged the run."""
    breach: Mapping[str, Any] | None = None
    workers_lost: tuple[str, ...] = ()
    workers_left: tuple[str, ...] = ()
    """The lost workers the master no longer lists (they quit, or went missing long enough to be
    removed): Locust starts their users on the remaining workers at once, rebalancing or not."""
    rebalancing: bool = False
    """``--enable-rebalancing``: a missing worker's users are started on the others too."""
    other_code: int | None = None
    """An exit code another listener set before ours (``environment.process_exit_code``)."""
    requests: int = 0
    """Requests completed in the run (failures included)."""
    failed_requests: bool = False
    """Locust counted errors or exceptions (its own rule then exits ``exit_code_on_error``)."""
    exit_code_on_error: int = ExitCode.REQUEST_FAILED
    first_request: float | None = None
    """When the run's statistics started (a UNIX timestamp)."""
    last_request: float | None = None


@dataclass(frozen=True)
class Decision:
    """The exit code, the reasons behind it and the verdict as the run record and the summary state it."""

    exit_code: int | None
    """The process's exit code; ``None`` leaves it to Locust's own rule."""
    verdict: dict[str, Any]
    """Run id, scenario, exit code, passed, interrupted, aborted, inconclusive reasons, lost workers,
    threshold results, the generator's figures, the breach and the run's times (the summary less its
    totals, which the record computes from the statistics)."""
    warnings: tuple[str, ...] = field(default=())
    """What to tell the operator besides the verdict (workers that quit, why the run counts as
    interrupted)."""

    @property
    def reasons(self) -> list[dict[str, Any]]:
        """Why the run is inconclusive, one entry per reason (empty: it is not)."""
        reasons: list[dict[str, Any]] = self.verdict["inconclusive"]
        return reasons


def decide(facts: Facts) -> Decision:
    """The exit code, the reasons and the verdict of a run, from its facts."""
    interrupted = facts.signalled or not facts.started or facts.running or facts.profile_unfinished
    reasons = inconclusive(facts)
    codes: list[int] = []
    if interrupted:
        codes.append(ExitCode.INTERRUPTED)
    if facts.thresholds is not None:
        codes.append(facts.thresholds.exit_code)
    elif facts.stop_criteria:
        codes.append(ExitCode.PASSED)
    if reasons:
        codes.append(ExitCode.INCONCLUSIVE)
    exit_code = most_severe(*codes, facts.other_code) if codes else None
    stated = exit_code if exit_code is not None else _locust_rule(facts)
    verdict = {
        "run_id": facts.run_id,
        "scenario": facts.scenario,
        "exit_code": stated,
        "passed": stated == ExitCode.PASSED,
        "interrupted": interrupted,
        "aborted": facts.thresholds.aborted if facts.thresholds is not None else None,
        "inconclusive": reasons,
        "workers_lost": list(facts.workers_lost),
        "thresholds": [result.to_dict() for result in facts.thresholds.results] if facts.thresholds else [],
        "generator": facts.generator.health.to_dict() if facts.generator is not None else None,
        "breach": dict(facts.breach) if facts.breach else None,
        "started": _iso(facts.first_request),
        "ended": _iso(facts.last_request),
        "duration_seconds": _duration(facts),
    }
    return Decision(exit_code, verdict, _warnings(facts, interrupted))


def inconclusive(facts: Facts) -> list[dict[str, Any]]:
    """Why the run's measurements cannot be trusted, one entry per reason (empty: none, or no run).

    The generator's verdict (``trust.judge``: CPU, tracking, late iterations, workers not replaced in
    time, no request), then a worker that went missing without ``--enable-rebalancing`` (Locust does
    not start its users elsewhere, so the plan cannot be met), then thresholds that could not be
    judged (their Prometheus unreachable, a query error or a timeout), then a run in which no request
    completed. A worker that quit is no reason by itself: Locust started its users on the others,
    and the generator's tracking judges whether they came back.
    """
    reasons = [reason.to_dict() for reason in facts.generator.reasons] if facts.generator else []
    named = {reason["reason"] for reason in reasons}
    missing = [worker for worker in facts.workers_lost if worker not in facts.workers_left]
    if missing and not facts.rebalancing and "workers" not in named:
        reasons.append(
            {
                "reason": "workers_lost",
                "detail": f"{len(missing)} worker(s) stopped answering during the run; without "
                "--enable-rebalancing Locust does not restart a missing worker's users on the others",
                "workers": missing,
            }
        )
    unjudged = facts.thresholds.unjudged if facts.thresholds is not None else ()
    if unjudged:
        reasons.append(
            {
                "reason": "thresholds_not_judged",
                "detail": f"{len(unjudged)} threshold(s) could not be judged: "
                + "; ".join(f"{r.threshold.text}: {r.note}" for r in unjudged),
                "thresholds": [r.threshold.text for r in unjudged],
            }
        )
    if facts.started and facts.requests == 0 and "no_requests" not in named:
        reasons.append({"reason": "no_requests", "detail": "no request completed during the run", "requests": 0})
    return reasons


def _locust_rule(facts: Facts) -> int:
    """The code Locust exits with when we leave it the decision."""
    if facts.other_code is not None:
        return facts.other_code
    return facts.exit_code_on_error if facts.failed_requests else ExitCode.PASSED


def _warnings(facts: Facts, interrupted: bool) -> tuple[str, ...]:
    left = tuple(worker for worker in facts.workers_lost if worker in facts.workers_left)
    said = (
        (
            f"{len(left)} worker(s) quit during the run ({', '.join(left)}); Locust started their users "
            "on the remaining workers",
        )
        if left
        else ()
    )
    if not interrupted:
        return said
    if not facts.started:
        return (*said, f"interrupted before any run started: exit code {ExitCode.INTERRUPTED:d}")
    what = f"the {facts.scenario} profile" if facts.scenario is not None else "the run"
    return (*said, f"{what} was interrupted before it completed: exit code {ExitCode.INTERRUPTED:d}")


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


def _duration(facts: Facts) -> float | None:
    if not facts.first_request:
        return None
    return max(0.0, (facts.last_request or facts.first_request) - facts.first_request)
