"""Real Locust runs on 127.0.0.1 that provoke each "inconclusive" reason, and the same runs without the fault.

Also: the master sums the workers' late and dropped iterations, and thresholds by stage are judged on
that stage's requests only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import answer_after, base_url, free_port, master_options, worker_options

from .conftest import LOCUSTFILES, LocustRun, http_get, wait_for
from .test_exporter import samples, value

pytestmark = pytest.mark.e2e

StartLocust = Callable[..., LocustRun]
GENERATOR = str(LOCUSTFILES / "generator.py")


@pytest.fixture
def fifty_ms(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """/slow answers after 50 ms."""
    httpserver.expect_request("/slow").respond_with_handler(answer_after(0.05))
    yield httpserver
    httpserver.clear()


def summary_line(output: str) -> dict[str, Any]:
    """The one JSON summary line the master prints at the end."""
    lines = [line for line in output.splitlines() if '"event": "locust_scenarios.summary"' in line]
    assert len(lines) == 1, output[-3000:]
    record: dict[str, Any] = json.loads(lines[0])
    return record


def reasons(record: dict[str, Any]) -> list[str]:
    """The inconclusive reasons of a summary."""
    return [entry["reason"] for entry in record["inconclusive"]]


def local_run(target: HTTPServer) -> list[str]:
    """Arguments of a local headless run of the generator locustfile (settings come by environment)."""
    return ["-f", GENERATOR, "--headless", "-H", base_url(target)]


def scenario(**settings: str) -> dict[str, str]:
    """LOCUST_SCENARIO* variables from keyword arguments (``users="2"`` → LOCUST_SCENARIO_USERS=2)."""
    env = {"LOCUST_SCENARIO": "load"}
    env.update({f"LOCUST_SCENARIO_{name.upper()}": text for name, text in settings.items()})
    return env


def test_a_user_that_stalls_the_loop_is_inconclusive_and_high_cpu_alone_only_warns(
    fifty_ms: HTTPServer, start_locust: StartLocust
) -> None:
    """Each iteration burning 0.5 s of CPU without yielding stalls the local runner's event loop, so
    every response time it measures includes the stall: exit 5, reason 'lag' with the measured lag.
    The same run without the burn exits 0 with no reason, and with a CPU limit it exceeds (0.1%) it
    only gets a 'cpu' warning: high CPU alone distorts nothing."""
    env = scenario(users="4", duration="10s")
    burning = start_locust(local_run(fifty_ms), {**env, "BURN_CPU_SECONDS": "0.5"}, name="burning")
    assert burning.finish(90) == 5, burning.output()[-3000:]
    record = summary_line(burning.output())
    assert record["exit_code"] == 5
    assert "lag" in reasons(record)
    lag = next(entry for entry in record["inconclusive"] if entry["reason"] == "lag")
    assert lag["process"] == "local"
    assert lag["share"] > 0.1
    assert lag["loop_lag_max"] > 0.1
    assert "INCONCLUSIVE (lag): local: event loop late by more than 10ms on average" in burning.output()
    assert "Load generator: INCONCLUSIVE, exit code 5" in burning.output()

    clean = start_locust(local_run(fifty_ms), {**env, "LOCUST_SCENARIO_TRUST_CPU": "0.1%"}, name="clean")
    assert clean.finish(90) == 0, clean.output()[-3000:]
    record = summary_line(clean.output())
    assert record["inconclusive"] == []
    process = record["generator"]["processes"][0]
    assert process["name"] == "local"
    assert process["loop_lag_mean_seconds"] is not None
    assert [warning["reason"] for warning in record["generator"]["warnings"]] == ["cpu"]
    assert "WARNING (cpu): local: CPU above 0.1%" in clean.output()
    assert "Load generator: OK" in clean.output()


def test_a_pool_too_small_for_the_rate_is_inconclusive_and_a_reachable_rate_passes(
    fifty_ms: HTTPServer, start_locust: StartLocust
) -> None:
    """Two users cannot start 100 iterations/s of a 50 ms request: tracking error and late/dropped
    iterations, exit 5. The same pool at 10 iterations/s delivers the plan (started/planned about 1):
    exit 0."""
    too_fast = start_locust(local_run(fifty_ms), scenario(users="2", rate="100", duration="8s"), name="fast")
    assert too_fast.finish(90) == 5, too_fast.output()[-3000:]
    record = summary_line(too_fast.output())
    assert set(reasons(record)) == {"tracking", "late"}
    iterations = record["generator"]["iterations"]
    assert iterations["open_model"] is True
    assert iterations["late"] + iterations["dropped"] > 0
    assert iterations["tracking_error"] > 0.2

    reachable = start_locust(local_run(fifty_ms), scenario(users="2", rate="10", duration="8s"), name="reachable")
    assert reachable.finish(90) == 0, reachable.output()[-3000:]
    record = summary_line(reachable.output())
    assert record["inconclusive"] == []
    iterations = record["generator"]["iterations"]
    assert iterations["tracking_error"] < 0.2
    # The plan counts up to the stop, not to the last once-a-second observation: 10/s for 8 s.
    assert iterations["planned"] == pytest.approx(80, abs=3)
    assert iterations["started"] / iterations["planned"] == pytest.approx(1.0, abs=0.05)


def test_trust_off_keeps_the_old_exit_code(fifty_ms: HTTPServer, start_locust: StartLocust) -> None:
    """--scenario-trust off: the same under-delivering run exits 0, its figures still in the summary."""
    run = start_locust(
        [*local_run(fifty_ms), "--scenario-trust", "off"], scenario(users="2", rate="100", duration="6s")
    )
    assert run.finish(90) == 0, run.output()[-3000:]
    record = summary_line(run.output())
    assert record["inconclusive"] == []
    assert record["generator"]["iterations"]["late"] + record["generator"]["iterations"]["dropped"] > 0


def _worker_counts(output: str) -> tuple[int, int, int]:
    match = re.search(r"open-model pacing on this worker: (\d+) iterations started, (\d+) late, (\d+) dropped", output)
    assert match, output[-2000:]
    started, late, dropped = (int(group) for group in match.groups())
    return started, late, dropped


MASTER = (("process", "master"),)
"""The label set of the master's own generator series."""


def test_the_master_sums_late_and_dropped_iterations_of_both_workers(
    fifty_ms: HTTPServer, start_locust: StartLocust
) -> None:
    """Master + 2 workers, 4 users for 150 iterations/s: the master's exporter shows the late and
    dropped iterations of both workers summed, and the run is inconclusive."""
    master_port, metrics_port = free_port(), free_port()
    env = scenario(users="4", rate="150", duration="10s")
    master = start_locust(
        [
            "-f",
            GENERATOR,
            *master_options(master_port),
            "-H",
            base_url(fifty_ms),
            "--prometheus-port",
            str(metrics_port),
            "--prometheus-host",
            "127.0.0.1",
            "--prometheus-linger",
            "10s",
        ],
        env,
        name="master",
    )
    workers = [start_locust(["-f", GENERATOR, *worker_options(master_port)], env, name="worker") for _ in range(2)]

    def scraped() -> dict[Any, float]:
        return samples(http_get(f"http://127.0.0.1:{metrics_port}/metrics")[2])

    def busy_workers(found: dict[Any, float]) -> list[float]:
        return [v for k, v in found.items() if k[0] == "locust_generator_cpu_usage_ratio" and k[1] != MASTER and v > 0]

    # Measured by each worker from the run's start and reported while it runs (Locust's own figure reads
    # 0 for its first 20 s); after the run a worker's latest reading may be 0 again.
    wait_for(lambda: len(busy_workers(scraped())) == 2, 30, what="both workers' CPU readings above 0 while running")
    master.wait_for_output("serving the final metrics", 90)
    counts = [_worker_counts(worker.output()) for worker in workers]
    assert all(late + dropped > 0 for _, late, dropped in counts), counts

    found = wait_for(
        lambda: (s := scraped()) and value(s, "locust_iterations_total") == sum(c[0] for c in counts) and s,
        20,
        what="the master to hold both workers' final reports",
    )
    assert value(found, "locust_iterations_late_total") == sum(c[1] for c in counts)
    assert value(found, "locust_iterations_dropped_total") == sum(c[2] for c in counts)
    assert value(found, "locust_generator_inconclusive", reason="late") == 1
    worker_cpu = [k for k in found if k[0] == "locust_generator_cpu_usage_ratio" and k[1] != (("process", "master"),)]
    assert len(worker_cpu) == 2
    worker_lag = [k for k in found if k[0] == "locust_generator_loop_lag_seconds" and k[1] != (("process", "master"),)]
    assert len(worker_lag) == 2  # each worker measures its own loop and reports it
    assert master.finish(60) == 5, master.output()[-3000:]
    record = summary_line(master.output())
    assert record["generator"]["iterations"]["late"] == sum(c[1] for c in counts)
    assert "late" in reasons(record)


def test_a_killed_worker_not_replaced_is_inconclusive(fifty_ms: HTTPServer, start_locust: StartLocust) -> None:
    """Master + 2 workers, one killed mid-run and not replaced: users stay at half the plan beyond the
    5 s grace, so the run is inconclusive with reason 'workers' (and the users' tracking error)."""
    master_port = free_port()
    env = scenario(users="4", duration="24s", ramp_up="2s", ramp_down="1s", trust_worker_grace="5s")
    master = start_locust(["-f", GENERATOR, *master_options(master_port), "-H", base_url(fifty_ms)], env, name="master")
    workers = [start_locust(["-f", GENERATOR, *worker_options(master_port)], name="worker") for _ in range(2)]
    wait_for(lambda: len(fifty_ms.log) >= 40, 60, what="both workers' users to make requests")
    workers[0].stop()  # SIGKILL: no goodbye to the master
    assert workers[0].process.returncode == -9
    master.wait_for_output("failed to send heartbeat, setting state to missing", 30)
    assert master.finish(120) == 5, master.output()[-3000:]
    record = summary_line(master.output())
    assert "workers" in reasons(record)
    lost = next(entry for entry in record["inconclusive"] if entry["reason"] == "workers")
    assert lost["lost"] == 1
    assert lost["unreplaced_seconds"] > 5
    assert record["generator"]["worker_loss"] == {
        "peak": 2,
        "active": 1,
        "lost": 1,
        "longest_unreplaced_seconds": lost["unreplaced_seconds"],
    }
    missing = [p for p in record["generator"]["processes"] if p["state"] == "missing"]
    assert len(missing) == 1
    assert missing[0]["heartbeat_age_seconds"] > 3
    assert workers[1].finish(60) == 0


@pytest.fixture
def slow_then_fast(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """/slow takes 300 ms during the first 3 s after the first request, then 5 ms."""
    first: list[float] = []

    def handler(_request: Request) -> Response:
        now = time.monotonic()
        if not first:
            first.append(now)
        time.sleep(0.3 if now - first[0] < 3 else 0.005)
        return Response("ok")

    httpserver.expect_request("/slow").respond_with_handler(handler)
    yield httpserver
    httpserver.clear()


def test_a_stage_threshold_is_judged_on_that_stages_requests_only(
    slow_then_fast: HTTPServer, start_locust: StartLocust
) -> None:
    """Stages 'warm' (5 s, slow target) then 'steady' (8 s, fast target): [stage=steady]p95<100ms
    passes, [stage=warm]p95<100ms fails, so the run exits 3 and the table says where each was measured."""
    env = {
        "LOCUST_SCENARIO": "stages",
        "LOCUST_SCENARIO_STAGES": "0s:2:start,5s:2:warm,8s:2:steady",
        "LOCUST_SCENARIO_THINK_TIME": "50ms",
        "LOCUST_SCENARIO_THRESHOLDS": "[stage=steady]p95<100ms,[stage=warm]p95<100ms",
    }
    run = start_locust(local_run(slow_then_fast), env)
    assert run.finish(90) == 3, run.output()[-3000:]
    record = summary_line(run.output())
    steady, warm = record["thresholds"]
    assert (steady["passed"], steady["stage"]) == (True, "steady")
    assert steady["value"] < 0.1
    assert steady["measured"].startswith("stage steady (")
    assert warm["passed"] is False
    assert warm["value"] >= 0.3  # queued behind each other on the one-threaded target: 300 ms or more
    table = run.output()[run.output().index("threshold ") :]
    assert re.search(r"\[stage=steady\]p95<100ms .* stage steady \(\d+s\)\s+pass", table)


def test_an_unknown_stage_exits_2_before_any_request(fifty_ms: HTTPServer, start_locust: StartLocust) -> None:
    """[stage=stedy] names no stage of the load profile: one line with the known names, exit 2."""
    env = scenario(users="2", duration="10s", thresholds="[stage=stedy]p95<1s")
    run = start_locust(local_run(fifty_ms), env)
    assert run.finish(60) == 2, run.output()[-3000:]
    errors = [line for line in run.output().splitlines() if line.startswith("locust-scenarios:")]
    assert len(errors) == 1
    assert "no stage named 'stedy'" in errors[0]
    assert "did you mean steady?" in errors[0]
    assert len(fifty_ms.log) == 0
