"""Populations: several groups of users in one run, each with its own profile, plan and start time.

A ``Population`` names its user classes and a registered profile with its parameters; each builds
its own plan, shifted by ``start``. The shape then answers Locust's tick with the sum of the
populations' users, and a dispatcher of its own puts each class at its population's count (Locust's
dispatcher spreads a total by static weights). Open-model populations keep a pool of users for
their window; their pacing follows their own planned rate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from locust.dispatch import UsersDispatcher

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import SCENARIO, option_dest, parse_duration, shown

from .plan import Plan, Stage, Tick
from .profile import ScenarioProfile, profile_class

if TYPE_CHECKING:
    from locust import User

__all__ = [
    "Population",
    "PopulationPlan",
    "PopulationTick",
    "check_classes",
    "combined_plan",
    "dispatcher_for",
    "load_populations",
    "population_tick",
]


class Population:
    """A group of users that follows its own profile: ``Population(Browser, profile="load", users=200)``.

    User classes are classes or their names (the file form names them). ``profile`` is any
    registered profile name; ``users``, ``rate``, ``stages`` and any other setting
    (``duration="10m"``, ``ramp_up="1m"``) are that profile's parameters, as ``LOCUST_SCENARIO_*``
    would give them. ``start`` delays the population (``"30s"``); ``name`` labels it (default: the
    first class's name). With ``rate`` the population is an open model: its users pace iterations.
    """

    def __init__(
        self,
        *user_classes: type[User] | str,
        profile: str = "load",
        users: int | None = None,
        rate: float | None = None,
        stages: str | Sequence[Stage] | None = None,
        start: str | float = 0.0,
        name: str = "",
        **settings: Any,
    ) -> None:
        if not user_classes:
            raise ValueError("a Population needs at least one user class")
        self.user_classes = tuple(user_classes)
        self.profile = profile
        self.users = users
        self.rate = rate
        self.stages = stages
        self.start = parse_duration(start)
        self.name = name or _class_name(user_classes[0])
        self.settings = dict(settings)

    def __repr__(self) -> str:
        classes = ", ".join(_class_name(cls) for cls in self.user_classes)
        return f"Population({classes}, profile={self.profile!r}, name={self.name!r}, start={self.start:g})"

    def build(self) -> PopulationPlan:
        """The population's profile configured with its parameters (``SettingsError`` naming it)."""
        chosen = profile_class(self.profile)
        attributes: dict[str, Any] = {"abstract": True}
        options: dict[str, Any] = {"scenario": self.profile}
        given = {"users": self.users, "rate": self.rate, **self.settings}
        if isinstance(self.stages, str):
            given["stages"] = self.stages
        elif self.stages is not None:
            attributes["stages"] = tuple(self.stages)
        for field, value in given.items():
            if value is not None:
                options[option_dest(SCENARIO, field)] = value
        profile = type(chosen.__name__, (chosen,), attributes)()
        try:
            profile.configure(options=options)
        except SettingsError as error:
            raise SettingsError(f"population {shown(self.name)}: {error}") from None
        return PopulationPlan(self, profile)


def _class_name(user_class: type[User] | str) -> str:
    return user_class if isinstance(user_class, str) else user_class.__name__


class PopulationPlan:
    """A configured population: its plan on the run's clock (shifted by ``start``) and its pool."""

    def __init__(self, population: Population, profile: ScenarioProfile) -> None:
        self.population = population
        self.profile = profile
        self.name = population.name
        self.start = population.start
        self.end = population.start + profile.plan.duration
        self.clock: Any = None
        """The shape whose ``elapsed()`` is the run time (set by the shape that runs the population)."""

    @property
    def open_model(self) -> bool:
        """True when the population plans iterations per second."""
        return self.profile.open_model

    @property
    def settings(self) -> Any:
        """The population's validated settings (pacing reads its pool from them)."""
        return self.profile.settings

    def planned_level(self, t: float) -> float:
        """Planned users (or iterations/s) of this population at run time ``t`` (zero before its start)."""
        if t < self.start or t >= self.end:
            return 0.0
        return self.profile.planned_level(t - self.start)

    def users_at(self, t: float) -> int:
        """Users this population runs at run time ``t``: its level, or its pool in the open model."""
        if t < self.start or t >= self.end:
            return 0
        if self.open_model:
            return self.profile.planned_users(t - self.start)
        return round(self.profile.planned_level(t - self.start))

    def spawn_rate(self, t: float) -> float:
        """The rate Locust spawns at for this population now (its profile's own answer)."""
        answer = self.profile.target(max(t - self.start, 0.0))
        return float(answer[1]) if answer else 1.0

    def elapsed(self) -> float:
        """Run time, from the shape that runs this population (pacing's clock)."""
        return float(self.clock.elapsed()) if self.clock is not None else 0.0

    def planned_users(self, t: float | None = None) -> int:
        """The pool an open-model population runs (for the pacing's share on a worker)."""
        return self.profile.planned_users(None if t is None else t - self.start)

    def report_pool_demand(self, t: float, users: int) -> None:
        """The pacing's estimate of the users this population needs (grows its pool with ``max_users``)."""
        self.profile.report_pool_demand(t - self.start, users)

    def class_names(self) -> list[str]:
        """The names of the population's user classes."""
        return [_class_name(cls) for cls in self.population.user_classes]

    def class_counts(self, users: int) -> dict[str, int]:
        """``users`` shared among the population's classes by their weights (largest remainders)."""
        classes = self.population.user_classes
        weights = [max(float(getattr(cls, "weight", 1) or 0), 0.0) for cls in classes]
        total = sum(weights) or float(len(classes))
        shares = [users * (w or (0.0 if sum(weights) else 1.0)) / total for w in weights]
        counts = [math.floor(share) for share in shares]
        order = sorted(range(len(classes)), key=lambda i: shares[i] - counts[i], reverse=True)
        for index in order[: users - sum(counts)]:
            counts[index] += 1
        return {_class_name(cls): count for cls, count in zip(classes, counts, strict=True)}


class PopulationTick(tuple):  # type: ignore[type-arg]
    """Locust's ``(users, spawn_rate)`` that also carries each class's count.

    Locust starts a new dispatch only when the tick changes; two populations can trade users at the
    same total, so ticks compare equal only when the counts per class are equal too.
    """

    counts: Mapping[str, int]

    def __new__(cls, users: int, spawn_rate: float, counts: Mapping[str, int]) -> PopulationTick:
        tick = super().__new__(cls, (users, spawn_rate))
        tick.counts = dict(counts)
        return tick

    def __eq__(self, other: object) -> bool:
        return tuple.__eq__(self, other) is True and getattr(other, "counts", None) == self.counts

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((tuple(self), tuple(sorted(self.counts.items()))))


def population_tick(plans: Sequence[PopulationPlan], t: float) -> Tick | None:
    """The tick for run time ``t``: every population's users per class; ``None`` after the last ends."""
    if all(t >= plan.end for plan in plans):
        return None
    counts: dict[str, int] = {}
    rate = 1.0
    for plan in plans:
        users = plan.users_at(t)
        for name, count in plan.class_counts(users).items():
            counts[name] = counts.get(name, 0) + count
        if plan.start <= t < plan.end:
            rate = max(rate, plan.spawn_rate(t))
    return PopulationTick(sum(counts.values()), rate, counts)


def combined_plan(plans: Sequence[PopulationPlan]) -> Plan:
    """Every population's users added up on the run's clock (open-model pools count as users)."""
    corners = {0.0}
    for plan in plans:
        corners.update({plan.start, plan.end})
        if not plan.open_model:
            corners.update(plan.start + t for t, _ in plan.profile.plan.points())
    times = sorted(corners)

    def level(t: float) -> float:
        return float(sum(plan.users_at(t) if plan.open_model else plan.planned_level(t) for plan in plans))

    stages: list[Stage] = []
    for before, after in itertools.pairwise(times):
        # Just before a corner a population that ends there still counts; at the corner it is gone.
        reached, then = round(level(after - 1e-9), 6), level(after)
        stages.append(Stage(after - before, reached, _names_at(plans, before)))
        if abs(then - reached) > 1e-9 and after < times[-1]:
            stages.append(Stage(0.0, then, _names_at(plans, after)))
    return Plan(tuple(stages), start=level(0.0), unit="users")


def _names_at(plans: Sequence[PopulationPlan], t: float) -> str:
    running = [plan.name for plan in plans if plan.start <= t < plan.end]
    return "+".join(running) if running else "waiting"


class _PopulationDispatcher(UsersDispatcher):
    """Locust's dispatcher, with each class brought to its population's count instead of weights."""

    shape: Any = None

    def new_dispatch(self, target_user_count: int, spawn_rate: float, user_classes: Any = None) -> None:
        self._class_targets = dict(getattr(self.shape, "class_targets", None) or {})
        super().new_dispatch(target_user_count, spawn_rate, user_classes)

    def _dispatcher(self) -> Any:
        if not self._class_targets:
            yield from super()._dispatcher()
            return
        self._dispatch_in_progress = True
        if self._rebalance:
            self._rebalance = False
        moved = True
        while moved:
            with self._wait_between_dispatch_iteration_context():
                moved = self._step()
                yield self._users_on_workers
        self._dispatch_in_progress = False

    def _count(self, name: str) -> int:
        return sum(users.get(name, 0) for users in self._users_on_workers.values())

    def _step(self) -> bool:
        """Move at most one iteration's worth of users towards the targets: removals first."""
        budget = self._user_count_per_dispatch_iteration
        moved = False
        names = sorted({*self._class_targets, *(u.__name__ for u in self._original_user_classes)})
        for name in names:
            surplus = self._count(name) - self._class_targets.get(name, 0)
            while surplus > 0 and budget > 0:
                index = max(i for i, (_, user) in enumerate(self._active_users) if user == name)
                worker, _ = self._active_users.pop(index)
                self._users_on_workers[worker.id][name] -= 1
                surplus, budget, moved = surplus - 1, budget - 1, True
        for name in names:
            deficit = self._class_targets.get(name, 0) - self._count(name)
            while deficit > 0 and budget > 0 and self._worker_nodes:
                worker = min(self._worker_nodes, key=lambda w: sum(self._users_on_workers[w.id].values()))
                self._users_on_workers[worker.id][name] = self._users_on_workers[worker.id].get(name, 0) + 1
                self._active_users.append((worker, name))
                deficit, budget, moved = deficit - 1, budget - 1, True
        self._current_user_count = self.get_current_user_count()
        if not moved or self._current_user_count == self._target_user_count:
            self._target_user_count = self._current_user_count
        return moved and self._needs_more()

    def _needs_more(self) -> bool:
        return any(self._count(name) != target for name, target in self._class_targets.items())


def dispatcher_for(shape: Any) -> type[UsersDispatcher]:
    """A dispatcher class that reads the per-class counts from ``shape.class_targets``."""
    return type("PopulationDispatcher", (_PopulationDispatcher,), {"shape": shape})


def check_classes(plans: Sequence[PopulationPlan], known: Sequence[type[User]]) -> None:
    """Every population's classes are among the locustfile's user classes (Locust runs only those)."""
    names = {cls.__name__ for cls in known}
    for plan in plans:
        missing = [name for name in plan.class_names() if name not in names]
        if missing:
            raise SettingsError(
                f"population {shown(plan.name)}: user class {missing[0]} is not among the locustfile's "
                f"user classes ({', '.join(sorted(names)) or 'none'})"
            )


def load_populations(path: str) -> tuple[Population, ...]:
    """Populations from a TOML file: one ``[[population]]`` table each, user classes by name.

    ``classes = ["Browser"]`` (or ``class = "Browser"``), ``profile``, ``users``, ``rate``, ``stages``,
    ``start``, ``name``, and any other setting of the profile (``duration = "10m"``).
    """
    import tomllib  # noqa: PLC0415  (only for the file form)

    try:
        with open(path, "rb") as file:
            tables = tomllib.load(file).get("population", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError.invalid("populations", path, f"cannot be read: {error}") from None
    if not isinstance(tables, list) or not tables:
        raise SettingsError.invalid("populations", path, "holds no [[population]] table")
    found = []
    for number, table in enumerate(tables, 1):
        entry = dict(table)
        named = entry.pop("class", None)
        classes = entry.pop("classes", [named] if named else [])
        if not classes or not all(isinstance(name, str) for name in classes):
            rule = f'population {number} names no user class (classes = ["Browser"])'
            raise SettingsError.invalid("populations", path, rule)
        try:
            found.append(Population(*classes, **entry))
        except (TypeError, ValueError) as error:
            raise SettingsError.invalid("populations", path, f"population {number}: {error}") from None
    return tuple(found)
