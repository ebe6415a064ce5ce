"""The generator's verdict from observations: each inconclusive reason, the CPU warning, 'trust off',
and the probe that measures a process's own loop lag and CPU."""

from __future__ import annotations

import json
import time

import gevent
import pytest

from locust_scenarios import ExitCode, ScenarioSettings
from locust_scenarios._run.probe import Probe, Reading
from locust_scenarios._run.startup import _default_options_once
from locust_scenarios._settings.models import load_settings
from locust_scenarios._trust import REASONS, WARNINGS, Monitor, Observation, ProcessObservation, Verdict, verdict


def settings(**values: object) -> ScenarioSettings:
    """Settings as a run would read them (with ``scenario_trust_*`` option values)."""
    return load_settings(ScenarioSettings, {f"scenario_{k}": v for k, v in values.items()}, env_file=None)


def watch(observations: list[Observation], **values: object) -> Verdict:
    """Feed one observation a second to a monitor and judge the result."""
    chosen = settings(**values)
    monitor = Monitor(chosen)
    for seen in observations:
        monitor.observe(seen)
    return verdict(monitor.health, chosen)


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


def test_high_cpu_alone_is_a_warning_not_a_reason() -> None:
    """3 of 20 seconds above 90% CPU with the loop on time: a 'cpu' warning with figures, exit code 0."""
    seen = [local(t, cpu=0.97 if t < 3 else 0.2) for t in range(20)]
    judged = watch(seen)
    assert judged.reasons == ()
    assert judged.exit_code == ExitCode.PASSED
    assert [w.reason for w in judged.warnings] == ["cpu"]
    figures = judged.warnings[0].to_dict()
    assert figures["process"] == "local"
    assert figures["share"] == 0.15
    assert figures["cpu_max"] == 0.97
    table = judged.table()
    assert "WARNING (cpu): local: CPU above 90% for 15% of the run (max 97%)" in table
    assert table.endswith("Load generator: OK")
    assert judged.to_dict()["warnings"][0]["reason"] == "cpu"
    assert watch(seen, trust_cpu_share="20%").warnings == ()
    assert watch(seen, trust="off").warnings == ()


def test_a_run_at_full_cpu_with_its_plan_met_passes() -> None:
    """The case that cried wolf: 100% CPU for the whole run, the plan met, the loop a few ms late."""
    seen = [
        Observation(
            t,
            [ProcessObservation("local", 0.998, 50, "running", lag=0.004, lag_max=0.02)],
            50,
            50,
            requests=9000 * (t + 1),
        )
        for t in range(30)
    ]
    judged = watch(seen)
    assert judged.reasons == ()
    assert [w.reason for w in judged.warnings] == ["cpu"]
    assert abs((judged.health.processes["local"].lag_mean or 0) - 0.004) < 1e-9


def test_users_below_the_plan_is_a_tracking_error() -> None:
    """Two of four planned users for the whole run: 50% of the user-seconds missing."""
    verdict = watch([local(t, users=2) for t in range(10)])
    assert [r.reason for r in verdict.reasons] == ["tracking"]
    assert verdict.reasons[0].figures["measure"] == "users"
    assert verdict.reasons[0].figures["error"] == 0.5


def test_a_population_below_its_plan_is_a_tracking_error_though_the_run_total_is_met() -> None:
    """The run's users match the plan, but checkout ran 1 of its 2 users: its own tracking fails it."""
    mix = {"browse": (2.0, 3.0), "checkout": (2.0, 1.0)}
    verdict = watch([local(t, populations=mix) for t in range(10)])
    assert [r.reason for r in verdict.reasons] == ["tracking"]
    assert verdict.reasons[0].figures["measure"] == "population checkout's users"
    assert verdict.reasons[0].figures["error"] == 0.5
    assert verdict.health.to_dict()["users"]["populations"] == {"browse": 0.0, "checkout": 0.5}
    assert "population checkout: 50% of its planned user-seconds missing" in verdict.table()


def test_the_plan_runs_on_to_the_stop_after_the_last_observation() -> None:
    """A run stops between two observations: the iterations planned in between are added once, and
    only in the open model."""
    monitor = Monitor(settings())
    for t in range(1, 15):
        monitor.observe(local(t, iterations_rate_planned=10.0, iterations=10 * t))
    assert monitor.health.iterations_planned == 140
    monitor.extend_plan(14.6, 6.0)
    monitor.extend_plan(14.6, 6.0)  # nothing new since
    assert monitor.health.iterations_planned == 146
    assert monitor.last_elapsed == 14.6
    closed = Monitor(settings())
    closed.observe(local(1))
    closed.extend_plan(1.5, 5.0)
    assert closed.health.iterations_planned == 0


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
    """The exporter's reason and warning labels are the ones judge() and warn() can give."""
    assert REASONS == ("lag", "tracking", "late", "workers", "no_requests")
    assert WARNINGS == ("cpu",)


def test_a_late_event_loop_is_inconclusive_whatever_the_cpu_figure() -> None:
    """A local runner starved of CPU by a busy machine shows low CPU but wakes late: 'lag' reason,
    with the gap it was blocked weighted by its length."""
    seen = [local(0, cpu=0.3)]
    seen += [
        Observation(t, [ProcessObservation("local", 0.3, 4, "running", lag=2.0)], 4, 4, requests=100)
        for t in range(3, 30, 3)
    ]
    judged = watch(seen)
    assert [r.reason for r in judged.reasons] == ["lag"]
    assert judged.warnings == ()
    figures = judged.reasons[0].figures
    assert figures["loop_lag_max"] == 2.0
    assert figures["cpu_max"] == 0.3
    assert figures["share"] > 0.9
    assert judged.health.processes["local"].seconds == 28
    assert "INCONCLUSIVE (lag): local: event loop late by more than 10ms on average" in judged.table()


def test_lag_below_the_limit_passes_and_the_limit_is_a_setting() -> None:
    """A worker whose loop is 8 ms late on average passes at the 10 ms default and not at 5 ms."""
    seen = [
        Observation(t, [ProcessObservation("w1", 0.5, 4, "running", 0.5, lag=0.008, lag_max=0.05)], 4, 4, requests=9)
        for t in range(20)
    ]
    assert watch(seen).reasons == ()
    assert [r.reason for r in watch(seen, trust_lag="5ms").reasons] == ["lag"]


def test_the_probe_measures_a_stalled_loop_and_its_own_cpu() -> None:
    """A greenlet that keeps the CPU for 300 ms without yielding makes the probe wake late by most of
    that, and the CPU reading (primed at reset) sees the busy stretch; take() starts a new span."""
    probe = Probe()
    probe.reset()
    try:
        gevent.sleep(0.3)  # the probe wakes a few times on time
        until = time.perf_counter() + 0.3
        while time.perf_counter() < until:
            pass  # a stall: nothing else runs in the loop
        gevent.sleep(0.3)
        reading = probe.take()
        assert reading.samples >= 2
        assert reading.lag_max >= 0.1
        assert reading.lag > 0
        assert reading.cpu > 0  # primed at reset: an unprimed psutil reads 0.0 the first time
        assert Reading.from_list(reading.to_list()) == reading
        assert Reading.from_list(["x", 1, 2, 3]) is None
        assert probe.take().lag_max < reading.lag_max
    finally:
        probe.stop()


def test_a_workers_reading_counts_once_over_its_own_span() -> None:
    """A worker reports every 3 s and the master observes every second: a reading 50 ms late counts
    for its 3 s once, not for every second until the next report."""
    late = ProcessObservation("w1", 0.2, 4, "running", 0.5, lag=0.05, lag_max=0.3, lag_seconds=3.0)
    between = ProcessObservation("w1", 0.2, 4, "running", 0.5)
    on_time = ProcessObservation("w1", 0.2, 4, "running", 0.5, lag=0.001, lag_max=0.004, lag_seconds=3.0)
    seen = [
        Observation(t, [late if t == 3 else on_time if t % 3 == 0 else between], 4, 4, requests=9) for t in range(31)
    ]
    figures = watch(seen).health.processes["w1"]
    assert figures.seconds_lagging == 3.0
    assert figures.lag_share < 0.1
    assert abs((figures.lag_mean or 0) - (0.05 * 3 + 0.001 * 30) / 33) < 1e-9
    assert watch(seen).reasons == ()


def test_a_worker_builds_locusts_default_options_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Locust's worker asks for its default options once per option of every spawn message; on a
    worker the library makes every call after the first return the first result."""
    from locust import argument_parser  # noqa: PLC0415

    monkeypatch.setattr(argument_parser, "default_args_dict", argument_parser.default_args_dict)
    _default_options_once()
    first = argument_parser.default_args_dict()
    assert "host" in first
    assert argument_parser.default_args_dict() is first
    _default_options_once()  # idempotent: still the same cache
    assert argument_parser.default_args_dict() is first
