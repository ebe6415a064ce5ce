"""Scenario profiles: Locust load shapes built from stages, one per test type, composable.

A profile is a pure function of run time. ``Plan`` holds the stages; ``Plan.level(t)`` is the planned
user count (or iterations per second in the open model) at ``t``; ``Plan.tick(t)`` is what Locust's
``tick()`` returns at ``t``. The preview, the docs pictures and the exporter's target gauge all read
the same plan.

Every class exported here is abstract (``abstract = True``): Locust picks the first concrete shape it
finds in a locustfile, so importing library names must never change which shape runs. Subclass one to
get a concrete shape, or use ``ScenarioShape``, which picks the profile named by ``LOCUST_SCENARIO``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from locust import LoadTestShape

from locust_scenarios._settings.options import (
    BUILTIN_SCENARIOS,
    MAX_RATE,
    SCENARIO,
    SettingsError,
    environment_options,
    field_names,
    format_duration,
    parse_duration,
    shown,
    suggest,
)

if TYPE_CHECKING:
    from locust import User

    from locust_scenarios._settings.models import ScenarioSettings

__all__ = [
    "BreakpointProfile",
    "EnduranceProfile",
    "LoadProfile",
    "Plan",
    "ScenarioProfile",
    "ScenarioShape",
    "SmokeProfile",
    "SpikeProfile",
    "Stage",
    "StagesProfile",
    "StressProfile",
    "parse_stages",
    "profile_class",
    "profile_names",
    "register_profile",
    "repeat",
    "scale",
    "sequence",
]

logger = logging.getLogger("locust_scenarios")

Tick = tuple[int, float] | tuple[int, float, list[type["User"]] | None]
StopCondition = Callable[[], str | None]


@dataclass(frozen=True)
class Stage:
    """Move linearly from the previous level to ``target`` over ``duration`` seconds.

    ``target`` is a user count (closed model) or iterations per second (open model). A stage with
    ``duration == 0`` is a jump; Locust makes it at ``spawn_rate`` users per second (default: within
    one second). ``user_classes`` restricts which user classes Locust spawns during the stage.
    """

    duration: float
    target: float
    name: str = ""
    spawn_rate: float | None = None
    user_classes: tuple[type[User], ...] | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.duration) or self.duration < 0:
            raise ValueError(f"stage duration must be zero or more seconds, got {self.duration!r}")
        if not math.isfinite(self.target) or self.target < 0:
            raise ValueError(f"stage target must be zero or more, got {self.target!r}")


@dataclass(frozen=True)
class Plan:
    """An immutable sequence of stages, starting from level ``start`` (usually zero)."""

    stages: tuple[Stage, ...]
    start: float = 0.0
    unit: str = "users"
    _offsets: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        offsets, elapsed = [], 0.0
        for stage in self.stages:
            offsets.append(elapsed)
            elapsed += stage.duration
        object.__setattr__(self, "_offsets", tuple(offsets))

    @property
    def duration(self) -> float:
        """Total planned seconds."""
        return sum(stage.duration for stage in self.stages)

    @property
    def peak(self) -> float:
        """The highest level the plan reaches."""
        return max([self.start, *(stage.target for stage in self.stages)])

    def _locate(self, t: float) -> tuple[int, float] | None:
        """Index of the stage running at ``t`` and the level it started from (None past the end)."""
        level = self.start
        for index, (offset, stage) in enumerate(zip(self._offsets, self.stages, strict=True)):
            if t < offset + stage.duration:
                return index, level
            level = stage.target
        return None

    def level(self, t: float) -> float:
        """The planned level at run time ``t`` (linear within a ramp; the last level past the end)."""
        located = self._locate(max(t, 0.0))
        if located is None:
            return self.stages[-1].target if self.stages else self.start
        index, start_level = located
        stage = self.stages[index]
        progress = (t - self._offsets[index]) / stage.duration if stage.duration else 1.0
        return start_level + (stage.target - start_level) * max(progress, 0.0)

    def stage_name(self, t: float) -> str:
        """The name of the stage running at ``t`` (``"done"`` past the end)."""
        located = self._locate(max(t, 0.0))
        return self.stages[located[0]].name if located else "done"

    def tick(self, t: float) -> Tick | None:
        """What Locust's ``tick()`` returns at ``t``: the stage's end level and the rate to reach it.

        A ramp returns its end target with the spawn rate that gets there exactly at the stage's end,
        so Locust ramps smoothly between ticks and a skipped tick loses nothing. A hold repeats the
        previous answer, so Locust does not restart spawning.
        """
        located = self._locate(t)
        if located is None:
            return None
        index, _ = located
        users, rate = self._tick_values(index)
        classes = self.stages[index].user_classes
        if classes is not None:
            return users, rate, list(classes)
        return users, rate

    def _tick_values(self, index: int) -> tuple[int, float]:
        level = self.start if index == 0 else self.stages[index - 1].target
        stage = self.stages[index]
        target = round(stage.target)
        if stage.spawn_rate is not None:
            return target, stage.spawn_rate
        if round(level) != target:
            delta = abs(stage.target - level)
            return target, delta / stage.duration if stage.duration else max(delta, 1.0)
        if index == 0:
            return target, max(float(target), 1.0)
        return round(level), self._tick_values(index - 1)[1]

    def points(self) -> list[tuple[float, float]]:
        """The corners of the planned curve: ``(t, level)`` from 0 to the end."""
        points = [(0.0, self.start)]
        for offset, stage in zip(self._offsets, self.stages, strict=True):
            end = offset + stage.duration
            if stage.duration == 0 or points[-1] != (end, stage.target):
                points.append((end, stage.target))
        return points

    def then(self, *others: Plan) -> Plan:
        """This plan followed by ``others`` (each continues from where the previous ended)."""
        return sequence(self, *others)

    def scaled(self, factor: float) -> Plan:
        """Every level multiplied by ``factor``."""
        return scale(self, factor)

    def truncated(self, seconds: float) -> Plan:
        """The plan cut off after ``seconds`` (the last stage shortened, later stages dropped)."""
        kept: list[Stage] = []
        for offset, stage in zip(self._offsets, self.stages, strict=True):
            if offset >= seconds:
                break
            if offset + stage.duration > seconds:
                fraction = (seconds - offset) / stage.duration
                start = kept[-1].target if kept else self.start
                partial = start + (stage.target - start) * fraction
                kept.append(replace(stage, duration=seconds - offset, target=partial))
            else:
                kept.append(stage)
        return Plan(tuple(kept), self.start, self.unit)

    def table(self) -> list[dict[str, Any]]:
        """One row per stage: name, start and end time, from and to level (for previews and docs)."""
        rows, level = [], self.start
        for offset, stage in zip(self._offsets, self.stages, strict=True):
            rows.append(
                {
                    "name": stage.name,
                    "start_s": offset,
                    "end_s": offset + stage.duration,
                    "from": level,
                    "to": stage.target,
                }
            )
            level = stage.target
        return rows


def sequence(*plans: Plan) -> Plan:
    """Plans one after another. A jump is inserted where a plan starts at another level."""
    if not plans:
        raise ValueError("sequence() needs at least one plan")
    stages: list[Stage] = []
    level = plans[0].start
    for plan in plans:
        if plan.start != level:
            stages.append(Stage(0, plan.start, "jump"))
        stages.extend(plan.stages)
        level = plan.stages[-1].target if plan.stages else plan.start
    return Plan(tuple(stages), plans[0].start, plans[0].unit)


def repeat(plan: Plan, times: int) -> Plan:
    """``plan`` run ``times`` times in a row; stage names get a ``#n`` suffix."""
    if times < 1:
        raise ValueError(f"repeat() needs times >= 1, got {times}")
    copies = [
        Plan(tuple(replace(s, name=f"{s.name}#{n + 1}") for s in plan.stages), plan.start, plan.unit)
        for n in range(times)
    ]
    return sequence(*copies)


def scale(plan: Plan, factor: float) -> Plan:
    """``plan`` with every level multiplied by ``factor``."""
    if factor < 0 or not math.isfinite(factor):
        raise ValueError(f"scale() needs a factor of zero or more, got {factor}")
    stages = tuple(replace(s, target=s.target * factor) for s in plan.stages)
    return Plan(stages, plan.start * factor, plan.unit)


def parse_stages(text: str) -> list[Stage]:
    """Stages from ``"30s:10, 1m:10, 30s:0"`` (``DURATION:TARGET``; an optional ``:NAME`` third part)."""
    stages = []
    items = [part.strip() for part in text.split(",") if part.strip()]
    if len(items) > _MAX_STAGES:
        raise ValueError(f"{len(items)} stages: at most {_MAX_STAGES} are allowed")
    for number, item in enumerate(items, 1):
        parts = item.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"stage {number} {shown(item)} is not DURATION:TARGET (e.g. 30s:10)")
        try:
            duration, target = parse_duration(parts[0]), float(parts[1])
        except ValueError as error:
            raise ValueError(f"stage {number} {shown(item)}: {error}") from None
        if not 0 <= target <= MAX_RATE:
            raise ValueError(f"stage {number} {shown(item)}: target must be between 0 and {MAX_RATE:g}")
        stages.append(Stage(duration, target, parts[2] if len(parts) == 3 else f"stage {number}"))
    if not stages:
        raise ValueError("no stages given (e.g. 30s:10,1m:10,30s:0)")
    return stages


_MAX_STAGES = 1000

_REGISTRY: dict[str, type[ScenarioProfile]] = {}
ProfileT = TypeVar("ProfileT", bound="type[ScenarioProfile]")


def register_profile(name: str) -> Callable[[ProfileT], ProfileT]:
    """Class decorator: make a profile selectable as ``LOCUST_SCENARIO=name``."""

    def decorate(cls: ProfileT) -> ProfileT:
        if not name.replace("-", "").replace("_", "").isalnum() or not name[:1].isalpha():
            raise ValueError(f"profile name {name!r} must start with a letter: letters, digits, - and _")
        cls.scenario_name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def profile_names() -> list[str]:
    """Registered profile names: the six test types first, then the rest alphabetically."""
    return sorted(_REGISTRY, key=lambda n: (BUILTIN_SCENARIOS.index(n) if n in BUILTIN_SCENARIOS else 99, n))


def profile_class(name: str) -> type[ScenarioProfile]:
    """The profile registered as ``name``; ``SettingsError`` naming the allowed names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SettingsError(
            f"invalid setting LOCUST_SCENARIO={name!r} (--scenario): must be one of "
            f"{', '.join(profile_names())}{suggest(name, profile_names())}"
        ) from None


class ScenarioProfile(LoadTestShape):
    """Base of every profile: settings in, a ``Plan`` out, ``tick()`` a thin adapter over run time.

    Parameters come from settings (``LOCUST_SCENARIO_*``) and, below those, from class attributes of
    the same name (``users = 50``, ``duration = "10m"``). Locust's ``-u`` stands for ``users`` and
    ``-r`` for ``spawn_rate`` when those are not set; ``-t`` cuts the plan short.
    """

    abstract = True
    use_common_options = True
    scenario_name: ClassVar[str] = "custom"
    description: ClassVar[str] = ""
    parameters: ClassVar[tuple[str, ...]] = ("users", "duration")

    users: ClassVar[int] = 10
    duration: ClassVar[str] = "1m"

    settings: ScenarioSettings | None = None
    stop_condition: StopCondition | None = None
    breach: str | None = None
    started: bool = False
    completed: bool = False
    _plan: Plan | None = None
    _max_duration: float | None = None
    _common_options: dict[str, Any] | None = None

    # -- configuration ---------------------------------------------------------------------------

    @classmethod
    def class_defaults(cls) -> dict[str, Any]:
        """Class attributes that name settings fields (the lowest-ranking source before defaults)."""
        found: dict[str, Any] = {}
        for name in field_names(SCENARIO):
            value = getattr(cls, name, None)
            if isinstance(value, str | int | float | bool) and name != "scenario":
                found[name] = value
        found["scenario"] = cls.scenario_name
        return found

    def configure(
        self,
        settings: ScenarioSettings | None = None,
        *,
        options: Any = None,
        stop_condition: StopCondition | None = None,
    ) -> None:
        """Build the plan from ``settings`` or from Locust's parsed ``options`` (validated here).

        Raises ``SettingsError`` for bad values, before any user spawns.
        """
        if settings is None:
            settings = _load(options, self.class_defaults())
        self.settings = settings
        self.stop_condition = stop_condition
        found = self._remember_common_options(options)
        run_time = found.get("run_time")
        self._max_duration = float(run_time) if run_time else None
        plan = self.build(settings)
        if self._max_duration is not None and self._max_duration < plan.duration:
            plan = plan.truncated(self._max_duration)
        if not plan.stages or plan.duration <= 0:
            raise SettingsError(f"invalid setting LOCUST_SCENARIO={self.scenario_name!r}: the plan is empty")
        self._plan = plan

    def _remember_common_options(self, options: Any) -> Mapping[str, Any]:
        """The options as a mapping; Locust's -u/-r/-t are kept from the first time they are seen."""
        found: Mapping[str, Any] = (
            options if isinstance(options, Mapping) else vars(options) if options is not None else {}
        )
        if options is not None and self._common_options is None:
            self._common_options = {name: found.get(name) for name in ("num_users", "spawn_rate", "run_time")}
        return found

    def inject_stop_condition(self, stop_condition: StopCondition | None) -> None:
        """Replace the stop condition (the breakpoint's criteria as a run from the web UI set them)."""
        self.stop_condition = stop_condition

    def common_options(self) -> dict[str, Any]:
        """Locust's -u/-r/-t as first seen (they stand in for settings that are not given)."""
        return dict(self._common_options or {})

    def build(self, settings: ScenarioSettings) -> Plan:
        """The plan for these settings. Subclasses override this."""
        raise NotImplementedError

    @property
    def plan(self) -> Plan:
        """The configured plan (configured from the environment on first use)."""
        if self._plan is None:
            self.configure(options=environment_options())
        assert self._plan is not None
        return self._plan

    @property
    def open_model(self) -> bool:
        """True when the plan's levels are iterations per second rather than users."""
        return self.plan.unit != "users"

    # -- the pure function of time and Locust's adapter ------------------------------------------

    def planned_level(self, t: float) -> float:
        """Planned users (or iterations/s in the open model) at run time ``t``."""
        return self.plan.level(t)

    def stage_name(self, t: float) -> str:
        """Name of the stage running at ``t``."""
        return self.plan.stage_name(t)

    def target(self, t: float) -> Tick | None:
        """What ``tick()`` answers at run time ``t``; ``None`` ends the run."""
        if self.stop_condition is not None and self.breach is None and t < self.plan.duration:
            reason = self.stop_condition()
            if reason:
                level = f"{self.planned_level(t):g} planned {self.plan.unit}"
                self.breach = f"{reason} at {format_duration(t)} with {level}"
        if self.breach is not None:
            return None
        if self.open_model:
            return self._pool_tick(t)
        return self.plan.tick(t)

    def _pool_tick(self, t: float) -> Tick | None:
        """Open model: a constant pool of users; their pacing follows the planned rate."""
        if t >= self.plan.duration:
            return None
        assert self.settings is not None
        pool = self.settings.users or type(self).users
        # The whole pool at once by default: users wait for their slots, so no burst follows.
        return pool, self.settings.spawn_rate or float(pool)

    def reset_time(self) -> None:
        """Locust calls this as a run starts (headless, ``--autostart`` or the web UI's button).

        The options are read again first: the web UI writes its form into Locust's parsed options
        just before, so a value changed there applies to this run. A value that does not validate
        is reported and the previous plan kept.
        """
        options = self.runner.environment.parsed_options if self.runner is not None else None
        if options is not None and self._plan is not None:
            # Locust's -u/-r/-t keep the values they had when the profile was first configured:
            # headless mode overwrites -u and -r with its own defaults before the run starts.
            current = {**vars(options), **(self._common_options or {})}
            try:
                self.configure(options=current, stop_condition=self.stop_condition)
            except SettingsError as error:
                logger.error("keeping the previous plan: %s", error)
        if self.completed:
            # A new run after a finished one (the web UI can start several). Locust also calls this
            # from inside the first tick of a distributed run, which must not clear ``started``.
            self.started = self.completed = False
            self.breach = None
        super().reset_time()  # type: ignore[no-untyped-call]

    def elapsed(self) -> float:
        """Seconds since the shape started."""
        return float(self.get_run_time())  # type: ignore[no-untyped-call]

    def tick(self) -> Tick | None:
        """Locust's hook, about once a second on the master: the plan at the current run time."""
        self.started = True
        answer = self.target(self.elapsed())
        if answer is None:
            self.completed = True
        return answer

    # -- helpers for subclasses ------------------------------------------------------------------

    def setting(self, settings: ScenarioSettings, name: str) -> Any:
        """A setting, or the class attribute of the same name when the setting was not given."""
        value = getattr(settings, name)
        return value if value is not None else getattr(type(self), name, None)

    def peak(self, settings: ScenarioSettings) -> tuple[float, str]:
        """The highest level and its unit: ``rate`` iterations/s (open model) or ``users``."""
        if settings.rate is not None:
            return settings.rate, "iterations/s"
        return float(self.setting(settings, "users")), "users"

    def seconds(self, settings: ScenarioSettings, name: str, default_share: float = 0.0) -> float:
        """A duration setting in seconds; when unset, ``default_share`` of the total duration."""
        value = getattr(settings, name)
        if value is None:
            attribute = getattr(type(self), name, None)
            value = parse_duration(attribute) if attribute is not None else None
        if value is None:
            value = self.seconds(settings, "duration") * default_share
        return float(value)


def _with_common_options(options: Any) -> Any:
    """Locust's ``-u``/``-r`` stand for ``--scenario-users``/``--scenario-spawn-rate`` when unset."""
    if options is None:
        return None
    found = dict(vars(options)) if not isinstance(options, Mapping) else dict(options)
    if found.get("scenario_users") in (None, "") and found.get("num_users"):
        found["scenario_users"] = found["num_users"]
    if found.get("scenario_spawn_rate") in (None, "") and found.get("spawn_rate"):
        found["scenario_spawn_rate"] = found["spawn_rate"]
    return found


def _load(options: Any, class_defaults: Mapping[str, Any]) -> ScenarioSettings:
    """Validated settings from Locust's options and a profile's class attributes.

    pydantic loads here, when a profile is configured (at ``init``), not when the package is imported.
    """
    from locust_scenarios._settings.models import ScenarioSettings, load_settings  # noqa: PLC0415

    return load_settings(ScenarioSettings, _with_common_options(options), class_defaults)


@register_profile("load")
class LoadProfile(ScenarioProfile):
    """Average load: ramp over 10% of the time, hold at least five times as long, ramp down."""

    abstract = True
    description = "average load: ramp up over 10%, hold, ramp down over 5% of the duration"
    parameters: ClassVar[tuple[str, ...]] = ("users", "duration", "ramp_up", "ramp_down")
    users = 50
    duration = "10m"
    ramp_up_share: ClassVar[float] = 0.10
    """Ramp-up as a share of the duration when ``ramp_up`` is not set."""
    ramp_down_share: ClassVar[float] = 0.05
    """Ramp-down as a share of the duration when ``ramp_down`` is not set."""

    def build(self, settings: ScenarioSettings) -> Plan:
        peak, unit = self.peak(settings)
        total = self.seconds(settings, "duration")
        ramp_up = self.seconds(settings, "ramp_up", self.ramp_up_share)
        ramp_down = self.seconds(settings, "ramp_down", self.ramp_down_share)
        if ramp_up + ramp_down >= total:
            ramps = f"LOCUST_SCENARIO_RAMP_UP={format_duration(ramp_up)}"
            if ramp_down:  # smoke has no ramp-down: do not name a setting the user never met
                ramps += f" + LOCUST_SCENARIO_RAMP_DOWN={format_duration(ramp_down)}"
            raise SettingsError(
                f"invalid setting {ramps}: must be shorter than LOCUST_SCENARIO_DURATION={format_duration(total)}"
            )
        stages = (
            Stage(ramp_up, peak, "ramp-up"),
            Stage(total - ramp_up - ramp_down, peak, "steady"),
            Stage(ramp_down, 0, "ramp-down"),
        )
        return Plan(tuple(s for s in stages if s.duration > 0), unit=unit)


@register_profile("smoke")
class SmokeProfile(LoadProfile):
    """A few users for about a minute: does the script work and does the system answer at all?"""

    abstract = True
    description = "2-5 users for about a minute to check the script and the target work"
    parameters = ("users", "duration", "ramp_up")
    users = 3
    duration = "1m"
    ramp_up = "5s"
    ramp_down_share = 0.0


@register_profile("stress")
class StressProfile(ScenarioProfile):
    """Above average load in steps: ``steps`` equal levels up to ``users`` (default: half, then all).

    With the default two steps the first level is the average load and the second twice that,
    inside the 1.5-3x band published guidance gives for stress tests.
    """

    abstract = True
    description = "steps up to above-average load (default: average, then 2x), each ramped and held"
    parameters = ("users", "duration", "steps", "ramp_up", "ramp_down")
    users = 100
    duration = "20m"
    steps = 2

    def build(self, settings: ScenarioSettings) -> Plan:
        peak, unit = self.peak(settings)
        steps = int(self.setting(settings, "steps"))
        total = self.seconds(settings, "duration")
        ramp_down = self.seconds(settings, "ramp_down", 0.10)
        share = (total - ramp_down) / steps
        ramp = self.seconds(settings, "ramp_up", 0.10 / steps * (total - ramp_down) / total)
        if ramp >= share:
            raise SettingsError(
                f"invalid setting LOCUST_SCENARIO_RAMP_UP={format_duration(ramp)}: must be shorter than "
                f"each step ({format_duration(share)} = (duration - ramp_down) / steps)"
            )
        stages: list[Stage] = []
        for step in range(1, steps + 1):
            level = peak * step / steps
            stages += [Stage(ramp, level, f"ramp to step {step}"), Stage(share - ramp, level, f"step {step}")]
        stages.append(Stage(ramp_down, 0, "ramp-down"))
        return Plan(tuple(s for s in stages if s.duration > 0), unit=unit)


@register_profile("spike")
class SpikeProfile(ScenarioProfile):
    """A sudden surge to ``users`` from a baseline (default 1/20 of it), a short hold, and recovery.

    The rise takes ``users / spawn_rate`` seconds (default 10 s); the recovery at the baseline lasts
    the rest of ``duration`` so the system is observed coming back.
    """

    abstract = True
    description = "baseline (5%), a surge to users within seconds, a short hold, observed recovery"
    parameters = ("users", "duration", "baseline", "hold", "ramp_up", "spawn_rate")
    users = 100
    duration = "4m"
    baseline = 0.05
    hold = "1m"
    ramp_up = "10s"

    def build(self, settings: ScenarioSettings) -> Plan:
        peak, unit = self.peak(settings)
        ratio = float(self.setting(settings, "baseline"))
        base = max(1.0, round(peak * ratio)) if unit == "users" else peak * ratio
        total = self.seconds(settings, "duration")
        ramp_up = self.seconds(settings, "ramp_up")
        rise = (peak - base) / settings.spawn_rate if settings.spawn_rate else min(10.0, total / 10)
        hold = self.seconds(settings, "hold")
        before = min(30.0, total / 8)
        recovery = total - ramp_up - before - 2 * rise - hold
        if recovery <= 0:
            raise SettingsError(
                f"invalid setting LOCUST_SCENARIO_DURATION={format_duration(total)}: too short for the "
                f"spike's ramp-up, baseline, rise, hold ({format_duration(hold)}) and fall; "
                f"must exceed {format_duration(total - recovery)}"
            )
        stages = (
            Stage(ramp_up, base, "ramp-up"),
            Stage(before, base, "baseline"),
            Stage(rise, peak, "surge"),
            Stage(hold, peak, "peak"),
            Stage(rise, base, "drop"),
            Stage(recovery, base, "recovery"),
        )
        return Plan(tuple(s for s in stages if s.duration > 0), unit=unit)


@register_profile("endurance")
class EnduranceProfile(LoadProfile):
    """Average load held for hours (soak): leaks, exhaustion, slow degradation."""

    abstract = True
    description = "average load held for hours (soak); ramps over 2.5% of the duration each way"
    users = 50
    duration = "4h"
    ramp_up_share = 0.025
    ramp_down_share = 0.025


@register_profile("breakpoint")
class BreakpointProfile(ScenarioProfile):
    """Ramp towards ``users`` (a cap) until the stop condition breaks, then stop.

    Linear by default; with ``steps`` a staircase of equal steps. The stop condition (``stop_on``,
    threshold expressions that must hold) is injected by the plugin; reaching it is the purpose of
    the test, not a failure: ``breach`` records when and at what level it happened.
    """

    abstract = True
    description = "ramp towards a cap until the stop condition (stop_on) breaks, then stop"
    parameters = ("users", "duration", "steps", "stop_on")
    users = 1000
    duration = "30m"
    stop_on = "fail_ratio<5%"

    def build(self, settings: ScenarioSettings) -> Plan:
        peak, unit = self.peak(settings)
        total = self.seconds(settings, "duration")
        steps = settings.steps
        if not steps:
            return Plan((Stage(total, peak, "ramp"),), unit=unit)
        share = total / steps
        stages: list[Stage] = []
        for step in range(1, steps + 1):
            level = peak * step / steps
            stages += [
                Stage(min(share / 10, 10.0), level, f"to step {step}"),
                Stage(share * 0.9, level, f"step {step}"),
            ]
        return Plan(tuple(s for s in stages if s.duration > 0), unit=unit)


@register_profile("stages")
class StagesProfile(ScenarioProfile):
    """Declarative stages: ``stages = [Stage(...), ...]`` on a subclass, or ``LOCUST_SCENARIO_STAGES``.

    Targets are absolute; when ``users`` (or ``rate``) is set, the stages are scaled so that their
    highest target equals it.
    """

    abstract = True
    description = "declarative stages 'DURATION:TARGET,...' (targets scaled to users when set)"
    parameters = ("stages", "users", "rate")
    stages: ClassVar[Sequence[Stage] | str] = "30s:5,1m:5,30s:0"

    def build(self, settings: ScenarioSettings) -> Plan:
        source: Sequence[Stage] | str = settings.stages or type(self).stages
        try:
            stages = parse_stages(source) if isinstance(source, str) else list(source)
        except ValueError as error:
            raise SettingsError(f"invalid setting LOCUST_SCENARIO_STAGES={shown(source)}: {error}") from None
        plan = Plan(tuple(stages), unit="iterations/s" if settings.rate is not None else "users")
        wanted = settings.rate if settings.rate is not None else settings.users
        if wanted is not None and plan.peak > 0:
            plan = scale(plan, wanted / plan.peak)
        return plan

    @classmethod
    def class_defaults(cls) -> dict[str, Any]:
        defaults = super().class_defaults()
        defaults.pop("users", None)
        return defaults


class ScenarioShape(ScenarioProfile):
    """The selecting shape: runs the profile named by ``LOCUST_SCENARIO`` (default ``load``).

    ``class Shape(ScenarioShape): pass`` in a locustfile makes every test type selectable by
    environment, so one locustfile serves smoke, load, stress, spike, endurance and breakpoint.
    """

    abstract = True
    selected: ScenarioProfile | None = None
    selected_name: str = ""
    scenario: ClassVar[str | None] = None
    """A default profile name for this locustfile; ``LOCUST_SCENARIO`` still overrides it."""

    @classmethod
    def class_defaults(cls) -> dict[str, Any]:
        """Only what the locustfile's own subclass sets: the chosen profile supplies the rest."""
        defaults = super().class_defaults()
        defaults.pop("scenario")
        if cls.scenario is not None:
            defaults["scenario"] = cls.scenario
        for name in ("users", "duration"):
            if getattr(cls, name) == getattr(ScenarioProfile, name):
                defaults.pop(name, None)
        return defaults

    def configure(
        self,
        settings: ScenarioSettings | None = None,
        *,
        options: Any = None,
        stop_condition: StopCondition | None = None,
    ) -> None:
        self._remember_common_options(options)
        if settings is None:
            first = _load(options, self.class_defaults())
            chosen = profile_class(first.scenario)
            defaults = {**chosen.class_defaults(), **self.class_defaults(), "scenario": first.scenario}
            settings = _load(options, defaults)
        chosen = profile_class(settings.scenario)
        self.stop_condition = stop_condition
        self.selected = chosen()
        self.selected.configure(settings, options=options, stop_condition=stop_condition)
        self.selected_name = chosen.scenario_name
        self.settings = settings
        self._plan = self.selected.plan

    def inject_stop_condition(self, stop_condition: StopCondition | None) -> None:
        super().inject_stop_condition(stop_condition)
        if self.selected is not None:
            self.selected.inject_stop_condition(stop_condition)

    def target(self, t: float) -> Tick | None:
        if self._plan is None:
            self.configure(options=environment_options())
        assert self.selected is not None
        answer = self.selected.target(t)
        self.breach = self.selected.breach
        return answer


def iter_profiles() -> Iterator[type[ScenarioProfile]]:
    """Every registered profile class, in ``profile_names()`` order."""
    for name in profile_names():
        yield _REGISTRY[name]
