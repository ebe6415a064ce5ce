"""The selecting shape: one locustfile for every test type, the profile named by ``LOCUST_SCENARIO``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from locust_scenarios._settings.options import (
    environment_options,
)

from . import curves, profiles  # noqa: F401  (registers the built-in profiles it selects from)
from .plan import Tick
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
        chosen = profile_class(settings.scenario)
        self.stop_condition = stop_condition
        self.selected = chosen()
        self.selected.configure(settings, options=options, stop_condition=stop_condition)
        self.selected_name = chosen.scenario_name
        self.settings = settings
        self._plan = self.selected.plan
        self._inputs = settings_inputs(options) if given is None else None

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
        assert self.selected is not None
        answer = self.selected.target(t)
        self.breach = self.selected.breach
        return answer
