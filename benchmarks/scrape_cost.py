"""Time one scrape of the exporter against prometheus_client's generic rendering of the same data.

Fills a real Locust RequestStats with N request names (each with a spread of response times like a
real run leaves: a few dozen distinct rounded values) and errors, then times:

- ``render``: our exposition with every name changed since the last scrape (the worst case during
  a run, when every name receives requests each second);
- ``render (unchanged)``: a second scrape with no new requests (idle names reuse their lines);
- ``generate_latest``: prometheus_client's text formatting over ``collect()`` (the plain way).

Usage: python benchmarks/scrape_cost.py [--names 10,200,1000] [--repeat 30]
Runs in-process, bounded by --repeat; prints one table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from locust import User, constant, task
from locust.env import Environment
from prometheus_client import CollectorRegistry, generate_latest

from locust_scenarios._exporter.collector import LocustCollector


class _Idle(User):
    wait_time = constant(1)

    @task
    def nothing(self) -> None:
        """Never runs: the benchmark fills the statistics directly."""


def _environment(names: int, rng: random.Random) -> Environment:
    environment = Environment(user_classes=[_Idle])
    environment.create_local_runner()
    for index in range(names):
        for _ in range(200):
            environment.stats.log_request("GET", f"/api/items/{index}", rng.lognormvariate(3.5, 0.8), 512)
        environment.stats.log_error("GET", f"/api/items/{index}", f"HTTPError('500 Server Error for {index}')")
    return environment


def _touch(environment: Environment, names: int, rng: random.Random) -> None:
    for index in range(names):
        environment.stats.log_request("GET", f"/api/items/{index}", rng.lognormvariate(3.5, 0.8), 512)


def _time(action: object, repeat: int, before: object = None) -> float:
    samples = []
    for _ in range(repeat):
        if callable(before):
            before()
        started = time.perf_counter()
        body = action() if callable(action) else b""
        samples.append(time.perf_counter() - started)
        assert body
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default="10,200,1000")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(1)
    print(f"{'names':>6} {'size':>9} {'render':>9} {'unchanged':>10} {'generate_latest':>16} {'speed-up':>9}")
    for names in (int(n) for n in args.names.split(",")):
        environment = _environment(names, rng)
        collector = LocustCollector(environment, max_names=max(names, 1))
        registry = CollectorRegistry()
        registry.register(collector)
        size = len(collector.render())
        changed = _time(collector.render, args.repeat, before=lambda e=environment, n=names: _touch(e, n, rng))
        unchanged = _time(collector.render, args.repeat)
        generic = _time(lambda r=registry: generate_latest(r), args.repeat)
        print(
            f"{names:>6} {size / 1024:>7.0f}KB {changed * 1000:>7.2f}ms {unchanged * 1000:>8.2f}ms "
            f"{generic * 1000:>14.2f}ms {generic / changed:>8.1f}x"
        )


if __name__ == "__main__":
    main()
