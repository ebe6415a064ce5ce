"""How far event-loop lag inflates the response times a Locust process measures: the trust limit's basis.

Runs the config-driven user (``locustfiles/lag_hog.py``) against nginx on 127.0.0.1 under a light
load and under a stalled loop (a greenlet that keeps the CPU busy without yielding for BUSY ms every
PERIOD ms), and at full speed (no think time), and reads each run's summary: the process's mean loop
lag as the library measures it (a probe waking every 100 ms), its CPU, the measured p50 and the exit
code. The variants alternate round by round; the table shows the medians and, for each, how much
the p50, the mean and the p95 grew against the light run of the same round, next to the mean lag.

Usage: python benchmarks/loop_lag.py [--seconds 10] [--rounds 3]
Bounded: rounds x variants x (seconds + start-up); nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import LOCUSTFILES, machine, nginx, write_result

VARIANTS = {
    "light (10 users, 50 ms think)": {"users": 10, "think": "50ms", "hog": ""},
    "hog 2 ms / 100 ms": {"users": 10, "think": "50ms", "hog": "2/100"},
    "hog 10 ms / 100 ms": {"users": 10, "think": "50ms", "hog": "10/100"},
    "hog 30 ms / 100 ms": {"users": 10, "think": "50ms", "hog": "30/100"},
    "hog 60 ms / 200 ms": {"users": 10, "think": "50ms", "hog": "60/200"},
    "full speed (50 users, no think)": {"users": 50, "think": "0s", "hog": ""},
}


def run(host: str, seconds: int, users: int, think: str, hog: str) -> dict[str, float]:
    """One ``locust -f lag_hog.py`` run; its summary's figures."""
    with tempfile.TemporaryDirectory() as folder:
        summary = Path(folder) / "summary.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
        env.update(
            LOCUST_SCENARIO="stages",
            LOCUST_SCENARIO_STAGES=f"1s:{users},{seconds}s:{users}",
            LOCUST_SCENARIO_ENDPOINTS='[{"path": "/"}]',
            LOCUST_SCENARIO_THINK_TIME=think,
            LOCUST_SCENARIO_SUMMARY=str(summary),
            LAG_HOG=hog,
        )
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILES / "lag_hog.py"), "--headless",
                   "-H", host, "--only-summary"]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, timeout=seconds + 60, check=False)
        found = json.loads(summary.read_text())
        process = found["generator"]["processes"][0]
        return {
            "exit_code": done.returncode,
            "lag_mean_ms": (process["loop_lag_mean_seconds"] or 0.0) * 1000,
            "lag_max_ms": (process["loop_lag_max_seconds"] or 0.0) * 1000,
            "cpu_mean": process["cpu_mean"],
            "p50_ms": found["totals"]["p50_seconds"] * 1000,
            "avg_ms": found["totals"]["avg_seconds"] * 1000,
            "p95_ms": found["totals"]["p95_seconds"] * 1000,
            "rps": found["totals"]["rps"],
            "reasons": [reason["reason"] for reason in found["inconclusive"]],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = machine()
    rounds: list[dict[str, dict[str, float]]] = []
    with nginx() as host:
        for number in range(args.rounds):
            names = list(VARIANTS) if number % 2 == 0 else list(reversed(VARIANTS))
            rounds.append({name: run(host, args.seconds, **VARIANTS[name]) for name in names})
    light = next(iter(VARIANTS))
    print(
        f"{'variant':<34} {'lag mean':>9} {'lag max':>8} {'CPU':>5} {'p50':>7} {'growth':>7} {'mean':>7} "
        f"{'growth':>7} {'p95':>7} {'growth':>7} {'exit':>5}"
    )
    results = {}
    for name in VARIANTS:
        runs = [r[name] for r in rounds]
        row = {key: statistics.median(float(run[key]) for run in runs) for key in runs[0] if key != "reasons"}
        for key in ("p50", "avg", "p95"):
            row[f"{key}_growth_ms"] = statistics.median(r[name][f"{key}_ms"] - r[light][f"{key}_ms"] for r in rounds)
        row["exit_codes"] = [run["exit_code"] for run in runs]
        row["reasons"] = sorted({reason for run in runs for reason in run["reasons"]})
        results[name] = row
        print(
            f"{name:<34} {row['lag_mean_ms']:>7.2f}ms {row['lag_max_ms']:>6.1f}ms {row['cpu_mean']:>5.0%} "
            f"{row['p50_ms']:>5.1f}ms {row['p50_growth_ms']:>5.1f}ms {row['avg_ms']:>5.1f}ms "
            f"{row['avg_growth_ms']:>5.1f}ms {row['p95_ms']:>5.1f}ms {row['p95_growth_ms']:>5.1f}ms "
            f"{','.join(map(str, row['exit_codes'])):>5} "
            f"{' '.join(row['reasons'])}"
        )
    write_result("loop_lag", vars(args), results, started)


if __name__ == "__main__":
    main()
