"""What one scrape costs the process that serves it, against an independent plain prometheus_client collector.

Fills a real Locust RequestStats with N request names (each with a spread of response times like a
real run leaves: a few dozen distinct rounded values) and an error each, then, for two exporters:

- ``ours``: the library's ``LocustCollector`` served by its own ``MetricsServer``;
- ``naive``: a collector written from prometheus_client's documented custom-collector pattern
  (``collect()`` yielding ``CounterMetricFamily``/``HistogramMetricFamily`` built from the same
  statistics: request and failure counters and the same latency buckets per name), served by
  ``generate_latest`` from a gevent WSGI server. It does not read this project's collector.

it measures, with every name changed since the previous scrape (the worst case during a run, when
every name receives requests each second):

- ``render``: one render in-process (ours: ``render()``; naive: ``generate_latest``), its wall time
  (ours includes its pauses for the loop) and its CPU time;
- ``bytes``: the exposition's size;
- ``loop lag``: the longest delay a greenlet waking every millisecond in the serving process sees
  while a scrape of ``/metrics`` (by another process, started once) is served — what a scrape costs
  the users that share the loop;
- ``idle lag``: the same timer with no scrape, the floor of the machine.

The two exporters alternate round by round; each figure is the median over the rounds, and the
ratios are medians of each round's naive / ours. Per family, the bytes ours spends on it.

Usage: python benchmarks/scrape_cost.py [--names 10,200,1000] [--rounds 15]
Runs in-process plus one scraping process on 127.0.0.1, bounded by --rounds; prints tables and
writes benchmarks/results/scrape_cost-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import gevent
import gevent.subprocess
from _harness import machine, write_result
from gevent.pywsgi import WSGIServer
from locust import User, constant, task
from locust.env import Environment
from locust.stats import RequestStats
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from locust_scenarios._exporter.buckets import DEFAULT_BUCKETS
from locust_scenarios._exporter.collector import LocustCollector
from locust_scenarios._exporter.serving import MetricsServer


class _Idle(User):
    wait_time = constant(1)

    @task
    def nothing(self) -> None:
        """Never runs: the benchmark fills the statistics directly."""


class NaiveCollector(Collector):
    """A custom collector as prometheus_client's documentation shows one: families built in ``collect()``."""

    def __init__(self, stats: RequestStats, buckets: Iterable[float] = DEFAULT_BUCKETS) -> None:
        self.stats = stats
        self.buckets = list(buckets)

    def collect(self) -> Iterable[Metric]:
        labels = ["method", "name"]
        requests = CounterMetricFamily("locust_requests", "Requests made.", labels=labels)
        failures = CounterMetricFamily("locust_request_failures", "Requests that failed.", labels=labels)
        durations = HistogramMetricFamily("locust_request_duration_seconds", "Response times.", labels=labels)
        for (name, method), entry in self.stats.entries.items():
            requests.add_metric([method, name], entry.num_requests)
            failures.add_metric([method, name], entry.num_failures)
            times = sorted(entry.response_times.items())
            cumulative, index, buckets = 0, 0, []
            for bound in self.buckets:
                while index < len(times) and times[index][0] <= bound * 1000:
                    cumulative += times[index][1]
                    index += 1
                buckets.append((str(bound), cumulative))
            buckets.append(("+Inf", sum(count for _, count in times)))
            durations.add_metric([method, name], buckets, sum_value=entry.total_response_time / 1000)
        yield requests
        yield failures
        yield durations


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


class Ticker:
    """A greenlet that wakes every millisecond and keeps the longest delay since ``reset()``."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._greenlet = gevent.spawn(self._tick)

    def _tick(self) -> None:
        while True:
            asleep = time.perf_counter()
            gevent.sleep(0.001)
            self.longest = max(self.longest, time.perf_counter() - asleep - 0.001)

    def reset(self) -> None:
        gevent.sleep(0.005)  # let the ticker settle
        self.longest = 0.0

    def stop(self) -> None:
        self._greenlet.kill()


def _naive_app(registry: CollectorRegistry) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = generate_latest(registry)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


_SCRAPER = """
import sys, urllib.request
for line in sys.stdin:
    with urllib.request.urlopen(line.strip(), timeout=60) as response:
        print(len(response.read()), flush=True)
"""
"""Another process that scrapes the URL it reads on each line, then prints the body's size."""


class Scraper:
    """The scraping process, started once so that starting it never counts in a scrape's loop lag."""

    def __init__(self) -> None:
        self.process = gevent.subprocess.Popen(
            [sys.executable, "-c", _SCRAPER], stdin=gevent.subprocess.PIPE, stdout=gevent.subprocess.PIPE, text=True
        )

    def scrape(self, port: int, ticker: Ticker) -> tuple[float, int]:
        """Scrape ``/metrics``; the loop's longest delay meanwhile, and the bytes."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        ticker.reset()
        self.process.stdin.write(f"http://127.0.0.1:{port}/metrics\n")
        self.process.stdin.flush()
        size = int(self.process.stdout.readline())
        return ticker.longest, size

    def stop(self) -> None:
        """Close its input: it ends; wait for it (bounded)."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _family_bytes(body: bytes) -> Counter[str]:
    sizes: Counter[str] = Counter()
    family = ""
    for line in body.decode().splitlines(keepends=True):
        if line.startswith("# HELP "):
            family = line.split()[2]
        sizes[family] += len(line.encode())
    return sizes


def measure(names: int, rounds: int, rng: random.Random) -> dict[str, Any]:
    environment = _environment(names, rng)
    ours = LocustCollector(environment, max_names=max(names, 1))
    registry = CollectorRegistry()
    registry.register(NaiveCollector(environment.stats))
    our_server = MetricsServer(ours, host="127.0.0.1", port=0)
    our_port = our_server.start()
    naive_server = WSGIServer(("127.0.0.1", 0), _naive_app(registry), log=None)
    naive_server.start()
    ticker = Ticker()
    scraper = Scraper()
    variants: dict[str, tuple[Callable[[], bytes], int]] = {
        "ours": (ours.render, our_port),
        "naive": (lambda: generate_latest(registry), int(naive_server.server_port)),
    }
    figures: dict[str, dict[str, list[float]]] = {
        name: {"render": [], "cpu": [], "lag": [], "bytes": []} for name in variants
    }
    idle: list[float] = []
    try:
        for number in range(rounds):
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for name in order:
                render, port = variants[name]
                _touch(environment, names, rng)
                started, cpu = time.perf_counter(), time.process_time()
                render()
                figures[name]["render"].append(time.perf_counter() - started)
                figures[name]["cpu"].append(time.process_time() - cpu)
                _touch(environment, names, rng)
                lag, size = scraper.scrape(port, ticker)
                figures[name]["lag"].append(lag)
                figures[name]["bytes"].append(size)
            ticker.reset()
            gevent.sleep(0.05)
            idle.append(ticker.longest)
    finally:
        ticker.stop()
        scraper.stop()
        our_server.stop()
        naive_server.stop(timeout=1)
    ratios = {
        key: statistics.median(n / o for n, o in zip(figures["naive"][key], figures["ours"][key], strict=True) if o)
        for key in ("render", "cpu", "lag", "bytes")
    }
    return {
        "names": names,
        "medians": {name: {key: statistics.median(values) for key, values in f.items()} for name, f in figures.items()},
        "max_lag": {name: max(f["lag"]) for name, f in figures.items()},
        "idle_lag": statistics.median(idle),
        "naive_over_ours": ratios,
        "families": dict(_family_bytes(ours.render()).most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default="10,200,1000")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(1)
    started = machine()
    results = [measure(int(n), args.rounds, rng) for n in args.names.split(",")]
    print(
        f"{'names':>6} {'exporter':>8} {'bytes':>9} {'render':>9} {'CPU':>9} {'loop lag p50':>13} {'max':>8} "
        f"{'idle lag':>9} {'naive/ours: CPU':>16} {'lag':>6} {'bytes':>6}"
    )
    for found in results:
        for name in ("ours", "naive"):
            m = found["medians"][name]
            ratios = found["naive_over_ours"]
            tail = f"{ratios['cpu']:>16.2f} {ratios['lag']:>6.2f} {ratios['bytes']:>6.2f}" if name == "ours" else ""
            print(
                f"{found['names']:>6} {name:>8} {m['bytes'] / 1024:>7.0f}KB {m['render'] * 1000:>7.2f}ms "
                f"{m['cpu'] * 1000:>7.2f}ms "
                f"{m['lag'] * 1000:>11.2f}ms {found['max_lag'][name] * 1000:>6.2f}ms "
                f"{found['idle_lag'] * 1000:>7.2f}ms {tail}"
            )
    largest = results[-1]
    print(f"\nBytes per family of ours at {largest['names']} names:")
    for family, size in largest["families"].items():
        print(f"  {family:<48} {size / 1024:>8.0f}KB")
    write_result("scrape_cost", vars(args), results, started)


if __name__ == "__main__":
    main()
