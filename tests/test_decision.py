"""The decision at quitting, from plain facts: the exit code contract, the reasons and the verdict.

``decide`` is a pure function, so each rule of the contract (precedence 2 > 6 > 4 > 3 > 5 > 1 > 0,
"no request completed is never a pass", Locust's own rule when nothing of ours has a say) is
checked here with values alone, without Locust, a clock or a process.
"""

from __future__ import annotations

from typing import Any

import pytest

from locust_scenarios import ExitCode
from locust_scenarios._run.decision import Facts, decide
from locust_scenarios._thresholds.grammar import parse
from locust_scenarios._thresholds.judging import Result, Verdict
from locust_scenarios._trust import GeneratorHealth, Reason
from locust_scenarios._trust import Verdict as GeneratorVerdict


def passing(expression: str = "p95<500ms") -> Verdict:
    """A thresholds verdict in which ``expression`` passed."""
    (threshold,) = parse(expression)
    return Verdict((Result(threshold, 0.2, 100, passed=True),))


def failing(expression: str = "p95<500ms") -> Verdict:
    """A thresholds verdict in which ``expression`` failed."""
    (threshold,) = parse(expression)
    return Verdict((Result(threshold, 0.9, 100, passed=False),))


def saturated() -> GeneratorVerdict:
    """A generator verdict with one reason: a saturated CPU."""
    return GeneratorVerdict(GeneratorHealth(requests=100), (Reason("cpu", "local: saturated", {"share": 0.5}),))


def trusted() -> GeneratorVerdict:
    """A generator verdict with no reason against the load."""
    return GeneratorVerdict(GeneratorHealth(requests=100), ())


def facts(**changes: Any) -> Facts:
    """A completed run of the load profile with 100 requests and no failure, changed by ``changes``."""
    return Facts(**{"run_id": "run-1", "scenario": "load", "requests": 100, **changes})


def test_a_completed_run_whose_thresholds_pass_exits_0() -> None:
    """Every threshold passed in a completed run: exit 0, passed, each result named by its expression."""
    decision = decide(facts(thresholds=passing("p95<500ms"), generator=trusted()))
    assert decision.exit_code == ExitCode.PASSED
    assert decision.verdict["passed"] is True
    assert [result["threshold"] for result in decision.verdict["thresholds"]] == ["p95<500ms"]
    assert decision.reasons == []
    assert decision.warnings == ()


def test_a_failed_threshold_exits_3_naming_it() -> None:
    """A failed threshold: exit 3, and the verdict names the expression that failed."""
    decision = decide(facts(thresholds=failing("fail_ratio<1%"), generator=trusted()))
    assert decision.exit_code == ExitCode.THRESHOLD_FAILED
    assert decision.verdict["passed"] is False
    assert [(r["threshold"], r["passed"]) for r in decision.verdict["thresholds"]] == [("fail_ratio<1%", False)]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"other_code": ExitCode.INVALID_CONFIG, "signalled": True}, ExitCode.INVALID_CONFIG),
        ({"other_code": ExitCode.TOOL_FAILED, "signalled": True}, ExitCode.TOOL_FAILED),
        ({"signalled": True, "thresholds": failing()}, ExitCode.INTERRUPTED),
        ({"signalled": True, "generator": saturated()}, ExitCode.INTERRUPTED),
        ({"thresholds": failing(), "generator": saturated()}, ExitCode.THRESHOLD_FAILED),
        ({"thresholds": passing(), "generator": saturated()}, ExitCode.INCONCLUSIVE),
        ({"generator": saturated(), "failed_requests": True}, ExitCode.INCONCLUSIVE),
        ({"thresholds": passing(), "other_code": ExitCode.THRESHOLD_FAILED}, ExitCode.THRESHOLD_FAILED),
        ({"thresholds": passing(), "other_code": ExitCode.REQUEST_FAILED}, ExitCode.REQUEST_FAILED),
    ],
    ids=[
        "invalid-over-interrupted",
        "tool-over-interrupted",
        "interrupted-over-threshold",
        "interrupted-over-inconclusive",
        "threshold-over-inconclusive",
        "inconclusive-over-pass",
        "inconclusive-over-request-failed",
        "another-listeners-3-is-kept",
        "another-listeners-1-is-kept",
    ],
)
def test_the_most_severe_code_wins(changes: dict[str, Any], expected: int) -> None:
    """Several codes apply: the most severe by 2 > 6 > 4 > 3 > 5 > 1 > 0 wins, a code another listener
    set included (locust-plugins' checks set 3)."""
    decision = decide(facts(**changes))
    assert decision.exit_code == expected
    assert decision.verdict["exit_code"] == expected


def test_without_thresholds_the_exit_code_is_left_to_locust() -> None:
    """No thresholds, nothing inconclusive, not interrupted: the process's code stays Locust's (``None``),
    and the verdict states what Locust will use: its exit code on error when a request failed, else 0."""
    clean = decide(facts(generator=trusted()))
    assert clean.exit_code is None
    assert (clean.verdict["exit_code"], clean.verdict["passed"]) == (ExitCode.PASSED, True)
    failed = decide(facts(generator=trusted(), failed_requests=True, exit_code_on_error=7))
    assert failed.exit_code is None
    assert (failed.verdict["exit_code"], failed.verdict["passed"]) == (7, False)
    earlier = decide(facts(generator=trusted(), other_code=ExitCode.THRESHOLD_FAILED))
    assert earlier.exit_code is None
    assert earlier.verdict["exit_code"] == ExitCode.THRESHOLD_FAILED


def test_no_request_completed_is_never_a_pass() -> None:
    """A run in which no request completed: inconclusive (5) without thresholds, even when the generator
    was not judged; with thresholds their zero-sample failure decides (3)."""
    alone = decide(facts(requests=0))
    assert alone.exit_code == ExitCode.INCONCLUSIVE
    assert [reason["reason"] for reason in alone.reasons] == ["no_requests"]
    (threshold,) = parse("p95<500ms")
    unmeasured = Verdict((Result(threshold, None, 0, passed=False, note="no samples"),))
    judged = decide(facts(requests=0, thresholds=unmeasured))
    assert judged.exit_code == ExitCode.THRESHOLD_FAILED
    assert judged.verdict["passed"] is False


def test_the_generators_no_request_reason_is_not_repeated() -> None:
    """When the generator's verdict already says no request completed, the reason is listed once."""
    empty = GeneratorVerdict(GeneratorHealth(), (Reason("no_requests", "no request completed during the run"),))
    decision = decide(facts(requests=0, generator=empty))
    assert [reason["reason"] for reason in decision.reasons] == ["no_requests"]


def test_a_run_that_never_started_is_interrupted() -> None:
    """No run started (a signal while a master waited for its workers): exit 4, said so, and no
    reason about requests (there was no run to measure)."""
    decision = decide(facts(started=False, requests=0, signalled=True))
    assert decision.exit_code == ExitCode.INTERRUPTED
    assert decision.verdict["interrupted"] is True
    assert decision.reasons == []
    assert decision.warnings == ("interrupted before any run started: exit code 4",)


@pytest.mark.parametrize("changes", [{"running": True}, {"profile_unfinished": True}, {"signalled": True}])
def test_a_run_that_did_not_complete_its_profile_is_interrupted(changes: dict[str, Any]) -> None:
    """Users still running, a profile that did not reach its end, or a signal: exit 4 even when every
    threshold passed, with a warning naming the profile."""
    decision = decide(facts(thresholds=passing(), generator=trusted(), **changes))
    assert decision.exit_code == ExitCode.INTERRUPTED
    assert decision.verdict["passed"] is False
    assert decision.warnings == ("the load profile was interrupted before it completed: exit code 4",)


def test_a_breakpoint_run_is_judged_by_where_it_broke() -> None:
    """Stop criteria without thresholds: the run passes (0) even with failed requests; the breach is kept."""
    breach = {"description": "p95<100ms failed", "users": 40, "rps": 120.0}
    decision = decide(facts(stop_criteria=True, breach=breach, failed_requests=True, generator=trusted()))
    assert decision.exit_code == ExitCode.PASSED
    assert decision.verdict["breach"] == breach


def test_a_worker_lost_without_rebalancing_makes_the_run_inconclusive() -> None:
    """A lost worker without ``--enable-rebalancing``: its users were never restarted, so exit 5 naming
    the worker; with rebalancing it is listed but is no reason by itself."""
    lost = decide(facts(workers_lost=("worker-b",), generator=trusted()))
    assert lost.exit_code == ExitCode.INCONCLUSIVE
    assert [(r["reason"], r["workers"]) for r in lost.reasons] == [("workers_lost", ["worker-b"])]
    rebalanced = decide(facts(workers_lost=("worker-b",), rebalancing=True, generator=trusted()))
    assert rebalanced.exit_code is None
    assert rebalanced.verdict["workers_lost"] == ["worker-b"]
    assert rebalanced.reasons == []


def test_a_worker_that_quit_had_its_users_started_elsewhere() -> None:
    """A worker that quit (the master no longer lists it) is no reason by itself, rebalancing or not:
    Locust started its users on the others, and a warning says so; a worker that went missing in the
    same run is still a reason, named alone, with what Locust did not do."""
    quit_only = decide(facts(workers_lost=("worker-b",), workers_left=("worker-b",), generator=trusted()))
    assert quit_only.exit_code is None
    assert quit_only.reasons == []
    assert quit_only.verdict["workers_lost"] == ["worker-b"]
    assert quit_only.warnings == (
        "1 worker(s) quit during the run (worker-b); Locust started their users on the remaining workers",
    )
    both = decide(facts(workers_lost=("worker-b", "worker-c"), workers_left=("worker-b",), generator=trusted()))
    assert both.exit_code == ExitCode.INCONCLUSIVE
    [reason] = both.reasons
    assert reason["workers"] == ["worker-c"]
    assert reason["detail"].startswith("1 worker(s) stopped answering during the run; without --enable-rebalancing")
    assert "Locust does not restart a missing worker's users on the others" in reason["detail"]


def test_a_lost_worker_the_generator_named_is_one_reason() -> None:
    """The generator's ``workers`` reason already covers a lost worker: no second reason for it."""
    named = GeneratorVerdict(GeneratorHealth(requests=100), (Reason("workers", "1 worker(s) lost", {"lost": 1}),))
    decision = decide(facts(workers_lost=("worker-b",), generator=named))
    assert [reason["reason"] for reason in decision.reasons] == ["workers"]


def test_the_verdict_carries_the_runs_times_and_the_generators_figures() -> None:
    """The verdict's times are ISO 8601 from the statistics' first and last request; the generator's
    figures are its health as the summary states it."""
    decision = decide(facts(first_request=1_700_000_000.0, last_request=1_700_000_030.5, generator=trusted()))
    assert decision.verdict["started"] == "2023-11-14T22:13:20+00:00"
    assert decision.verdict["duration_seconds"] == 30.5
    assert decision.verdict["generator"] == GeneratorHealth(requests=100).to_dict()
    assert decide(facts()).verdict["duration_seconds"] is None
