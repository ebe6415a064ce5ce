"""What the library costs a Locust process: throughput and memory, as ratios of plain Locust.

Runs each variant against nginx on 127.0.0.1, alternating variants round by round so that drift on
a noisy machine hits them alike, and prints the median of each:

- ``plain``: a FastHttpUser with no library import (the baseline);
- ``hand-written, checks status``: a FastHttpUser that checks the status with ``catch_response``
  (what the config-driven user replaces);
- ``shaped``: the plain user with the library imported and the selecting shape running a profile;
- ``config-driven user``: ``EndpointsUser`` with one endpoint and no think time, with its checks,
  under the same shape (what a locustfile with no code costs).

Then the median of the paired ratios (each round's config-driven user against that round's
hand-written user), the figure the library's budget is set on (at least 0.95), and a result file.

Usage: python benchmarks/overhead.py [--seconds 10] [--users 50] [--rounds 5]
Bounded: rounds x variants x (seconds + start-up); nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import asdict
from pathlib import Path

from _harness import Measurement, machine, median_of, nginx, print_table, run_locust, write_result

HERE = Path(__file__).parent / "locustfiles"


def variants(seconds: int, users: int) -> dict[str, tuple[Path, dict[str, str]]]:
    """Name -> (locustfile, environment)."""
    stages = f"1s:{users},{seconds + 30}s:{users}"
    return {
        "plain": (HERE / "plain.py", {}),
        "hand-written, checks status": (HERE / "checked.py", {}),
        "shaped": (HERE / "shaped.py", {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": stages}),
        "config-driven user": (
            HERE / "endpoints.py",
            {
                "LOCUST_SCENARIO": "stages",
                "LOCUST_SCENARIO_STAGES": stages,
                "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/"}]',
                "LOCUST_SCENARIO_THINK_TIME": "0s",
            },
        ),
    }


PAIRS = (("config-driven user", "hand-written, checks status"), ("shaped", "plain"))
"""(variant, its baseline): the ratios the budget is set on."""


def round_order(number: int) -> list[str]:
    """The variants in the order round ``number`` runs them.

    Each variant runs right next to its baseline, and which of the two goes first swaps every round:
    on a machine whose speed drifts (shared CPUs), a pair then sees the same machine, and a steady
    drift favours neither side.
    """
    order = [name for pair in PAIRS for name in pair]
    if number % 2:
        order = [name for pair in PAIRS for name in reversed(pair)]
    return order


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    started = machine()
    chosen = variants(args.seconds, args.users)
    results: dict[str, list[Measurement]] = {name: [] for name in chosen}
    with nginx() as url:
        for number in range(args.rounds):
            for name in round_order(number):
                locustfile, env = chosen[name]
                results[name].append(run_locust(name, locustfile, url, seconds=args.seconds, users=args.users, env=env))
    medians = [median_of(name, runs) for name, runs in results.items()]
    print(f"{args.rounds} rounds of {args.seconds}s, {args.users} users, medians:")
    print_table(medians, baseline="plain")
    pairs = {}
    for variant, baseline in PAIRS:
        for measure in ("rps", "per_cpu_second"):
            ratios = sorted(
                getattr(v, measure) / getattr(b, measure)
                for v, b in zip(results[variant], results[baseline], strict=True)
                if getattr(b, measure)
            )
            pairs[f"{variant} / {baseline}, {measure}"] = {
                "median": statistics.median(ratios),
                "min": ratios[0],
                "max": ratios[-1],
            }
    print()
    print("paired ratios (same round): median [min, max]")
    for label, ratio in pairs.items():
        print(f"  {label:<64} {ratio['median']:.3f} [{ratio['min']:.3f}, {ratio['max']:.3f}]")
    write_result(
        "overhead",
        vars(args),
        {
            "paired_ratios": pairs,
            "medians": [asdict(row) for row in medians],
            "rounds": {name: [asdict(run) for run in runs] for name, runs in results.items()},
        },
        started,
    )


if __name__ == "__main__":
    main()
