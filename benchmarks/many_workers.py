"""A master with many workers on one machine: connection time, master CPU, and how well users follow the plan.

For each worker count (``--workers 20,50``) it starts a headless master with the library's exporter
and the selecting shape, then that many workers, all on 127.0.0.1, at low load per worker (``--per-worker``
users, each sending one request a second to nginx). The plan ramps to the peak in ``--ramp`` s, holds
it for ``--hold`` s and ramps down in 10 s. Every ``--interval`` s it scrapes the master's ``/metrics``
(``locust_users`` against ``locust_users_target``, workers by state) and samples the master's CPU.

Reported per worker count:
- time from starting the workers until all are connected (as the master counts them);
- master CPU (share of one core) while waiting and while running, and the machine's total CPU;
- user-count tracking: the mean and largest absolute error against the plan (in users and as a
  share of the peak), and the lag: the time shift of the plan that best matches the users reported;
- workers reported missing, and the run's exit code.

Locust's heartbeat settings (``locust.runners``) are recorded with the results: on a 2-core machine a
starved worker that misses ``HEARTBEAT_LIVENESS`` heartbeats (one every ``HEARTBEAT_INTERVAL`` s) is
marked missing and its users leave the count.

After each worker count the same count runs under plain Locust (``locustfiles/light_plain.py``, no
library, a ``LoadTestShape`` drawing the same plan) as a control, read from its master's log (workers
marked missing, whether Locust stopped the test for it, exit code); ``--no-control`` skips it.

Usage: python benchmarks/many_workers.py [--workers 20,50] [--per-worker 2] [--ramp 20] [--hold 40]
Bounded: each count has a hard timeout (start-up + plan + 120 s); only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import locust.runners
import psutil
from _harness import free_port, machine, nginx, write_result

LOCUSTFILE = Path(__file__).parent / "locustfiles" / "light.py"
CONTROL = Path(__file__).parent / "locustfiles" / "light_plain.py"
HEARTBEAT = {
    name: getattr(locust.runners, name)
    for name in (
        "HEARTBEAT_INTERVAL",
        "HEARTBEAT_LIVENESS",
        "HEARTBEAT_DEAD_INTERNAL",
        "MASTER_HEARTBEAT_TIMEOUT",
        "WORKER_REPORT_INTERVAL",
        "CONNECT_TIMEOUT",
        "CONNECT_RETRY_COUNT",
    )
}


def scrape(url: str) -> dict[str, float] | None:
    """The few samples this benchmark reads from the exporter, keyed by name and labels."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (127.0.0.1)
            text = response.read().decode()
    except OSError:
        return None
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("locust_users", "locust_workers{", "locust_runner_state{")):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def users(sample: dict[str, float]) -> float:
    return sum(value for key, value in sample.items() if key.startswith("locust_users{"))


def workers(sample: dict[str, float], *states: str) -> int:
    return int(sum(sample.get(f'locust_workers{{state="{state}"}}', 0) for state in states))


def best_lag(points: list[tuple[float, float, float]], peak: float) -> tuple[float, float]:
    """The shift (s) of the planned curve that best matches the reported users, and the error left.

    ``points`` are (time, planned, reported). The planned curve is shifted by 0 to 10 s in 0.25 s
    steps and interpolated; the shift with the least mean absolute error wins.
    """
    times = [t for t, _, _ in points]
    planned = [p for _, p, _ in points]

    def plan_at(t: float) -> float:
        if t <= times[0]:
            return planned[0]
        for index in range(1, len(times)):
            if t <= times[index]:
                left, right = times[index - 1], times[index]
                share = (t - left) / (right - left) if right > left else 0.0
                return planned[index - 1] + share * (planned[index] - planned[index - 1])
        return planned[-1]

    best = (0.0, float("inf"))
    for step in range(41):
        shift = step * 0.25
        error = statistics.fmean(abs(reported - plan_at(t - shift)) for t, _, reported in points)
        if error < best[1]:
            best = (shift, error)
    return best[0], best[1] / peak if peak else 0.0


def start_workers(
    command: list[str], master_port: int, count: int, env: dict[str, str]
) -> list[subprocess.Popen[bytes]]:
    """``count`` Locust workers of ``command``, connecting to the master on 127.0.0.1."""
    return [
        subprocess.Popen(
            [*command, "--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def end_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait for the workers to leave after their master (bounded), killing any that stay, by PID."""
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(count: int, host: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """One master with ``count`` workers, start to finish."""
    peak = count * args.per_worker
    master_port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
    env.update(
        LOCUST_SCENARIO="stages",
        LOCUST_SCENARIO_STAGES=f"{args.ramp}s:{peak},{args.hold}s:{peak},10s:0",
        LOCUST_PROMETHEUS_PORT=str(metrics_port),
        LOCUST_PROMETHEUS_HOST="127.0.0.1",
        LOCUST_PROMETHEUS_LINGER="0s",
    )
    locust_command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--only-summary"]
    master_log = (log_dir / f"master-{count}.log").open("wb")
    master = subprocess.Popen(
        [*locust_command, "--master", "--headless", "--expect-workers", str(count), "-H", host,
         "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port)],
        env=env, stdout=master_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    watched = psutil.Process(master.pid)
    watched.cpu_percent(None)
    psutil.cpu_percent(None)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    while scrape(url) is None and master.poll() is None:
        time.sleep(0.2)
    started = time.monotonic()
    worker_processes = start_workers(locust_command, master_port, count, env)
    deadline = started + args.ramp + args.hold + 10 + 120 + count * 3
    samples: list[dict[str, Any]] = []
    connected_after: float | None = None
    try:
        while master.poll() is None and time.monotonic() < deadline:
            time.sleep(args.interval)
            sample = scrape(url)
            if sample is None:
                continue
            now = time.monotonic() - started
            ready = workers(sample, "ready", "spawning", "running", "stopped")
            if connected_after is None and ready >= count:
                connected_after = now
            state = next((k.split('"')[1] for k, v in sample.items() if k.startswith("locust_runner_state") and v), "")
            samples.append(
                {
                    "seconds": round(now, 2),
                    "state": state,
                    "connected": ready,
                    "missing": workers(sample, "missing"),
                    "planned": sample.get("locust_users_target", 0.0),
                    "reported": users(sample),
                    "master_cpu": watched.cpu_percent(None) / 100,
                    "machine_cpu": psutil.cpu_percent(None) / 100,
                }
            )
        master.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        master.kill()
        master.wait()
    finally:
        end_workers(worker_processes)
    running = [s for s in samples if s["state"] in ("spawning", "running")]
    waiting = [s for s in samples if s["state"] == "ready" or (not running or s["seconds"] < running[0]["seconds"])]
    points = [(s["seconds"], s["planned"], s["reported"]) for s in running]
    errors = [abs(reported - planned) for _, planned, reported in points]
    lag, residual = best_lag(points, peak) if len(points) > 2 else (None, None)
    return {
        "workers": count,
        "peak_users": peak,
        "exit_code": master.returncode,
        "all_connected_after_seconds": connected_after,
        "most_connected": max((s["connected"] for s in samples), default=0),
        "most_missing": max((s["missing"] for s in samples), default=0),
        "master_cpu_waiting": statistics.fmean(s["master_cpu"] for s in waiting) if waiting else None,
        "master_cpu_running": statistics.fmean(s["master_cpu"] for s in running) if running else None,
        "master_cpu_running_max": max((s["master_cpu"] for s in running), default=None),
        "machine_cpu_running": statistics.fmean(s["machine_cpu"] for s in running) if running else None,
        "tracking_error_mean_users": statistics.fmean(errors) if errors else None,
        "tracking_error_max_users": max(errors) if errors else None,
        "tracking_error_mean_share": statistics.fmean(errors) / peak if errors else None,
        "lag_seconds": lag,
        "error_share_after_lag": residual,
        "samples": samples,
    }


def run_control(count: int, host: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """The same worker count under plain Locust (no library, a LoadTestShape for the same plan).

    Plain Locust has no exporter, so this reads the master's log: when the last worker connected,
    which workers were marked missing, whether Locust stopped the test for it, and the exit code.
    """
    peak = count * args.per_worker
    master_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
    env["MANY_WORKERS_PLAN"] = f"{peak},{args.ramp},{args.hold}"
    command = [sys.executable, "-m", "locust", "-f", str(CONTROL), "--only-summary"]
    log_path = log_dir / f"control-master-{count}.log"
    with log_path.open("wb") as master_log:
        master = subprocess.Popen(
            [*command, "--master", "--headless", "--expect-workers", str(count), "-H", host,
             "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port)],
            env=env, stdout=master_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        time.sleep(2)  # as the library's run waits for its exporter to answer
        launched = time.time()
        worker_processes = start_workers(command, master_port, count, env)
        try:
            master.wait(timeout=args.ramp + args.hold + 10 + 120 + count * 3)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
        finally:
            end_workers(worker_processes)
    log = log_path.read_text(errors="replace").splitlines()
    connected_after = None
    missing: set[str] = set()
    for line in log:
        if f"{count} workers connected" in line and connected_after is None:
            stamp = line[1:24]  # [2026-11-29 07:02:29,285]
            moment = time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) + int(stamp[20:23]) / 1000
            connected_after = moment - launched
        if "failed to send heartbeat" in line:
            missing.add(line.split("Worker ", 1)[1].split(" ", 1)[0])
    return {
        "workers": count,
        "peak_users": peak,
        "exit_code": master.returncode,
        "all_connected_after_seconds": connected_after,
        "workers_marked_missing": len(missing),
        "stopped_by_locust_for_missing_workers": any("last worker went missing" in line for line in log),
    }


def main() -> None:
    """Run each worker count, print the table and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="20,50")
    parser.add_argument("--per-worker", type=int, default=2, help="users per worker at the peak")
    parser.add_argument("--ramp", type=int, default=20)
    parser.add_argument("--hold", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--logs", default="many-workers-logs")
    parser.add_argument("--no-control", action="store_true", help="skip the plain-Locust control runs")
    args = parser.parse_args()
    started = machine()
    log_dir = Path(args.logs)
    log_dir.mkdir(exist_ok=True)
    results = []
    controls = []
    with nginx() as host:
        for count in (int(part) for part in args.workers.split(",")):
            print(f"{count} workers ...", flush=True)
            results.append(run(count, host, args, log_dir))
            if not args.no_control:
                print(f"{count} workers, plain Locust ...", flush=True)
                controls.append(run_control(count, host, args, log_dir))

    def show(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    print(f"Locust heartbeat settings: {HEARTBEAT}")
    print(f"{'workers':>7} {'users':>5} {'connected s':>11} {'master CPU wait/run/max':>24} {'machine CPU':>11} "
          f"{'err mean/max':>12} {'err %':>6} {'lag s':>5} {'missing':>7} {'exit':>4}")  # fmt: skip
    for row in results:
        cpu = "/".join(
            show(row[key], ".0%") for key in ("master_cpu_waiting", "master_cpu_running", "master_cpu_running_max")
        )
        error = f"{show(row['tracking_error_mean_users'], '.1f')}/{show(row['tracking_error_max_users'], '.0f')}"
        print(
            f"{row['workers']:>7} {row['peak_users']:>5} {show(row['all_connected_after_seconds'], '.1f'):>11} "
            f"{cpu:>24} {show(row['machine_cpu_running'], '.0%'):>11} {error:>12} "
            f"{show(row['tracking_error_mean_share'], '.1%'):>6} {show(row['lag_seconds'], '.2f'):>5} "
            f"{row['most_missing']:>7} {row['exit_code']!s:>4}"
        )
    if controls:
        print("plain Locust, same plan (from its master's log):")
        print(f"{'workers':>7} {'connected s':>11} {'marked missing':>14} {'stopped by Locust':>17} {'exit':>4}")
        for row in controls:
            stopped = "yes" if row["stopped_by_locust_for_missing_workers"] else "no"
            print(
                f"{row['workers']:>7} {show(row['all_connected_after_seconds'], '.1f'):>11} "
                f"{row['workers_marked_missing']:>14} {stopped:>17} "
                f"{row['exit_code']!s:>4}"
            )
    write_result(
        "many_workers", {**vars(args), "heartbeat": HEARTBEAT}, {"library": results, "plain_locust": controls}, started
    )


if __name__ == "__main__":
    main()
