"""The settings of a run as the user templates and wait times read them: one seam, keyed by environment.

A Locust process with the plugin binds its run object to the environment at ``init``
(``bind``); the templates then read that run's settings, validated once per run start. An
``Environment`` built without the plugin (in a user's own test) gets settings validated from its
parsed options (or from the ``LOCUST_SCENARIO_*`` variables and config files when it has none),
validated again only when its ``parsed_options`` are replaced.

The binding is one attribute of the environment, ``locust_scenarios_run``, and nothing else is written
onto it. Not a ``WeakKeyDictionary``: the run object refers to its environment (through its collector,
its stop condition, its listeners), so an entry's value would keep its weak key alive for good. As an
attribute it is an ordinary reference cycle that goes away with the environment: there is no global
state for tests to reset.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Protocol

from locust.env import Environment

from .options import environment_options

if TYPE_CHECKING:
    from .models import ScenarioSettings

__all__ = ["SettingsOwner", "bind", "bound", "scenario_settings"]


class SettingsOwner(Protocol):
    """What owns a run's settings (the plugin's run object, or the options of a plain environment)."""

    @property
    def settings(self) -> ScenarioSettings:
        """The settings the run reads now."""
        ...  # pragma: no cover


_ATTRIBUTE = "locust_scenarios_run"
"""The environment's one attribute of ours: what owns its settings (the run object, with the plugin)."""


def bind(environment: Environment, owner: SettingsOwner) -> None:
    """Make ``owner`` the one source of ``environment``'s settings (the plugin does this at ``init``)."""
    setattr(environment, _ATTRIBUTE, owner)


def bound(environment: Environment) -> SettingsOwner | None:
    """What owns ``environment``'s settings, if anything has been bound or read yet."""
    owner: SettingsOwner | None = getattr(environment, _ATTRIBUTE, None)
    return owner


def scenario_settings(environment: Environment) -> ScenarioSettings:
    """The validated settings of a run, as the user templates read them (``SettingsError`` if invalid).

    Called for every wait and request, so it is one attribute lookup once the settings are known.
    """
    owner = bound(environment)
    if owner is None:
        owner = _FromOptions(environment)
        bind(environment, owner)
    return owner.settings


class _FromOptions:
    """The settings of an environment without the plugin: from its parsed options, as a run reads them."""

    def __init__(self, environment: Environment) -> None:
        self._environment = weakref.ref(environment)
        self._options: Any = None
        self._settings: ScenarioSettings | None = None

    @property
    def settings(self) -> ScenarioSettings:
        environment = self._environment()
        options = environment.parsed_options if environment is not None else None
        if self._settings is None or options is not self._options:
            from .models import ScenarioSettings, load_settings  # noqa: PLC0415  (pydantic, once per run)

            self._settings = load_settings(ScenarioSettings, options if options is not None else environment_options())
            self._options = options
        return self._settings
