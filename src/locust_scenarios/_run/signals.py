"""SIGTERM and SIGINT in every state of a run, and the ways the process ends when Locust will not end it.

Locust installs its own SIGTERM handler only after a headless shape has finished, and its wait for
workers never checks ``runner.quit()``: without these handlers a ``kubectl delete`` or a CI timeout
would leave the process waiting, or kill it with no summary and no exit code.

- Before any run (a master waiting for its workers): the work of quitting, then exit 4 at once.
- During a run: the users stop (within ``_QUIT_GRACE / 2``), Locust shuts down as usual with one
  summary, exit 4; should it not, the process quits by itself ``_QUIT_GRACE`` seconds later.
- After a run (its linger, or a web UI whose run finished): exit with that run's verdict.
- A worker that quits before its run is over (a drained node's SIGTERM, which Locust handles itself
  on a worker) exits 4, not 0, so that a Job replaces it: ``worker_quitting``.
- Once quitting has begun, the first signal lets a linger run its capped course and the second ends
  it at once; should the work of quitting then be stuck, the process ends ``_FORCED_EXIT_AFTER``
  seconds later regardless.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import NoReturn

import gevent
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING, WorkerRunner

from locust_scenarios._exitcodes import ExitCode, most_severe

from .state import Run

__all__ = ["install", "worker_quitting"]

logger = logging.getLogger("locust_scenarios")

_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_QUIT_GRACE = 4.0
"""Seconds Locust's own shutdown gets after a signal before the process quits by itself."""

_FORCED_EXIT_AFTER = 3.0
"""Seconds the work of quitting gets after a second signal before the process ends regardless."""


def install(run: Run) -> None:
    """Handle SIGTERM and SIGINT for ``run``'s process (master or local runner)."""
    for signum in _SIGNALS:
        gevent.signal_handler(signum, _on_signal, run, signal.Signals(signum).name)


def _on_signal(run: Run, name: str) -> None:
    """SIGTERM or SIGINT, in any state: end the process, with one summary and the right exit code."""
    run.signals += 1
    if run.quitting:
        if run.signals >= 2:
            logger.warning("received %s again: ending now", name)
            run.linger_cut.set()
            gevent.spawn_later(_FORCED_EXIT_AFTER, _exit_regardless, run)
        else:
            logger.info("received %s while quitting: a second signal ends the linger", name)
        return
    environment = run.environment
    if run.started_at is None:
        logger.warning("received %s before any run: exit code %d", name, ExitCode.INTERRUPTED)
        run.interrupted = True
        _quit_now(run)
        return
    if run.in_progress():
        run.interrupted = True
        logger.warning("received %s: stopping the run (exit code %d)", name, ExitCode.INTERRUPTED)
        environment.stop_timeout = min(environment.stop_timeout or 0.0, _QUIT_GRACE / 2)
    else:
        logger.info("received %s after the run: exiting with its verdict", name)
    if environment.runner is not None:
        environment.runner.quit()
    if environment.web_ui is not None:
        environment.web_ui.stop()
    gevent.spawn_later(_QUIT_GRACE, _quit_if_still_running, run)


def _quit_now(run: Run) -> NoReturn:
    """Do the work of quitting here and end the process (Locust's own shutdown is not coming)."""
    environment = run.environment
    environment.events.quitting.fire(environment=environment, reverse=True)
    run.flush_tables()
    code = environment.process_exit_code
    sys.stdout.flush()
    sys.stderr.flush()
    # Raised in a greenlet, SystemExit reaches the main greenlet through gevent's hub and ends Python.
    raise SystemExit(ExitCode.INTERRUPTED if code is None else code)


def _quit_if_still_running(run: Run) -> None:
    if not run.quitting:
        logger.warning("Locust did not shut down within %gs of the signal: quitting now", _QUIT_GRACE)
        _quit_now(run)


def _exit_regardless(run: Run) -> None:
    """The last resort after a second signal: the work of quitting is stuck, end the process."""
    code = run.environment.process_exit_code
    logger.error("still quitting %gs after a second signal: exiting", _FORCED_EXIT_AFTER)
    run.flush_tables()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(ExitCode.INTERRUPTED if code is None else code)


def worker_quitting(run: Run) -> None:
    """A worker that quits before its run is over exits 4 instead of Locust's 0.

    That is SIGTERM from a node drain, a preemption or a spot reclaim (Locust's own handler shuts the
    worker down), Ctrl-C, or a master gone silent. With 0 a Job counts the pod as a completion and never
    replaces it, and the run goes on one worker short; with 4 the pod failed, and the worker Job
    replaces it (the replacement rejoins; the lost-worker rule decides the verdict). A worker its master
    stopped or told to quit (the run is over) keeps Locust's code.
    """
    environment = run.environment
    runner = environment.runner
    if not isinstance(runner, WorkerRunner) or runner.state in (STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP):
        return
    logger.warning(
        "this worker quits before the run was over (%s): exit code %d, so that it is replaced",
        runner.state,
        ExitCode.INTERRUPTED,
    )
    environment.process_exit_code = most_severe(ExitCode.INTERRUPTED, environment.process_exit_code)
