"""Whether a run's load can be trusted: the load generator's health, and the "inconclusive" verdict.

A verdict is only as good as the load behind it, and a generator is judged by the effect of its
load on what it measures: when a process's event loop runs late, every response time it measures
grows by that lag; when a pool of users is too small for the planned rate, iterations start late or
are dropped; when a worker is lost and not replaced, the load is lower than planned. High CPU alone
distorts nothing (a process can run at 100% of a core and still keep its timing), so it is a
warning, not a reason. ``Monitor`` takes one ``Observation`` a second on the master (or the local
runner) and keeps running figures (never a per-second history, so an endurance run costs the same
memory as a smoke test); ``judge`` turns them into the reasons a run is inconclusive (exit code 5)
and ``warn`` into the warnings.

Plain values in, plain values out: the plugin reads Locust's runner and the pacing reports and
feeds them here. This module imports only the settings and the exit codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._exitcodes import ExitCode
from ._settings.options import format_duration

if TYPE_CHECKING:
    from ._settings.models import ScenarioSettings

__all__ = [
    "REASONS",
    "WARNINGS",
    "GeneratorHealth",
    "Monitor",
    "Observation",
    "ProcessHealth",
    "ProcessObservation",
    "Reason",
    "Verdict",
    "judge",
    "verdict",
    "warn",
]


REASONS = ("lag", "tracking", "late", "workers", "no_requests")
"""Every reason a run can be inconclusive, in the order they are judged."""

WARNINGS = ("cpu",)
"""Every warning about the generator: signs worth a look that do not make a run inconclusive."""


@dataclass(frozen=True)
class ProcessObservation:
    """One generator process at one moment: a worker, or the local runner (``name="local"``)."""

    name: str
    cpu: float
    """CPU usage as a fraction of one core (Locust reports percent; 0.95 here is 95% there)."""
    users: int
    state: str
    heartbeat_age: float | None = None
    """Seconds since the master last heard from the worker (``None`` for the local runner)."""
    lag: float | None = None
    """Mean delay of the process's event loop over the last span, seconds (``None``: not measured):
    a loop busy with its own work, or starved of CPU by the machine, adds it to each response time."""
    lag_max: float | None = None
    """The longest delay of the event loop in the last span, seconds."""
    lag_seconds: float | None = None
    """The span ``lag`` was measured over, seconds (``None``: one observation's step). A worker's
    span is its report interval: each reading is counted once, over its own length."""


@dataclass(frozen=True)
class Observation:
    """What the master (or local runner) sees in one second of a run."""

    elapsed: float
    """Seconds since the run started."""
    processes: Sequence[ProcessObservation]
    users_planned: float
    users_actual: float
    iterations_rate_planned: float | None = None
    """Planned iterations per second (open-model profiles only)."""
    iterations: int = 0
    """Open-model iterations started so far, summed over every process."""
    late: int = 0
    dropped: int = 0
    workers_active: int = 0
    """Workers connected and not missing (0 in a local run)."""
    requests: int = 0
    """Requests completed so far (failures included)."""
    populations: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Each population's planned and running users (a shape with populations only)."""


@dataclass
class ProcessHealth:
    """Running figures of one generator process."""

    name: str
    cpu: float = 0.0
    cpu_max: float = 0.0
    cpu_sum: float = 0.0
    samples: int = 0
    seconds: float = 0.0
    seconds_cpu: float = 0.0
    """Seconds with CPU above the warning limit."""
    seconds_lagging: float = 0.0
    """Seconds in which the event loop was on average later than the lag limit."""
    lag: float | None = None
    lag_max: float | None = None
    lag_sum: float = 0.0
    lag_weight: float = 0.0
    users: int = 0
    state: str = ""
    heartbeat_age: float | None = None

    @property
    def cpu_mean(self) -> float:
        """Mean CPU usage over the observations."""
        return self.cpu_sum / self.samples if self.samples else 0.0

    @property
    def cpu_share(self) -> float:
        """Share of the observed time with CPU above the warning limit."""
        return self.seconds_cpu / self.seconds if self.seconds else 0.0

    @property
    def lag_share(self) -> float:
        """Share of the observed time in which the event loop was later than the lag limit."""
        return self.seconds_lagging / self.seconds if self.seconds else 0.0

    @property
    def lag_mean(self) -> float | None:
        """Mean event-loop delay over the observations that measured it."""
        return self.lag_sum / self.lag_weight if self.lag_weight else None

    def to_dict(self) -> dict[str, Any]:
        """The figures for JSON (fractions, seconds)."""
        return {
            "name": self.name,
            "cpu": self.cpu,
            "cpu_mean": self.cpu_mean,
            "cpu_max": self.cpu_max,
            "cpu_high_share": self.cpu_share,
            "lagging_share": self.lag_share,
            "loop_lag_mean_seconds": self.lag_mean,
            "loop_lag_max_seconds": self.lag_max,
            "users": self.users,
            "state": self.state,
            "heartbeat_age_seconds": self.heartbeat_age,
        }


@dataclass
class GeneratorHealth:
    """The generator's figures over a run: one serialisable structure for the summary and the record."""

    seconds: float = 0.0
    processes: dict[str, ProcessHealth] = field(default_factory=dict)
    users_planned: float = 0.0
    users_actual: float = 0.0
    user_seconds_planned: float = 0.0
    user_seconds_short: float = 0.0
    iterations_planned: float = 0.0
    iterations: int = 0
    late: int = 0
    dropped: int = 0
    open_model: bool = False
    workers_peak: int = 0
    workers_active: int = 0
    workers_lost: int = 0
    unreplaced_seconds: float = 0.0
    """The longest span in which workers were lost and the users stayed below the plan's tolerance."""
    requests: int = 0
    populations: dict[str, list[float]] = field(default_factory=dict)
    """Each population's planned user-seconds and user-seconds short of its plan."""

    @property
    def users_tracking_error(self) -> float:
        """Share of the planned user-seconds that were not running (0 when the plan was met)."""
        return self.user_seconds_short / self.user_seconds_planned if self.user_seconds_planned else 0.0

    @property
    def iterations_tracking_error(self) -> float | None:
        """Share of the planned iterations that did not start (``None`` outside the open model)."""
        if not self.open_model or self.iterations_planned <= 0:
            return None
        return max(0.0, 1.0 - self.iterations / self.iterations_planned)

    @property
    def late_share(self) -> float | None:
        """Share of planned slots started late or dropped (``None`` outside the open model)."""
        if not self.open_model:
            return None
        slots = self.iterations + self.dropped
        return (self.late + self.dropped) / slots if slots else 0.0

    def population_errors(self) -> dict[str, float]:
        """Each population's share of its planned user-seconds that were not running."""
        return {name: short / planned if planned else 0.0 for name, (planned, short) in self.populations.items()}

    def to_dict(self) -> dict[str, Any]:
        """The figures for JSON: fractions, seconds, counts."""
        return {
            "seconds_observed": self.seconds,
            "processes": [p.to_dict() for p in self.processes.values()],
            "users": {
                "planned": self.users_planned,
                "actual": self.users_actual,
                "tracking_error": self.users_tracking_error,
                **({"populations": self.population_errors()} if self.populations else {}),
            },
            "iterations": {
                "open_model": self.open_model,
                "planned": self.iterations_planned,
                "started": self.iterations,
                "late": self.late,
                "dropped": self.dropped,
                "late_or_dropped_share": self.late_share,
                "tracking_error": self.iterations_tracking_error,
            },
            "worker_loss": {
                "peak": self.workers_peak,
                "active": self.workers_active,
                "lost": self.workers_lost,
                "longest_unreplaced_seconds": self.unreplaced_seconds,
            },
            "requests": self.requests,
        }


class Monitor:
    """Folds one ``Observation`` a second into ``GeneratorHealth`` (running figures only)."""

    def __init__(self, settings: ScenarioSettings) -> None:
        self.settings = settings
        self.health = GeneratorHealth()
        self._last_elapsed: float | None = None
        self._unreplaced_since: float | None = None

    def observe(self, seen: Observation) -> None:
        """Add one second's observation (call about once a second while the run is running)."""
        health = self.health
        # A blocked event loop observes late: the whole gap counts (up to a minute, past that a pause).
        step = 1.0 if self._last_elapsed is None else min(max(seen.elapsed - self._last_elapsed, 0.0), 60.0)
        self._last_elapsed = seen.elapsed
        health.seconds += step
        for process in seen.processes:
            figures = health.processes.get(process.name)
            if figures is None:
                figures = health.processes[process.name] = ProcessHealth(process.name)
            figures.cpu = process.cpu
            figures.cpu_max = max(figures.cpu_max, process.cpu)
            figures.cpu_sum += process.cpu
            figures.samples += 1
            figures.seconds += step
            if process.lag is not None:
                span = step if process.lag_seconds is None else min(max(process.lag_seconds, 0.0), 60.0)
                figures.lag = process.lag
                figures.lag_sum += process.lag * span
                figures.lag_weight += span
                longest = process.lag if process.lag_max is None else max(process.lag, process.lag_max)
                figures.lag_max = max(figures.lag_max or 0.0, longest)
                if process.lag > self.settings.trust_lag:
                    figures.seconds_lagging += span
            if process.cpu > self.settings.trust_cpu:
                figures.seconds_cpu += step
            figures.users, figures.state, figures.heartbeat_age = process.users, process.state, process.heartbeat_age
        health.users_planned, health.users_actual = seen.users_planned, seen.users_actual
        short = max(seen.users_planned - seen.users_actual, 0.0)
        health.user_seconds_planned += seen.users_planned * step
        health.user_seconds_short += short * step
        for name, (planned, actual) in seen.populations.items():
            figures_of = health.populations.setdefault(name, [0.0, 0.0])
            figures_of[0] += planned * step
            figures_of[1] += max(planned - actual, 0.0) * step
        if seen.iterations_rate_planned is not None:
            health.open_model = True
            health.iterations_planned += seen.iterations_rate_planned * step
        health.iterations, health.late, health.dropped = seen.iterations, seen.late, seen.dropped
        health.requests = seen.requests
        health.workers_peak = max(health.workers_peak, seen.workers_active)
        health.workers_lost = max(health.workers_lost, health.workers_peak - seen.workers_active)
        health.workers_active = seen.workers_active
        below_plan = seen.users_planned > 0 and short / seen.users_planned > self.settings.trust_tracking
        if seen.workers_active < health.workers_peak and below_plan:
            if self._unreplaced_since is None:
                self._unreplaced_since = seen.elapsed - step
            health.unreplaced_seconds = max(health.unreplaced_seconds, seen.elapsed - self._unreplaced_since)
        else:
            self._unreplaced_since = None

    @property
    def last_elapsed(self) -> float | None:
        """Run time of the latest observation (None before the first)."""
        return self._last_elapsed

    def extend_plan(self, elapsed: float, iterations_planned: float) -> None:
        """The run stopped at ``elapsed``, after the latest observation: add the iterations the open
        model planned in between (without them the plan reads short by up to a second)."""
        if self._last_elapsed is None or elapsed <= self._last_elapsed or not self.health.open_model:
            return
        self.health.iterations_planned += iterations_planned
        self._last_elapsed = elapsed

    def record_totals(self, requests: int, iterations: int, late: int, dropped: int) -> None:
        """The final counts: the workers' last reports arrive after the last observation."""
        health = self.health
        health.requests = max(health.requests, requests)
        health.iterations, health.late, health.dropped = iterations, late, dropped


@dataclass(frozen=True)
class Reason:
    """Why a run is inconclusive, with the measured figures behind it."""

    reason: str
    """One of ``REASONS`` (``lag``, ``tracking``, ``late``, ``workers``, ``no_requests``), or of
    ``WARNINGS`` (``cpu``) for a warning."""
    detail: str
    """The reason for people, with its measured figures and limits."""
    figures: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"reason": "lag", "detail": ..., <figures>}`` for the summary line."""
        return {"reason": self.reason, "detail": self.detail, **self.figures}


def _percent(value: float) -> str:
    return f"{value * 100:.3g}%"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g}ms"


def judge(health: GeneratorHealth, settings: ScenarioSettings) -> tuple[Reason, ...]:
    """The reasons the run is inconclusive (none when the load can be trusted).

    With ``--scenario-trust off`` only one reason remains: a run in which no request completed is
    never a pass.
    """
    no_requests = Reason("no_requests", "no request completed during the run", {"requests": 0})
    if not settings.trust:
        return (no_requests,) if health.requests == 0 else ()
    reasons: list[Reason] = []
    for process in health.processes.values():
        if process.seconds and process.lag_share > settings.trust_cpu_share:
            reasons.append(
                Reason(
                    "lag",
                    f"{process.name}: event loop late by more than {_ms(settings.trust_lag)} on average for "
                    f"{_percent(process.lag_share)} of the run (limit {_percent(settings.trust_cpu_share)}; mean "
                    f"{_ms(process.lag_mean or 0.0)}, max {_ms(process.lag_max or 0.0)}): each response time it "
                    f"measured then includes that delay",
                    {
                        "process": process.name,
                        "share": process.lag_share,
                        "loop_lag_mean": process.lag_mean,
                        "loop_lag_max": process.lag_max,
                        "cpu_max": process.cpu_max,
                        "lag_limit": settings.trust_lag,
                        "share_limit": settings.trust_cpu_share,
                    },
                )
            )
    tracking = [("users", health.users_tracking_error, health.user_seconds_planned)]
    if health.iterations_tracking_error is not None:
        tracking.append(("iterations", health.iterations_tracking_error, health.iterations_planned))
    for name, error in health.population_errors().items():
        tracking.append((f"population {name}'s users", error, health.populations[name][0]))
    for what, error, planned in tracking:
        if error > settings.trust_tracking:
            reasons.append(
                Reason(
                    "tracking",
                    f"{what} {_percent(error)} below the plan over the run (limit {_percent(settings.trust_tracking)})",
                    {"measure": what, "error": error, "limit": settings.trust_tracking, "planned": planned},
                )
            )
    late = health.late_share
    if late is not None and late > settings.trust_late:
        reasons.append(
            Reason(
                "late",
                f"{health.late} iterations late and {health.dropped} dropped of {health.iterations + health.dropped} "
                f"planned slots: {_percent(late)} (limit {_percent(settings.trust_late)})",
                {"late": health.late, "dropped": health.dropped, "share": late, "limit": settings.trust_late},
            )
        )
    if health.workers_lost and health.unreplaced_seconds > settings.trust_worker_grace:
        reasons.append(
            Reason(
                "workers",
                f"{health.workers_lost} worker(s) lost; users stayed below the plan for "
                f"{format_duration(round(health.unreplaced_seconds))} "
                f"(limit {format_duration(settings.trust_worker_grace)})",
                {
                    "lost": health.workers_lost,
                    "unreplaced_seconds": health.unreplaced_seconds,
                    "limit_seconds": settings.trust_worker_grace,
                },
            )
        )
    if health.requests == 0:
        reasons.append(no_requests)
    return tuple(reasons)


def warn(health: GeneratorHealth, settings: ScenarioSettings) -> tuple[Reason, ...]:
    """The warnings about the generator: high CPU, which does not by itself distort the measurements."""
    if not settings.trust:
        return ()
    return tuple(
        Reason(
            "cpu",
            f"{process.name}: CPU above {_percent(settings.trust_cpu)} for {_percent(process.cpu_share)} of the run "
            f"(max {_percent(process.cpu_max)}); no headroom left, though its timing held",
            {
                "process": process.name,
                "share": process.cpu_share,
                "cpu_max": process.cpu_max,
                "cpu_mean": process.cpu_mean,
                "cpu_limit": settings.trust_cpu,
                "share_limit": settings.trust_cpu_share,
            },
        )
        for process in health.processes.values()
        if process.seconds and process.cpu_share > settings.trust_cpu_share
    )


def verdict(health: GeneratorHealth, settings: ScenarioSettings) -> Verdict:
    """The generator's verdict on ``health``: its reasons and its warnings."""
    return Verdict(health, judge(health, settings), warn(health, settings))


@dataclass(frozen=True)
class Verdict:
    """The generator's verdict: its figures, the reasons (if any) the run is inconclusive, the warnings."""

    health: GeneratorHealth
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The figures for JSON, with the warnings (the reasons travel as the verdict's ``inconclusive``)."""
        return {**self.health.to_dict(), "warnings": [warning.to_dict() for warning in self.warnings]}

    @property
    def exit_code(self) -> int:
        """5 when inconclusive, else 0 (combine with others through ``exitcodes.most_severe``)."""
        return ExitCode.INCONCLUSIVE if self.reasons else ExitCode.PASSED

    def table(self) -> str:
        """The generator's lines under the thresholds table."""
        health = self.health
        lines = [f"Load generator ({health.seconds:.0f}s observed):"]
        for process in health.processes.values():
            lag = (
                f", event loop late {_ms(process.lag_mean)} on average (max {_ms(process.lag_max or 0.0)})"
                if process.lag_mean is not None
                else ""
            )
            lines.append(
                f"  {process.name}: CPU mean {_percent(process.cpu_mean)}, max {_percent(process.cpu_max)}{lag}"
            )
        lines.append(
            f"  users: {_percent(health.users_tracking_error)} of the planned user-seconds missing"
            f" (now {health.users_actual:g} of {health.users_planned:g} planned)"
        )
        for name, error in health.population_errors().items():
            lines.append(f"  population {name}: {_percent(error)} of its planned user-seconds missing")
        if health.open_model:
            lines.append(
                f"  iterations: {health.iterations} started of {health.iterations_planned:.0f} planned, "
                f"{health.late} late, {health.dropped} dropped"
            )
        if health.workers_peak:
            lines.append(f"  workers: {health.workers_active} active, {health.workers_lost} lost")
        for warning in self.warnings:
            lines.append(f"  WARNING ({warning.reason}): {warning.detail}")
        for reason in self.reasons:
            lines.append(f"  INCONCLUSIVE ({reason.reason}): {reason.detail}")
        if self.reasons:
            lines.append(f"Load generator: INCONCLUSIVE, exit code {ExitCode.INCONCLUSIVE:d}")
        else:
            lines.append("Load generator: OK")
        return "\n".join(lines)
