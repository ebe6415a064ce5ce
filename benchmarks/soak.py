"""Memory over a long run: the library against plain Locust doing the same, local and master + 1 worker.

Each mode runs both variants at the same time against one nginx on 127.0.0.1 (so a busy machine
slows them alike), until each has made ``--requests`` requests:

- ``plain``: a FastHttpUser spreading its requests over ``--names`` request names, ``-u/-r``;
- ``library``: ``EndpointsUser`` with the same names as weighted endpoints, the selecting shape
  holding the same users, and the exporter on, its ``/metrics`` scraped every ``--interval`` s.

Both run with Locust's web UI on 127.0.0.1 (``--autostart``); its ``/stats/requests`` gives the
request count every ``--interval`` s, when the resident memory (RSS) of each process is sampled.
Reported per process (local, master, worker): RSS growth as a slope in MiB per million requests
(least squares over the samples after the first ``--warmup`` of the requests), the final RSS, and
the final gap library - plain.

Usage: python benchmarks/soak.py [--requests 3000000] [--names 300] [--users 50] [--interval 3]
       [--modes local,distributed] [--max-minutes 40]
Bounded: each mode stops at the request count or after --max-minutes; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from _harness import free_port, machine, nginx, write_result

HERE = Path(__file__).parent / "locustfiles"


@dataclass
class Variant:
    """One variant of one mode: its processes, its web UI, and the samples taken."""

    name: str
    web_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    metrics_url: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    scrapes: int = 0
    failed_scrapes: int = 0

    def requests(self) -> int | None:
        """Requests so far, from the web UI (None while it does not answer)."""
        try:
            url = f"http://127.0.0.1:{self.web_port}/stats/requests"
            with urllib.request.urlopen(url, timeout=10) as response:
                report = json.load(response)
        except (OSError, ValueError):
            return None
        return int(report["stats"][-1]["num_requests"]) if report.get("stats") else 0

    def scrape(self) -> None:
        if self.metrics_url is None:
            return
        self.scrapes += 1
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=10) as response:  # noqa: S310 (127.0.0.1)
                response.read()
        except OSError:
            self.failed_scrapes += 1

    def rss_mib(self) -> dict[str, float]:
        found = {}
        for role, process in self.processes.items():
            try:
                found[role] = psutil.Process(process.pid).memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
        return found

    def stop(self) -> None:
        """Terminate by PID (the master first), then kill what is left after 20 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
    env.update(extra)
    return env


def start(name: str, mode: str, host: str, args: argparse.Namespace, log_dir: Path) -> Variant:
    """Start one variant (local: one process; distributed: master + 1 worker)."""
    variant = Variant(name, free_port())
    if name == "plain":
        locustfile = HERE / "named.py"
        env = _environment({"BENCH_NAMES": str(args.names)})
        users = ["-u", str(args.users), "-r", str(args.users)]
    else:
        locustfile = HERE / "soak_library.py"
        metrics_port = free_port()
        endpoints = [{"path": f"/items/{index}"} for index in range(args.names)]
        env = _environment(
            {
                "LOCUST_SCENARIO": "stages",
                # a plateau far longer than the run: the benchmark ends it at the request count
                "LOCUST_SCENARIO_STAGES": f"1s:{args.users},{args.max_minutes * 60 + 600}s:{args.users}",
                "LOCUST_SCENARIO_ENDPOINTS": json.dumps(endpoints),
                "LOCUST_SCENARIO_THINK_TIME": "0s",  # no wait, as the plain user
                "LOCUST_PROMETHEUS_PORT": str(metrics_port),
                "LOCUST_PROMETHEUS_HOST": "127.0.0.1",
                "LOCUST_PROMETHEUS_LINGER": "0s",
                "LOCUST_PROMETHEUS_MAX_NAMES": str(args.names),
            }
        )
        variant.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        users = []
    locust = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    web = ["--autostart", "--web-host", "127.0.0.1", "--web-port", str(variant.web_port), "-H", host]
    if mode == "local":
        roles = {"local": [*locust, *web, *users]}
    else:
        master_port = free_port()
        roles = {
            "master": [*locust, *web, *users, "--master", "--expect-workers", "1",
                       "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port)],
            "worker": [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)],
        }  # fmt: skip
    for role, command in roles.items():
        log = (log_dir / f"{mode}-{name}-{role}.log").open("wb")
        variant.processes[role] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return variant


def slope(samples: list[dict[str, Any]], role: str, after: float) -> float | None:
    """Least-squares slope of RSS (MiB) against requests (millions), over samples past ``after``."""
    points = [
        (s["requests"] / 1e6, s["rss_mib"][role]) for s in samples if s["requests"] >= after and role in s["rss_mib"]
    ]
    if len(points) < 3:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def run_mode(mode: str, host: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Variant]:
    """Both variants of one mode side by side until each reaches the request count."""
    variants = {name: start(name, mode, host, args, log_dir) for name in ("plain", "library")}
    started = time.monotonic()
    deadline = started + args.max_minutes * 60
    done: set[str] = set()
    try:
        while len(done) < len(variants) and time.monotonic() < deadline:
            for name, variant in variants.items():
                if name in done:
                    continue
                if any(p.poll() is not None for p in variant.processes.values()):
                    print(f"  {mode}/{name}: a process ended early (see {log_dir})")
                    done.add(name)
                    continue
                variant.scrape()
                count = variant.requests()
                if count is None:
                    continue
                variant.samples.append(
                    {"seconds": round(time.monotonic() - started, 1), "requests": count, "rss_mib": variant.rss_mib()}
                )
                if count >= args.requests:
                    done.add(name)
                    variant.stop()
            last = {n: v.samples[-1]["requests"] if v.samples else 0 for n, v in variants.items()}
            print(f"  {mode} {time.monotonic() - started:7.0f}s requests {last}", flush=True)
            time.sleep(args.interval)
    finally:
        for variant in variants.values():
            variant.stop()
    return variants


def summarise(mode: str, variants: dict[str, Variant], args: argparse.Namespace) -> dict[str, Any]:
    """Slopes, final RSS and gaps per process role."""
    after = args.requests * args.warmup
    summary: dict[str, Any] = {}
    for name, variant in variants.items():
        final = variant.samples[-1] if variant.samples else {"requests": 0, "rss_mib": {}, "seconds": 0}
        roles = sorted({role for s in variant.samples for role in s["rss_mib"]})
        summary[name] = {
            "requests": final["requests"],
            "seconds": final["seconds"],
            "requests_per_second": final["requests"] / final["seconds"] if final["seconds"] else 0.0,
            "scrapes": variant.scrapes,
            "failed_scrapes": variant.failed_scrapes,
            "slope_mib_per_million": {role: slope(variant.samples, role, after) for role in roles},
            "final_rss_mib": final["rss_mib"],
            "samples": variant.samples,
        }
    plain, library = summary["plain"]["final_rss_mib"], summary["library"]["final_rss_mib"]
    summary["final_gap_mib"] = {role: library[role] - plain[role] for role in library if role in plain}
    return summary


def main() -> None:
    """Run the modes, print the table and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3_000_000)
    parser.add_argument("--names", type=int, default=300)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between samples and scrapes")
    parser.add_argument("--warmup", type=float, default=0.1, help="share of the requests left out of the slope")
    parser.add_argument("--modes", default="local,distributed")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="per mode")
    parser.add_argument("--logs", default="soak-logs", help="folder for the Locust logs")
    args = parser.parse_args()
    started = machine()
    log_dir = Path(args.logs)
    log_dir.mkdir(exist_ok=True)
    results: dict[str, Any] = {}
    with nginx() as host:
        for mode in args.modes.split(","):
            print(f"{mode}: plain and library side by side, {args.requests:,} requests each")
            results[mode] = summarise(mode, run_mode(mode, host, args, log_dir), args)
    print()
    print(f"{'mode':<12} {'process':<8} {'variant':<8} {'requests':>10} {'req/s':>7} "
          f"{'MiB/M req':>10} {'final MiB':>10} {'gap MiB':>8}")  # fmt: skip
    for mode, summary in results.items():
        for name in ("plain", "library"):
            row = summary[name]
            for role, final in sorted(row["final_rss_mib"].items()):
                rate = row["slope_mib_per_million"].get(role)
                gap = summary["final_gap_mib"].get(role) if name == "library" else None
                print(
                    f"{mode:<12} {role:<8} {name:<8} {row['requests']:>10,} {row['requests_per_second']:>7.0f} "
                    f"{'-' if rate is None else f'{rate:+.2f}':>10} {final:>10.1f} "
                    f"{'' if gap is None else f'{gap:+.1f}':>8}"
                )
    write_result("soak", vars(args), results, started)


if __name__ == "__main__":
    main()
