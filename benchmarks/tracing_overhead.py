"""What tracing costs the config-driven user: throughput with ``LOCUST_SCENARIO_TRACE`` 0 and 1.

Runs ``EndpointsUser`` (one endpoint, no think time, under the selecting shape) against nginx on
127.0.0.1 without tracing and with every request traced (a ``traceparent`` header, its trace id an
exemplar), alternating which goes first round by round, and prints the medians and the median of the
paired ratios (traced / untraced, same round).

Usage: python benchmarks/tracing_overhead.py [--seconds 10] [--users 50] [--rounds 3]
Bounded: rounds x 2 x (seconds + start-up); nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import asdict
from pathlib import Path

from _harness import Measurement, machine, median_of, nginx, print_table, run_locust, write_result

LOCUSTFILE = Path(__file__).parent / "locustfiles" / "endpoints.py"


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = machine()
    common = {
        "LOCUST_SCENARIO": "stages",
        "LOCUST_SCENARIO_STAGES": f"1s:{args.users},{args.seconds + 30}s:{args.users}",
        "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/"}]',
        "LOCUST_SCENARIO_THINK_TIME": "0s",
    }
    variants = {
        "untraced": {**common, "LOCUST_SCENARIO_TRACE": "0"},
        "traced": {**common, "LOCUST_SCENARIO_TRACE": "1"},
    }
    results: dict[str, list[Measurement]] = {name: [] for name in variants}
    with nginx() as url:
        for number in range(args.rounds):
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for name in order:
                run = run_locust(name, LOCUSTFILE, url, seconds=args.seconds, users=args.users, env=variants[name])
                results[name].append(run)
    medians = [median_of(name, runs) for name, runs in results.items()]
    print(f"{args.rounds} rounds of {args.seconds}s, {args.users} users, medians:")
    print_table(medians, baseline="untraced")
    ratios = sorted(t.rps / u.rps for t, u in zip(results["traced"], results["untraced"], strict=True) if u.rps)
    spread = f"[{ratios[0]:.3f}, {ratios[-1]:.3f}]"
    print(f"\ntraced / untraced req/s, paired: median {statistics.median(ratios):.3f} {spread}")
    write_result(
        "tracing_overhead",
        vars(args),
        {
            "paired_ratio": {"median": statistics.median(ratios), "min": ratios[0], "max": ratios[-1]},
            "medians": [asdict(row) for row in medians],
            "rounds": {name: [asdict(run) for run in runs] for name, runs in results.items()},
        },
        started,
    )


if __name__ == "__main__":
    main()
