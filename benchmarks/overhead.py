"""What the library costs a Locust process: throughput and memory, as ratios of plain Locust.

Runs each variant against nginx on 127.0.0.1, alternating variants round by round so that drift on
a noisy machine hits them alike, and prints the median of each:

- ``plain``: a FastHttpUser with no library import (the baseline);
- ``shaped``: the same user with the library imported and the selecting shape running a profile;
- ``config-driven user``: ``EndpointsUser`` requesting the same URL from its endpoint table, with
  its checks, under the same shape (what a locustfile with no code costs).

Usage: python benchmarks/overhead.py [--seconds 15] [--users 50] [--rounds 3]
Bounded: rounds x variants x (seconds + start-up); nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _harness import Measurement, median_of, nginx, print_table, run_locust

HERE = Path(__file__).parent / "locustfiles"


def variants(seconds: int, users: int) -> dict[str, tuple[Path, dict[str, str]]]:
    """Name -> (locustfile, environment)."""
    stages = f"1s:{users},{seconds + 30}s:{users}"
    return {
        "plain": (HERE / "plain.py", {}),
        "shaped": (HERE / "shaped.py", {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": stages}),
        "config-driven user": (
            HERE / "endpoints.py",
            {
                "LOCUST_SCENARIO": "stages",
                "LOCUST_SCENARIO_STAGES": stages,
                "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/"}]',
            },
        ),
    }


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    chosen = variants(args.seconds, args.users)
    results: dict[str, list[Measurement]] = {name: [] for name in chosen}
    with nginx() as url:
        for _ in range(args.rounds):
            for name, (locustfile, env) in chosen.items():
                results[name].append(run_locust(name, locustfile, url, seconds=args.seconds, users=args.users, env=env))
    medians = [median_of(name, runs) for name, runs in results.items()]
    print(f"{args.rounds} rounds of {args.seconds}s, {args.users} users, medians:")
    print_table(medians, baseline="plain")


if __name__ == "__main__":
    main()
