"""The one place that wires our work to Locust's events; the work itself lives in ``_run``.

- ``init_command_line_parser``: every ``--scenario-*`` and ``--prometheus-*`` option, from the option
  table (the worker's patience with its master applied while parsing).
- ``init``: ``startup.begin`` checks everything the run will read and creates its run object; then
  the run's own listeners: the verdict tables after Locust's final ones, the workers' pacing reports.
- ``test_start`` / ``test_stop``: ``observe`` (a worker re-reads the master's options).
- ``quitting``: ``ending.finish`` (the decision, exit code, summary, files, push, linger); on a
  worker, ``signals.worker_quitting`` (exit 4 when it quits before the run is over).

Importing this module registers the listeners on Locust's events; they do nothing until Locust fires
them. ``embed`` does the same work for a run inside a caller's process (``testing.run_profile``).
"""

from __future__ import annotations

from typing import Any

import locust
from locust.env import Environment
from locust.event import Events

from ._population_stats import POPULATIONS
from ._run import ending, observe, signals, startup
from ._run.patience import MasterPatience
from ._run.state import Run, run_of
from ._settings.options import WORKER, add_options
from ._shapes.profile import profile_names

__all__ = ["embed"]


def _on_command_line_parser(parser: Any, **_kwargs: Any) -> None:
    add_options(parser, scenario_choices=profile_names(), actions={WORKER: MasterPatience})


def _on_init(environment: Environment, web_ui: Any = None, **_kwargs: Any) -> None:
    _listen_to_run(startup.begin(environment, web_ui))


def _listen_to_run(run: Run) -> None:
    """The listeners of one run's environment: its final tables and the workers' pacing reports."""
    events = run.environment.events
    if not run.on_master:  # each population's requests, tallied where they are made
        events.request.add_listener(POPULATIONS.on_request)
    if run.on_worker:
        events.report_to_master.add_listener(lambda data, **_kwargs: observe.add_pacing_report(run, data))
        return
    # Locust fires ``quit`` after printing its final tables: the verdict comes last on the console.
    events.quit.add_listener(lambda **_kwargs: run.flush_tables())
    if run.on_master:
        events.worker_report.add_listener(
            lambda client_id, data, **_kwargs: observe.keep_pacing_report(run, client_id, data)
        )
        events.heartbeat_sent.add_listener(lambda client_id, **_kwargs: observe.keep_heartbeat(run, client_id))


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    run = run_of(environment)
    if run is not None:
        (observe.start_on_worker if run.on_worker else observe.start)(run)


def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    run = run_of(environment)
    if run is not None:
        observe.stop(run)


def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    run = run_of(environment)
    if run is not None:
        (signals.worker_quitting if run.on_worker else ending.finish)(run)


def _listen(events: Events) -> None:
    """The listeners of a run's course, on ``events``."""
    events.test_start.add_listener(_on_test_start)
    events.test_stop.add_listener(_on_test_stop)
    events.quitting.add_listener(_on_quitting)


def embed(environment: Environment) -> Run:
    """The work of ``init`` for a run inside a caller's process, and the listeners of its course.

    Invalid configuration raises ``SettingsError`` (nothing exits), no signal handler is installed,
    and metrics are served only when the settings give a port. ``environment`` needs an ``Events`` of
    its own: Locust's global one already carries these listeners.
    """
    if environment.events is locust.events:
        raise ValueError("an embedded run needs its own locust.event.Events(), not the global locust.events")
    run = startup.begin(environment, embedded=True)
    _listen(environment.events)
    _listen_to_run(run)
    return run


locust.events.init_command_line_parser.add_listener(_on_command_line_parser)
locust.events.init.add_listener(_on_init)
_listen(locust.events)
