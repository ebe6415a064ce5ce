"""The public surface, pinned: which modules are public and exactly what each one exports.

A module is public when no part of its dotted name starts with an underscore (``__main__``, the
``python -m`` entry point, is set aside: importing it runs the command). Everything else is private and
may change in any release; what is listed here may not change without a deliberate edit of this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import locust_scenarios

PUBLIC: dict[str, list[str]] = {
    "locust_scenarios": [
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
    ],
    "locust_scenarios.locustfile": ["Endpoints", "Shape"],
    "locust_scenarios.metrics": ["Counter", "Gauge", "Rate", "Trend", "counter", "gauge", "rate", "trend"],
    "locust_scenarios.testing": ["RunResult", "options_namespace", "run_profile"],
}
"""Every public module and its ``__all__``."""


def _public_modules(package: ModuleType) -> list[str]:
    """The package and every module below it whose dotted name has no part starting with ``_``.

    Private packages are not entered: whatever they hold is private too.
    """
    found = [package.__name__]
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name.rsplit(".", 1)[1].startswith("_"):
            continue
        if info.ispkg:
            found.extend(_public_modules(importlib.import_module(info.name)))
        else:
            found.append(info.name)
    return sorted(found)


def test_the_public_modules_are_exactly_the_pinned_ones() -> None:
    """No module becomes public by accident: a new one needs a leading underscore or an entry above."""
    assert _public_modules(locust_scenarios) == sorted(PUBLIC)
    assert len(PUBLIC) <= 8


def test_each_public_module_exports_exactly_the_pinned_names() -> None:
    """Each public module's ``__all__`` is the pinned list, sorted, without repeats."""
    for name, expected in PUBLIC.items():
        exported = list(importlib.import_module(name).__all__)
        assert exported == expected, name
        assert exported == sorted(set(exported)), name


def test_every_exported_name_resolves() -> None:
    """Every name in a public ``__all__`` can be imported from its module (the lazy ones included)."""
    for name, expected in PUBLIC.items():
        module = importlib.import_module(name)
        for member in expected:
            assert getattr(module, member) is not None, f"{name}.{member}"


def test_no_public_name_comes_from_a_module_users_cannot_name() -> None:
    """The package's own names are defined in private modules and reached only through the package:
    none of the private modules it imports from is a public module."""
    for member in PUBLIC["locust_scenarios"]:
        home = getattr(getattr(locust_scenarios, member), "__module__", "locust_scenarios")
        assert home == "locust_scenarios" or any(part.startswith("_") for part in home.split(".")[1:]), member
