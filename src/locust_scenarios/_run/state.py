"""The run object: one per Locust process, created at ``init``, owner of everything a run reads and decides.

``Run`` holds the profile (set once), the settings (validated once per run start: by the profile,
whose class attributes are among their defaults, or here when the locustfile has none), the clock
and stage, the workers, the observations and the outcome. Every listener reads it through
``run_of(environment)``.

It is bound to its environment through ``_settings.context`` (the environment's one attribute of
ours), the seam the user templates read their settings from, so the templates and the listeners
read one object.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import psutil  # type: ignore[import-untyped]
from locust.env import Environment
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from locust_scenarios._records.record import Recording
from locust_scenarios._settings.context import bind, bound
from locust_scenarios._settings.options import SCENARIO, option_values
from locust_scenarios._shapes.profile import ScenarioProfile
from locust_scenarios._thresholds.judging import Result, StopCondition, Verdict, evaluate, in_order
from locust_scenarios._trust import Monitor, judge
from locust_scenarios._trust import Verdict as GeneratorVerdict
from locust_scenarios._users.pacing import PacingStats, pacing_stats

if TYPE_CHECKING:
    from locust_scenarios._exporter.collector import LocustCollector
    from locust_scenarios._exporter.serving import MetricsServer
    from locust_scenarios._settings.models import ExporterSettings, ScenarioSettings
    from locust_scenarios._thresholds.custom import MetricJudge
    from locust_scenarios._thresholds.grammar import Threshold
    from locust_scenarios._thresholds.promql import SystemJudge
    from locust_scenarios._thresholds.timeline import Timeline

__all__ = ["Run", "own", "run_of"]

_stats_logger = logging.getLogger("locust.stats_logger")


@dataclass(eq=False)
class Run:
    """One Locust process's run (master, worker or local runner), from ``init`` to the exit code."""

    environment: Environment
    profile: ScenarioProfile | None
    """The locustfile's profile, set once at ``init`` (``None``: the locustfile has none of ours)."""
    embedded: bool = False
    """Run inside a caller's process (``testing.run_profile``): no signal handlers, no exit."""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    """The run's monotonic clock (seconds); the profile's own clock times the plan when there is one."""

    # -- what the run reads, checked at init ------------------------------------------------------
    exporter: ExporterSettings | None = None
    thresholds: tuple[Threshold, ...] = ()
    stop: StopCondition | None = None
    """The breakpoint's stop criteria, judged on recent statistics (master or local runner)."""
    recording: Recording = field(default_factory=Recording)
    collector: LocustCollector | None = None
    server: MetricsServer | None = None
    _settings: ScenarioSettings | None = field(default=None, repr=False)
    _inputs: dict[str, Any] | None = field(default=None, repr=False)

    # -- the clock and the workers ------------------------------------------------------------------
    started_at: float | None = None
    """When the current run started, by ``clock`` (``None``: no run has started)."""
    workers_at_start: frozenset[str] = frozenset()
    workers_lost: tuple[str, ...] = ()
    """Workers present when the run started and gone (missing or removed) when it stopped."""
    workers_left: tuple[str, ...] = ()
    """The lost workers the master no longer lists: they quit (or were removed after going missing),
    and Locust started their users on the remaining workers."""
    pacing: dict[str, PacingStats] = field(default_factory=dict)
    """The latest open-model pacing counters each worker reported (kept after a worker is lost)."""
    heartbeats: dict[str, float] = field(default_factory=dict)
    """When the master last heard each worker's heartbeat (by ``clock``)."""

    # -- observations ------------------------------------------------------------------------------
    monitor: Monitor | None = None
    timeline: Timeline | None = None
    system: SystemJudge | None = None
    """Judges the ``promql:`` thresholds against the system's Prometheus."""
    metrics: MetricJudge | None = None
    """Judges the ``[metric=NAME]`` thresholds on the custom metrics."""
    sampler: gevent.Greenlet | None = field(default=None, repr=False)
    watcher: gevent.Greenlet | None = field(default=None, repr=False)
    process: psutil.Process = field(default_factory=psutil.Process, repr=False)

    # -- the outcome -------------------------------------------------------------------------------
    aborted: str | None = None
    """Why ``--scenario-abort-on-fail`` stopped the run (the failing criteria then)."""
    verdict: Verdict | None = None
    generator: GeneratorVerdict | None = None
    signals: int = 0
    """SIGTERM and SIGINT received so far."""
    interrupted: bool = False
    """A signal ended the process before the run completed (or before any run)."""
    quitting: bool = False
    """The work of quitting has begun; it is done once even when Locust fires ``quitting`` again."""
    linger_cut: gevent.event.Event = field(default_factory=gevent.event.Event, repr=False)
    verdict_tables: list[str] = field(default_factory=list, repr=False)
    """The verdict tables, printed after Locust's own final tables so that they do not scroll away."""
    summary: dict[str, Any] | None = None
    """The summary once quitting has decided the run (the JSON line and ``--scenario-summary``)."""

    # -- settings ----------------------------------------------------------------------------------

    @property
    def settings(self) -> ScenarioSettings:
        """The settings the run reads now: the profile's (re-read as each run starts) or the run's own."""
        profile = self.profile
        if profile is not None and profile.settings is not None:
            return profile.settings
        if self._settings is None:
            raise RuntimeError("the run's settings are read before they were validated")
        return self._settings

    def read_settings(self, options: Any) -> ScenarioSettings:
        """Validate the settings a run with Locust's ``options`` reads, and keep them (``SettingsError``).

        The profile is configured with them. Options unchanged since the last validation keep the
        settings validated then: one validation per run start.
        """
        if self.profile is not None:
            # Locust's -u/-r/-t keep the values the profile first saw (as when a run starts).
            current = {**_as_mapping(options), **self.profile.common_options()}
            if self.profile.settings is None or not self.profile.configured_from(current):
                # The profile's class attributes join the settings; its stop condition stays.
                self.profile.configure(options=current, stop_condition=self.profile.stop_condition)
            return self.settings
        given = option_values(options, SCENARIO)
        if self._settings is None or given != self._inputs:
            from locust_scenarios._settings.models import ScenarioSettings, load_settings  # noqa: PLC0415

            self._settings = load_settings(ScenarioSettings, options)
            self._inputs = given
        return self._settings

    # -- the process and its runner ----------------------------------------------------------------

    @property
    def on_worker(self) -> bool:
        """This process is a worker: it generates load and reports to a master, which judges."""
        return isinstance(self.environment.runner, WorkerRunner)

    @property
    def on_master(self) -> bool:
        """This process is a master: its workers generate the load."""
        return isinstance(self.environment.runner, MasterRunner)

    def in_progress(self) -> bool:
        """A run is spawning or running users now."""
        runner = self.environment.runner
        return runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING)

    def unattended(self) -> bool:
        """No one at a web UI starts the run: headless, or ``--autostart``."""
        options = self.environment.parsed_options
        return bool(getattr(options, "headless", False) or getattr(options, "autostart", False))

    def listed_workers(self) -> set[str]:
        """The master's workers it still lists, missing ones included (none elsewhere)."""
        runner = self.environment.runner
        if not isinstance(runner, MasterRunner):
            return set()
        return {worker.id for worker in runner.clients.all}

    def live_workers(self) -> set[str]:
        """The master's workers that are connected and not missing (none elsewhere)."""
        runner = self.environment.runner
        if not isinstance(runner, MasterRunner):
            return set()
        return {worker.id for worker in runner.clients.all if worker.state != STATE_MISSING}

    # -- the clock and the stage -------------------------------------------------------------------

    def elapsed(self) -> float:
        """Seconds since the run started, by the profile's clock when one runs."""
        if self.profile is not None:
            return self.profile.elapsed()
        return self.clock() - (self.started_at or self.clock())

    def stage(self, elapsed: float) -> str:
        """The name of the profile's stage at ``elapsed`` (empty without a profile)."""
        return self.profile.stage_name(elapsed) if self.profile is not None else ""

    # -- what the run looks like so far (read by the exporter and the abort watcher) ---------------

    def current_results(self) -> Sequence[Result]:
        """The final verdict's results once judged, else the run so far."""
        if self.verdict is not None:
            return self.verdict.results
        return self.judge(final=False)

    def judge(self, *, final: bool) -> tuple[Result, ...]:
        """Every threshold judged: on requests (by stage and window from the timeline), on Prometheus
        and on the custom metrics; at the end once for good (``final``), else the run so far."""
        stats = self.environment.stats
        if self.timeline is not None:
            if final:
                self.timeline.finish(self.elapsed(), stats)
            found = list(self.timeline.results(stats, None if final else self.elapsed()))
        else:
            found = list(evaluate([t for t in self.thresholds if t.on_requests], stats))
        if self.system is not None:
            found.extend(self.system.results(final=final))
        if self.metrics is not None:
            found.extend(self.metrics.results(final=final))
        return in_order(self.thresholds, found)

    def current_generator(self) -> GeneratorVerdict | None:
        """The generator's verdict once judged, else its figures and reasons so far."""
        if self.generator is not None:
            return self.generator
        if self.monitor is None:
            return None
        return GeneratorVerdict(self.monitor.health, judge(self.monitor.health, self.settings))

    def pacing_totals(self) -> PacingStats:
        """Open-model pacing counters of the whole test: the workers' reports summed, or this process's."""
        if not self.on_master:
            return pacing_stats(self.environment)
        reports = list(self.pacing.values())
        return PacingStats(
            sum(r.iterations for r in reports), sum(r.late for r in reports), sum(r.dropped for r in reports)
        )

    def flush_tables(self) -> None:
        """Print the verdict tables once (at Locust's ``quit``, or when the process ends without it)."""
        while self.verdict_tables:
            _stats_logger.info("\n%s\n", self.verdict_tables.pop(0))


def _as_mapping(options: Any) -> dict[str, Any]:
    return dict(options) if isinstance(options, Mapping) else dict(vars(options)) if options is not None else {}


def run_of(environment: Environment) -> Run | None:
    """The run bound to ``environment`` at ``init`` (``None``: the plugin does not run it)."""
    owner = bound(environment)
    return owner if isinstance(owner, Run) else None


def own(run: Run) -> Run:
    """Bind ``run`` to its environment: the listeners and the user templates read it from now on."""
    bind(run.environment, run)
    return run
