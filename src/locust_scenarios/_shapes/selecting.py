"""The selecting shape: one locustfile for every test type, the profile named by ``LOCUST_SCENARIO``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import (
    environment_options,
)

from . import curves, profiles  # noqa: F401  (registers the built-in profiles it selects from)
from .plan import Tick
from .populations import (
    Population,
    PopulationPlan,
    combined_plan,
    dispatcher_for,
    load_populations,
    population_tick,
)
from .profile import ScenarioProfile, StopCondition, profile_choice, profile_class, profile_settings, settings_inputs

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

__all__ = ["ScenarioShape"]


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
    populations: ClassVar[Sequence[Population]] = ()
    """Several populations, each with its own profile and start (``LOCUST_SCENARIO_POPULATIONS`` wins)."""
    population_plans: tuple[PopulationPlan, ...] = ()
    class_targets: dict[str, int] | None = None
    """Users per class the populations want now (read by the populations' dispatcher)."""

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
        given = settings
        if settings is None:
            mine = self.class_defaults()
            name = profile_choice(options, mine.get("scenario"))
            defaults = {**profile_class(name).class_defaults(), **mine, "scenario": name}
            settings = profile_settings(options, defaults)
        self.stop_condition = stop_condition
        declared = load_populations(settings.populations) if settings.populations else tuple(self.populations)
        if declared:
            run_time = (self._common_options or {}).get("run_time")
            self._configure_populations(declared, settings, float(run_time) if run_time else None)
            self._inputs = settings_inputs(options) if given is None else None
            return
        self.population_plans = ()
        chosen = profile_class(settings.scenario)
        self.selected = chosen()
        self.selected.configure(settings, options=options, stop_condition=stop_condition)
        self.selected_name = chosen.scenario_name
        self.settings = settings
        self._plan = self.selected.plan
        self._inputs = settings_inputs(options) if given is None else None

    def _configure_populations(
        self, declared: Sequence[Population], settings: ScenarioSettings, run_time: float | None
    ) -> None:
        """Each population's own plan; the run's plan is their users added up (cut at ``-t``)."""
        plans = tuple(population.build() for population in declared)
        for plan in plans:
            plan.clock = self
        self.population_plans = plans
        self.selected = None
        self.selected_name = "populations"
        self.settings = settings
        summed = combined_plan(plans)
        _check_run_settings(settings, summed.peak)
        self._plan = summed.truncated(run_time) if run_time and run_time < summed.duration else summed

    def plan_time(self, t: float) -> float:
        if self.selected is not None:
            return self.selected.plan_time(t)
        return super().plan_time(t)

    def pacing_for(self, user_class: type[Any]) -> Any:
        """The open-model population that paces ``user_class`` (None: closed model or no populations)."""
        for plan in self.population_plans:
            if plan.open_model and user_class.__name__ in plan.class_names():
                return plan
        return None

    def inject_stop_condition(self, stop_condition: StopCondition | None) -> None:
        super().inject_stop_condition(stop_condition)
        if self.selected is not None:
            self.selected.inject_stop_condition(stop_condition)

    def report_pool_demand(self, t: float, users: int) -> None:
        if self.selected is not None:
            self.selected.report_pool_demand(t, users)

    def planned_users(self, t: float | None = None) -> int:
        if self.selected is not None:
            return self.selected.planned_users(self.elapsed() if t is None else t)
        return super().planned_users(t)

    def target(self, t: float) -> Tick | None:
        if self._plan is None:
            self.configure(options=environment_options())
        if self.population_plans:
            return self._population_target(t)
        assert self.selected is not None
        self.selected.runner = self.runner  # dwell stages compare the running users with the plan
        answer = self.selected.target(t)
        self.breach = self.selected.breach
        return answer

    def _population_target(self, t: float) -> Tick | None:
        """Every population's users per class; Locust's dispatcher is swapped for one that honours them."""
        if self.stop_condition is not None and self.breach is None and t < self.plan.duration:
            reason = self.stop_condition()
            if reason:
                self.breach = f"{reason} at {t:.0f}s with {self.planned_level(t):g} planned users"
        if self.breach is not None or t >= self.plan.duration:
            return None
        answer = population_tick(self.population_plans, t)
        if answer is not None:
            self.class_targets = dict(getattr(answer, "counts", {}))
            environment = self.runner.environment if self.runner is not None else None
            if environment is not None and getattr(environment.dispatcher_class, "shape", None) is not self:
                environment.dispatcher_class = dispatcher_for(self)
        return answer


_PER_POPULATION = ("rate", "stages", "duration")
"""Settings each population takes for itself: given for the whole run they would be ignored."""


def _check_run_settings(settings: ScenarioSettings, peak: float) -> None:
    """Refuse run-wide settings a populations run would ignore; ``users`` stays the cap it always is."""
    for name in _PER_POPULATION:
        if name in settings.model_fields_set and getattr(settings, name) is not None:
            rule = "each population sets its own; give it to the populations instead (Population(..., {name}=...))"
            raise SettingsError.invalid(name, getattr(settings, name), rule.format(name=name))
    if "users" in settings.model_fields_set and settings.users is not None and settings.users < peak:
        rule = f"is the most users the run may have, and the populations add up to {peak:g}"
        raise SettingsError.invalid("users", settings.users, rule)
