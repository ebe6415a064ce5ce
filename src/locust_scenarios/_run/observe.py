"""Watching a run while it goes: the generator's observations, the thresholds' timeline, the abort watcher.

On the master (or the local runner) a run start resets the run's judgement and starts one sampler
that, once a second while users spawn or run, feeds ``trust.Monitor`` an ``Observation`` and ticks
the thresholds' timeline; with ``--scenario-abort-on-fail`` a watcher stops the run as soon as a
threshold fails for good. Every process measures its own event-loop lag and CPU from the run's start
(``probe``); workers add those figures and their open-model pacing counters to each report, and the
master keeps each worker's latest figures, counters and heartbeat. A worker's run start rebuilds its profile
from the options the master sent, so that open-model pacing follows the same plan from the same
clock origin.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import gevent
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner

from locust_scenarios._exemplars import EXEMPLARS, EXEMPLARS_KEY
from locust_scenarios._metrics import METRICS_KEY, REGISTRY
from locust_scenarios._population_stats import POPULATIONS, POPULATIONS_KEY
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._thresholds.judging import abort_reason
from locust_scenarios._thresholds.timeline import Timeline
from locust_scenarios._trust import Monitor, Observation, ProcessObservation
from locust_scenarios._users.pacing import PacingStats, pacing_stats

from .probe import Reading
from .state import Run

__all__ = [
    "HEALTH_KEY",
    "PACING_KEY",
    "add_pacing_report",
    "end_run",
    "keep_heartbeat",
    "keep_pacing_report",
    "observe",
    "start",
    "start_on_worker",
    "stop",
]

logger = logging.getLogger("locust_scenarios")

PACING_KEY = "locust_scenarios_pacing"
"""Where a worker's report to the master carries its open-model pacing counters."""

HEALTH_KEY = "locust_scenarios_health"
"""Where a worker's report to the master carries its own CPU and event-loop lag since its last report."""

_TRACKING_ALLOWANCE = 2.0
"""Seconds a closed-model plan and the running users may be apart: Locust's one-second tick, spawning,
and the offset between the shape's clock and the observer's."""


def start(run: Run) -> None:
    """Master or local runner, at test start: reset the run's judgement and start watching it."""
    run.started_at = run.clock()
    run.aborted = None
    run.verdict = None
    run.generator = None
    run.pacing.clear()
    run.readings.clear()
    run.fresh_readings.clear()
    run.probe.reset()
    run.monitor = Monitor(run.settings)
    on_requests = [threshold for threshold in run.thresholds if threshold.on_requests]
    run.timeline = Timeline(on_requests) if on_requests else None
    if run.system is not None:
        run.system.start()
    REGISTRY.clear()
    POPULATIONS.clear()
    EXEMPLARS.clear()
    if run.metrics is not None:
        run.metrics.start()
    if run.sampler is None:
        run.sampler = gevent.spawn(_sample_each_second, run)
    run.workers_at_start = frozenset(run.live_workers())
    run.workers_lost = ()
    run.workers_left = ()
    run.recording.start(run.environment)
    if run.settings.abort_on_fail and run.thresholds and run.watcher is None:
        run.watcher = gevent.spawn(_watch_thresholds, run)


def start_on_worker(run: Run) -> None:
    """A worker at test start: the master's options have replaced the worker's own; read them again."""
    run.probe.reset()
    REGISTRY.clear()
    POPULATIONS.clear()
    EXEMPLARS.clear()
    if run.profile is not None:
        run.profile.reset_time()  # re-reads the options and starts the clock the open model paces by
        POPULATIONS.configure_from(run.profile)
        return
    try:
        run.read_settings(run.environment.parsed_options)
    except SettingsError as error:
        logger.error("ignoring the master's settings on this worker: %s", error)


def stop(run: Run) -> None:
    """At test stop. The master notes the workers the run lost (before quitting, when workers leave on
    purpose); a worker logs its own open-model pacing counters (the master sums them in its summary)."""
    if run.on_worker:
        paced = pacing_stats(run.environment)
        if paced.iterations or paced.dropped:
            logger.info(
                "open-model pacing on this worker: %d iterations started, %d late, %d dropped",
                paced.iterations,
                paced.late,
                paced.dropped,
            )
        return
    _close_plan(run)
    if run.workers_at_start:
        run.workers_lost = tuple(sorted(run.workers_at_start - run.live_workers()))
        listed = run.listed_workers()
        run.workers_left = tuple(worker for worker in run.workers_lost if worker not in listed)


def _close_plan(run: Run) -> None:
    """The open model's iterations planned from the latest observation to the stop (a run ends between
    two observations), by the midpoint of quarter-second steps, none past the plan's end."""
    monitor, profile = run.monitor, run.profile
    if monitor is None or profile is None or not profile.open_model or monitor.last_elapsed is None:
        return
    start, end = monitor.last_elapsed, run.elapsed()
    if end <= start:
        return
    steps = math.ceil((end - start) / 0.25)
    width = (end - start) / steps
    middles = (start + (index + 0.5) * width for index in range(steps))
    duration = profile.plan.duration
    planned = sum(profile.planned_level(t) * width for t in middles if profile.plan_time(t) < duration)
    monitor.extend_plan(end, planned)


def add_pacing_report(run: Run, data: dict[str, Any]) -> None:
    """A worker adds its open-model pacing counters, its CPU and loop lag, and its custom metrics to a
    report it sends the master."""
    paced = pacing_stats(run.environment)
    data[PACING_KEY] = [paced.iterations, paced.late, paced.dropped]
    if run.in_progress():
        data[HEALTH_KEY] = run.probe.take().to_list()
    report = REGISTRY.drain()
    if report:
        data[METRICS_KEY] = report
    populations = POPULATIONS.drain()
    if populations:
        data[POPULATIONS_KEY] = populations
    exemplars = EXEMPLARS.drain()
    if exemplars:
        data[EXEMPLARS_KEY] = exemplars


def keep_pacing_report(run: Run, client_id: str, data: dict[str, Any]) -> None:
    """The master keeps each worker's latest pacing counters, CPU and loop lag, and adds its custom
    metrics to the totals."""
    stores = ((METRICS_KEY, REGISTRY), (POPULATIONS_KEY, POPULATIONS), (EXEMPLARS_KEY, EXEMPLARS))
    for key, store in stores:
        reported = data.get(key)
        if reported:
            try:
                store.absorb(reported)
            except (TypeError, ValueError):
                logger.warning("ignoring a malformed report (%s) from worker %s", key, client_id)
    reported = data.get(PACING_KEY)
    if isinstance(reported, list | tuple) and len(reported) == 3:
        run.pacing[client_id] = PacingStats(*(int(value) for value in reported))
    reading = Reading.from_list(data.get(HEALTH_KEY))
    if reading is not None and reading.samples:
        run.readings[client_id] = reading
        run.fresh_readings.add(client_id)


def keep_heartbeat(run: Run, client_id: str) -> None:
    """The master notes when it last heard each worker."""
    run.heartbeats[client_id] = run.clock()


def _sample_each_second(run: Run) -> None:
    """Once a second while a run spawns or runs: observe the generator and record the thresholds' timeline."""
    while True:
        gevent.sleep(1.0)
        if run.monitor is None or not run.in_progress():
            continue
        try:
            run.monitor.observe(observe(run, run.probe.take()))
            elapsed = run.elapsed()
            if run.timeline is not None:
                run.timeline.tick(elapsed, run.stage(elapsed), run.environment.stats)
            if run.system is not None:
                run.system.tick(run.stage(elapsed))
            if run.metrics is not None:
                run.metrics.tick(run.stage(elapsed))
        except Exception:  # observing must never break the run
            logger.debug("could not observe the generator", exc_info=True)


def _steps(low: float, high: float, step: float) -> list[float]:
    """``low, low + step, ... high``."""
    return [low + i * step for i in range(round((high - low) / step) + 1)]


def observe(run: Run, own: Reading) -> Observation:
    """The generator as the master (or the local runner) sees it now, as plain values.

    ``own`` is this process's reading since the last observation; each worker's figures are its own
    latest report (Locust's ``cpu_usage``, sampled every 10 s, only until the first report comes).
    """
    runner = run.environment.runner
    assert runner is not None
    profile = run.profile
    elapsed = run.elapsed()
    open_model = profile is not None and profile.open_model
    if profile is not None and not open_model:
        # What Locust can follow: a shape is asked once a second and users then spawn or stop, and
        # this clock and the shape's may differ by a tick, so the generator is judged against the
        # lowest planned level within the allowance either side, not a step it could not make yet.
        users_planned = min(
            profile.planned_level(max(0.0, elapsed + shift))
            for shift in _steps(-_TRACKING_ALLOWANCE, _TRACKING_ALLOWANCE, 0.25)
        )
    else:
        users_planned = float(runner.target_user_count or 0)
    now = run.clock()
    if isinstance(runner, MasterRunner):
        workers = list(runner.clients.values())
        processes = [
            ProcessObservation(
                "master", own.cpu, 0, runner.state, lag=own.lag, lag_max=own.lag_max, lag_seconds=own.seconds
            )
        ]
        for worker in workers:
            reading = run.readings.get(worker.id)
            fresh = worker.id in run.fresh_readings  # a reading's lag counts once, over its own span
            run.fresh_readings.discard(worker.id)
            processes.append(
                ProcessObservation(
                    worker.id,
                    reading.cpu if reading is not None else worker.cpu_usage / 100,
                    worker.user_count,
                    worker.state,
                    now - run.heartbeats.get(worker.id, run.started_at or now),
                    lag=reading.lag if reading is not None and fresh else None,
                    lag_max=reading.lag_max if reading is not None and fresh else None,
                    lag_seconds=reading.seconds if reading is not None and fresh else None,
                )
            )
        active = sum(1 for worker in workers if worker.state != STATE_MISSING)
    else:
        processes = [
            ProcessObservation(
                "local",
                own.cpu,
                runner.user_count,
                runner.state,
                lag=own.lag,
                lag_max=own.lag_max,
                lag_seconds=own.seconds,
            )
        ]
        active = 0
    paced = run.pacing_totals()
    return Observation(
        elapsed=elapsed,
        processes=processes,
        users_planned=users_planned,
        users_actual=float(runner.user_count),
        iterations_rate_planned=profile.planned_level(elapsed) if profile is not None and open_model else None,
        iterations=paced.iterations,
        late=paced.late,
        dropped=paced.dropped,
        workers_active=active,
        requests=run.environment.stats.total.num_requests,
        populations=_population_users(run, elapsed),
    )


def _population_users(run: Run, elapsed: float) -> dict[str, tuple[float, float]]:
    """Each population's planned users (lowest within the allowance, as for the run) and running users."""
    plans = getattr(run.profile, "population_plans", None) or ()
    if not plans:
        return {}
    runner = run.environment.runner
    counts: dict[str, int] = {}
    if isinstance(runner, MasterRunner):
        for worker in runner.clients.values():
            for name, count in (worker.user_classes_count or {}).items():
                counts[name] = counts.get(name, 0) + count
    elif runner is not None:
        counts = dict(runner.user_classes_count)
    found = {}
    for plan in plans:
        shifts = _steps(-_TRACKING_ALLOWANCE, _TRACKING_ALLOWANCE, 0.25)
        planned = min(float(plan.users_at(max(0.0, elapsed + shift))) for shift in shifts)
        found[plan.name] = (planned, float(sum(counts.get(name, 0) for name in plan.class_names())))
    return found


def _watch_thresholds(run: Run) -> None:
    """Once a second after the grace period: stop the run when a threshold fails for good."""
    grace = run.settings.abort_grace
    try:
        while True:
            gevent.sleep(1.0)
            runner = run.environment.runner
            if runner is None or run.started_at is None or runner.state not in (STATE_SPAWNING, STATE_RUNNING):
                continue
            if run.clock() - run.started_at < grace:
                continue
            results = run.current_results()
            if run.timeline is not None:
                timeline = run.timeline
                results = [r for r in results if not r.threshold.on_requests or timeline.settled(r.threshold)]
            reason = abort_reason(results)
            if reason is None:
                continue
            run.aborted = reason
            logger.error("threshold failed, stopping the run (--scenario-abort-on-fail): %s", reason)
            if run.profile is not None:
                run.profile.completed = True  # ended by the verdict, not interrupted
            end_run(run)
            return
    finally:
        run.watcher = None


def end_run(run: Run) -> None:
    """Stop the run the way its mode ends one: quit when unattended, stop in an interactive web UI."""
    environment = run.environment
    runner = environment.runner
    if runner is None:
        return
    options = environment.parsed_options
    web_ui = environment.web_ui
    unattended = web_ui is None or (getattr(options, "autostart", False) and getattr(options, "autoquit", -1) != -1)
    if not unattended:
        runner.stop()
        return
    runner.quit()
    if web_ui is not None:
        web_ui.stop()
