"""How late a worker's event loop runs during a ramp, with Locust's default options built once or on every call.

Runs a master and two workers (``locustfiles/ramp_workers.py``: 6 users, the load profile with a
4 s ramp-up over 24 s) against nginx on 127.0.0.1, and reads each run's summary: every worker's
mean and longest loop lag and its mean CPU, as the library measures them. The variant
``uncached`` undoes, in the locustfile, the library's one-time computation of Locust's default
options on workers (Locust 2.47 rebuilds its argument parser once per option of every spawn
message). The variants alternate round by round; medians over the rounds and both workers.

Usage: python benchmarks/worker_stall.py [--rounds 3]
Bounded: rounds x 2 variants x about 35 s; nothing but 127.0.0.1 is contacted.
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
from typing import Any

from _harness import LOCUSTFILES, free_port, machine, nginx, write_result

VARIANTS = {"library (defaults once)": "", "uncached (Locust's own)": "1"}


def run(host: str, uncached: str) -> list[dict[str, Any]]:
    """One master + 2 workers run; each worker's figures from the master's summary."""
    with tempfile.TemporaryDirectory() as folder:
        summary = Path(folder) / "summary.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
        env.update(
            LOCUST_SCENARIO="load",
            LOCUST_SCENARIO_USERS="6",
            LOCUST_SCENARIO_DURATION="24s",
            LOCUST_SCENARIO_RAMP_UP="4s",
            LOCUST_SCENARIO_RAMP_DOWN="2s",
            LOCUST_SCENARIO_SUMMARY=str(summary),
            UNCACHED_DEFAULTS=uncached,
        )
        port = free_port()
        locustfile = str(LOCUSTFILES / "ramp_workers.py")
        base = [sys.executable, "-m", "locust", "-f", locustfile]
        master_options = ["--master", "--headless", "--expect-workers", "2", "--master-bind-host", "127.0.0.1",
                          "--master-bind-port", str(port), "-H", host, "--only-summary"]  # fmt: skip
        quiet: dict[str, Any] = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        master = subprocess.Popen([*base, *master_options], **quiet)
        workers = [
            subprocess.Popen([*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)], **quiet)
            for _ in range(2)
        ]
        try:
            master.wait(timeout=120)
            for worker in workers:
                worker.wait(timeout=30)
        finally:
            for process in (master, *workers):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        found = json.loads(summary.read_text())
        return [
            {
                "lag_mean_ms": (p["loop_lag_mean_seconds"] or 0.0) * 1000,
                "lag_max_ms": (p["loop_lag_max_seconds"] or 0.0) * 1000,
                "cpu_mean": p["cpu_mean"],
                "exit_code": found["exit_code"],
            }
            for p in found["generator"]["processes"]
            if p["name"] != "master"
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = machine()
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    with nginx() as host:
        for number in range(args.rounds):
            names = list(VARIANTS) if number % 2 == 0 else list(reversed(VARIANTS))
            for name in names:
                found[name] += run(host, VARIANTS[name])
    print(f"{'variant':<26} {'worker lag mean':>16} {'lag max':>9} {'worker CPU':>11} {'exit codes':>12}")
    results = {}
    for name, workers in found.items():
        row = {key: statistics.median(w[key] for w in workers) for key in ("lag_mean_ms", "lag_max_ms", "cpu_mean")}
        row["exit_codes"] = [w["exit_code"] for w in workers[::2]]
        results[name] = {**row, "workers": workers}
        print(
            f"{name:<26} {row['lag_mean_ms']:>14.2f}ms {row['lag_max_ms']:>7.1f}ms {row['cpu_mean']:>11.1%} "
            f"{','.join(map(str, row['exit_codes'])):>12}"
        )
    write_result("worker_stall", vars(args), results, started)


if __name__ == "__main__":
    main()
