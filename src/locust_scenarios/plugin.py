"""The one place that touches Locust's events.

- ``init_command_line_parser``: registers every ``--scenario-*`` and ``--prometheus-*`` option.
- ``init``: warns about unknown ``LOCUST_SCENARIO_*`` variables, validates the settings and configures
  the running profile. Invalid configuration exits with code 2 and one line, before any user spawns.
- ``test_start`` on a worker: rebuilds the profile from the options the master sent, so that pacing
  in the open model follows the same plan with the same clock origin.
- SIGTERM on the master or local runner stops the run cleanly. Locust installs its own handler only
  after a headless shape has finished, so without ours a ``kubectl delete`` or CI timeout kills the
  process with no summary and no exit code of ours.
- ``quitting``: a profile that did not complete (SIGTERM, Ctrl-C, a stop from the UI) exits with 4.

Importing this module registers the listeners; they do nothing until Locust fires its events.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from .settings import (
    ExporterSettings,
    ScenarioSettings,
    SettingsError,
    add_options,
    load_settings,
    unknown_variable_warnings,
)
from .shapes import ScenarioProfile
from .users import validate_user_settings

__all__ = ["EXIT_INTERRUPTED", "EXIT_INVALID_CONFIG", "running_profile"]

EXIT_INVALID_CONFIG = 2
EXIT_INTERRUPTED = 4

logger = logging.getLogger("locust_scenarios")


def running_profile(environment: Environment) -> ScenarioProfile | None:
    """The environment's shape when it is one of our profiles."""
    shape = environment.shape_class
    return shape if isinstance(shape, ScenarioProfile) else None


def _fail(message: str) -> None:
    """Report invalid configuration on one line and exit 2 (nothing has spawned yet)."""
    sys.stderr.write(f"locust-scenarios: {message}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_INVALID_CONFIG)


def _register_options(parser: Any) -> None:
    add_options(parser)


def _on_init(environment: Environment, **_kwargs: Any) -> None:
    for warning in unknown_variable_warnings():
        logger.warning(warning)
    options = environment.parsed_options
    try:
        scenario = load_settings(ScenarioSettings, options)
        load_settings(ExporterSettings, options)
        profile = running_profile(environment)
        if profile is not None:
            profile.configure(options=options)
            scenario = profile.settings or scenario
        environment.scenario_settings = scenario  # type: ignore[attr-defined]
        validate_user_settings(environment)
    except SettingsError as error:
        _fail(str(error))
    if not isinstance(environment.runner, WorkerRunner):
        gevent.signal_handler(signal.SIGTERM, _interrupt, environment)


def _interrupt(environment: Environment) -> None:
    """SIGTERM: stop the users and let Locust shut down normally (summary, quitting, exit code)."""
    logger.warning("received SIGTERM: stopping the run")
    if environment.runner is not None:
        environment.runner.quit()


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        return
    profile = running_profile(environment)
    if profile is None:
        # The user templates read the settings the master sent, which replaced the worker's own.
        try:
            environment.scenario_settings = load_settings(  # type: ignore[attr-defined]
                ScenarioSettings, environment.parsed_options
            )
        except SettingsError as error:
            logger.error("ignoring the master's settings on this worker: %s", error)
        return
    try:
        profile.configure(options=environment.parsed_options)
        environment.scenario_settings = profile.settings  # type: ignore[attr-defined]
    except SettingsError as error:
        logger.error("ignoring the master's settings on this worker: %s", error)
    profile.reset_time()  # type: ignore[no-untyped-call]


def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    profile = running_profile(environment)
    if profile is None or isinstance(environment.runner, WorkerRunner) or environment.process_exit_code is not None:
        return
    if not profile.started or profile.completed:
        return
    logger.warning("the %s profile was interrupted before it completed", profile.scenario_name)
    environment.process_exit_code = EXIT_INTERRUPTED


events.init_command_line_parser.add_listener(_register_options)
events.init.add_listener(_on_init)
events.test_start.add_listener(_on_test_start)
events.quitting.add_listener(_on_quitting)
