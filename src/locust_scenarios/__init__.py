"""locust-scenarios: repeatable, observable and deployable performance tests with Locust.

The names backed by pydantic (the settings models, ``Endpoint``, ``load_endpoints``) load on first
use: every Locust process imports this package, and most never touch them before ``init``.
"""

from typing import TYPE_CHECKING, Any

from . import _plugin  # registers the Locust event listeners
from ._exitcodes import ExitCode
from ._settings.errors import SettingsError
from ._settings.options import parse_duration
from ._shapes.curves import DiurnalProfile, ReplayProfile
from ._shapes.plan import Plan, Stage, parse_stages, repeat, scale, sequence
from ._shapes.populations import Population
from ._shapes.profile import ScenarioProfile, register_profile
from ._shapes.profiles import (
    BreakpointProfile,
    EnduranceProfile,
    LoadProfile,
    SmokeProfile,
    SpikeProfile,
    StagesProfile,
    StressProfile,
)
from ._shapes.selecting import ScenarioShape
from ._users.calls import Call
from ._users.pacing import PacingStats, open_model_pacing, pacing, pacing_stats, scenario_wait_time, think_time
from ._users.templates import EndpointsUser, RestUser

if TYPE_CHECKING:
    from ._settings.models import ExporterSettings, ScenarioSettings
    from ._users.endpoints import Endpoint, load_endpoints

_LAZY = {
    "Endpoint": "._users.endpoints",
    "ExporterSettings": "._settings.models",
    "ScenarioSettings": "._settings.models",
    "load_endpoints": "._users.endpoints",
}
"""Public names whose module imports pydantic, with that module."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module  # noqa: PLC0415

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "BreakpointProfile",
    "Call",
    "DiurnalProfile",
    "Endpoint",
    "EndpointsUser",
    "EnduranceProfile",
    "ExitCode",
    "ExporterSettings",
    "LoadProfile",
    "PacingStats",
    "Plan",
    "Population",
    "ReplayProfile",
    "RestUser",
    "ScenarioProfile",
    "ScenarioSettings",
    "ScenarioShape",
    "SettingsError",
    "SmokeProfile",
    "SpikeProfile",
    "Stage",
    "StagesProfile",
    "StressProfile",
    "load_endpoints",
    "open_model_pacing",
    "pacing",
    "pacing_stats",
    "parse_duration",
    "parse_stages",
    "register_profile",
    "repeat",
    "scale",
    "scenario_wait_time",
    "sequence",
    "think_time",
]

del _plugin, TYPE_CHECKING, Any
