"""The profile base class and the registry of profiles selectable by name (``LOCUST_SCENARIO``).

``ScenarioProfile`` turns settings into a ``Plan`` and is a Locust shape whose ``tick()`` is a thin
adapter over run time. Every profile class is abstract (``abstract = True``): Locust picks the first
concrete shape it finds in a locustfile, so importing library names must never change which shape
runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from locust import LoadTestShape

from locust_scenarios._settings.errors import SettingsError, setting_phrase
from locust_scenarios._settings.options import (
    BUILTIN_SCENARIOS,
    SCENARIO,
    environment_options,
    field_names,
    format_duration,
    option_values,
    parse_duration,
    suggest,
)

from .plan import Plan, Tick

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

__all__ = [
    "ScenarioProfile",
    "StopCondition",
    "iter_profiles",
    "profile_choice",
    "profile_class",
    "profile_names",
    "profile_settings",
    "register_profile",
    "settings_inputs",
]

logger = logging.getLogger("locust_scenarios")


StopCondition = Callable[[], str | None]

_COMMON_OPTIONS = ("num_users", "spawn_rate", "run_time")
"""Locust's -u/-r/-t: a profile reads them where its own settings are not given."""

_DEMAND_MEMORY = 5.0
"""Seconds an estimate of the users the open model needs keeps the pool from shrinking."""

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
        raise SettingsError.invalid(
            "scenario", name, f"must be one of {', '.join(profile_names())}{suggest(name, profile_names())}"
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
    _inputs: dict[str, Any] | None = None
    """The option values the settings were validated from (``None``: given as settings)."""
    _dwell_delay: float = 0.0
    """Seconds dwell stages held the plan's clock back while their level was not yet reached."""
    _dwelt: frozenset[int] = frozenset()
    """Dwell stages whose level was reached (their clock runs)."""
    _demand: list[tuple[float, int]] = []  # noqa: RUF012 - replaced, never changed in place
    """The pacing's recent estimates of the users the open model needs: ``(run time, users)``."""

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
        given = settings
        if settings is None:
            settings = profile_settings(options, self.class_defaults())
        self.settings = settings
        self.stop_condition = stop_condition
        found = self._remember_common_options(options)
        run_time = found.get("run_time")
        self._max_duration = float(run_time) if run_time else None
        plan = self.build(settings)
        if self._max_duration is not None and self._max_duration < plan.duration:
            plan = plan.truncated(self._max_duration)
        if not plan.stages or plan.duration <= 0:
            source = self.source_of(settings, "scenario")
            raise SettingsError.invalid("scenario", self.scenario_name, "the plan is empty", source=source)
        self._plan = plan
        self._inputs = settings_inputs(options) if given is None else None

    def _remember_common_options(self, options: Any) -> Mapping[str, Any]:
        """The options as a mapping; Locust's -u/-r/-t are kept from the first time they are seen."""
        found: Mapping[str, Any] = (
            options if isinstance(options, Mapping) else vars(options) if options is not None else {}
        )
        if options is not None and self._common_options is None:
            self._common_options = {name: found.get(name) for name in _COMMON_OPTIONS}
        return found

    def configured_from(self, options: Any) -> bool:
        """Whether the settings were validated from these option values (then they need no new validation)."""
        return self._inputs is not None and settings_inputs(options) == self._inputs

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
        return self.plan.level(self.plan_time(t))

    def stage_name(self, t: float) -> str:
        """Name of the stage running at ``t``."""
        return self.plan.stage_name(self.plan_time(t))

    def plan_time(self, t: float) -> float:
        """Where in the plan run time ``t`` is: behind by the time dwell stages waited for their level."""
        return max(t - self._dwell_delay, 0.0)

    def _dwell_clock(self, t: float) -> float:
        """The plan time at run time ``t``, held at a dwell stage's start until its level is reached."""
        at = self.plan_time(t)
        found = self.plan.dwell_start(at)
        if found is None or found[0] in self._dwelt:
            return at
        index, start = found
        if self._level_reached(self.plan.level(start)):
            self._dwelt = self._dwelt | {index}
            return at
        self._dwell_delay += at - start
        return start

    def _level_reached(self, level: float) -> bool:
        """Whether Locust runs the planned users (the open model's pool is there from the start)."""
        runner = self.runner
        if self.open_model or runner is None:
            return True
        return int(runner.user_count) >= round(level)

    def target(self, t: float) -> Tick | None:
        """What ``tick()`` answers at run time ``t``; ``None`` ends the run."""
        if self.stop_condition is not None and self.breach is None and t < self.plan.duration:
            reason = self.stop_condition()
            if reason:
                level = f"{self.planned_level(t):g} planned {self.plan.unit}"
                self.breach = f"{reason} at {format_duration(t)} with {level}"
        if self.breach is not None:
            return None
        t = self._dwell_clock(t)
        if self.open_model:
            return self._pool_tick(t)
        return self.plan.tick(t)

    def _pool_tick(self, t: float) -> Tick | None:
        """Open model: a pool of users whose pacing follows the planned rate.

        The pool is ``users``; with ``max_users`` it grows up to that many while the pacing reports
        that more users are needed to start iterations on time, and shrinks back when they are not.
        """
        if t >= self.plan.duration:
            return None
        assert self.settings is not None
        pool = self.planned_users(t)
        # The whole pool at once by default: users wait for their slots, so no burst follows.
        return pool, self.settings.spawn_rate or float(pool)

    def planned_users(self, t: float | None = None) -> int:
        """Users the open model runs now: ``users``, grown towards the pacing's demand up to ``max_users``."""
        assert self.settings is not None
        pool = int(self.settings.users or type(self).users)
        cap = self.settings.max_users
        if not cap or cap <= pool or not self._demand:
            return pool
        now = self.elapsed() if t is None else t
        recent = [users for at, users in self._demand if now - _DEMAND_MEMORY <= at <= now + 1.0]
        return min(cap, max([pool, *recent]))

    def report_pool_demand(self, t: float, users: int) -> None:
        """The pacing's estimate, at run time ``t``, of the users it needs to start iterations on time.

        The largest estimate of the last few seconds counts, so that the pool does not shrink and
        grow again at every tick.
        """
        self._demand = [(at, n) for at, n in self._demand if t - _DEMAND_MEMORY <= at <= t] + [(t, users)]

    def reset_time(self) -> None:
        """Locust calls this as a run starts (headless, ``--autostart`` or the web UI's button).

        The options are read again first: the web UI writes its form into Locust's parsed options
        just before, so a value changed there applies to this run (options unchanged since the
        settings were validated keep them: one validation per run start). A value that does not
        validate is reported and the previous plan kept.
        """
        options = self.runner.environment.parsed_options if self.runner is not None else None
        if options is not None and self._plan is not None:
            # Locust's -u/-r/-t keep the values they had when the profile was first configured:
            # headless mode overwrites -u and -r with its own defaults before the run starts.
            current = {**vars(options), **(self._common_options or {})}
            if not self.configured_from(current):
                try:
                    self.configure(options=current, stop_condition=self.stop_condition)
                except SettingsError as error:
                    logger.error("keeping the previous plan: %s", error)
        if self.completed:
            # A new run after a finished one (the web UI can start several). Locust also calls this
            # from inside the first tick of a distributed run, which must not clear ``started``.
            self.started = self.completed = False
            self.breach = None
            self._demand = []
        self._dwell_delay, self._dwelt = 0.0, frozenset()
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

    def source_of(self, settings: ScenarioSettings, name: str) -> str | None:
        """Where a value the plan used came from, for messages: ``None`` when the user set it (an
        option, a variable, a config or ``.env`` file), else what stood in for it."""
        if name in settings.model_fields_set:
            return None
        if getattr(settings, name, None) is not None or getattr(type(self), name, None) is not None:
            return f"not set; the {self.scenario_name} profile's default"
        return "not set; a share of the duration"

    def too_long(self, settings: ScenarioSettings, name: str, seconds: float, rule: str) -> SettingsError:
        """The duration setting ``name`` (``seconds`` as the plan used it) refused, named as it was set."""
        return SettingsError.invalid(name, format_duration(seconds), rule, source=self.source_of(settings, name))

    def phrase(self, settings: ScenarioSettings, name: str, seconds: float) -> str:
        """A duration setting the plan used, for the rule of another one's refusal."""
        return setting_phrase(name, format_duration(seconds), source=self.source_of(settings, name))


def settings_inputs(options: Any) -> dict[str, Any] | None:
    """The option values a profile's settings are validated from (``None`` without options)."""
    return option_values(options, SCENARIO, _COMMON_OPTIONS) if options is not None else None


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


def profile_settings(options: Any, class_defaults: Mapping[str, Any]) -> ScenarioSettings:
    """Validated settings from Locust's options and a profile's class attributes.

    pydantic loads here, when a profile is configured (at ``init``), not when the package is imported.
    """
    from locust_scenarios._settings.models import ScenarioSettings, load_settings  # noqa: PLC0415

    return load_settings(ScenarioSettings, _with_common_options(options), class_defaults)


def profile_choice(options: Any, default: str | None = None) -> str:
    """The profile name Locust's ``options`` select (``LOCUST_SCENARIO``; ``default`` when not given).

    Reads the name alone, so that the settings are validated once, with that profile's defaults.
    """
    from locust_scenarios._settings.models import chosen_scenario  # noqa: PLC0415  (pydantic, at init)

    return chosen_scenario(options, default)


def iter_profiles() -> Iterator[type[ScenarioProfile]]:
    """Every registered profile class, in ``profile_names()`` order."""
    for name in profile_names():
        yield _REGISTRY[name]
