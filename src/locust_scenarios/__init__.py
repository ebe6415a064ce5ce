"""locust-scenarios: repeatable, observable and deployable performance tests with Locust."""

from . import plugin as _plugin  # registers the Locust event listeners
from .exitcodes import ExitCode
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
from .users import (
    Call,
    Endpoint,
    EndpointsUser,
    PacingStats,
    RestUser,
    load_endpoints,
    open_model_pacing,
    pacing,
    pacing_stats,
    scenario_wait_time,
    think_time,
)

__all__ = [
    "BreakpointProfile",
    "Call",
    "Endpoint",
    "EndpointsUser",
    "EnduranceProfile",
    "ExitCode",
    "ExporterSettings",
    "LoadProfile",
    "PacingStats",
    "Plan",
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

del _plugin
