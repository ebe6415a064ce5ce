"""The open model at the limit: how near plain Locust's maximum it gets, and how even its seconds are.

Against nginx on 127.0.0.1 logging each request's arrival time, in one invocation, for each mode
(``local``: one process; ``distributed``: a master and ``--workers`` workers, all on 127.0.0.1):

1. **plain max**: ``locustfiles/plain.py`` (a FastHttpUser with no wait), ``--users`` users for
   ``--seconds``: the mean arrivals per whole second at nginx;
2. **the open model** (``locustfiles/endpoints.py``: the config-driven user under a constant
   ``LOCUST_SCENARIO_RATE`` for ``--seconds``, the profile ending the run, a pool of ``--pool`` users)
   at each of ``--fractions`` of that max: arrivals against the plan (rate x seconds), the mean
   arrival rate against plain max, the **per-second error** (the largest ``|arrivals in a second /
   rate - 1|`` over the whole seconds of the plan; the first second, when users start, and the last,
   partial one are left out) and the exit code with its reasons.

Arrivals are counted where the load lands, at the target, not by the generator that makes it.

Usage: python benchmarks/open_model_limits.py [--seconds 15] [--users 20] [--pool 40] [--workers 2]
       [--fractions 0.8,0.95] [--modes local,distributed]
Bounded: every run ends by itself after ``--seconds`` (killed 60 s later at worst); nothing but
127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from _harness import LOCUSTFILES, free_port, machine, nginx, read_arrivals, write_result

ENDPOINTS = '[{"path": "/"}]'


def run(
    mode: str, locustfile: Path, host: str, env: dict[str, str], args: list[str], *, workers: int, seconds: int
) -> int:
    """One headless run, local or master + workers; the exit code (the master's). Bounded."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
    full_env.update(env)
    locust = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-H", host, "--only-summary"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if mode == "local":
        return subprocess.run([*locust, *args], env=full_env, timeout=seconds + 60, check=False, **quiet).returncode
    port = free_port()
    master_command = [*locust, *args, "--master", "--expect-workers", str(workers),
                      "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]  # fmt: skip
    master = subprocess.Popen(master_command, env=full_env, **quiet)
    worker_command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--worker",
                      "--master-host", "127.0.0.1", "--master-port", str(port)]  # fmt: skip
    started = [subprocess.Popen(worker_command, env=full_env, **quiet) for _ in range(workers)]
    try:
        return master.wait(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        master.kill()
        return master.wait()
    finally:
        for worker in started:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.terminate()
                worker.wait(timeout=10)


def per_second(arrivals: list[float], seconds: int) -> list[int]:
    """Arrivals in each whole second after the first arrival, the first second and any partial last one left out."""
    if not arrivals:
        return []
    first = min(arrivals)
    counts = Counter(math.floor(t - first) for t in arrivals)
    return [counts.get(second, 0) for second in range(1, min(seconds, max(counts)))]


def plain_max(mode: str, host: str, log: Path, offset: int, opts: argparse.Namespace) -> tuple[float, int]:
    """Plain Locust's arrivals per second (the mean of its whole seconds), and the log offset after it."""
    users = ["-u", str(opts.users), "-r", str(opts.users), "-t", f"{opts.seconds}s"]
    run(mode, LOCUSTFILES / "plain.py", host, {}, users, workers=opts.workers, seconds=opts.seconds)
    arrivals, offset = read_arrivals(log, offset)
    seconds = per_second(arrivals, opts.seconds)
    return (sum(seconds) / len(seconds) if seconds else 0.0), offset


def open_model(mode: str, host: str, rate: float, log: tuple[Path, int], opts: argparse.Namespace) -> dict[str, Any]:
    """One open-model run at ``rate`` (``log``: the arrivals log and where this run's lines start):
    what arrived, how evenly, and the verdict."""
    with tempfile.TemporaryDirectory() as folder:
        summary = Path(folder) / "summary.json"
        env = {
            "LOCUST_SCENARIO": "stages",
            "LOCUST_SCENARIO_STAGES": f"0s:1,{opts.seconds}s:1",
            "LOCUST_SCENARIO_RATE": f"{rate:.1f}",
            "LOCUST_SCENARIO_USERS": str(opts.pool),
            "LOCUST_SCENARIO_ENDPOINTS": ENDPOINTS,
            "LOCUST_SCENARIO_SUMMARY": str(summary),
        }
        code = run(mode, LOCUSTFILES / "endpoints.py", host, env, [], workers=opts.workers, seconds=opts.seconds)
        found = json.loads(summary.read_text()) if summary.exists() else {}
    arrivals, offset = read_arrivals(*log)
    seconds = per_second(arrivals, opts.seconds)
    planned = rate * opts.seconds
    return {
        "rate": rate,
        "arrivals": len(arrivals),
        "arrivals_over_plan": len(arrivals) / planned,
        "mean_rate": sum(seconds) / len(seconds) if seconds else 0.0,
        "per_second_error": max((abs(count / rate - 1) for count in seconds), default=None),
        "per_second": seconds,
        "exit_code": code,
        "reasons": [reason["reason"] for reason in found.get("inconclusive", [])],
        "offset": offset,
    }


def main() -> None:
    """Measure, print and write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=20, help="plain Locust's users (no wait)")
    parser.add_argument("--pool", type=int, default=40, help="the open model's users")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fractions", default="0.8,0.95")
    parser.add_argument("--modes", default="local,distributed")
    opts = parser.parse_args()
    started = machine()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "arrivals.log"
        with nginx(access_log=log) as host:
            offset = 0
            for mode in opts.modes.split(","):
                maximum, offset = plain_max(mode, host, log, offset, opts)
                print(f"{mode}: plain Locust max {maximum:.0f} req/s at nginx ({opts.users} users, no wait)")
                runs = []
                for fraction in (float(value) for value in opts.fractions.split(",")):
                    found = open_model(mode, host, fraction * maximum, (log, offset), opts)
                    offset = found.pop("offset")
                    found |= {"fraction": fraction, "mean_rate_over_plain_max": found["mean_rate"] / maximum}
                    runs.append(found)
                    error = found["per_second_error"]
                    print(f"  open model at {fraction:.0%} ({found['rate']:.0f}/s, pool {opts.pool}): arrivals/plan "
                          f"{found['arrivals_over_plan']:.4f}, mean rate {found['mean_rate_over_plain_max']:.3f} of "
                          f"plain max, worst second {error if error is None else f'{error:.2%}'}, exit code "
                          f"{found['exit_code']} {' '.join(found['reasons'])}")  # fmt: skip
                results[mode] = {"plain_max": maximum, "open_model": runs}
    write_result("open_model_limits", vars(opts), results, started)


if __name__ == "__main__":
    main()
