"""Shared parts of the benchmarks: an nginx target on 127.0.0.1 and a measured Locust subprocess.

nginx (Debian's nginx-light) serves a fixed 200 from one worker with its access log off, so that the
generator, not the target, is the bottleneck: on this machine kind wrk reaches 100k+ requests/s
against it while one Locust process manages under 10k.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).parent / "results"
LOCUSTFILES = Path(__file__).parent / "locustfiles"


def locustfile_class(name: str, attribute: str) -> Any:
    """``attribute`` of the benchmark locustfile ``locustfiles/<name>.py``, imported as a module."""
    spec = importlib.util.spec_from_file_location(f"benchmark_locustfile_{name}", LOCUSTFILES / f"{name}.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no benchmark locustfile {name}.py in {LOCUSTFILES}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, attribute)


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    {access_log}
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type {content_type}; return 200 '{body}'; }}
    }}
}}
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def nginx(body: str = "ok", content_type: str = "text/plain", access_log: Path | None = None) -> Iterator[str]:
    """Start nginx on a free 127.0.0.1 port answering ``body`` everywhere; yield its URL; stop it by PID.

    With ``access_log`` nginx writes each request's arrival time (Unix seconds, ms resolution), one a
    line, to that file, buffered (``read_arrivals`` waits for the buffer); without, it logs nothing.
    """
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        raise SystemExit("nginx is missing: apt-get install nginx-light (tools/install-observability-tools.sh)")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        conf = Path(folder) / "nginx.conf"
        logging = (
            f"log_format arrival '$msec'; access_log {access_log} arrival buffer=256k flush=1s;"
            if access_log is not None
            else "access_log off;"
        )
        conf.write_text(
            NGINX_CONF.format(dir=folder, port=port, body=body, content_type=content_type, access_log=logging)
        )
        process = subprocess.Popen([binary, "-c", str(conf), "-p", folder], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def read_arrivals(access_log: Path, offset: int) -> tuple[list[float], int]:
    """Arrival times logged by ``nginx(access_log=...)`` after byte ``offset``, and the offset after them.

    Waits 1.5 s first: nginx flushes its log buffer once a second.
    """
    time.sleep(1.5)
    with access_log.open("rb") as log:
        log.seek(offset)
        data = log.read()
    complete = data[: data.rfind(b"\n") + 1]
    return [float(line) for line in complete.split()], offset + len(complete)


@dataclass
class Measurement:
    """One Locust run: requests per second and the process's peak resident memory.

    ``per_cpu_second`` is requests per second of the process's own CPU time over the same span: on
    a machine shared with other work it moves far less than ``rps`` does.
    """

    name: str
    rps: float
    peak_rss_mib: float
    requests: int
    failures: int
    per_cpu_second: float = 0.0


def _cpu_at(samples: list[tuple[float, float]], moment: float) -> float:
    """CPU seconds of a process at wall-clock ``moment``, interpolated between samples."""
    before = [s for s in samples if s[0] <= moment]
    after = [s for s in samples if s[0] >= moment]
    if not before:
        return samples[0][1]
    if not after:
        return samples[-1][1]
    (t0, c0), (t1, c1) = before[-1], after[0]
    return c0 if t1 == t0 else c0 + (c1 - c0) * (moment - t0) / (t1 - t0)


def run_locust(
    name: str, locustfile: Path, host: str, *, seconds: int, users: int, env: Mapping[str, str] | None = None
) -> Measurement:
    """Run ``locust -f locustfile --headless`` for ``seconds`` and measure it (bounded by a timeout)."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "stats.json"
        command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-H", host,
                   "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--only-summary",
                   "--json-file", str(report).removesuffix(".json")]  # fmt: skip
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
        full_env.update(env or {})
        started = time.monotonic()
        process = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watched = psutil.Process(process.pid)
        peak = 0
        cpu: list[tuple[float, float]] = []
        while process.poll() is None and time.monotonic() - started < seconds + 60:
            try:
                peak = max(peak, watched.memory_info().rss)
                times = watched.cpu_times()
                cpu.append((time.time(), times.user + times.system))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.25)
        if process.poll() is None:
            process.kill()
        process.wait()
        entries = json.loads(report.read_text())
        requests = sum(entry["num_requests"] for entry in entries)
        failures = sum(entry["num_failures"] for entry in entries)
        first = min(entry["start_time"] for entry in entries)
        last = max(entry["last_request_timestamp"] for entry in entries)
        spent = _cpu_at(cpu, last) - _cpu_at(cpu, first) if cpu else 0.0
        per_cpu = requests / spent if spent > 0 else 0.0
        return Measurement(name, requests / max(last - first, 1e-9), peak / 2**20, requests, failures, per_cpu)


def median_of(name: str, runs: list[Measurement]) -> Measurement:
    """One row for several runs of a variant: median throughput and memory, summed counts."""
    return Measurement(
        name,
        statistics.median(m.rps for m in runs),
        statistics.median(m.peak_rss_mib for m in runs),
        sum(m.requests for m in runs),
        sum(m.failures for m in runs),
        statistics.median(m.per_cpu_second for m in runs),
    )


def print_table(rows: list[Measurement], baseline: str) -> None:
    """One table, with each row's throughput and memory as a ratio of the baseline's."""
    base = next(row for row in rows if row.name == baseline)
    print(
        f"{'variant':<34} {'req/s':>9} {'ratio':>7} {'req/CPU-s':>10} {'ratio':>7} {'peak RSS MiB':>13} "
        f"{'ratio':>7} {'failures':>9}"
    )
    for row in rows:
        per_cpu = row.per_cpu_second / base.per_cpu_second if base.per_cpu_second else 0.0
        print(
            f"{row.name:<34} {row.rps:>9.0f} {row.rps / base.rps:>7.3f} {row.per_cpu_second:>10.0f} {per_cpu:>7.3f} "
            f"{row.peak_rss_mib:>13.1f} {row.peak_rss_mib / base.peak_rss_mib:>7.3f} {row.failures:>9}"
        )


def machine() -> dict[str, Any]:
    """What the figures were measured on, and how busy it was when the benchmark started."""
    from importlib.metadata import version  # noqa: PLC0415

    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "locust": version("locust"),
        "locust_scenarios": version("locust-scenarios"),
    }


def write_result(benchmark: str, settings: Mapping[str, Any], results: Any, started: Mapping[str, Any]) -> Path:
    """One JSON file per benchmark run under ``benchmarks/results/``: command, settings, machine, results.

    ``started`` is ``machine()`` as taken when the run began (the load average then); the file also
    records the load average at the end.
    """
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{benchmark}-{stamp}.json"
    document = {
        "benchmark": benchmark,
        "command": " ".join(["python", *sys.argv]),
        "settings": dict(settings),
        "machine": dict(started),
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "results": results,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return path
