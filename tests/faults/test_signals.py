"""SIGTERM and SIGINT end a Locust process in every state, with one summary and the exit code it earned.

States: a master waiting for workers (Locust's wait loop never checks ``runner.quit()``), spawning,
running, lingering after the run, and a web UI whose run finished.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.parse
import urllib.request
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import LOCUSTFILES, base_url, free_port, master_options

from .conftest import LocustProcess, scrape_status

pytestmark = pytest.mark.e2e

SELECTING = str(LOCUSTFILES / "selecting.py")
PLAIN = str(LOCUSTFILES / "every_public_name.py")
SIGNALS = [signal.SIGTERM, signal.SIGINT]


def _wait_for_requests(target: HTTPServer, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(target.log) < count:
        assert time.monotonic() < deadline, f"fewer than {count} requests reached the target"
        time.sleep(0.1)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_master_waiting_for_workers_exits_4_on_a_signal(
    start_locust: Callable[..., LocustProcess], signum: signal.Signals
) -> None:
    """A master that waits for a worker which never comes ends on the first signal with code 4."""
    master = start_locust(["-f", SELECTING, *master_options(free_port(), workers=1), "-H", "http://127.0.0.1:9"])
    master.wait_for_output("Starting Locust")
    time.sleep(3)  # inside Locust's wait-for-workers loop
    master.signal(signum)
    assert master.wait(timeout=20) == 4, master.output[-3000:]
    [summary] = master.summaries()
    assert summary["interrupted"] is True
    assert summary["exit_code"] == 4


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_signal_during_a_run_stops_it_with_one_summary_and_code_4(
    start_locust: Callable[..., LocustProcess], target: HTTPServer, signum: signal.Signals
) -> None:
    """A signal while the profile runs stops the users; one summary line says interrupted, exit 4."""
    env = {"LOCUST_SCENARIO": "load", "LOCUST_SCENARIO_USERS": "2", "LOCUST_SCENARIO_DURATION": "120s"}
    run = start_locust(["-f", SELECTING, "--headless", "-H", base_url(target)], env)
    _wait_for_requests(target, 3)
    run.signal(signum)
    assert run.wait(timeout=30) == 4, run.output[-3000:]
    [summary] = run.summaries()
    assert summary["interrupted"] is True
    assert summary["passed"] is False
    assert "Traceback" not in run.output


def test_signal_while_spawning_a_plain_run_exits_4(
    start_locust: Callable[..., LocustProcess], target: HTTPServer
) -> None:
    """Without a profile too: a signal while users are still spawning ends the run with code 4."""
    run = start_locust(["-f", PLAIN, "--headless", "-u", "200", "-r", "1", "-t", "5m", "-H", base_url(target)])
    _wait_for_requests(target, 2)
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 4, run.output[-3000:]
    assert len(run.summaries()) == 1


def test_second_signal_ends_the_linger_at_once(start_locust: Callable[..., LocustProcess], target: HTTPServer) -> None:
    """After a signal the final state is served for the linger; a second signal ends the process at once.

    The linger is two minutes; the process must be gone long before that (the guard is 30 s).
    """
    metrics = free_port()
    env = {"LOCUST_SCENARIO": "load", "LOCUST_SCENARIO_USERS": "2", "LOCUST_SCENARIO_DURATION": "120s"}
    run = start_locust(
        ["-f", SELECTING, "--headless", "-H", base_url(target), "--prometheus-port", str(metrics),
         "--prometheus-host", "127.0.0.1", "--prometheus-linger", "2m"],
        env,
    )  # fmt: skip
    _wait_for_requests(target, 3)
    run.signal(signal.SIGTERM)
    run.wait_for_output("serving the final metrics")
    assert scrape_status(metrics) == 200
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 4, run.output[-3000:]
    assert len(run.summaries()) == 1
    assert "linger cut short" in run.output


def test_signal_during_the_linger_of_a_completed_run_keeps_its_verdict(
    start_locust: Callable[..., LocustProcess], target: HTTPServer
) -> None:
    """The chart's run mode (web UI, autostart, autoquit): the run completes and passes, the process
    lingers; a first SIGTERM lets the linger finish and the exit code is the run's verdict, 0.
    One summary line, although Locust fires ``quitting`` a second time for the signal.
    """
    metrics = free_port()
    env = {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "3s:2"}
    run = start_locust(
        ["-f", SELECTING, "--autostart", "--autoquit", "0", "--web-host", "127.0.0.1", "--web-port",
         str(free_port()), "-H", base_url(target), "--prometheus-port", str(metrics),
         "--prometheus-host", "127.0.0.1", "--prometheus-linger", "6s"],
        env,
    )  # fmt: skip
    run.wait_for_output("serving the final metrics")
    run.signal(signal.SIGTERM)
    assert scrape_status(metrics) == 200  # still lingering after the first signal
    assert run.wait(timeout=40) == 0, run.output[-3000:]
    [summary] = run.summaries()
    assert summary["passed"] is True
    assert summary["interrupted"] is False


def test_signal_to_a_web_ui_whose_run_finished_exits_with_that_runs_verdict(
    start_locust: Callable[..., LocustProcess], target: HTTPServer
) -> None:
    """A web UI process whose run completed ends on SIGTERM with that run's verdict (here 0)."""
    web_port = free_port()
    run = start_locust(
        ["-f", SELECTING, "--web-host", "127.0.0.1", "--web-port", str(web_port), "-H", base_url(target)],
        {"LOCUST_SCENARIO": "stages", "LOCUST_SCENARIO_STAGES": "2s:2"},
    )
    run.wait_for_output("Starting web interface")
    web = f"http://127.0.0.1:{web_port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            form = urllib.parse.urlencode({"host": base_url(target)}).encode()
            with urllib.request.urlopen(f"{web}/swarm", data=form, timeout=5) as answer:
                assert json.load(answer)["success"] is True
            break
        except OSError:
            assert time.monotonic() < deadline, run.output[-3000:]
            time.sleep(0.2)
    run.wait_for_output("Shape test stopping")
    _wait_for_requests(target, 1)
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0, run.output[-3000:]
    [summary] = run.summaries()
    assert summary["interrupted"] is False
