"""CPU time per request of a journey: the config-driven user's flow against a hand-written FastHttpUser.

Both do the same three steps per iteration against nginx on 127.0.0.1 (one JSON answer everywhere):
log in with a row of a CSV file and capture the token from the JSON body, list and capture the first
item's id, then open that item with the token in a header and its id in the path, checking that the
answer has an ``id``. The journey is an endpoints file (``[[data]]`` + ``[[flows]]``); the hand-written
user reads the same CSV once into a list and parses each JSON body itself. One user per variant,
driven directly (task, then wait time), timed with the process's CPU clock in blocks of
``--iterations``, the variants taking turns block by block (the order swapping each time).

Prints the median microseconds of CPU per request and the median of the paired ratios (journey cost /
hand-written cost, block by block: 1.10 would be 10% dearer), and writes a result file.

Usage: python benchmarks/journey_cost.py [--iterations 300] [--blocks 30]
Bounded: blocks x variants x iterations x 3 requests; nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

from _harness import machine, nginx, write_result
from locust import FastHttpUser, User, constant, events, task
from locust.env import Environment

from locust_scenarios import EndpointsUser

ANSWER = json.dumps({"token": "t0k3n", "items": [{"id": 7}, {"id": 8}], "id": 7})
JOURNEY = """
[[data]]
name = "accounts"
file = "accounts.csv"

[[flows]]
name = "shop"

[[flows.steps]]
method = "POST"
path = "/api/login"
json = { user = "{{ accounts.user }}", password = "{{ accounts.password }}" }
capture = { token = "json:token" }

[[flows.steps]]
path = "/api/items"
capture = { item = "json:items[0].id" }

[[flows.steps]]
path = "/api/items/{{ item }}"
name = "/api/items/[id]"
headers = { Authorization = "Bearer {{ token }}" }
checks = [{ json = "id", exists = true }]
"""


class Journey(EndpointsUser):
    pass


class HandWritten(FastHttpUser):
    """The same steps and checks written by hand."""

    wait_time = constant(0)
    rows: itertools.cycle[dict[str, str]]

    @task
    def shop(self) -> None:
        row = next(self.rows)
        with self.client.post(
            "/api/login", json={"user": row["user"], "password": row["password"]}, catch_response=True
        ) as response:
            token = response.json().get("token") if response.status_code == 200 else None
            if not token:
                response.failure("no token")
                return
        with self.client.get("/api/items", catch_response=True) as response:
            items = response.json().get("items") if response.status_code == 200 else None
            if not items:
                response.failure("no items")
                return
            item = items[0]["id"]
        with self.client.get(
            f"/api/items/{item}", name="/api/items/[id]", headers={"Authorization": f"Bearer {token}"},
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 200 or response.json().get("id") is None:
                response.failure("no id")


def prepared(user_class: type[User], url: str) -> tuple[User, Environment]:
    """A user of ``user_class`` ready to iterate against ``url``, its connection warmed."""
    user_class.host = url
    environment = Environment(user_classes=[user_class], host=url, events=events)
    environment.create_local_runner()
    user = user_class(environment)
    prepare = getattr(user, "_prepare", None)
    if prepare is not None:
        prepare()
    iterate(user, 100)
    return user, environment


def iterate(user: User, iterations: int) -> float:
    """Run ``iterations`` (task, then wait time); the CPU seconds they took."""
    work = user.tasks[0]
    started = time.process_time()
    for _ in range(iterations):
        work(user)  # type: ignore[operator]
        user.wait_time()
    return time.process_time() - started


def main() -> None:
    """Measure, print and write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300, help="iterations (3 requests each) per block")
    parser.add_argument("--blocks", type=int, default=30)
    args = parser.parse_args()
    started = machine()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "accounts.csv"
        data.write_text("user,password\n" + "".join(f"user{n},pw{n}\n" for n in range(1000)))
        (Path(folder) / "journey.toml").write_text(textwrap.dedent(JOURNEY))
        with data.open() as handle:
            HandWritten.rows = itertools.cycle(list(csv.DictReader(handle)))
        os.environ["LOCUST_SCENARIO_ENDPOINTS"] = str(Path(folder) / "journey.toml")
        os.environ["LOCUST_SCENARIO_THINK_TIME"] = "0s"
        variants: dict[str, type[User]] = {"hand-written FastHttpUser": HandWritten, "journey": Journey}
        blocks: dict[str, list[float]] = {name: [] for name in variants}
        with nginx(ANSWER, "application/json") as url:
            users = {name: prepared(user_class, url) for name, user_class in variants.items()}
            for number in range(args.blocks):
                names = list(variants) if number % 2 == 0 else list(reversed(variants))
                for name in names:
                    blocks[name].append(iterate(users[name][0], args.iterations) / (3 * args.iterations) * 1e6)
            failures = {name: environment.stats.total.num_failures for name, (_, environment) in users.items()}
            for _, environment in users.values():
                assert environment.runner is not None
                environment.runner.quit()
    print(f"{args.blocks} blocks of {args.iterations} iterations (3 requests each), CPU microseconds per request:")
    medians = {name: statistics.median(values) for name, values in blocks.items()}
    for name, value in medians.items():
        print(f"  {name:<28} {value:7.1f} us (median of blocks)")
    ratios = sorted(
        journey / hand for journey, hand in zip(blocks["journey"], blocks["hand-written FastHttpUser"], strict=True)
    )
    paired = {"median": statistics.median(ratios), "min": ratios[0], "max": ratios[-1]}
    print(
        "  journey cost / hand-written cost, paired blocks: "
        f"{paired['median']:.3f} [{paired['min']:.3f}, {paired['max']:.3f}]  (failures: {failures})"
    )
    write_result(
        "journey_cost",
        vars(args),
        {"median_us": medians, "paired_ratio": paired, "failures": failures, "blocks_us": blocks},
        started,
    )


if __name__ == "__main__":
    main()
