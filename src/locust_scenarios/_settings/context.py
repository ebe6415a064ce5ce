"""The validated settings of a run as the user templates and wait times read them."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from locust.env import Environment

from .options import environment_options

if TYPE_CHECKING:
    from .models import ScenarioSettings

__all__ = ["scenario_settings"]

_SETTINGS: weakref.WeakKeyDictionary[Environment, ScenarioSettings] = weakref.WeakKeyDictionary()


def scenario_settings(environment: Environment) -> ScenarioSettings:
    """The validated settings of a run, as the user templates read them.

    The plugin stores them on the environment at ``init``; without it (an ``Environment`` built in
    a test) they are read from ``environment.parsed_options``, or from ``LOCUST_SCENARIO_*``
    variables and config files when there are no parsed options. Raises ``SettingsError``.
    """
    stored = getattr(environment, "scenario_settings", None)
    if stored is not None:
        return stored  # type: ignore[no-any-return]
    cached = _SETTINGS.get(environment)
    if cached is None:
        from .models import ScenarioSettings, load_settings  # noqa: PLC0415  (pydantic, once per run)

        options = environment.parsed_options
        if options is None:
            options = environment_options()
        cached = load_settings(ScenarioSettings, options)
        _SETTINGS[environment] = cached
    return cached
