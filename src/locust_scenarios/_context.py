"""The validated settings of a run as the user templates and wait times read them."""

from __future__ import annotations

import weakref

from locust.env import Environment

from .settings import (
    ScenarioSettings,
    env_name,
    environment_options,
    load_settings,
    option_name,
    shown,
)

__all__ = ["scenario_settings", "setting_source"]

_SETTINGS: weakref.WeakKeyDictionary[Environment, ScenarioSettings] = weakref.WeakKeyDictionary()


def scenario_settings(environment: Environment) -> ScenarioSettings:
    """The validated settings of a run, as the user templates read them.

    The plugin stores them on the environment at ``init``; without it (an ``Environment`` built in
    a test) they are read from ``environment.parsed_options``, or from ``LOCUST_SCENARIO_*``
    variables and config files when there are no parsed options. Raises ``SettingsError``.
    """
    stored = getattr(environment, "scenario_settings", None)
    if isinstance(stored, ScenarioSettings):
        return stored
    cached = _SETTINGS.get(environment)
    if cached is None:
        options = environment.parsed_options
        if options is None:
            options = environment_options()
        cached = load_settings(ScenarioSettings, options)
        _SETTINGS[environment] = cached
    return cached


def setting_source(field: str, value: object) -> str:
    """``LOCUST_SCENARIO_X='value' (--scenario-x)`` for messages, with long values cut short."""
    return f"{env_name(ScenarioSettings, field)}={shown(value)} ({option_name(ScenarioSettings, field)})"
