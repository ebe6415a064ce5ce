"""The run object: one owner per environment for the profile, the settings, the clock and the run so far.

Built here on plain Locust environments (no process, no event fired), with a clock the test steps.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from locust import FastHttpUser, constant, task
from locust.env import Environment
from pytest_httpserver import HTTPServer

from locust_scenarios import ScenarioSettings, ScenarioShape
from locust_scenarios._run.state import Run, own, run_of
from locust_scenarios._settings.context import scenario_settings
from locust_scenarios._thresholds.grammar import parse
from locust_scenarios._thresholds.judging import Verdict
from locust_scenarios.testing import options_namespace, run_profile

from .conftest import base_url


class Shape(ScenarioShape):
    abstract = True


class Visitor(FastHttpUser):
    abstract = True
    wait_time = constant(0.2)

    @task
    def home(self) -> None:
        self.client.get("/")


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the ``ScenarioSettings`` validations made while the test runs (one list item each)."""
    made: list[int] = []
    original = ScenarioSettings.__init__

    def counting(self: ScenarioSettings, *args: Any, **kwargs: Any) -> None:
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ScenarioSettings, "__init__", counting)
    return made


class Clock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_profiles_settings_are_validated_once_per_set_of_options(validations: list[int]) -> None:
    """The run reads its profile's settings; the same options again keep them (no new validation), other
    options (a web UI form, a master's options on a worker) are validated once and rebuild the plan."""
    shape = Shape()
    environment = Environment(
        shape_class=shape, parsed_options=options_namespace({"stages": "2s:3", "scenario": "stages"})
    )
    run = Run(environment, shape)
    first = run.read_settings(environment.parsed_options)
    assert len(validations) == 1
    assert run.read_settings(environment.parsed_options) is first
    assert run.settings is first
    assert len(validations) == 1
    environment.parsed_options = options_namespace({"stages": "4s:5", "scenario": "stages"})
    second = run.read_settings(environment.parsed_options)
    assert len(validations) == 2
    assert second.stages == "4s:5"
    assert run.settings is second
    assert shape.plan.peak == 5


def test_without_a_profile_the_run_validates_its_own_settings_once_per_set_of_options(validations: list[int]) -> None:
    """A locustfile without a profile: the run holds the settings itself, validated again only when the
    options change."""
    environment = Environment(parsed_options=options_namespace({"think_time": "2s"}))
    run = Run(environment, None)
    first = run.read_settings(environment.parsed_options)
    assert run.read_settings(environment.parsed_options) is first
    assert len(validations) == 1
    assert run.read_settings(options_namespace({"think_time": "3s"})).think_time == "3s"
    assert len(validations) == 2


def test_a_run_before_its_settings_are_validated_says_so() -> None:
    """Reading the settings of a run whose settings were never validated is an error, not a default."""
    with pytest.raises(RuntimeError, match="before they were validated"):
        _ = Run(Environment(), None).settings


def test_the_user_templates_read_the_settings_of_the_bound_run() -> None:
    """Bound to its environment, the run is what ``run_of`` finds and what the user templates read."""
    environment = Environment(parsed_options=options_namespace({"think_time": "0"}))
    assert run_of(environment) is None
    run = own(Run(environment, None))
    run.read_settings(options_namespace({"think_time": "5s"}))
    assert run_of(environment) is run
    assert scenario_settings(environment) is run.settings
    assert scenario_settings(environment).think_time == "5s"


def test_an_environment_without_the_plugin_follows_its_parsed_options() -> None:
    """Without a run object, the templates' settings come from the environment's parsed options, and are
    validated again when those are replaced (and only then)."""
    environment = Environment(parsed_options=options_namespace({"think_time": "1s"}))
    first = scenario_settings(environment)
    assert scenario_settings(environment) is first
    environment.parsed_options = options_namespace({"think_time": "4s"})
    assert scenario_settings(environment).think_time == "4s"
    assert run_of(environment) is None


def test_a_run_goes_away_with_its_environment() -> None:
    """No registry keeps runs alive: once its environment is gone, so is the run (nothing to reset)."""
    environment = Environment()
    run = own(Run(environment, None))
    gone = weakref.ref(run)
    del environment, run
    gc.collect()
    assert gone() is None


def test_without_a_profile_the_clock_is_the_runs_own() -> None:
    """Without a profile, elapsed time is the run's clock since the run started; there is no stage."""
    clock = Clock()
    run = Run(Environment(), None, clock=clock)
    run.started_at = clock()
    clock.now += 12.5
    assert run.elapsed() == 12.5
    assert run.stage(run.elapsed()) == ""


def test_with_a_profile_the_clock_and_the_stage_are_the_profiles() -> None:
    """With a profile, elapsed time and the stage are the plan's (the shape's clock times the plan)."""
    shape = Shape()
    environment = Environment(
        shape_class=shape, parsed_options=options_namespace({"scenario": "load", "users": 4, "duration": "100s"})
    )
    run = Run(environment, shape)
    run.read_settings(environment.parsed_options)
    assert run.stage(1.0) == shape.plan.stage_name(1.0) == "ramp-up"
    assert run.stage(50.0) == "steady"
    shape.reset_time()
    assert 0 <= run.elapsed() < 5


def test_the_run_so_far_and_its_final_verdict() -> None:
    """Before the verdict the thresholds are judged on the statistics so far; once judged, the verdict's
    results are what every reader gets."""
    environment = Environment()
    run = Run(environment, None, thresholds=parse("requests>=2"))
    environment.stats.log_request("GET", "/", 5.0, 10)
    (so_far,) = run.current_results()
    assert (so_far.value, so_far.passed) == (1.0, False)
    environment.stats.log_request("GET", "/", 5.0, 10)
    run.verdict = Verdict(tuple(run.current_results()))
    environment.stats.reset_all()
    (final,) = run.current_results()
    assert (final.value, final.passed) == (2.0, True)


def test_a_local_runs_pacing_totals_are_its_own_and_it_has_no_workers() -> None:
    """A local run sums no worker reports: its pacing counters are its own, and it has no live workers."""
    environment = Environment()
    environment.create_local_runner()
    run = Run(environment, None)
    assert run.pacing_totals().iterations == 0
    assert run.live_workers() == set()
    assert not run.on_master
    assert not run.on_worker


def test_an_in_process_run_validates_its_settings_once(target: HTTPServer, validations: list[int]) -> None:
    """A whole run (checks at init, the run start, the verdict at quitting) validates the settings once:
    the run start finds the options it was validated with unchanged."""
    result = run_profile(
        [type("V", (Visitor,), {})], host=base_url(target), scenario="stages",
        settings={"stages": "1s:2"}, timeout=20,
    )  # fmt: skip
    assert result.exit_code == 0, result.summary
    assert len(validations) == 1
