"""Helpers for pytest suites: run user classes with a profile in-process, bounded, and get the verdict.

>>> result = run_profile([MyUser], host="http://127.0.0.1:8000", scenario="smoke",
...                      settings={"users": 2, "duration": "5s", "thresholds": "p95<300ms"})  # doctest: +SKIP
>>> result.exit_code, result.failed_thresholds, result.percentile(0.95)  # doctest: +SKIP

The run does what a command-line run does at ``init``, at each run start and at quitting (the same
checks, thresholds, load-generator verdict and summary), so ``exit_code`` is the code
``locust-scenarios run`` would exit with. It stays in the caller's process: no signal handler, no
exit, no metrics port unless the settings give one. It is bounded twice: by the profile's planned
duration and by ``timeout`` seconds of wall time, after which the run is stopped, ``timed_out`` is
set and the exit code says the profile was interrupted (4). Nothing here sends a request anywhere
but the ``host`` the caller gives.
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
from locust.env import Environment
from locust.event import Events
from locust.runners import STATE_STOPPED

from ._exitcodes import ExitCode
from ._plugin import embed
from ._settings.models import ExporterSettings, ScenarioSettings
from ._settings.options import option_dest
from ._shapes.profile import ScenarioProfile
from ._shapes.selecting import ScenarioShape

if TYPE_CHECKING:
    from locust import User
    from locust.runners import LocalRunner
    from locust.stats import RequestStats

__all__ = ["RunResult", "options_namespace", "run_profile"]


@dataclass
class RunResult:
    """What a bounded in-process run produced."""

    stats: RequestStats
    planned: list[tuple[float, float]]
    """The profile's planned curve: ``(t, users)`` corners."""
    history: list[tuple[float, int]] = field(default_factory=list)
    """Sampled ``(t, running users)`` during the run, every ``sample_interval`` seconds."""
    duration: float = 0.0
    timed_out: bool = False
    breach: str | None = None
    errors: dict[str, int] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    """The run's summary, as the JSON summary line and ``--scenario-summary`` state it."""

    @property
    def exit_code(self) -> int | None:
        """The exit code a command-line run would end with (see ``ExitCode``; ``None``: no summary)."""
        code = self.summary.get("exit_code")
        return int(code) if code is not None else None

    @property
    def passed(self) -> bool:
        """The run completed and every threshold passed (or no thresholds and no failed request)."""
        return self.exit_code == ExitCode.PASSED

    @property
    def thresholds(self) -> list[dict[str, Any]]:
        """Each threshold's result: ``threshold`` (its expression), ``value``, ``limit``, ``passed``, ..."""
        return list(self.summary.get("thresholds") or [])

    @property
    def failed_thresholds(self) -> list[str]:
        """The expressions of the thresholds that failed (``["p95<300ms"]``)."""
        return [result["threshold"] for result in self.thresholds if not result["passed"]]

    @property
    def inconclusive(self) -> list[dict[str, Any]]:
        """Why the load generator's measurements cannot be trusted (exit code 5), one entry per reason."""
        return list(self.summary.get("inconclusive") or [])

    @property
    def requests(self) -> int:
        """Requests made, failed ones included."""
        return int(self.stats.total.num_requests)

    @property
    def failures(self) -> int:
        """Requests that failed."""
        return int(self.stats.total.num_failures)

    def percentile(self, fraction: float, name: str | None = None, method: str = "GET") -> float:
        """Response-time percentile in **seconds** (as thresholds and the summary), overall or for one
        request ``name``: ``result.percentile(0.95) < 0.3`` reads "p95 under 300 ms"."""
        entry = self.stats.total if name is None else self.stats.get(name, method)
        return float(entry.get_response_time_percentile(fraction)) / 1000

    @property
    def peak_users(self) -> int:
        """The most users seen running at once."""
        return max((users for _, users in self.history), default=0)


def options_namespace(settings: Mapping[str, Any] | None = None, **locust_options: Any) -> argparse.Namespace:
    """A namespace like Locust's parsed options: our settings by field name, plus Locust's own.

    ``options_namespace({"users": 5, "duration": "10s"}, run_time=8)``
    """
    namespace = argparse.Namespace()
    for model in (ScenarioSettings, ExporterSettings):
        for name in model.model_fields:
            setattr(namespace, option_dest(model, name), None)
    for name, value in (settings or {}).items():
        if name == "scenario":
            namespace.scenario = value
        elif name in ScenarioSettings.model_fields:
            setattr(namespace, f"scenario_{name}", value)
        elif name in ExporterSettings.model_fields:
            setattr(namespace, f"prometheus_{name}", value)
        else:
            raise KeyError(f"unknown setting {name!r}")
    for name, value in locust_options.items():
        setattr(namespace, name, value)
    return namespace


def run_profile(
    user_classes: Sequence[type[User]],
    *,
    host: str,
    scenario: str | type[ScenarioProfile] = "load",
    settings: Mapping[str, Any] | None = None,
    timeout: float = 60.0,
    sample_interval: float = 0.5,
    events: Events | None = None,
) -> RunResult:
    """Run ``user_classes`` in-process under a profile against ``host``; return the stats and the verdict.

    ``scenario`` is a registered profile name (``"spike"``) or a profile class. ``settings`` uses
    field names (``{"users": 5, "duration": "20s", "thresholds": "p95<300ms"}``) and goes through the
    same validation as a real run, so a bad value raises ``SettingsError`` before any request.
    ``events`` is an ``Events`` of your own (for listeners of your own), never Locust's global one.
    """
    merged = dict(settings or {})
    if isinstance(scenario, str):
        merged.setdefault("scenario", scenario)
        shape_type: type[ScenarioProfile] = type("SelectedShape", (ScenarioShape,), {})
    else:
        shape_type = scenario if not scenario.abstract else type(scenario.__name__, (scenario,), {})
    options = options_namespace(merged, host=host, headless=True)
    shape = shape_type()
    environment = Environment(
        user_classes=list(user_classes),
        shape_class=shape,
        host=host,
        events=events or Events(),
        parsed_options=options,
    )
    runner = environment.create_local_runner()
    try:
        run = embed(environment)
    except BaseException:
        runner.quit()
        raise
    environment.events.init.fire(environment=environment, runner=runner, web_ui=None)
    result = RunResult(stats=environment.stats, planned=shape.plan.points())
    started = time.monotonic()
    with warnings.catch_warnings():
        # Locust stops users without closing their keep-alive connections: their sockets are collected
        # here, quietly, not in the caller's next test (where a suite that turns warnings into errors
        # would fail on them).
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            _follow(runner, result, started, timeout, sample_interval)
        finally:
            runner.quit()
            environment.events.quitting.fire(environment=environment, reverse=True)
            gc.collect()
    result.duration = time.monotonic() - started
    result.breach = shape.breach
    result.errors = {str(error.error): error.occurrences for error in environment.stats.errors.values()}
    result.summary = run.summary or {}
    return result


def _follow(runner: LocalRunner, result: RunResult, started: float, timeout: float, interval: float) -> None:
    """Sample the running users every ``interval`` seconds until the shape ends or ``timeout`` passes."""
    runner.start_shape()
    while runner.shape_greenlet is not None and runner.state != STATE_STOPPED:
        elapsed = time.monotonic() - started
        result.history.append((round(elapsed, 3), runner.user_count))
        if elapsed > timeout:
            result.timed_out = True
            return
        gevent.sleep(interval)
