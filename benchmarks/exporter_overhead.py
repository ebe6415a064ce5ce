"""What the exporter costs a running test: Locust's throughput with and without it, side by side.

Against nginx on 127.0.0.1, alternating variants round by round (drift on a noisy machine hits them
alike), median of each:

- ``plain``: a FastHttpUser, no library;
- ``exporter, scraped 1/s``: the same user with the library's exporter on a local port, scraped
  every second by this script for the whole run (a scrape interval far shorter than usual, to make
  the cost visible);
- the same two with the requests spread over ``--names`` request names (default 200), where a
  scrape is largest.

Also prints the scrapes' duration as seen by the scraper and the exposition's size.

Usage: python benchmarks/exporter_overhead.py [--seconds 15] [--users 50] [--rounds 3] [--names 200]
Bounded: rounds x 4 x (seconds + start-up); nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import urllib.request
from pathlib import Path

from _harness import Measurement, free_port, median_of, nginx, print_table, run_locust

NAMED = Path(__file__).parent / "locustfiles" / "named.py"


class Scraper(threading.Thread):
    """Fetch /metrics once a second until stopped; keep the duration and size of each answered scrape."""

    def __init__(self, port: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.deadline = deadline
        self.stopped = threading.Event()
        self.durations: list[float] = []
        self.sizes: list[int] = []
        self.renders: list[float] = []

    def run(self) -> None:
        while not self.stopped.is_set() and time.monotonic() < self.deadline:
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:  # noqa: S310 (127.0.0.1)
                    body = response.read()
            except OSError:
                body = b""
            if body:
                self.durations.append(time.perf_counter() - started)
                self.sizes.append(len(body))
                self.renders.append(_previous_render(body))
            self.stopped.wait(max(0.0, 1.0 - (time.perf_counter() - started)))


def _previous_render(body: bytes) -> float:
    """The exporter's own timing of the previous scrape's rendering (inside the Locust process)."""
    for line in body.decode().splitlines():
        if line.startswith("locust_exporter_scrape_duration_seconds "):
            return float(line.split()[1])
    return 0.0


def measure(
    name: str, url: str, *, names: int, exporter: bool, seconds: int, users: int
) -> tuple[Measurement, Scraper | None]:
    """One run of one variant."""
    env = {"BENCH_NAMES": str(names)}
    scraper = None
    if exporter:
        port = free_port()
        env.update(
            BENCH_EXPORTER="1",
            LOCUST_PROMETHEUS_PORT=str(port),
            LOCUST_PROMETHEUS_HOST="127.0.0.1",
            LOCUST_PROMETHEUS_LINGER="0s",
        )
        scraper = Scraper(port, time.monotonic() + seconds + 60)
        scraper.start()
    try:
        result = run_locust(name, NAMED, url, seconds=seconds, users=users, env=env)
    finally:
        if scraper is not None:
            scraper.stopped.set()
            scraper.join(timeout=5)
    return result, scraper


def main() -> None:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--names", type=int, default=200)
    args = parser.parse_args()
    variants = {
        "plain, 1 name": (1, False),
        "exporter scraped 1/s, 1 name": (1, True),
        f"plain, {args.names} names": (args.names, False),
        f"exporter scraped 1/s, {args.names} names": (args.names, True),
    }
    results: dict[str, list[Measurement]] = {name: [] for name in variants}
    scrapes: dict[str, list[Scraper]] = {name: [] for name in variants}
    with nginx() as url:
        for _ in range(args.rounds):
            for name, (names, exporter) in variants.items():
                result, scraper = measure(
                    name, url, names=names, exporter=exporter, seconds=args.seconds, users=args.users
                )
                results[name].append(result)
                if scraper is not None:
                    scrapes[name].append(scraper)
    medians = {name: median_of(name, runs) for name, runs in results.items()}
    print(f"{args.rounds} rounds of {args.seconds}s, {args.users} users, FastHttpUser, medians:")
    print_table([medians[n] for n in variants if n.endswith(" 1 name")], baseline="plain, 1 name")
    print()
    names = list(variants)
    wide = names[2:]
    print_table([medians[n] for n in wide], baseline=wide[0])
    print()
    print("paired ratios (exporter / plain in the same round): median [min, max]")
    for plain, exported in ((names[0], names[1]), (names[2], names[3])):
        ratios = sorted(e.rps / p.rps for p, e in zip(results[plain], results[exported], strict=True))
        print(f"  {exported:<34} {statistics.median(ratios):.3f} [{ratios[0]:.3f}, {ratios[-1]:.3f}]")
    print()
    print("scrapes: round trip seen by the scraper; render time inside Locust (and its share of 1 s)")
    header = f"{'variant':<34} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'size KB':>8} {'render ms':>10} {'share':>7}"
    print(header)
    for name, scrapers in scrapes.items():
        durations = sorted(d for s in scrapers for d in s.durations)
        sizes = [size for s in scrapers for size in s.sizes]
        if not durations:
            continue
        p95 = durations[min(len(durations) - 1, int(len(durations) * 0.95))]
        render = statistics.median(r for s in scrapers for r in s.renders[1:] or [0.0])
        print(
            f"{name:<34} {len(durations):>6} {statistics.median(durations) * 1000:>8.2f} {p95 * 1000:>8.2f} "
            f"{statistics.median(sizes) / 1024:>8.0f} {render * 1000:>10.2f} {render:>7.2%}"
        )


if __name__ == "__main__":
    main()
