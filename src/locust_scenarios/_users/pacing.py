"""Wait times that follow the settings: think time, constant pacing and open-model pacing.

``open_model_pacing`` hands out iteration start slots so that the whole test follows the running
open-model profile's planned rate; its counters (late, dropped) are kept per process.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
from locust import User
from locust.env import Environment
from locust.runners import WorkerRunner

from locust_scenarios._settings.context import scenario_settings
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import parse_duration

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

logger = logging.getLogger("locust_scenarios")

__all__ = [
    "ARRIVALS",
    "PacingStats",
    "WaitTime",
    "arrival_stream",
    "before_first_iteration",
    "open_model_pacing",
    "paces_open_model",
    "pacing",
    "pacing_stats",
    "scenario_wait_time",
    "settings_think_time",
    "think_time",
    "uniform",
]

WaitTime = Callable[[User], float]
"""A Locust ``wait_time``: called with the user after each task, returns seconds to wait."""


@functools.lru_cache(maxsize=64)
def _think_time_range(spec: str | float | None) -> tuple[float, float]:
    """``(low, high)`` seconds from ``1s``, ``500ms-2s``, ``1-3`` or a number; ``(0, 0)`` for none.

    Cached: the templates' wait time asks after every iteration, and a run has one or two spellings.
    """
    if spec is None or spec == "":
        return 0.0, 0.0
    if isinstance(spec, int | float):
        low = high = parse_duration(spec)
    else:
        parts = [part.strip() for part in str(spec).split("-")]
        if len(parts) > 2:
            raise ValueError("must be a duration such as 1s or a range such as 1s-3s")
        try:
            low, high = parse_duration(parts[0]), parse_duration(parts[-1])
        except ValueError:
            raise ValueError("must be a duration such as 1s or a range such as 1s-3s") from None
    if high < low:
        raise ValueError("the range must go from the shorter to the longer wait, such as 1s-3s")
    return low, high


def settings_think_time(settings: ScenarioSettings) -> tuple[float, float]:
    try:
        return _think_time_range(settings.think_time)
    except ValueError as error:
        raise SettingsError.invalid("think_time", settings.think_time, str(error)) from None


def uniform(low: float, high: float) -> float:
    return low if high == low else random.uniform(low, high)


def think_time(spec: str | float | None = None) -> WaitTime:
    """Wait ``spec`` after each iteration: ``"1s"`` constant, ``"1s-3s"`` uniform in the range.

    Without ``spec`` the ``think_time`` setting (``LOCUST_SCENARIO_THINK_TIME``) applies, read at run
    time; it defaults to ``DEFAULT_THINK_TIME`` (1 s), and ``0`` means no wait.
    """
    fixed = _think_time_range(spec) if spec is not None else None

    def wait(user: User) -> float:
        return uniform(*(fixed or settings_think_time(scenario_settings(user.environment))))

    return wait


_ITERATION_START = "_scenario_iteration_start"


def pacing(interval: str | float | None = None) -> WaitTime:
    """Constant pacing: each iteration starts at least ``interval`` after the previous one started.

    A slow iteration is followed at once by the next (no catch-up). Without ``interval`` the
    ``pacing`` setting (``LOCUST_SCENARIO_PACING``) applies.
    """
    fixed = parse_duration(interval) if interval is not None else None

    def wait(user: User) -> float:
        every = fixed if fixed is not None else scenario_settings(user.environment).pacing or 0.0
        now = time.monotonic()
        last = getattr(user, _ITERATION_START, None)
        start = now if last is None else max(now, last + every)
        setattr(user, _ITERATION_START, start)
        return start - now

    return wait


@dataclass(frozen=True)
class PacingStats:
    """Open-model pacing in this process: slots handed out, started late, and dropped after a stall."""

    iterations: int = 0
    late: int = 0
    dropped: int = 0


ARRIVALS = ("uniform", "poisson")
"""How open-model iterations arrive: on an even grid, or as a Poisson process of the same mean rate."""


class _SlotSchedule:
    """One process's schedule of iteration start times following ``share * planned_level(t)``.

    Times are the profile's run time. ``cursor`` is the start of the last slot handed out; each
    claim takes the next slot after it, so slots are spread by the planned rate no matter which
    user claims them or how long iterations take. Behind schedule, at most ``max_backlog`` seconds
    of missed slots are caught up (they start at once and count as late); older slots are dropped.

    Uniform arrivals put one slot after each whole planned iteration. Poisson arrivals use the
    time-rescaling theorem: the gap between slots, measured in planned iterations (the integral of
    the planned rate), is exponential with mean one, so the arrivals form a Poisson process whose
    rate is the planned rate at every moment, ramps included. ``stream`` draws those gaps (seeded
    for a repeatable run; each worker its own stream).
    """

    STEP = 0.25  # width of a plan cell (s): planned levels are piecewise linear, so this is plenty
    HORIZON = 60.0  # how far ahead a claim looks for a slot when the planned rate is zero
    REPORT_EVERY = 0.25  # how often (run time, s) the users the rate needs are reported to the shape
    CELLS_KEPT = 4096  # plan cells remembered before the memory starts again

    def __init__(self, shape: Any, max_backlog: float, late_after: float, stream: random.Random | None = None) -> None:
        self.shape = shape
        self.max_backlog = max_backlog
        self.late_after = late_after
        self.stream = stream
        self.stream_start = stream.getstate() if stream is not None else None
        self.cursor: float | None = None
        self.last_now = -math.inf
        self.iterations = self.late = self.dropped = 0
        self.warned = False
        self.busy: float | None = None
        self.levels: dict[int, float] = {}
        self.next_report = -math.inf
        self.share = 1.0
        self.share_until = -math.inf
        self.end = _plan_end(shape)

    def _level(self, cell: int) -> float:
        """The planned level (whole process) across plan cell ``cell``: the level at its middle.

        Cells are ``STEP`` wide; each is asked of the shape once, so a claim costs a lookup and a
        division rather than integrating the plan. The midpoint makes each cell's integral exact
        wherever the plan is linear across it.
        """
        level = self.levels.get(cell)
        if level is None:
            if len(self.levels) >= self.CELLS_KEPT:
                self.levels.clear()
            level = self.levels[cell] = max(float(self.shape.planned_level((cell + 0.5) * self.STEP)), 0.0)
        return level

    def rate(self, t: float, share: float) -> float:
        return self._level(math.floor(t / self.STEP)) * share

    def _integral(self, start: float, end: float, share: float) -> float:
        """Planned iterations between run times ``start`` and ``end`` (none past the plan's end)."""
        total, t, cell = 0.0, start, math.floor(start / self.STEP)
        end = min(end, self.end)
        while t < end:
            edge = min((cell + 1) * self.STEP, end)
            total += self._level(cell) * share * (edge - t)
            t, cell = edge, cell + 1
        return total

    def _gap(self) -> float:
        """Planned iterations until the next slot: one (uniform) or an exponential draw (Poisson)."""
        return 1.0 if self.stream is None else self.stream.expovariate(1.0)

    def _next_after(self, start: float, share: float, need: float = 1.0) -> float | None:
        """Run time where ``need`` more planned iterations have accumulated after ``start``.

        None when that is past the plan's end: a profile's level stays at its last value there, and
        Locust stops the users only at its next tick, so nothing is planned after the end.
        """
        t, cell = start, math.floor(start / self.STEP)
        limit = min(start + self.HORIZON, self.end)
        while t < limit:
            edge = min((cell + 1) * self.STEP, limit)
            here = self._level(cell) * share
            if here > 0:
                if here * (edge - t) >= need - 1e-12:
                    slot = t + need / here
                    return slot if slot < self.end - 1e-9 else None  # a slot at the end starts nothing
                need -= here * (edge - t)
            t, cell = edge, cell + 1
        return None

    def claim(self, now: float, share: float) -> float | None:
        """Start time of the next slot for an iteration asking at ``now``; None if none is planned soon."""
        if now < self.last_now - 1.0:  # the profile's clock was reset: a new run
            self.cursor = None
            self.iterations = self.late = self.dropped = 0
            self.levels.clear()  # the plan may have changed with the new run
            self.end = _plan_end(self.shape)
            self.next_report = -math.inf
            if self.stream is not None and self.stream_start is not None:
                self.stream.setstate(self.stream_start)  # a seeded run repeats itself
        self.last_now = now
        if self.cursor is None:
            first = self.stream is None and float(self.shape.planned_level(now)) * share > 0
            slot = now if first else self._next_after(now, share, self._gap())
        else:
            oldest = now - self.max_backlog
            if self.cursor < oldest:
                self.dropped += math.floor(self._integral(self.cursor, oldest, share))
                self.cursor = oldest
            slot = self._next_after(self.cursor, share, self._gap())
        if slot is None:
            return None
        self.cursor = slot
        self.iterations += 1
        if now - slot > self.late_after:
            self.late += 1
            self._warn_once()
        return slot

    def _warn_once(self) -> None:
        if not self.warned and self.iterations >= 50 and self.late > 0.05 * self.iterations:
            self.warned = True
            logger.warning(
                "open model: %d of %d iterations started late; the planned rate needs more users "
                "(LOCUST_SCENARIO_USERS) or a faster target",
                self.late,
                self.iterations,
            )

    def stats(self) -> PacingStats:
        return PacingStats(self.iterations, self.late, self.dropped)

    def record_busy(self, seconds: float) -> None:
        """How long one iteration kept its user busy (a moving average of the recent ones)."""
        self.busy = seconds if self.busy is None else self.busy + 0.2 * (seconds - self.busy)

    def demand(self, now: float, share: float) -> int | None:
        """Users needed to start the planned iterations on time (Little's law with a quarter spare).

        None when it is not time to report yet (every ``REPORT_EVERY`` seconds of run time) or no
        iteration has finished: the shape keeps the few latest reports, not one per iteration.
        """
        if self.busy is None or now < self.next_report:
            return None
        self.next_report = now + self.REPORT_EVERY
        ahead = max(self.rate(now, share), self.rate(now + 2.0, share))
        return math.ceil(ahead * self.busy * 1.25) + 1


def _plan_end(shape: Any) -> float:
    """Run time at which an open-model profile's plan ends (a population's plan ends by itself: inf)."""
    plan = getattr(shape, "plan", None)
    duration = getattr(plan, "duration", None)
    return float(duration) if isinstance(duration, int | float) else math.inf


_SCHEDULES: weakref.WeakKeyDictionary[Environment, dict[int, _SlotSchedule]] = weakref.WeakKeyDictionary()
"""Each environment's schedules, one per paced profile (one per open-model population)."""
_OPEN_MODEL_WAITS: weakref.WeakKeyDictionary[WaitTime, tuple[float, float]] = weakref.WeakKeyDictionary()
"""Wait functions that pace the open model, with their ``(max_backlog, late_after)``."""


def _open_model_shape(environment: Environment, user_class: type[User] | None = None) -> Any:
    """What paces ``user_class``: the running shape when it plans an open model (iterations per second),
    or the open-model population the class belongs to; else None."""
    shape = environment.shape_class
    population = getattr(shape, "pacing_for", None)
    if user_class is not None and callable(population) and getattr(shape, "population_plans", None):
        return population(user_class)
    if shape is None or not getattr(shape, "open_model", False):
        return None
    return shape


def _planned_pool(shape: Any) -> float | None:
    """Users the profile runs in the open model (the pool pacing is shared among)."""
    settings = getattr(shape, "settings", None)
    planned = getattr(shape, "planned_users", None)
    if callable(planned) and settings is not None:
        return float(planned())
    users = getattr(settings, "users", None) or getattr(shape, "users", None)
    return float(users) if users else None


def _process_share(environment: Environment, shape: Any) -> float:
    """This process's share of the planned rate: all of it, or local users / pool on a worker."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        return 1.0
    pool = _planned_pool(shape)
    names = shape.class_names() if callable(getattr(shape, "class_names", None)) else None
    local = runner.target_user_count
    if names is not None:  # a population: this worker's users of its classes
        counts = runner.target_user_classes_count or {}
        local = sum(counts.get(name, 0) for name in names)
    if not pool or not local:
        return 1.0
    return min(local / pool, 1.0)


def arrival_stream(arrivals: str, seed: int | None, worker_index: int = 0) -> random.Random | None:
    """The random stream Poisson arrivals draw their gaps from (``None`` for uniform arrivals).

    With a seed the stream is repeatable, and each worker (by its index) draws its own: the workers'
    shares are independent Poisson processes, and their sum is a Poisson process at the whole rate.
    """
    if arrivals != "poisson":
        return None
    if seed is None:
        return random.Random()
    return random.Random(f"locust-scenarios:{seed}:{worker_index}")


def _stream(environment: Environment) -> random.Random | None:
    settings = scenario_settings(environment)
    runner = environment.runner
    index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
    return arrival_stream(settings.arrivals, settings.seed, max(index, 0))


def _schedule(environment: Environment, shape: Any, max_backlog: float, late_after: float) -> _SlotSchedule:
    schedules = _SCHEDULES.get(environment)
    if schedules is None:  # (setdefault would make a weak reference and a dict on every call)
        schedules = _SCHEDULES[environment] = {}
    schedule = schedules.get(id(shape))
    if schedule is None or schedule.shape is not shape:
        if not getattr(environment.shape_class, "population_plans", None):
            schedules.clear()  # a new shape: the old one's schedule is done with
        stream = _stream(environment)
        schedule = schedules[id(shape)] = _SlotSchedule(shape, max_backlog, late_after, stream)
    return schedule


_SLOT_START = "_scenario_slot_start"
_PACER = "_scenario_pacer"
_WAKE_GRID = 0.01
"""Users waiting for a slot wake on a 10 ms grid of the run clock: at the grid point nearest their slot.

Evenly spread slots would each wake the event loop on their own, and a wake-up costs the process
20-30 us of CPU here (the poll, the kernel's wake-up, the timers) whatever it then does; users
that wake together share it, as users paced by ``constant_throughput`` that started together do.
Each start stays within 5 ms of its slot, either side (on average on it); per-second counts and
totals do not change, and 5 ms is far below the 100 ms after which a start counts as late.
``benchmarks/pacing_blocks.py`` measures the trade.
"""


@dataclass(frozen=True, slots=True)
class _Pacer:
    """What paces one user, found at its first wait and kept for its life (a user lives in one run):
    the environment's shape it was found under, the shape that paces it (None: not the open model),
    and that shape's schedule in this process."""

    running: Any
    shape: Any
    schedule: _SlotSchedule | None


def _pacer(user: User, max_backlog: float, late_after: float) -> _Pacer:
    """The user's pacer; found again only when the environment's shape is another object."""
    environment = user.environment
    pacer: _Pacer | None = user.__dict__.get(_PACER)
    if pacer is None or pacer.running is not environment.shape_class:
        shape = _open_model_shape(environment, type(user))
        schedule = None if shape is None else _schedule(environment, shape, max_backlog, late_after)
        pacer = user.__dict__[_PACER] = _Pacer(environment.shape_class, shape, schedule)
    return pacer


def _wait_for_slot(user: User, shape: Any, schedule: _SlotSchedule) -> float:
    """Seconds until this user's next slot; while none is planned (rate 0) it sleeps and asks again.

    How long the last iteration kept the user busy feeds the estimate of the users the planned
    rate needs, which the shape reads to grow its pool (``max_users``).
    """
    moment = time.monotonic()
    started = user.__dict__.get(_SLOT_START)
    if started is not None:
        schedule.record_busy(moment - started)
    while True:
        now: float = shape.elapsed()
        if moment >= schedule.share_until:  # users join and leave: look again four times a second
            schedule.share, schedule.share_until = _process_share(user.environment, shape), moment + 0.25
        share = schedule.share
        slot = schedule.claim(now, share)
        if slot is not None:
            # Wake on the grid point nearest the slot: users whose slots are close wake together.
            wait = max(round(slot / _WAKE_GRID) * _WAKE_GRID - now, 0.0)
            user.__dict__[_SLOT_START] = moment + wait
            if now >= schedule.next_report:
                _report_demand(shape, schedule, now, share)
            return wait
        gevent.sleep(1.0)
        moment = time.monotonic()


def _report_demand(shape: Any, schedule: _SlotSchedule, now: float, share: float) -> None:
    report = getattr(shape, "report_pool_demand", None)
    needed = schedule.demand(now, share)
    if needed is not None and callable(report):
        report(now, needed)


def open_model_pacing(*, max_backlog: float = 1.0, late_after: float = 0.1) -> WaitTime:
    """Pace iterations so the whole test follows the open-model profile's planned iterations/s.

    The process keeps a schedule of slots spread by the planned rate at each moment (a worker takes
    its share: its users / the profile's pool). Each iteration takes the next slot. Iterations that
    start more than ``late_after`` seconds behind their slot count as late; after a stall at most
    ``max_backlog`` seconds of slots are caught up and the rest are dropped, so there is no burst.
    Without an open-model profile running this waits nothing.
    """

    def wait(user: User) -> float:
        pacer = _pacer(user, max_backlog, late_after)
        if pacer.schedule is None:
            return 0.0
        return _wait_for_slot(user, pacer.shape, pacer.schedule)

    _OPEN_MODEL_WAITS[wait] = (max_backlog, late_after)
    return wait


def paces_open_model(user_class: type[User]) -> bool:
    """True when the class's ``wait_time`` follows an open-model profile's planned rate."""
    return getattr(user_class, "wait_time", None) in _OPEN_MODEL_WAITS


def pacing_stats(environment: Environment) -> PacingStats:
    """Open-model pacing counters of this process (zeros when no open-model pacing ran)."""
    found = [schedule.stats() for schedule in _SCHEDULES.get(environment, {}).values()]
    return PacingStats(
        sum(stats.iterations for stats in found),
        sum(stats.late for stats in found),
        sum(stats.dropped for stats in found),
    )


def scenario_wait_time() -> WaitTime:
    """The templates' default: open-model pacing when the profile is open-model, else ``pacing``,
    else ``think_time`` (1 s unless set; ``0`` for none), all read from settings at run time."""
    open_model, paced = open_model_pacing(), pacing()
    backlog, late_after = _OPEN_MODEL_WAITS[open_model]

    def wait(user: User) -> float:
        pacer = _pacer(user, backlog, late_after)
        if pacer.schedule is not None:
            return _wait_for_slot(user, pacer.shape, pacer.schedule)  # as open_model(user), found once
        settings = scenario_settings(user.environment)
        if settings.pacing:
            return paced(user)
        return uniform(*settings_think_time(settings))

    _OPEN_MODEL_WAITS[wait] = _OPEN_MODEL_WAITS[open_model]
    return wait


def before_first_iteration(user: User) -> None:
    """Start a user's pacing clock; under open-model pacing its first iteration waits for a slot too.

    Without that, every user's first iteration would start at spawn, in one burst.
    """
    paced = _OPEN_MODEL_WAITS.get(type(user).wait_time)
    if paced is not None:
        pacer = _pacer(user, *paced)
        if pacer.schedule is not None:
            gevent.sleep(_wait_for_slot(user, pacer.shape, pacer.schedule))
    setattr(user, _ITERATION_START, time.monotonic())
