"""Plans: stages in time, as a pure function of run time, and their composition.

``Plan`` holds the stages; ``Plan.level(t)`` is the planned user count (or iterations per second in
the open model) at ``t``; ``Plan.tick(t)`` is what Locust's ``tick()`` returns at ``t``. The preview,
the docs pictures and the exporter's target gauge all read the same plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from locust_scenarios._settings.options import (
    MAX_RATE,
    ascii_float,
    parse_duration,
    shown,
)

if TYPE_CHECKING:
    from locust import User


__all__ = ["Plan", "Stage", "Tick", "parse_stages", "repeat", "scale", "sequence"]


Tick = tuple[int, float] | tuple[int, float, list[type["User"]] | None]


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
    dwell: bool = False
    """Hold for ``duration`` after the level is actually reached, not after the plan says so (a
    slow ramp then delays the rest of the plan instead of eating into this stage)."""

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

    def dwell_start(self, t: float) -> tuple[int, float] | None:
        """The dwell stage running at ``t`` (its index and start time), else None."""
        located = self._locate(max(t, 0.0))
        if located is None or not self.stages[located[0]].dwell:
            return None
        return located[0], self._offsets[located[0]]

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
                    **({"dwell": True} if stage.dwell else {}),
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
    """Stages from ``"30s:10, 1m:10, 30s:0"`` (``DURATION:TARGET``; an optional ``:NAME`` third part).

    A duration written ``+1m`` is a dwell: one minute counted from when the level is reached.
    """
    stages = []
    items = [part.strip() for part in text.split(",") if part.strip()]
    if len(items) > _MAX_STAGES:
        raise ValueError(f"{len(items)} stages: at most {_MAX_STAGES} are allowed")
    for number, item in enumerate(items, 1):
        parts = item.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"stage {number} {shown(item)} is not DURATION:TARGET (e.g. 30s:10)")
        dwell = parts[0].strip().startswith("+")
        try:
            duration, target = parse_duration(parts[0].strip().removeprefix("+")), ascii_float(parts[1].strip())
        except ValueError as error:
            raise ValueError(f"stage {number} {shown(item)}: {error}") from None
        if not 0 <= target <= MAX_RATE:
            raise ValueError(f"stage {number} {shown(item)}: target must be between 0 and {MAX_RATE:g}")
        stages.append(Stage(duration, target, parts[2] if len(parts) == 3 else f"stage {number}", dwell=dwell))
    if not stages:
        raise ValueError("no stages given (e.g. 30s:10,1m:10,30s:0)")
    return stages


_MAX_STAGES = 1000
