"""Populations: several groups of users in one run, each following its own profile and start."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import gevent
import pytest
from locust import FastHttpUser, constant, task
from locust.env import Environment
from pytest_httpserver import HTTPServer

from locust_scenarios import Population, ScenarioShape, SettingsError, open_model_pacing, pacing_stats
from locust_scenarios._shapes.populations import load_populations

from .conftest import REPO, base_url, clean_env, locust, run_master_and_workers


class Browser(FastHttpUser):
    """Reads pages, thinking in between."""

    wait_time = constant(0.5)

    @task
    def page(self) -> None:
        self.client.get("/")


class Buyer(FastHttpUser):
    """Checks out."""

    wait_time = constant(0.5)

    @task
    def checkout(self) -> None:
        self.client.get("/checkout")


class Mix(ScenarioShape):
    """Browsers from the start; buyers from 8 s."""

    abstract = True
    populations = (
        Population(Browser, profile="stages", stages="1s:4,20s:4"),
        Population(Buyer, profile="stages", stages="1s:3,11s:3", start="8s", name="checkout"),
    )


def test_populations_plan_adds_up_and_each_keeps_its_own_clock() -> None:
    """The run's plan is the populations' users added up: 4 browsers, then 7 users once the buyers
    (delayed 8 s) have ramped up, then 4 again after the buyers' 12 s; it ends with the browsers."""
    shape = type("Concrete", (Mix,), {"abstract": False})()
    shape.configure(options={})
    plan = shape.plan
    assert plan.level(5) == pytest.approx(4)
    assert plan.level(8.5) == pytest.approx(5.5)
    assert plan.level(12) == pytest.approx(7)
    assert plan.level(20.5) == pytest.approx(4)
    assert plan.duration == pytest.approx(21)
    answer = shape.target(12.0)
    assert answer is not None
    assert getattr(answer, "counts", None) == {"Browser": 4, "Buyer": 3}
    assert shape.target(30.0) is None


@pytest.mark.e2e
def test_second_population_starts_later_and_both_reach_their_counts(httpserver: HTTPServer) -> None:
    """Two classes, two populations (the second from 8 s), run locally: before 6 s only browsers run;
    after 12 s both classes have their planned counts (4 browsers, 3 buyers)."""
    httpserver.expect_request("/").respond_with_data("ok")
    httpserver.expect_request("/checkout").respond_with_data("ok")
    shape = type("Concrete", (Mix,), {"abstract": False})()
    shape.configure(options={})
    environment = Environment(user_classes=[Browser, Buyer], host=base_url(httpserver), shape_class=shape)
    runner = environment.create_local_runner()
    runner.start_shape()
    seen: dict[float, dict[str, int]] = {}
    deadline = time.monotonic() + 60
    while shape.elapsed() < 13.0 and time.monotonic() < deadline:
        gevent.sleep(0.5)
        seen[shape.elapsed()] = dict(runner.user_classes_count)
    runner.quit()
    early = [counts for t, counts in seen.items() if 2.0 <= t < 6.0]
    late = [counts for t, counts in seen.items() if t >= 12.0]
    assert early, seen
    assert all(counts.get("Browser") == 4 and not counts.get("Buyer") for counts in early), seen
    assert late, seen
    assert all(counts == {"Browser": 4, "Buyer": 3} for counts in late), seen


def test_population_file_form_names_classes(tmp_path: Path) -> None:
    """A TOML file of ``[[population]]`` tables gives the same populations, classes by name."""
    mix = tmp_path / "mix.toml"
    mix.write_text(
        textwrap.dedent(
            """
            [[population]]
            classes = ["Browser"]
            profile = "stages"
            stages = "1s:4,20s:4"

            [[population]]
            class = "Buyer"
            profile = "stages"
            stages = "1s:3,11s:3"
            start = "8s"
            name = "checkout"
            """
        )
    )
    found = load_populations(str(mix))
    assert [(p.name, p.start, p.profile) for p in found] == [("Browser", 0.0, "stages"), ("checkout", 8.0, "stages")]
    assert found[1].build().class_names() == ["Buyer"]


def test_population_with_a_bad_parameter_is_refused_naming_it() -> None:
    """A population whose profile parameter does not validate is refused naming the population."""
    with pytest.raises(SettingsError, match=r"population 'checkout': .*LOCUST_SCENARIO_STAGES"):
        Population(Buyer, profile="stages", stages="soon:3", name="checkout").build()


POPULATIONS_FILE = """
from locust import FastHttpUser, constant, task
from locust_scenarios import ScenarioShape


class Browser(FastHttpUser):
    wait_time = constant(0.5)

    @task
    def page(self):
        self.client.get("/")


class Buyer(FastHttpUser):
    wait_time = constant(0.5)

    @task
    def checkout(self):
        self.client.get("/checkout")


class Shape(ScenarioShape):
    pass
"""


@pytest.mark.e2e
def test_population_file_runs_from_the_environment(httpserver: HTTPServer, tmp_path: Path) -> None:
    """``LOCUST_SCENARIO_POPULATIONS=mix.toml`` runs both populations headless and exits 0; each class
    sends requests, the buyers only after their start."""
    httpserver.expect_request("/").respond_with_data("ok")
    httpserver.expect_request("/checkout").respond_with_data("ok")
    (tmp_path / "locustfile.py").write_text(POPULATIONS_FILE)
    (tmp_path / "mix.toml").write_text(
        '[[population]]\nclass = "Browser"\nprofile = "stages"\nstages = "1s:2,6s:2"\n\n'
        '[[population]]\nclass = "Buyer"\nprofile = "stages"\nstages = "1s:2,2s:2"\nstart = "3s"\n'
    )
    run = locust(
        ["-f", "locustfile.py", "--headless", "-H", base_url(httpserver), "--json"],
        {"LOCUST_SCENARIO_POPULATIONS": "mix.toml", "PYTHONPATH": str(REPO / "src")},
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    entries: list[dict[str, Any]] = json.loads(run.stdout[run.stdout.find("[") :])
    names = {entry["name"]: entry["num_requests"] for entry in entries}
    assert names.get("/")
    assert names.get("/checkout")
    assert names["/checkout"] < names["/"]


def test_unknown_population_class_is_refused_before_load(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A population naming a class the locustfile does not have exits 2 naming it; no request is sent."""
    httpserver.expect_request("/").respond_with_data("ok")
    (tmp_path / "locustfile.py").write_text(POPULATIONS_FILE)
    (tmp_path / "mix.toml").write_text('[[population]]\nclass = "Admin"\nprofile = "smoke"\n')
    run = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "locustfile.py", "--headless", "-H", base_url(httpserver)],
        env=clean_env({"LOCUST_SCENARIO_POPULATIONS": "mix.toml", "PYTHONPATH": str(REPO / "src")}),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "user class Admin is not among" in run.stderr
    assert not httpserver.log


def test_preview_shows_each_population_and_their_sum(tmp_path: Path) -> None:
    """``preview -f`` with a populations file: the JSON holds the summed curve and each population's
    own curve on the run's clock (the second shifted by its start)."""
    (tmp_path / "locustfile.py").write_text(POPULATIONS_FILE)
    (tmp_path / "mix.toml").write_text(
        '[[population]]\nclass = "Browser"\nprofile = "stages"\nstages = "10s:20,50s:20"\n\n'
        '[[population]]\nclass = "Buyer"\nprofile = "stages"\nstages = "10s:5,20s:5,10s:0"\nstart = "15s"\n'
        'name = "checkout"\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "locust_scenarios", "preview", "-f", "locustfile.py", "--format", "json"],
        env=clean_env({"LOCUST_SCENARIO_POPULATIONS": "mix.toml", "PYTHONPATH": str(REPO / "src")}),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["peak"] == pytest.approx(25)
    assert found["duration_s"] == pytest.approx(60)
    checkout = found["populations"][1]
    assert checkout["name"] == "checkout"
    assert checkout["classes"] == ["Buyer"]
    assert checkout["points"][0] == [15.0, 0.0]
    assert checkout["points"][-1] == [55.0, 0.0]


class Paced(FastHttpUser):
    """Orders that arrive at the population's planned rate, whatever the other population does."""

    wait_time = open_model_pacing()

    @task
    def order(self) -> None:
        self.client.get("/order")


class OpenAndClosed(ScenarioShape):
    """Browsers (closed model) and orders at 10/s (open model) from 1 s."""

    abstract = True
    populations = (
        Population(Browser, profile="stages", stages="1s:2,8s:2"),
        Population(Paced, profile="stages", stages="0s:10,6s:10", rate=10, users=4, start="1s", name="orders"),
    )


@pytest.mark.e2e
def test_open_model_population_paces_at_its_own_rate(httpserver: HTTPServer) -> None:
    """An open-model population at 10 it/s for 6 s beside a closed one runs about 60 orders (within
    15%), its 4 users pacing on its own plan."""
    httpserver.expect_request("/").respond_with_data("ok")
    httpserver.expect_request("/order").respond_with_data("ok")
    shape = type("Concrete", (OpenAndClosed,), {"abstract": False})()
    shape.configure(options={})
    environment = Environment(user_classes=[Browser, Paced], host=base_url(httpserver), shape_class=shape)
    runner = environment.create_local_runner()
    runner.start_shape()
    deadline = time.monotonic() + 60
    while runner.state != "stopped" and shape.elapsed() < 9.5 and time.monotonic() < deadline:
        gevent.sleep(0.5)
    runner.quit()
    orders = sum(1 for request, _ in httpserver.log if request.path == "/order")
    assert orders == pytest.approx(60, rel=0.15)
    stats = pacing_stats(environment)
    # Each user's first order starts at spawn (a plain user has no first-iteration hook): 4 unpaced.
    assert stats.iterations + 4 >= orders
    assert stats.late <= 0.05 * stats.iterations


def test_run_wide_settings_a_populations_run_would_ignore_are_refused() -> None:
    """With populations, a run-wide rate, stages or duration would be ignored: each is refused naming
    it (also when the web UI's form sends it). ``users`` stays the cap: below the populations' peak
    (7) it is refused, at or above it accepted."""
    shape = type("Concrete", (Mix,), {"abstract": False})()
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_RATE=5\.0 .*each population sets its own"):
        shape.configure(options={"scenario_rate": "5"})
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_DURATION=.*each population sets its own"):
        shape.configure(options={"scenario_duration": "1m"})
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_USERS=5 .*add up to 7"):
        shape.configure(options={"scenario_users": "5"})
    shape.configure(options={"scenario_users": "7"})
    assert shape.plan.peak == pytest.approx(7)


def test_open_model_population_of_a_class_that_does_not_pace_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    """An open-model population (rate) of a class whose wait_time ignores the plan exits 2 naming the
    population and the class, before any request (it would silently run a closed model)."""
    httpserver.expect_request("/").respond_with_data("ok")
    (tmp_path / "locustfile.py").write_text(POPULATIONS_FILE)
    (tmp_path / "mix.toml").write_text(
        '[[population]]\nclass = "Buyer"\nname = "checkout"\nprofile = "stages"\nstages = "5s:1"\nrate = 5\n'
    )
    run = locust(
        ["-f", "locustfile.py", "--headless", "-H", base_url(httpserver)],
        {"LOCUST_SCENARIO_POPULATIONS": "mix.toml", "PYTHONPATH": str(REPO / "src")},
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "population 'checkout': the open model paces iterations, and Buyer cannot" in run.stderr
    assert not httpserver.log


@pytest.mark.e2e
def test_populations_run_on_a_master_with_two_workers(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A master with two workers runs a populations file: the master's dispatcher puts the buyers on
    the workers from their start (4, then 7 users, then 4 again), both classes send requests, and
    the run exits 0."""
    httpserver.expect_request("/").respond_with_data("ok")
    httpserver.expect_request("/checkout").respond_with_data("ok")
    (tmp_path / "locustfile.py").write_text(POPULATIONS_FILE)
    (tmp_path / "mix.toml").write_text(
        '[[population]]\nclass = "Browser"\nprofile = "stages"\nstages = "1s:4,9s:4"\n\n'
        '[[population]]\nclass = "Buyer"\nprofile = "stages"\nstages = "1s:3,4s:3"\nstart = "4s"\n'
    )
    env = clean_env({"LOCUST_SCENARIO_POPULATIONS": "mix.toml", "PYTHONPATH": str(REPO / "src")})
    master = run_master_and_workers("locustfile.py", base_url(httpserver), env, cwd=tmp_path, master_args=["--json"])
    assert master.returncode == 0, master.stderr[-3000:]
    updates = [int(n) for n in re.findall(r"Shape test updating to (\d+) users", master.stderr)]
    assert [count for count in updates if count] == [4, 7, 4], updates
    entries: list[dict[str, Any]] = json.loads(master.stdout[master.stdout.find("[") :])
    names = {entry["name"]: entry["num_requests"] for entry in entries}
    assert names.get("/")
    assert names.get("/checkout")
