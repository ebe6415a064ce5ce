"""CPU time per request of a user's code: the config-driven user against hand-written ones, in one process.

``overhead.py`` measures whole Locust processes, whose requests per second move by 10-20% from one
run to the next on a machine with shared CPUs. This measures what the user classes themselves cost:
one user per variant, driven directly (task, then wait time), against nginx on 127.0.0.1, timed with
the process's CPU clock in blocks of ``--requests``; the variants take turns block by block (the order
swapping each time), so a drift in the machine's speed reaches them alike:

- ``plain``: ``locustfiles/plain.py``, a FastHttpUser whose task sends ``GET /`` (no check);
- ``hand-written, checks status``: ``locustfiles/checked.py``, the same with ``catch_response`` and a
  status check;
- ``config-driven user``: ``EndpointsUser`` with one endpoint (``GET /``) and no think time.

Prints the median microseconds of CPU per request, and the median of the paired ratios (hand-written
cost / config-driven cost, block by block: above 1 means the template is cheaper), and writes a result file.

Usage: python benchmarks/request_cost.py [--requests 1000] [--blocks 100]
Bounded: blocks x variants x requests, one at a time; nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import cast

from _harness import locustfile_class, machine, nginx, write_result
from locust import User, events
from locust.env import Environment

from locust_scenarios import EndpointsUser


class Endpoints(EndpointsUser):
    pass


# The same hand-written users overhead.py runs as whole Locust processes.
VARIANTS: dict[str, type[User]] = {
    "plain": locustfile_class("plain", "Plain"),
    "hand-written, checks status": locustfile_class("checked", "Checked"),
    "config-driven user": Endpoints,
}


def prepared(user_class: type[User], url: str) -> tuple[User, Environment]:
    """A user of ``user_class`` ready to iterate against ``url``, its connection warmed."""
    user_class.host = url
    environment = Environment(user_classes=[user_class], host=url, events=events)
    environment.create_local_runner()
    user = user_class(environment)
    prepare = getattr(user, "_prepare", None)
    if prepare is not None:
        prepare()  # what the template does before its first iteration
    iterate(user, 500)
    return user, environment


def iterate(user: User, requests: int) -> float:
    """Run ``requests`` iterations (task, then wait time); the CPU seconds they took."""
    work = cast("Callable[[User], None]", user.tasks[0])
    started = time.process_time()
    for _ in range(requests):
        work(user)
        user.wait_time()
    return time.process_time() - started


def main() -> None:
    """Measure, print and write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per block")
    parser.add_argument("--blocks", type=int, default=100)
    args = parser.parse_args()
    # The template reads its settings when its first user starts.
    os.environ["LOCUST_SCENARIO_ENDPOINTS"] = '[{"path": "/"}]'
    os.environ["LOCUST_SCENARIO_THINK_TIME"] = "0s"
    started = machine()
    blocks: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with nginx() as url:
        users = {name: prepared(user_class, url) for name, user_class in VARIANTS.items()}
        for number in range(args.blocks):
            names = list(VARIANTS) if number % 2 == 0 else list(reversed(VARIANTS))
            for name in names:
                blocks[name].append(iterate(users[name][0], args.requests) / args.requests * 1e6)
        failures = {name: environment.stats.total.num_failures for name, (_, environment) in users.items()}
        for _, environment in users.values():
            assert environment.runner is not None
            environment.runner.quit()
    print(f"{args.blocks} blocks of {args.requests} requests per variant, one user each, CPU microseconds per request:")
    medians = {name: statistics.median(values) for name, values in blocks.items()}
    for name, value in medians.items():
        print(f"  {name:<30} {value:7.1f} us (median of blocks)")
    ratios = sorted(
        checked / template
        for checked, template in zip(blocks["hand-written, checks status"], blocks["config-driven user"], strict=True)
    )
    paired = {"median": statistics.median(ratios), "min": ratios[0], "max": ratios[-1]}
    print(
        "  hand-written cost / config-driven cost, paired blocks: "
        f"{paired['median']:.3f} [{paired['min']:.3f}, {paired['max']:.3f}]  (failures: {sum(failures.values())})"
    )
    write_result(
        "request_cost",
        vars(args),
        {"median_us": medians, "paired_ratio": paired, "failures": failures, "blocks_us": blocks},
        started,
    )


if __name__ == "__main__":
    main()
