"""Open-model pacing against locust-plugins' constant_total_ips: achieved iterations/s vs the target.

    PYTHONPATH=src python benchmarks/open_model_pacing.py [--seconds 20] [--rate 20] [--users 10]

Starts the demo target, then runs the same user (one request to /slow?ms=N per iteration) twice
for each response time: paced by our open-model profile (a constant planned rate) and by
``constant_total_ips(rate)`` with the same number of users. Prints achieved / target per case.
Needs locust-plugins. Load goes to 127.0.0.1 only; every run is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

OURS = """
from locust import task
from locust_scenarios import Stage, StagesProfile
from locust_scenarios import RestUser

class Constant(StagesProfile):
    stages = [Stage(0, 1), Stage({seconds}, 1)]
    rate = {rate}
    users = {users}

class Paced(RestUser):
    @task
    def iteration(self):
        with self.call("GET", "/slow", params={{"ms": {ms}}}):
            pass
"""

PLUGINS = """
from locust import FastHttpUser, task
from locust_plugins import constant_total_ips

class Paced(FastHttpUser):
    wait_time = constant_total_ips({rate})

    @task
    def iteration(self):
        self.client.get("/slow?ms={ms}", name="/slow")
"""


def run(source: str, url: str, extra: list[str], seconds: float) -> int:
    with tempfile.TemporaryDirectory() as folder:
        locustfile = Path(folder) / "locustfile.py"
        locustfile.write_text(source)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
        result = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-H", url, "--json", *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    entries = json.loads(result.stdout[result.stdout.find("[") :])
    return sum(entry["num_requests"] for entry in entries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    target = subprocess.Popen(
        [sys.executable, "-m", "locust_scenarios._demo_target", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert target.stdout is not None
        url = target.stdout.readline().strip()
        planned = args.rate * args.seconds
        print(f"target {args.rate:g} iterations/s for {args.seconds:g} s with {args.users} users = {planned:g}")
        print(f"{'response':>9} {'ours':>14} {'constant_total_ips':>20}")
        for ms in (1, 100, 300):
            values = {"seconds": args.seconds, "rate": args.rate, "users": args.users, "ms": ms}
            ours = run(OURS.format(**values), url, [], args.seconds)
            common = ["-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds:g}s"]
            theirs = run(PLUGINS.format(**values), url, common, args.seconds)
            print(f"{ms:>7}ms {ours:>6} ({ours / planned:4.0%}) {theirs:>12} ({theirs / planned:4.0%})")
    finally:
        target.terminate()
        target.wait(timeout=15)


if __name__ == "__main__":
    main()
