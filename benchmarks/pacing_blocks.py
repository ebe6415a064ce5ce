"""Where open-model pacing spends its CPU: alternating in-process blocks at one fixed rate, with wake-ups.

``open_model_cost.py`` runs whole Locust processes, one variant at a time; on a shared machine two
runs of the same variant differ by more than the variants do. This runs every variant in **one**
process, block after block (each a bounded ``testing.run_profile`` of ``--seconds`` at ``--rate``
iterations/s with ``--users`` users, against nginx on 127.0.0.1), the order swapping every round, and
measures each block's process CPU per request and **event-loop iterations per request** (libev's own
counter: how often the loop woke up). Variants:

- ``plain``: a FastHttpUser paced by Locust's ``constant_throughput`` (each user at rate / users),
  spawned all at once by a closed-model profile;
- ``EndpointsUser + constant_throughput``: the config-driven user paced the same way (what the
  template costs, without the open model);
- ``open model``: the config-driven user under a constant ``rate`` with a pool of ``--users``
  (this library's pacing as shipped);
- with ``--grids 0,0.005,0.02``, the open model again with its wake-up grid set to each value
  (seconds; 0 wakes each user at its own slot), to see what the grid trades.

Prints the median of each variant and its ratio to ``plain``, and writes a result file. Before the
blocks it measures two costs on their own: **one wake-up of an idle event loop** (a greenlet sleeping
1 ms, 2 s long: CPU per wake-up) and **the open-model wait function's own Python** (the shipped
``wait_time`` of a user under an open-model profile, called 200,000 times with ``timeit``, its slots
running ahead of the clock; ``constant_throughput``'s beside it).

Usage: python benchmarks/pacing_blocks.py [--rate 1700] [--seconds 6] [--rounds 6] [--users 20] [--grids ...]
Bounded: rounds x variants blocks of ``--seconds``; nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

import gevent
from _harness import machine, nginx, write_result
from locust import FastHttpUser, User, constant_throughput, task
from locust.env import Environment
from locust.event import Events

import locust_scenarios._users.pacing as pacing_module
from locust_scenarios import EndpointsUser, ScenarioShape
from locust_scenarios._plugin import embed
from locust_scenarios.testing import options_namespace, run_profile

PLAIN, TEMPLATE, OPEN = "plain", "EndpointsUser + constant_throughput", "open model"
ENDPOINTS = '[{"path": "/"}]'


class Paced(FastHttpUser):
    @task
    def home(self) -> None:
        self.client.get("/")


class PacedTemplate(EndpointsUser):
    pass


class OpenModel(EndpointsUser):
    pass


def variants(rate: float, users: int, seconds: int, grids: list[float]) -> dict[str, Callable[[str], Any]]:
    """Each variant as a function of the target's URL that runs one block and returns its result."""
    closed = {"stages": f"0s:{users},{seconds}s:{users}", "spawn_rate": users, "endpoints": ENDPOINTS}
    open_model = {"stages": f"0s:1,{seconds}s:1", "rate": rate, "users": users, "endpoints": ENDPOINTS}
    per_user = constant_throughput(rate / users)
    Paced.wait_time = per_user  # type: ignore[method-assign]
    PacedTemplate.wait_time = per_user  # type: ignore[method-assign]
    shipped_grid = pacing_module._WAKE_GRID

    def block(user_class: type[User], settings: dict[str, Any], grid: float = shipped_grid) -> Callable[[str], Any]:
        def run(url: str) -> Any:
            user_class.host = url
            pacing_module._WAKE_GRID = grid or 1e-9
            try:
                return run_profile([user_class], host=url, scenario="stages", settings=settings, timeout=seconds + 30)
            finally:
                pacing_module._WAKE_GRID = shipped_grid

        return run

    found = {PLAIN: block(Paced, closed), TEMPLATE: block(PacedTemplate, closed), OPEN: block(OpenModel, open_model)}
    for grid in grids:
        found[f"open model, grid {grid * 1000:g} ms"] = block(OpenModel, open_model, grid)
    return found


def idle_wake_up_us(seconds: float = 2.0) -> float:
    """CPU microseconds per wake-up of an otherwise idle event loop (a greenlet sleeping 1 ms at a time)."""
    wakes, cpu, end = 0, time.process_time(), time.monotonic() + seconds
    while time.monotonic() < end:
        gevent.sleep(0.001)
        wakes += 1
    return (time.process_time() - cpu) / wakes * 1e6


def wait_function_us(rate: float, users: int, calls: int = 200_000) -> dict[str, float]:
    """Microseconds per call of the open model's ``wait_time`` (slots running ahead of the clock, as
    when users are ahead of the plan) and of ``constant_throughput``, for one user, nothing sent."""
    settings = {"scenario": "stages", "stages": "0s:1,3600s:1", "rate": rate, "users": users, "endpoints": ENDPOINTS}
    environment = Environment(
        user_classes=[OpenModel], shape_class=ScenarioShape(), host="http://127.0.0.1:9", events=Events(),
        parsed_options=options_namespace(settings),
    )  # fmt: skip
    environment.create_local_runner()
    embed(environment)
    assert environment.shape_class is not None
    assert environment.runner is not None
    environment.shape_class.runner = environment.runner
    environment.shape_class.reset_time()
    OpenModel.host = "http://127.0.0.1:9"
    user = OpenModel(environment)
    paced = constant_throughput(rate / users)
    found = {
        "open model": timeit.timeit(user.wait_time, number=calls) / calls * 1e6,
        "constant_throughput": timeit.timeit(lambda: paced(user), number=calls) / calls * 1e6,
    }
    environment.runner.quit()
    return found


def measure(run: Callable[[str], Any], url: str) -> dict[str, float]:
    """One block: CPU microseconds and event-loop iterations per request, and the achieved rate."""
    loop = gevent.get_hub().loop
    iterations, cpu, wall = loop.iteration, time.process_time(), time.monotonic()
    result = run(url)
    cpu, wall, iterations = time.process_time() - cpu, time.monotonic() - wall, loop.iteration - iterations
    requests = max(result.requests, 1)
    return {
        "us_per_request": cpu / requests * 1e6,
        "loop_iterations_per_request": iterations / requests,
        "requests_per_second": result.requests / max(result.duration, 1e-9),
        "wall_seconds": wall,
        "failures": result.failures,
        "exit_code": result.exit_code,
    }


def main() -> None:
    """Measure, print and write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1700.0, help="iterations per second (one request each)")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--grids", default="", help="comma-separated wake-up grids (s) to try besides the shipped one")
    args = parser.parse_args()
    grids = [float(grid) for grid in args.grids.split(",") if grid.strip()]
    started = machine()
    wake_up = idle_wake_up_us()
    waits = wait_function_us(args.rate, args.users)
    print(f"one wake-up of an idle event loop: {wake_up:.1f} us of CPU; the wait function per call: "
          + ", ".join(f"{name} {value:.2f} us" for name, value in waits.items()))  # fmt: skip
    runs = variants(args.rate, args.users, args.seconds, grids)
    blocks: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    with nginx() as url:
        for number in range(args.rounds):
            names = list(runs) if number % 2 == 0 else list(reversed(runs))
            for name in names:
                blocks[name].append(measure(runs[name], url))
                figures = blocks[name][-1]
                print(f"  round {number + 1} {name:<36} {figures['us_per_request']:6.1f} us/request "
                      f"{figures['loop_iterations_per_request']:6.3f} loop iterations/request "
                      f"{figures['requests_per_second']:7.1f} req/s exit {figures['exit_code']}",
                      flush=True)  # fmt: skip
    keys = ("us_per_request", "loop_iterations_per_request")
    medians = {name: {key: statistics.median(b[key] for b in found) for key in keys} for name, found in blocks.items()}
    plain = medians[PLAIN]["us_per_request"]
    print(f"{args.rounds} rounds of {args.seconds} s at {args.rate:g} iterations/s, {args.users} users; medians:")
    for name, figures in medians.items():
        print(f"  {name:<36} {figures['us_per_request']:6.1f} us/request ({figures['us_per_request'] / plain:.3f} of "
              f"plain), {figures['loop_iterations_per_request']:.3f} loop iterations/request")  # fmt: skip
    results = {"idle_wake_up_us": wake_up, "wait_function_us": waits, "medians": medians, "blocks": blocks}
    write_result("pacing_blocks", vars(args), results, started)


if __name__ == "__main__":
    main()
