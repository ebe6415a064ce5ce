"""The web UI as a way to run a scenario: Locust's real web UI in a subprocess, driven over HTTP the way
its page posts the form, and rendered by headless Chromium (Debian's package, tools/install-browser.sh)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from locust_scenarios import ScenarioSettings
from locust_scenarios._settings.options import option_dest
from locust_scenarios._webui import FORM_GROUPS, form_values

from .conftest import REPO, base_url, clean_env, free_port

pytestmark = pytest.mark.e2e

WAIT = 90.0
"""Seconds any wait on the UI may take before the test fails (generous: the machine is shared)."""


def readme_locustfile(directory: Path) -> Path:
    """The README's own locustfile, written to ``directory``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(# locustfile\.py\n.*?)```", text, re.S)
    assert found, "the README has no '# locustfile.py' block"
    path = directory / "locustfile.py"
    path.write_text(found.group(1), encoding="utf-8")
    return path


class WebUI:
    """A ``locust`` process serving its web UI on 127.0.0.1 (stopped by its pid at the end)."""

    def __init__(self, locustfile: Path, host: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        args = ["-f", str(locustfile), "-H", host, "--web-host", "127.0.0.1", "--web-port", str(self.port)]
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "locust", *args], env=clean_env(env), stdout=sink, stderr=subprocess.STDOUT
            )
        self.until(lambda: self.get("/scenario") is not None, "the web UI to answer")

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                body = response.read().decode()
        except OSError:
            return None
        return json.loads(body) if body.startswith(("{", "[")) else body

    def swarm(self, form: dict[str, str]) -> dict[str, Any]:
        """POST /swarm as the page does: form-encoded, every custom field present, unset ones empty."""
        fields = {option_dest(ScenarioSettings, name): "" for _, names in FORM_GROUPS for name in names}
        body = urllib.parse.urlencode({**fields, **form}).encode()
        request = urllib.request.Request(self.url + "/swarm", data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    def until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            assert self.process.poll() is None, f"locust exited while waiting for {what}: {self.output()[-2000:]}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.3)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop_run(self) -> None:
        """POST /stop as the page's Stop button does, and wait until the run has stopped."""
        request = urllib.request.Request(self.url + "/stop", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        self.until(lambda: self.get("/scenario")["state"] == "stopped", "the run to stop")

    def stop(self) -> int:
        """SIGTERM, then the exit code (bounded)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=WAIT)


@pytest.fixture
def web_ui(target: HTTPServer, tmp_path: Path) -> Iterator[WebUI]:
    """The README's locustfile in Locust's web UI, against the local target."""
    ui = WebUI(readme_locustfile(tmp_path), base_url(target), tmp_path / "locust.log")
    try:
        yield ui
    finally:
        if ui.process.poll() is None:
            ui.process.kill()
            ui.process.wait(timeout=WAIT)


def test_form_with_unknown_scenario_is_refused_and_nothing_starts(web_ui: WebUI) -> None:
    """A misspelt profile in the form answers success false with a message naming the value and the
    closest profile, logs it, and no run starts."""
    answer = web_ui.swarm({"scenario": "strees"})
    assert answer["success"] is False
    assert "'strees'" in answer["message"]
    assert "did you mean stress?" in answer["message"]
    time.sleep(2)
    assert web_ui.get("/scenario")["state"] == "ready"
    assert web_ui.get("/stats/requests")["user_count"] == 0
    assert "refused" in web_ui.output()
    assert "strees" in web_ui.output()


def test_form_with_invalid_threshold_is_refused(web_ui: WebUI) -> None:
    """An invalid threshold expression in the form is refused the way a run refuses it at start."""
    answer = web_ui.swarm({"scenario": "smoke", "scenario_thresholds": "p95<fast"})
    assert answer["success"] is False
    assert "LOCUST_SCENARIO_THRESHOLDS" in answer["message"]
    assert web_ui.get("/scenario")["state"] == "ready"


def test_form_settings_apply_to_the_run_and_judge_it(web_ui: WebUI) -> None:
    """Users, duration and thresholds entered in the form apply to the run it starts: smoke runs the
    4 users asked for (its default is 3), the status names smoke and its stage, and after the run a
    SIGTERM ends the process with that run's verdict: the failed p50<0.1ms threshold, exit code 3."""
    form = {
        "scenario": "smoke",
        "scenario_users": "4",
        "scenario_duration": "6s",
        "scenario_ramp_up": "1s",
        "scenario_thresholds": "p50<0.1ms",
    }
    assert web_ui.swarm(form)["success"] is True
    status = web_ui.get("/scenario")
    assert status["profile"] == "smoke"
    assert status["peak"] == 4
    assert status["stage"] in ("ramp-up", "steady")
    web_ui.until(lambda: web_ui.get("/stats/requests")["user_count"] == 4, "4 users")
    web_ui.until(lambda: web_ui.get("/scenario")["state"] == "stopped", "the run to complete")
    assert web_ui.stop() == 3
    summary = json.loads(re.findall(r"(\{\"event\": \"locust_scenarios\.summary\".*\})", web_ui.output())[-1])
    assert summary["scenario"] == "smoke"
    assert [result["threshold"] for result in summary["thresholds"]] == ["p50<0.1ms"]


def test_form_endpoints_and_auth_apply_to_each_run_they_start(target: HTTPServer, tmp_path: Path) -> None:
    """The config-driven user sends what the form asked for: the endpoints and the auth scheme entered
    for a run, and new ones entered for the next run after a stop (the token itself comes from the
    environment, never from the form)."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(
        "from locust_scenarios import EndpointsUser, ScenarioShape\n\n"
        "class Api(EndpointsUser):\n    pass\n\n"
        "class Shape(ScenarioShape):\n    pass\n"
    )
    ui = WebUI(locustfile, base_url(target), tmp_path / "locust.log", env={"LOCUST_SCENARIO_AUTH_TOKEN": "tok-1"})
    try:
        plan = {"scenario": "stages", "scenario_stages": "1s:2,60s:2", "scenario_think_time": "100ms"}

        def sent() -> list[tuple[str, str | None]]:
            return [(request.path, request.headers.get("Authorization")) for request, _ in target.log]

        assert ui.swarm({**plan, "scenario_endpoints": '[{"path": "/api/items"}]'})["success"] is True
        ui.until(lambda: len(target.log) >= 5, "requests of the first run")
        ui.stop_run()
        assert set(sent()) == {("/api/items", "Bearer tok-1")}

        target.clear_log()
        second = {**plan, "scenario_endpoints": '[{"path": "/"}]', "scenario_auth_scheme": "Token"}
        assert ui.swarm(second)["success"] is True
        ui.until(lambda: len(target.log) >= 5, "requests of the second run")
        ui.stop_run()
        assert set(sent()) == {("/", "Token tok-1")}
    finally:
        ui.stop()


def test_form_fields_are_grouped_with_the_profile_as_a_choice(web_ui: WebUI) -> None:
    """The page's custom fields start with the profile, offered as a choice of the registered names with
    the configured one preselected; the exporter's start-up options are not offered."""
    page = web_ui.get("/")
    found = re.search(r'"extra_options": (\{.*?\}\}), "run_time"', page)
    assert found, "no extra_options in the page"
    options = json.loads(found.group(1))
    assert list(options)[:3] == ["scenario", "scenario_users", "scenario_duration"]
    assert options["scenario"]["choices"][:6] == ["smoke", "load", "stress", "spike", "endurance", "breakpoint"]
    assert options["scenario"]["default_value"] == "load"
    assert not [key for key in options if key.startswith("prometheus_")]
    assert options["scenario_thresholds"]["help_text"].startswith("verdict: ")


def test_form_values_keep_only_scenario_settings() -> None:
    """Of a posted form, only our settings' fields count as scenario settings."""
    assert form_values({"scenario": "smoke", "user_count": "3", "scenario_users": "", "host": "x"}) == {
        "scenario": "smoke",
        "scenario_users": "",
    }


def chromium_dom(url: str) -> str:
    """The page as headless Chromium renders it (scripts run), bounded in time."""
    subprocess.run(["sh", str(REPO / "tools" / "install-browser.sh")], check=True, timeout=900, capture_output=True)
    browser = shutil.which("chromium")
    assert browser, "tools/install-browser.sh did not install chromium"
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=8000", "--dump-dom"]
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=WAIT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_browser_renders_profile_choice_and_current_stage(web_ui: WebUI) -> None:
    """In a real browser the start form shows the profile as a select of the profiles (the configured one
    selected), and during a run the Scenario tab shows the running profile and its current stage."""
    page = chromium_dom(web_ui.url + "/")
    select = re.search(r'<select[^>]*name="scenario"[^>]*>(.*?)</select>', page, re.S)
    assert select, "no profile select in the rendered page"
    options = re.findall(r'<option value="([^"]+)"', select.group(1))
    assert options[:6] == ["smoke", "load", "stress", "spike", "endurance", "breakpoint"]
    assert re.search(r'<option value="load" selected', select.group(1))

    form = {"scenario": "stress", "scenario_users": "2", "scenario_duration": "2m"}
    assert web_ui.swarm(form)["success"] is True
    stage = web_ui.get("/scenario")["stage"]
    # The tab fills from the page's periodic /stats/requests poll; on a busy machine the first dump can end
    # before the first answer arrives, so look again (three times at most).
    for _ in range(3):
        page = chromium_dom(web_ui.url + "/?tab=scenario")
        cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>.*?</td>", page, re.S)]
        if "profile" in cells:
            break
    assert "profile" in cells, page[-2000:]
    assert cells[cells.index("profile") + 1] == "stress"
    assert "stage" in cells
    assert cells[cells.index("stage") + 1] in (stage, "ramp to step 1", "step 1")
