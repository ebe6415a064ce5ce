"""Traffic as it arrives: Poisson arrivals, daily and replayed curves, a pool that grows."""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gevent
import pytest
from locust.argument_parser import get_empty_argument_parser
from locust.env import Environment
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from locust_scenarios import EndpointsUser, SettingsError, Stage, StagesProfile, parse_stages
from locust_scenarios._settings.options import add_options
from locust_scenarios._shapes.curves import parse_harmonics, read_csv_series, resample
from locust_scenarios._users.pacing import _SlotSchedule, arrival_stream

from .conftest import REPO, base_url, clean_env, free_port, locust, run_master_and_workers

SRC = REPO / "src"
CSV = REPO / "examples" / "traffic" / "requests-per-second.csv"


def options(*args: str) -> Any:
    """Locust's parsed options with our options registered, from command-line style ``args``."""
    parser = get_empty_argument_parser(add_help=False)
    add_options(parser)
    namespace, _ = parser.parse_known_args(args=list(args))
    return namespace


class PlannedRate:
    """A stand-in open-model profile: ``level(t)`` iterations/s."""

    open_model = True

    def __init__(self, level: Any) -> None:
        self.level = level
        self.settings = SimpleNamespace(users=10)

    def planned_level(self, t: float) -> float:
        return float(self.level(t))


def slots(schedule: _SlotSchedule, until: float) -> list[float]:
    """Every slot the schedule hands out up to run time ``until``, claimed just in time."""
    found: list[float] = []
    now = 0.0
    while True:
        slot = schedule.claim(now, 1.0)
        if slot is None or slot >= until:
            return found
        found.append(slot)
        now = slot


# -- Poisson arrivals: the schedule ---------------------------------------------------------------


def test_poisson_slots_follow_a_ramp_on_average_and_repeat_with_a_seed() -> None:
    """Poisson slots over a ramp 0 -> 100/s in 100 s number about the planned 5,000, with gaps far
    less regular than the uniform grid's; the same seed gives the same slots, another seed others."""
    ramp = PlannedRate(lambda t: t)
    first = slots(_SlotSchedule(ramp, 1e9, 1e9, arrival_stream("poisson", 7)), 100.0)
    again = slots(_SlotSchedule(ramp, 1e9, 1e9, arrival_stream("poisson", 7)), 100.0)
    other = slots(_SlotSchedule(ramp, 1e9, 1e9, arrival_stream("poisson", 8)), 100.0)
    assert len(first) == pytest.approx(5000, rel=0.05)
    assert first == again
    assert first != other
    # More arrivals where the planned rate is higher: the last fifth holds 9/25 of the area.
    assert sum(1 for t in first if t >= 80) / len(first) == pytest.approx(0.36, abs=0.03)


def test_poisson_gaps_are_exponential_and_uniform_gaps_are_constant() -> None:
    """At a constant 50/s, Poisson gaps have a coefficient of variation near 1; uniform gaps near 0."""
    constant = PlannedRate(lambda t: 50)
    poisson = slots(_SlotSchedule(constant, 1e9, 1e9, arrival_stream("poisson", 1)), 200.0)
    uniform = slots(_SlotSchedule(constant, 1e9, 1e9, arrival_stream("uniform", 1)), 200.0)
    poisson_gaps = [b - a for a, b in itertools.pairwise(poisson)]
    uniform_gaps = [b - a for a, b in itertools.pairwise(uniform)]
    assert statistics.pstdev(poisson_gaps) / statistics.mean(poisson_gaps) == pytest.approx(1.0, abs=0.08)
    assert statistics.pstdev(uniform_gaps) / statistics.mean(uniform_gaps) < 0.01
    assert len(poisson) == pytest.approx(10_000, rel=0.05)


def test_each_worker_draws_its_own_seeded_stream() -> None:
    """With one seed, worker 0 and worker 1 draw different gaps, each repeatable."""
    draws = {index: [arrival_stream("poisson", 3, index).random() for _ in range(3)] for index in (0, 1)}  # type: ignore[union-attr]
    assert draws[0] != draws[1]
    assert draws[0] == [arrival_stream("poisson", 3, 0).random() for _ in range(3)]  # type: ignore[union-attr]
    assert arrival_stream("uniform", 3, 0) is None


def _arrivals(stream: Any, planned: float) -> int:
    """How many arrivals a stream of exponential gaps holds within ``planned`` iterations."""
    total, count = stream.expovariate(1.0), 0
    while total < planned:
        count += 1
        total += stream.expovariate(1.0)
    return count


# -- Poisson arrivals: real runs ------------------------------------------------------------------


class FiftyPerSecond(StagesProfile):
    """Open model: 50 iterations/s from the start for 10 s."""

    stages = [Stage(0, 1), Stage(10, 1)]  # noqa: RUF012 - the profile's documented way to declare stages


def _requests_per_100ms(httpserver: HTTPServer, *extra: str) -> tuple[list[int], int]:
    """Run the 50/s plan in-process; the count of requests started in each 100 ms, and the total."""
    httpserver.expect_request("/").respond_with_data("ok")
    starts: list[float] = []

    class Paced(EndpointsUser):
        pass

    parsed = options("--scenario-rate", "50", "--scenario-users", "25", "--scenario-spawn-rate", "100", *extra)
    shape = FiftyPerSecond()
    shape.configure(options=parsed)
    environment = Environment(user_classes=[Paced], host=base_url(httpserver), parsed_options=parsed, shape_class=shape)
    environment.events.request.add_listener(lambda **_kw: starts.append(shape.elapsed()))
    runner = environment.create_local_runner()
    runner.start_shape()
    deadline = time.monotonic() + 40
    while runner.state != "stopped" and shape.elapsed() < 10.5 and time.monotonic() < deadline:
        gevent.sleep(0.2)
    runner.quit()
    counts = [0] * 100
    for t in starts:
        if 0 <= t < 10:
            counts[int(t * 10)] += 1
    return counts[10:], sum(counts)  # the first second holds the users' start


@pytest.mark.e2e
@pytest.mark.parametrize(("arrivals", "low", "high"), [("poisson", 0.6, 1.4), ("uniform", 0.0, 0.3)])
def test_arrivals_per_100ms_vary_as_planned(httpserver: HTTPServer, arrivals: str, low: float, high: float) -> None:
    """50 it/s for 10 s: requests per 100 ms have a variance-to-mean ratio near 1 with Poisson arrivals
    and near 0 on the uniform grid; either way the total is within 10% of 500."""
    counts, total = _requests_per_100ms(httpserver, "--scenario-arrivals", arrivals, "--scenario-seed", "11")
    ratio = statistics.pvariance(counts) / statistics.mean(counts)
    assert low <= ratio <= high, (arrivals, ratio, counts)
    assert total == pytest.approx(500, rel=0.1)


@pytest.fixture
def threaded_target() -> Iterator[HTTPServer]:
    """A threaded local target answering / at once (bursts of arrivals do not queue behind each other)."""
    server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
    server.expect_request("/").respond_with_data("ok")
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.mark.e2e
def test_poisson_arrivals_are_shared_by_workers(threaded_target: HTTPServer, tmp_path: Path) -> None:
    """Master + 2 workers with seeded Poisson arrivals: each worker draws its own stream of its half of
    the plan, and together they deliver the arrivals those streams hold over the 15 s (600 planned).

    The expectation is the seeded streams' own count, so the test checks the delivery, not the luck
    of the draw. The margin covers the workers' clocks, which start about a second after the master's
    (their last second is cut), and the slots claimed but not yet started when the run stops.
    """
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(
        textwrap.dedent(
            """
            import sys
            from locust import events
            from locust_scenarios import EndpointsUser, Stage, StagesProfile, pacing_stats

            class Throughput(StagesProfile):
                stages = [Stage(0, 1), Stage(15, 1)]
                rate = 40
                users = 20

            class Api(EndpointsUser):
                pass

            @events.quitting.add_listener
            def report(environment, **_kw):
                index = getattr(environment.runner, "worker_index", None)
                print("pacing:", index, pacing_stats(environment), file=sys.stderr)
            """
        )
    )
    env = clean_env(
        {
            "PYTHONPATH": str(SRC),
            "LOCUST_SCENARIO_SPAWN_RATE": "100",
            "LOCUST_SCENARIO_ARRIVALS": "poisson",
            "LOCUST_SCENARIO_SEED": "5",
        }
    )
    logs = [tmp_path / f"worker{number}.log" for number in range(2)]
    master = run_master_and_workers(str(locustfile), base_url(threaded_target), env, worker_logs=logs)
    assert master.returncode == 0, master.stderr[-3000:]
    # Counted where they arrive: the master's totals can miss the workers' last report.
    reports = [line for log in logs for line in log.read_text().splitlines() if "pacing" in line]
    expected = sum(_arrivals(arrival_stream("poisson", 5, index), 300.0) for index in range(2))
    assert 0.85 * expected <= len(threaded_target.log) <= 1.1 * expected, (expected, reports)


def test_arrivals_setting_is_refused_when_unknown() -> None:
    """``LOCUST_SCENARIO_ARRIVALS=bursty`` exits 2 naming the variable and the allowed values, before load."""
    run = locust(
        ["-f", str(REPO / "tests" / "locustfiles" / "selecting.py"), "--headless", "-H", "http://127.0.0.1:9"],
        {"LOCUST_SCENARIO_ARRIVALS": "bursty", "LOCUST_SCENARIO_RATE": "5"},
    )
    assert run.returncode == 2
    assert "LOCUST_SCENARIO_ARRIVALS='bursty'" in run.stderr
    assert "'uniform' or 'poisson'" in run.stderr


# -- diurnal and replay ---------------------------------------------------------------------------


def preview(*args: str) -> dict[str, Any]:
    """``locust-scenarios preview ARGS --format json``, parsed."""
    run = subprocess.run(
        [sys.executable, "-m", "locust_scenarios", "preview", *args, "--format", "json"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found: dict[str, Any] = json.loads(run.stdout)
    return found


def level_at(points: list[list[float]], t: float) -> float:
    """The previewed curve's level at ``t`` (linear between its points)."""
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1
    return points[-1][1]


def test_diurnal_preview_is_a_day_from_trough_to_peak() -> None:
    """``preview diurnal --format json``: the peak equals the users given, the run starts at the
    trough (20% of the peak), peaks half-way and comes back, smoothly."""
    found = preview("diurnal", "--scenario-users", "80", "--scenario-trough", "20%", "--scenario-duration", "24m")
    points = found["points"]
    assert found["peak"] == pytest.approx(80)
    assert found["duration_s"] == pytest.approx(24 * 60)
    assert points[0][1] == pytest.approx(16)
    assert level_at(points, 12 * 60) == pytest.approx(80, rel=0.01)
    assert level_at(points, 6 * 60) == pytest.approx(48, rel=0.02)  # half-way up a cosine
    assert points[-1][1] == pytest.approx(16, rel=0.01)
    steps = [abs(b[1] - a[1]) for a, b in itertools.pairwise(points)]
    assert max(steps) < 80 * 0.02


def test_diurnal_harmonics_add_a_second_rush() -> None:
    """A second harmonic gives the day two local maxima; the highest is still the users given."""
    found = preview("diurnal", "--scenario-users", "30", "--scenario-harmonics", "2:0.8")
    levels = [level for _, level in found["points"]]
    maxima = [i for i in range(1, len(levels) - 1) if levels[i - 1] < levels[i] >= levels[i + 1]]
    assert len(maxima) == 2
    assert max(levels) == pytest.approx(30)


def test_harmonics_that_do_not_parse_are_refused() -> None:
    """A harmonic without a whole order is refused with the form that is expected."""
    assert parse_harmonics("2:0.3, 3") == [(2, 0.3), (3, 0.5)]
    with pytest.raises(ValueError, match=r"ORDER:AMPLITUDE"):
        parse_harmonics("two:0.3")


def test_replay_preview_follows_the_csv_scaled_to_the_users(tmp_path: Path) -> None:
    """``preview replay`` with a CSV: the peak equals the users given, the peak sits where the
    recording's does (time-compressed), and the trough where its trough is."""
    source = tmp_path / "recorded.csv"
    source.write_text("t,value\n0,10\n3600,10\n7200,100\n10800,40\n14400,5\n")
    found = preview(
        "replay",
        "--scenario-users",
        "50",
        "--scenario-duration",
        "4m",
        "--scenario-replay-source",
        str(source),
    )
    points = found["points"]
    assert found["peak"] == pytest.approx(50)
    assert found["duration_s"] == pytest.approx(240)
    assert max(points, key=lambda p: p[1])[0] == pytest.approx(120, abs=2)  # 2 h of 4 h -> 2 min of 4
    assert level_at(points, 60) == pytest.approx(5, rel=0.1)  # 10 / 100 of the peak
    assert level_at(points, 180) == pytest.approx(20, rel=0.1)  # 40 / 100 of the peak


def test_replay_plays_as_long_as_the_recording_without_a_duration() -> None:
    """Without a duration the shipped example recording (a day) plays for a day, peak at the users."""
    found = preview("replay", "--scenario-users", "12", "--scenario-replay-source", str(CSV))
    assert found["duration_s"] == pytest.approx(86400)
    assert found["peak"] == pytest.approx(12)


def test_replay_smooths_what_is_faster_than_a_tick() -> None:
    """A recording that flips every second, squeezed 100-fold, becomes its mean (no comb of jumps)."""
    series = [(float(t), 100.0 if t % 2 else 0.0) for t in range(1001)]
    levels = resample(series, 10)
    assert all(level == pytest.approx(50, abs=12) for level in levels[1:-1])


def test_csv_series_accepts_iso_times_and_refuses_bad_rows() -> None:
    """ISO 8601 times and a header row are read; a row with a word for a value is refused by line."""
    assert read_csv_series("time,rps\n2026-01-01T00:01:00Z,3\n2026-01-01T00:00:00Z,1\n")[0][1] == 1.0
    with pytest.raises(ValueError, match="line 3"):
        read_csv_series("t,value\n0,1\n60,many\n")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/nonexistent/recorded.csv", "LOCUST_SCENARIO_REPLAY_SOURCE='/nonexistent/recorded.csv'"),
        ("http://127.0.0.1:9", "LOCUST_SCENARIO_REPLAY_QUERY"),
    ],
)
def test_replay_source_that_cannot_be_read_stops_the_run_before_load(
    httpserver: HTTPServer, source: str, expected: str
) -> None:
    """A missing CSV, or a Prometheus URL without a query, exits 2 naming the setting; no request is sent."""
    httpserver.expect_request("/").respond_with_data("ok")
    run = locust(
        ["-f", str(REPO / "tests" / "locustfiles" / "selecting.py"), "--headless", "-H", base_url(httpserver)],
        {"LOCUST_SCENARIO": "replay", "LOCUST_SCENARIO_REPLAY_SOURCE": source},
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert expected in run.stderr
    assert not httpserver.log


def test_unreachable_prometheus_is_named_in_the_refusal() -> None:
    """A Prometheus URL nothing answers on is refused naming the URL and why."""
    from locust_scenarios._cli.preview import plan_for  # noqa: PLC0415

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_REPLAY_SOURCE='http://127\.0\.0\.1:\d+'.*cannot be read"):
        plan_for("replay", ["--scenario-replay-source", url, "--scenario-replay-query", "up"])


# -- the growing pool -----------------------------------------------------------------------------


@pytest.fixture
def slow_target() -> Iterator[str]:
    """A threaded local target whose / answers after 500 ms."""
    server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)

    def slow(_request: Request) -> Response:
        time.sleep(0.5)
        return Response("slow")

    server.expect_request("/").respond_with_handler(slow)
    server.start()
    yield base_url(server)
    server.clear()
    server.stop()


GROWING = textwrap.dedent(
    """
    from locust_scenarios import EndpointsUser, ScenarioShape

    class Shape(ScenarioShape):
        pass

    class Api(EndpointsUser):
        pass
    """
)


@pytest.mark.e2e
def test_open_model_pool_grows_to_keep_the_rate_against_a_slow_target(slow_target: str, tmp_path: Path) -> None:
    """20 it/s against a 500 ms endpoint with 2 users and max_users 30: at least 90% of the planned
    iterations run and the run passes (exit 0); the pool grew beyond 2 users and stayed within 30."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(GROWING)
    summary = tmp_path / "summary.json"
    env = {
        "PYTHONPATH": str(SRC),
        "LOCUST_SCENARIO": "stages",
        "LOCUST_SCENARIO_STAGES": "2s:20,14s:20",
        "LOCUST_SCENARIO_RATE": "20",
        "LOCUST_SCENARIO_USERS": "2",
        "LOCUST_SCENARIO_MAX_USERS": "30",
        "LOCUST_SCENARIO_SUMMARY": str(summary),
        "LOCUST_PROMETHEUS_LINGER": "0",
    }
    prefix = tmp_path / "run"
    run = locust(["-f", str(locustfile), "--headless", "-H", slow_target, "--csv", str(prefix)], env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    planned = 2 * 20 / 2 + 14 * 20
    requests = json.loads(summary.read_text())
    done = _completed_requests(requests, prefix)
    assert done >= 0.9 * planned, (done, planned)
    users = _user_counts(prefix)
    assert 2 < max(users) <= 30


def _completed_requests(summary: dict[str, Any], prefix: Path) -> int:
    """Requests the run completed, from Locust's own CSV totals."""
    import csv  # noqa: PLC0415

    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    assert summary  # the summary file was written: the verdict ran
    return int(rows[0]["Request Count"])


def _user_counts(prefix: Path) -> list[int]:
    import csv  # noqa: PLC0415

    with open(f"{prefix}_stats_history.csv", newline="") as handle:
        return [int(row["User Count"]) for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"LOCUST_SCENARIO_USERS": "5"}, "applies to the open model only"),
        ({"LOCUST_SCENARIO_RATE": "5", "LOCUST_SCENARIO_USERS": "50"}, "must be at least users (50)"),
    ],
)
def test_max_users_is_refused_where_it_cannot_apply(target: HTTPServer, extra: dict[str, str], rule: str) -> None:
    """max_users on a closed-model run, or below users, exits 2 naming LOCUST_SCENARIO_MAX_USERS."""
    run = locust(
        ["-f", str(REPO / "tests" / "locustfiles" / "selecting.py"), "--headless", "-H", base_url(target)],
        {"LOCUST_SCENARIO_MAX_USERS": "20", "LOCUST_SCENARIO_DURATION": "5s", **extra},
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "LOCUST_SCENARIO_MAX_USERS=20" in run.stderr
    assert rule in run.stderr
    assert not target.log


def test_pool_follows_the_demand_within_its_bounds() -> None:
    """The open model's pool grows to the pacing's demand, never past max_users, and shrinks back to
    users once no demand was reported for a few seconds."""
    shape = StagesProfile()
    shape.configure(options=options("--scenario-rate", "20", "--scenario-users", "2", "--scenario-max-users", "12"))
    assert shape.planned_users(1.0) == 2
    shape.report_pool_demand(1.0, 8)
    assert shape.planned_users(1.5) == 8
    shape.report_pool_demand(2.0, 40)
    assert shape.planned_users(2.5) == 12
    assert shape.planned_users(9.0) == 2


# -- dwell ----------------------------------------------------------------------------------------


def test_dwell_stage_is_written_with_a_plus_and_previewed() -> None:
    """``+3s:6`` is a dwell stage; the preview's table marks it and explains it."""
    stages = parse_stages("0s:6,+3s:6,1s:0")
    assert [stage.dwell for stage in stages] == [False, True, False]
    run = subprocess.run(
        [sys.executable, "-m", "locust_scenarios", "preview", "stages", "--scenario-stages", "0s:6,+3s:6:hold,1s:0"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "hold (dwell)" in run.stdout
    assert "held for its duration once the level is reached" in run.stdout


class SlowToReach(StagesProfile):
    """A jump to 6 users spawned at 1 user/s, then a 3 s dwell, then the end."""

    stages = [Stage(0, 6, "jump", spawn_rate=1.0), Stage(3, 6, "hold", dwell=True), Stage(1, 0, "down")]  # noqa: RUF012


@pytest.mark.e2e
def test_dwell_holds_after_the_level_is_actually_reached(httpserver: HTTPServer) -> None:
    """Spawning 6 users at 1/s takes about 5 s that the plan does not know about; a 3 s dwell still
    runs 3 s at 6 users after they are all there, and the planned level (what trust and the exporter
    read) waits with it."""
    httpserver.expect_request("/").respond_with_data("ok")

    class Visitor(EndpointsUser):
        pass

    shape = SlowToReach()
    shape.configure(options=options())
    environment = Environment(
        user_classes=[Visitor], host=base_url(httpserver), parsed_options=options(), shape_class=shape
    )
    runner = environment.create_local_runner()
    runner.start_shape()
    full_since: float | None = None
    held = 0.0
    deadline = time.monotonic() + 40
    while runner.state != "stopped" and time.monotonic() < deadline:
        gevent.sleep(0.2)
        now = shape.elapsed()
        if runner.user_count == 6 and full_since is None:
            full_since = now
            assert shape.planned_level(now) == pytest.approx(6)
        if full_since is not None and runner.user_count == 6:
            held = now - full_since
        if shape.completed:
            break
    runner.quit()
    assert full_since is not None
    assert full_since >= 4.0  # the spawning took time the plan did not give it
    assert held >= 2.8  # and the dwell still held 3 s at the level
