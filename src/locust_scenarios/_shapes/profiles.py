"""The built-in profiles, one per test type: smoke, load, stress, spike, endurance, breakpoint, stages.

Defaults follow published test-type guidance (k6's "test types"); each is registered by name and
abstract: subclass one, or select it by name with ``ScenarioShape``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import format_duration

from .plan import Plan, Stage, parse_stages, scale
from .profile import ScenarioProfile, register_profile

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

__all__ = [
    "BreakpointProfile",
    "EnduranceProfile",
    "LoadProfile",
    "SmokeProfile",
    "SpikeProfile",
    "StagesProfile",
    "StressProfile",
]


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
            raise self._ramps_too_long(settings, {"ramp_up": ramp_up, "ramp_down": ramp_down}, total)
        stages = (
            Stage(ramp_up, peak, "ramp-up"),
            Stage(total - ramp_up - ramp_down, peak, "steady"),
            Stage(ramp_down, 0, "ramp-down"),
        )
        return Plan(tuple(s for s in stages if s.duration > 0), unit=unit)

    def _ramps_too_long(self, settings: ScenarioSettings, ramps: dict[str, float], total: float) -> SettingsError:
        """The ramps leave no time at the peak: the setting the user gave is named as the invalid one.

        A ramp of zero is left out (smoke has no ramp-down: do not name a setting the user never met).
        """
        ramps = {name: seconds for name, seconds in ramps.items() if seconds}
        given = [name for name in ramps if self.source_of(settings, name) is None]
        if not given and self.source_of(settings, "duration") is None:
            shown = " + ".join(self.phrase(settings, name, seconds) for name, seconds in ramps.items())
            return self.too_long(settings, "duration", total, f"must be longer than the ramps, {shown}")
        name = given[0] if given else next(iter(ramps))
        others = [self.phrase(settings, other, seconds) for other, seconds in ramps.items() if other != name]
        rule = f"must be shorter than {self.phrase(settings, 'duration', total)}"
        if others:
            rule = f"with {', '.join(others)}, {rule}"
        return self.too_long(settings, name, ramps[name], rule)


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
            rule = f"must be shorter than each step ({format_duration(share)} = (duration - ramp_down) / steps)"
            raise self.too_long(settings, "ramp_up", ramp, rule)
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
            parts = {"ramp_up": ramp_up, "hold": hold}
            given = [name for name in parts if self.source_of(settings, name) is None]
            if self.source_of(settings, "duration") is None or not given:
                rule = (
                    f"too short for the spike's ramp-up, baseline, rise, hold ({format_duration(hold)}) and fall; "
                    f"must exceed {format_duration(total - recovery)}"
                )
                raise self.too_long(settings, "duration", total, rule)
            name = given[0]
            rule = (
                f"leaves no time to recover within {self.phrase(settings, 'duration', total)}; "
                f"must be shorter than {format_duration(parts[name] + recovery)}"
            )
            raise self.too_long(settings, name, parts[name], rule)
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
    highest target equals it, and when ``duration`` is set, stretched or shrunk so that they last it.
    """

    abstract = True
    description = "declarative stages 'DURATION:TARGET,...' (scaled to users and duration when set)"
    parameters = ("stages", "users", "rate", "duration")
    stages: ClassVar[Sequence[Stage] | str] = "30s:5,1m:5,30s:0"

    def build(self, settings: ScenarioSettings) -> Plan:
        declared: Sequence[Stage] | str = settings.stages or type(self).stages
        try:
            stages = parse_stages(declared) if isinstance(declared, str) else list(declared)
        except ValueError as error:
            source = None if settings.stages else f"not set; the {type(self).__name__} class attribute stages"
            raise SettingsError.invalid("stages", declared, str(error), source=source) from None
        plan = Plan(tuple(stages), unit="iterations/s" if settings.rate is not None else "users")
        if plan.duration <= 0:
            source = None if settings.stages else f"not set; the {type(self).__name__} class attribute stages"
            rule = "the stages last 0s in all: give at least one stage a duration, e.g. '30s:10,1m:10'"
            raise SettingsError.invalid("stages", declared, rule, source=source)
        if settings.duration is not None:  # the profile's total duration, as for every other profile
            stretch = settings.duration / plan.duration
            plan = Plan(tuple(replace(s, duration=s.duration * stretch) for s in plan.stages), plan.start, plan.unit)
        wanted = settings.rate if settings.rate is not None else settings.users
        if wanted is not None and plan.peak > 0:
            plan = scale(plan, wanted / plan.peak)
        return plan

    @classmethod
    def class_defaults(cls) -> dict[str, Any]:
        defaults = super().class_defaults()
        defaults.pop("users", None)
        defaults.pop("duration", None)  # the stages' own durations, unless a setting stretches them
        return defaults
