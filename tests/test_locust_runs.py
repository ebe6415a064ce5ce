"""Real Locust processes: the selecting shape locally and as master + 2 workers, bad input, interruption."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from .conftest import LOCUSTFILES, REPO, base_url, clean_env, free_port, locust, master_options, worker_options

pytestmark = pytest.mark.e2e

SELECTING = str(LOCUSTFILES / "selecting.py")


@pytest.mark.parametrize(("variable", "value"), [("LOCUST_SCENARIO_USERS", "-3"), ("LOCUST_SCENARIO", "nonsense")])
def test_invalid_setting_exits_2_naming_the_variable_before_any_request(
    target: HTTPServer, variable: str, value: str
) -> None:
    """A bad LOCUST_SCENARIO* value stops the run with exit code 2 and one line; no request is sent."""
    example = str(REPO / "examples" / "scenarios.py")
    run = locust(["-f", example, "--headless", "-H", base_url(target)], {variable: value}, timeout=10)
    assert run.returncode == 2, run.stderr
    error_lines = [line for line in run.stderr.splitlines() if line.startswith("locust-scenarios:")]
    assert len(error_lines) == 1
    assert f"{variable}={value!r}" in error_lines[0]
    assert "must be" in error_lines[0]
    assert len(target.log) == 0


def test_local_run_follows_the_profile_and_quits_by_itself(target: HTTPServer, tmp_path: Path) -> None:
    """A headless local run of a short stages profile ends by itself with exit 0 after the plan."""
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "2s:3,4s:3,1s:0"}
    started = time.monotonic()
    run = locust(["-f", SELECTING, "--headless", "-H", base_url(target), "--json-file", str(tmp_path / "s")], env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert "Shape test stopping" in run.stderr
    assert len(target.log) > 10


def _history(prefix: Path) -> list[tuple[float, int]]:
    with open(f"{prefix}_stats_history.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    start = float(rows[0]["Timestamp"])
    return [(float(row["Timestamp"]) - start, int(row["User Count"])) for row in rows]


def test_master_and_two_workers_follow_the_load_curve(target: HTTPServer, tmp_path: Path) -> None:
    """Master + 2 workers: recorded user counts follow the planned plateau within one user, then quit."""
    port = free_port()
    env = {
        "LOCUST_SCENARIO": "load",
        "LOCUST_SCENARIO_USERS": "6",
        "LOCUST_SCENARIO_DURATION": "24s",
        "LOCUST_SCENARIO_RAMP_UP": "4s",
        "LOCUST_SCENARIO_RAMP_DOWN": "2s",
    }
    prefix = tmp_path / "run"
    master_args = [
        "-f",
        SELECTING,
        *master_options(port),
        "-H",
        base_url(target),
        "--csv",
        str(prefix),
        "--csv-full-history",
    ]
    worker_args = ["-f", SELECTING, *worker_options(port)]
    master = subprocess.Popen(
        [sys.executable, "-m", "locust", *master_args],
        env=clean_env(env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "locust", *worker_args],
            env=clean_env(env),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        output, _ = master.communicate(timeout=90)
        worker_codes = [worker.wait(timeout=30) for worker in workers]
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert master.returncode == 0, output[-3000:]
    assert worker_codes == [0, 0]
    history = _history(prefix)
    assert max(users for _, users in history) == 6
    # The plateau runs from 4 s to 22 s of the shape's time; the history clock starts within a second
    # of it, so compare well inside the plateau.
    plateau = [users for t, users in history if 6.5 <= t <= 19.5]
    assert len(plateau) >= 8
    assert all(abs(users - 6) <= 1 for users in plateau), history
    assert "Shape test stopping" in output


def test_sigterm_before_the_profile_completes_exits_4(target: HTTPServer) -> None:
    """An interrupted profile never passes: SIGTERM mid-run exits with code 4."""
    env = {"LOCUST_SCENARIO": "load", "LOCUST_SCENARIO_USERS": "2", "LOCUST_SCENARIO_DURATION": "60s"}
    process = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", SELECTING, "--headless", "-H", base_url(target)],
        env=clean_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(target.log) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 4, stderr[-2000:]
    assert "interrupted before it completed" in stderr


def test_importing_every_public_name_picks_no_shape(target: HTTPServer, tmp_path: Path) -> None:
    """A locustfile importing every public name runs as plain Locust: -u 3 reaches 3 users, no shape."""
    prefix = tmp_path / "plain"
    run = locust(
        [
            "-f",
            str(LOCUSTFILES / "every_public_name.py"),
            "--headless",
            "-u",
            "3",
            "-r",
            "10",
            "-t",
            "4s",
            "-H",
            base_url(target),
            "--csv",
            str(prefix),
            "--csv-full-history",
        ],
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Shape test" not in run.stderr
    assert max(users for _, users in _history(prefix)) == 3
    assert "Visitor" in run.stderr or "Visitor" in run.stdout or len(target.log) > 0


def test_unknown_variable_warns_with_the_closest_name(target: HTTPServer) -> None:
    """A misspelt LOCUST_SCENARIO_* variable produces a warning naming the intended one."""
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "1s:1", "LOCUST_SCENARIO_USRES": "4"}
    run = locust(["-f", SELECTING, "--headless", "-H", base_url(target)], env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "LOCUST_SCENARIO_USRES is ignored; did you mean LOCUST_SCENARIO_USERS?" in run.stderr


def test_free_port_is_bindable() -> None:
    """The helper hands out a port on 127.0.0.1 that can be bound."""
    assert 1024 < free_port() < 65536


def test_worker_with_invalid_settings_leaves_the_master_cleanly(target: HTTPServer) -> None:
    """A worker that refuses its settings exits 2 and tells the master, which ends without load or a pass.

    The master either never counts the worker (it gives up waiting: 1) or starts the profile and sees
    its only worker leave (interrupted: 4); either way it ends by itself instead of hanging.
    """
    port = free_port()
    master = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", SELECTING, *master_options(port, workers=1),
         "--expect-workers-max-wait", "6", "-H", base_url(target)],
        env=clean_env({"LOCUST_SCENARIO": "smoke"}), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.5)
    worker = locust(
        ["-f", SELECTING, *worker_options(port)],
        {"LOCUST_SCENARIO_DURATION": "soon"},
        timeout=30,
    )
    try:
        _, master_err = master.communicate(timeout=40)
    finally:
        if master.poll() is None:
            master.kill()
            master.wait()
    assert worker.returncode == 2, worker.stderr[-2000:]
    assert "LOCUST_SCENARIO_DURATION='soon'" in worker.stderr
    assert master.returncode in (1, 4), master_err[-2000:]
    assert len(target.log) == 0


def test_web_ui_form_values_apply_to_the_run_they_start(target: HTTPServer) -> None:
    """A setting changed in the web UI's start form (written into Locust's options) shapes that run."""
    web_port = free_port()
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "1s:1,60s:1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", SELECTING, "--web-host", "127.0.0.1", "--web-port", str(web_port),
         "-H", base_url(target)],
        env=clean_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    web = f"http://127.0.0.1:{web_port}"
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(web, timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        form = urllib.parse.urlencode({"host": base_url(target), "scenario_stages": "1s:4,60s:4"}).encode()
        with urllib.request.urlopen(f"{web}/swarm", data=form, timeout=5) as answer:
            assert json.load(answer)["success"] is True
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (not seen or seen[-1] < 4):
            with urllib.request.urlopen(f"{web}/stats/requests", timeout=5) as answer:
                seen.append(int(json.load(answer)["user_count"]))
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert max(seen) == 4, (seen, stderr[-2000:])
    assert process.returncode == 4  # stopped before the profile completed
