"""Helpers for pytest suites: run user classes with a profile in-process, bounded, and read the stats.

>>> result = run_profile([MyUser], host="http://127.0.0.1:8000", scenario="smoke",
...                      settings={"users": 2, "duration": "5s"})  # doctest: +SKIP
>>> result.requests, result.failures, result.percentile(0.95)  # doctest: +SKIP

The run is bounded twice: by the profile's planned duration and by ``timeout`` seconds of wall time,
after which the run is stopped and ``RunResult.timed_out`` is set. Nothing here sends a request
anywhere but the ``host`` the caller gives.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
from locust.env import Environment
from locust.event import Events
from locust.runners import STATE_STOPPED

from ._plugin import running_profile
from ._settings.models import ExporterSettings, ScenarioSettings
from ._settings.options import option_dest
from ._shapes.profile import ScenarioProfile
from ._shapes.selecting import ScenarioShape

if TYPE_CHECKING:
    from locust import User
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
    """Run ``user_classes`` in-process under a profile against ``host``; return the stats.

    ``scenario`` is a registered profile name (``"spike"``) or a profile class. ``settings`` uses
    field names (``{"users": 5, "duration": "20s"}``) and goes through the same validation as a real
    run, so a bad value raises ``SettingsError``.
    """
    merged = dict(settings or {})
    if isinstance(scenario, str):
        merged.setdefault("scenario", scenario)
        shape_type: type[ScenarioProfile] = type("SelectedShape", (ScenarioShape,), {})
    else:
        shape_type = scenario if not scenario.abstract else type(scenario.__name__, (scenario,), {})
    options = options_namespace(merged, host=host, headless=True)
    shape = shape_type()
    shape.configure(options=options)
    environment = Environment(
        user_classes=list(user_classes),
        shape_class=shape,
        host=host,
        events=events or Events(),
        parsed_options=options,
    )
    runner = environment.create_local_runner()
    result = RunResult(stats=environment.stats, planned=shape.plan.points())
    started = time.monotonic()
    runner.start_shape()
    try:
        while runner.shape_greenlet is not None and runner.state != STATE_STOPPED:
            elapsed = time.monotonic() - started
            result.history.append((round(elapsed, 3), runner.user_count))
            if elapsed > timeout:
                result.timed_out = True
                break
            gevent.sleep(sample_interval)
    finally:
        runner.quit()
    result.duration = time.monotonic() - started
    profile = running_profile(environment)
    result.breach = profile.breach if profile else None
    result.errors = {str(error.error): error.occurrences for error in environment.stats.errors.values()}
    return result
