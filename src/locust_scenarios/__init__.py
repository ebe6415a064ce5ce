"""locust-scenarios: repeatable, observable and deployable performance tests with Locust."""

from . import plugin as _plugin  # registers the Locust event listeners
from .settings import ExporterSettings, ScenarioSettings, SettingsError, parse_duration
from .shapes import (
    BreakpointProfile,
    EnduranceProfile,
    LoadProfile,
    Plan,
    ScenarioProfile,
    ScenarioShape,
    SmokeProfile,
    SpikeProfile,
    Stage,
    StagesProfile,
    StressProfile,
    parse_stages,
    register_profile,
    repeat,
    scale,
    sequence,
)

__all__ = [
    "BreakpointProfile",
    "EnduranceProfile",
    "ExporterSettings",
    "LoadProfile",
    "Plan",
    "ScenarioProfile",
    "ScenarioSettings",
    "ScenarioShape",
    "SettingsError",
    "SmokeProfile",
    "SpikeProfile",
    "Stage",
    "StagesProfile",
    "StressProfile",
    "parse_duration",
    "parse_stages",
    "register_profile",
    "repeat",
    "scale",
    "sequence",
]

del _plugin
