"""What importing the library adds to every Locust process: fresh interpreters, side by side.

Times ``python -c 'import locust'`` and ``python -c 'import locust, locust_scenarios'`` as whole
processes (start-up included, as a worker or a CLI call pays it), alternating the two run by run so
that a busy machine slows both alike, and prints the median of each and their difference. The
library's budget is 150 ms over ``import locust``.

Also lists which heavy third-party packages the import loads (none expected: pydantic,
pydantic-settings and prometheus_client load where they are used).

Usage: python benchmarks/import_time.py [--runs 7]
Bounded: 2 x runs interpreters, each with a 120 s timeout; contacts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _harness import machine, write_result

BUDGET_MS = 150.0
VARIANTS = {
    "import locust": "import locust",
    "import locust, locust_scenarios": "import locust, locust_scenarios",
}
HEAVY = ("pydantic", "pydantic_settings", "prometheus_client")


def _seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    return time.perf_counter() - started


def _heavy_modules() -> list[str]:
    code = (
        "import sys, locust; before = set(sys.modules); import locust_scenarios; "
        f"print(' '.join(sorted({{m.split('.')[0] for m in set(sys.modules) - before}} & set({HEAVY!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=120, capture_output=True, text=True)
    return out.stdout.split()


def main() -> None:
    """Measure, print and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    started = machine()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.runs):
        for name, code in VARIANTS.items():
            times[name].append(_seconds(code))
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    names = list(VARIANTS)
    added = medians[names[1]] - medians[names[0]]
    paired = sorted((b - a) * 1000 for a, b in zip(times[names[0]], times[names[1]], strict=True))
    heavy = _heavy_modules()
    print(f"{args.runs} fresh interpreters each, alternating; median wall time of the whole process:")
    for name in names:
        print(f"  {name:<34} {medians[name]:8.1f} ms")
    print(f"  added by locust_scenarios          {added:8.1f} ms (budget {BUDGET_MS:.0f} ms)")
    print(f"  paired differences: median {statistics.median(paired):.1f} ms [{paired[0]:.1f}, {paired[-1]:.1f}]")
    print(f"  heavy packages loaded by the import: {', '.join(heavy) or 'none'}")
    write_result(
        "import_time",
        {"runs": args.runs, "budget_ms": BUDGET_MS},
        {
            "median_ms": medians,
            "added_ms": added,
            "paired_difference_ms": {"median": statistics.median(paired), "min": paired[0], "max": paired[-1]},
            "within_budget": added <= BUDGET_MS,
            "heavy_packages_loaded": heavy,
            "runs_ms": {name: [value * 1000 for value in values] for name, values in times.items()},
        },
        started,
    )


if __name__ == "__main__":
    main()
