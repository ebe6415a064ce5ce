"""The generator's verdict from observations: each inconclusive reason, its figures, and 'trust off'."""

from __future__ import annotations

import json

from locust_scenarios import ExitCode, ScenarioSettings
from locust_scenarios._settings.models import load_settings
from locust_scenarios._trust import REASONS, Monitor, Observation, ProcessObservation, Verdict, judge


def settings(**values: object) -> ScenarioSettings:
    """Settings as a run would read them (with ``scenario_trust_*`` option values)."""
    return load_settings(ScenarioSettings, {f"scenario_{k}": v for k, v in values.items()}, env_file=None)


def watch(observations: list[Observation], **values: object) -> Verdict:
    """Feed one observation a second to a monitor and judge the result."""
    chosen = settings(**values)
    monitor = Monitor(chosen)
    for seen in observations:
        monitor.observe(seen)
    return Verdict(monitor.health, judge(monitor.health, chosen))


def local(t: float, cpu: float = 0.1, users: int = 4, planned: float = 4, **extra: object) -> Observation:
    """A local runner's second ``t``: ``users`` of ``planned`` running at ``cpu``."""
    process = ProcessObservation("local", cpu, users, "running")
    return Observation(t, [process], users_planned=planned, users_actual=users, requests=10 * int(t + 1), **extra)  # type: ignore[arg-type]


def test_a_healthy_run_is_trusted() -> None:
    """Low CPU, users on plan, requests made: no reason, exit code 0, figures serialisable."""
    verdict = watch([local(t) for t in range(20)])
    assert verdict.reasons == ()
    assert verdict.exit_code == ExitCode.PASSED
    record = verdict.health.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert abs(record["processes"][0]["cpu_mean"] - 0.1) < 1e-9
    assert "Load generator: OK" in verdict.table()


def test_cpu_above_the_limit_for_more_than_the_share_is_inconclusive() -> None:
    """3 of 20 seconds above 90% is 15% of the run, beyond the default 10%: reason 'cpu' with figures."""
    verdict = watch([local(t, cpu=0.97 if t < 3 else 0.2) for t in range(20)])
    assert [r.reason for r in verdict.reasons] == ["cpu"]
    figures = verdict.reasons[0].to_dict()
    assert figures["process"] == "local"
    assert figures["share"] == 0.15
    assert figures["cpu_max"] == 0.97
    assert verdict.exit_code == ExitCode.INCONCLUSIVE
    assert "INCONCLUSIVE (cpu): local: saturated (CPU above 90% or event loop more than 500ms late) for 15%" in (
        verdict.table()
    )
    assert watch([local(t, cpu=0.97 if t < 3 else 0.2) for t in range(20)], trust_cpu_share="20%").reasons == ()


def test_users_below_the_plan_is_a_tracking_error() -> None:
    """Two of four planned users for the whole run: 50% of the user-seconds missing."""
    verdict = watch([local(t, users=2) for t in range(10)])
    assert [r.reason for r in verdict.reasons] == ["tracking"]
    assert verdict.reasons[0].figures["measure"] == "users"
    assert verdict.reasons[0].figures["error"] == 0.5


def test_open_model_late_dropped_and_missed_iterations() -> None:
    """10 iterations/s planned, 3 started, many late and dropped: both 'tracking' and 'late'."""
    seen = [
        local(t, iterations_rate_planned=10.0, iterations=3 * (t + 1), late=2 * t, dropped=5 * t) for t in range(10)
    ]
    verdict = watch(seen)
    assert [r.reason for r in verdict.reasons] == ["tracking", "late"]
    health = verdict.health
    assert health.iterations_planned == 100
    assert health.iterations_tracking_error == 0.7
    assert verdict.reasons[1].figures == {"late": 18, "dropped": 45, "share": 63 / 75, "limit": 0.1}


def test_a_lost_worker_not_replaced_within_the_grace_is_inconclusive() -> None:
    """Two workers, one lost at 10 s and users at half the plan from then: 'workers' after the grace."""

    def second(t: int) -> Observation:
        lost = t >= 10
        workers = [ProcessObservation("w1", 0.1, 2, "running", 0.5)]
        workers.append(ProcessObservation("w2", 0.0, 0 if lost else 2, "missing" if lost else "running", 1.0))
        return Observation(t, workers, 4, 2 if lost else 4, workers_active=1 if lost else 2, requests=100)

    short = watch([second(t) for t in range(14)], trust_worker_grace="10s", trust_tracking="40%")
    assert short.reasons == ()
    verdict = watch([second(t) for t in range(40)], trust_worker_grace="10s", trust_tracking="40%")
    assert [r.reason for r in verdict.reasons] == ["workers"]
    assert verdict.reasons[0].figures["lost"] == 1
    assert verdict.reasons[0].figures["unreplaced_seconds"] == 30


def test_a_replaced_worker_is_not_a_failure() -> None:
    """Users back on plan within the grace: the worker loss alone does not make the run inconclusive."""

    def second(t: int) -> Observation:
        gap = 10 <= t < 15
        return Observation(t, [], 4, 2 if gap else 4, workers_active=1 if gap else 2, requests=100)

    assert watch([second(t) for t in range(60)]).reasons == ()


def test_no_request_completed_is_inconclusive() -> None:
    """Users ran but nothing completed: reason 'no_requests'."""
    seen = [Observation(t, [], 4, 4, requests=0) for t in range(5)]
    assert [r.reason for r in watch(seen).reasons] == ["no_requests"]


def test_trust_off_restores_the_old_verdict() -> None:
    """--scenario-trust off: figures are still measured, no reason is ever given."""
    verdict = watch([local(t, cpu=1.0, users=0) for t in range(10)], trust="off")
    assert verdict.reasons == ()
    assert verdict.health.processes["local"].cpu_max == 1.0


def test_every_reason_is_listed() -> None:
    """The exporter's reason labels are the reasons judge() can give."""
    assert REASONS == ("cpu", "tracking", "late", "workers", "no_requests")


def test_a_late_event_loop_counts_as_saturated_whatever_the_cpu_figure() -> None:
    """A local runner starved of CPU by a busy machine shows low CPU but wakes late: 'cpu' reason,
    with the gap it was blocked weighted by its length."""
    seen = [local(0, cpu=0.3)]
    seen += [
        Observation(
            t,
            [ProcessObservation("local", 0.3, 4, "running", lag=2.0)],
            4,
            4,
            requests=100,
        )
        for t in range(3, 30, 3)
    ]
    verdict = watch(seen)
    assert [r.reason for r in verdict.reasons] == ["cpu"]
    figures = verdict.reasons[0].figures
    assert figures["loop_lag_max"] == 2.0
    assert figures["cpu_max"] == 0.3
    assert figures["share"] > 0.9
    assert verdict.health.processes["local"].seconds == 28
