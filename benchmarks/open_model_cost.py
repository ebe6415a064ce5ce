"""What the open model costs: CPU per request against plain Locust paced at the same rate, and 80% of max.

All against nginx on 127.0.0.1, in one invocation, so that every figure shares the machine's state:

1. **plain max**: ``locustfiles/plain.py`` (a FastHttpUser with no wait) with ``--users`` users for
   ``--seconds``: its requests per second are the machine's plain Locust maximum;
2. **CPU per request at 40% of that max**, ``--rounds`` alternating rounds (the order swapping each
   round) of the open-model ``EndpointsUser`` (``locustfiles/endpoints.py`` under a constant
   ``LOCUST_SCENARIO_RATE``, the same number of users as its pool) and of plain Locust paced by its
   own ``constant_throughput`` (``locustfiles/paced_plain.py``, each user at rate / users), and, to
   tell the pacing from the rest of the library, the same ``EndpointsUser`` paced by
   ``constant_throughput`` under a closed-model profile (``locustfiles/endpoints_paced.py``): the
   process's CPU seconds over the span of its requests, divided by the requests. The ratio of the
   medians (open model / plain) is the open model's cost against plain pacing;
3. **one open-model run at 80% of that max** with a pool of ``--pool`` users: its requests against
   the plan (a constant rate from the first second, so rate x duration exactly), the run summary's
   started/planned iterations, and the exit code. The pool is larger than plain Locust's users, as an
   open model's must be: a user is busy for a whole iteration, and at 80% of the process's maximum
   20 users are all busy at once as soon as the event loop falls behind for a moment, so iterations
   start late (and the verdict says so) although the plan is met by the end.

Usage: python benchmarks/open_model_cost.py [--seconds 15] [--users 20] [--pool 40] [--rounds 3]
Bounded: (2 + 3 x rounds) runs of ``--seconds`` plus start-up; nothing but 127.0.0.1 is contacted.
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

from _harness import LOCUSTFILES, machine, nginx, run_locust, write_result

ENDPOINTS = '[{"path": "/"}]'
OURS, PLAIN = "open model (EndpointsUser)", "plain, constant_throughput"


def open_model_env(rate: float, users: int, hold: float) -> dict[str, str]:
    """Settings of a constant open-model rate for ``hold`` seconds with a pool of ``users``."""
    return {
        "LOCUST_SCENARIO": "stages",
        "LOCUST_SCENARIO_STAGES": f"0s:1,{hold:g}s:1",
        "LOCUST_SCENARIO_RATE": f"{rate:.1f}",
        "LOCUST_SCENARIO_USERS": str(users),
        "LOCUST_SCENARIO_ENDPOINTS": ENDPOINTS,
    }


def cpu_per_request(host: str, rate: float, users: int, seconds: int, rounds: int) -> dict[str, Any]:
    """Alternating rounds of the open model and of ``constant_throughput`` at ``rate``: CPU per request."""
    per_user = {"PACED_RATE_PER_USER": f"{rate / users:.4f}"}
    closed = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": f"0s:{users},{seconds + 30}s:{users}",
              "LOCUST_SCENARIO_ENDPOINTS": ENDPOINTS}  # fmt: skip
    variants = {
        OURS: (LOCUSTFILES / "endpoints.py", open_model_env(rate, users, seconds + 30)),
        PLAIN: (LOCUSTFILES / "paced_plain.py", per_user),
        "EndpointsUser, constant_throughput": (LOCUSTFILES / "endpoints_paced.py", {**closed, **per_user}),
    }
    found: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for number in range(rounds):
        names = list(variants) if number % 2 == 0 else list(reversed(variants))
        for name in names:
            locustfile, env = variants[name]
            measured = run_locust(name, locustfile, host, seconds=seconds, users=users, env=env)
            found[name].append(
                {"us_per_request": 1e6 / measured.per_cpu_second, "rps": measured.rps, "failures": measured.failures}
            )
            print(f"  round {number + 1} {name:<34} {found[name][-1]['us_per_request']:6.1f} us/request "
                  f"at {measured.rps:7.1f} req/s")  # fmt: skip
    medians = {name: statistics.median(run["us_per_request"] for run in runs) for name, runs in found.items()}
    return {"rate": rate, "runs": found, "median_us_per_request": medians, "ratio": medians[OURS] / medians[PLAIN]}


def open_model_run(host: str, rate: float, users: int, seconds: int) -> dict[str, Any]:
    """One open-model run at ``rate`` for ``seconds`` (the profile ends it): plan met, and exit code."""
    with tempfile.TemporaryDirectory() as folder:
        summary = Path(folder) / "summary.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
        env.update(open_model_env(rate, users, seconds), LOCUST_SCENARIO_SUMMARY=str(summary))
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILES / "endpoints.py"), "--headless",
                   "-H", host, "--only-summary"]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, timeout=seconds + 60, check=False)
        found = json.loads(summary.read_text())
    iterations = found["generator"]["iterations"]
    requests = found["totals"]["requests"]
    return {
        "rate": rate,
        "seconds": seconds,
        "pool": users,
        "exit_code": done.returncode,
        "iterations_started": iterations["started"],
        "iterations_planned": iterations["planned"],
        "started_over_planned": iterations["started"] / iterations["planned"],
        "late": iterations["late"],
        "dropped": iterations["dropped"],
        "requests": requests,
        "requests_over_rate_times_duration": requests / (rate * seconds),
        "reasons": [reason["reason"] for reason in found.get("inconclusive", [])],
    }


def main() -> None:
    """Measure, print and write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=40, help="the open model's users in the run at 80%%")
    args = parser.parse_args()
    started = machine()
    with nginx() as host:
        plain = run_locust("plain max", LOCUSTFILES / "plain.py", host, seconds=args.seconds, users=args.users)
        print(f"plain Locust max: {plain.rps:.0f} req/s ({1e6 / plain.per_cpu_second:.1f} us CPU per request)")
        print(f"CPU per request at 40% of it ({0.4 * plain.rps:.0f} req/s), {args.rounds} alternating rounds:")
        cost = cpu_per_request(host, 0.4 * plain.rps, args.users, args.seconds, args.rounds)
        for name, value in cost["median_us_per_request"].items():
            print(f"  median {name:<34} {value:6.1f} us/request")
        print(f"  open model / constant_throughput: {cost['ratio']:.3f}  (target <= 1.1)")
        high = open_model_run(host, 0.8 * plain.rps, args.pool, args.seconds)
        print(
            f"open model at 80% ({high['rate']:.0f}/s for {args.seconds}s, pool {args.pool}): requests/plan "
            f"{high['requests_over_rate_times_duration']:.4f} (target >= 0.98), summary started/planned "
            f"{high['started_over_planned']:.4f}, exit code {high['exit_code']} "
            f"{' '.join(high['reasons'])}"
        )
    results = {
        "plain_max": {"rps": plain.rps, "us_per_request": 1e6 / plain.per_cpu_second, "failures": plain.failures},
        "at_40_percent": cost,
        "open_model_at_80_percent": high,
    }
    write_result("open_model_cost", vars(args), results, started)


if __name__ == "__main__":
    main()
