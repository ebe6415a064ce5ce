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
from locust_scenarios._settings.options import FORM_FIELDS, option_dest
from locust_scenarios._webui import FORM_GROUPS, TokenScope, form_values, refused_fields

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

    def __init__(
        self, locustfile: Path, host: str, log: Path, env: dict[str, str] | None = None, extra: list[str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        args = ["-f", str(locustfile), "-H", host, "--web-host", "127.0.0.1", "--web-port", str(self.port)]
        args += extra or []
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


def endpoints_locustfile(directory: Path) -> Path:
    """A locustfile with the config-driven user under the selecting shape."""
    locustfile = directory / "locustfile.py"
    locustfile.write_text(
        "from locust_scenarios import EndpointsUser, ScenarioShape\n\n"
        "class Api(EndpointsUser):\n    pass\n\n"
        "class Shape(ScenarioShape):\n    pass\n"
    )
    return locustfile


PLAN = {"scenario": "stages", "scenario_stages": "1s:2,60s:2", "scenario_think_time": "100ms"}
"""A form for a short, steady run of two users of the config-driven user."""


def test_form_auth_scheme_applies_to_each_run_it_starts(target: HTTPServer, tmp_path: Path) -> None:
    """The config-driven user sends what the form asked for: the auth scheme entered for a run, and a
    new one entered for the next run after a stop (the token and the endpoints come from the start-up
    settings, never from the form)."""
    env = {"LOCUST_SCENARIO_AUTH_TOKEN": "tok-1", "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/api/items"}]'}
    ui = WebUI(endpoints_locustfile(tmp_path), base_url(target), tmp_path / "locust.log", env=env)
    try:

        def sent() -> list[tuple[str, str | None]]:
            return [(request.path, request.headers.get("Authorization")) for request, _ in target.log]

        assert ui.swarm(PLAN)["success"] is True
        ui.until(lambda: len(target.log) >= 5, "requests of the first run")
        ui.stop_run()
        assert set(sent()) == {("/api/items", "Bearer tok-1")}

        target.clear_log()
        assert ui.swarm({**PLAN, "scenario_auth_scheme": "Token"})["success"] is True
        ui.until(lambda: len(target.log) >= 5, "requests of the second run")
        ui.stop_run()
        assert set(sent()) == {("/api/items", "Token tok-1")}
    finally:
        ui.stop()


@pytest.fixture
def capture() -> Iterator[HTTPServer]:
    """A second HTTP server on 127.0.0.1 that records whatever reaches it (a stand-in for an attacker's)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/api/items").respond_with_data("captured")
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def test_form_cannot_send_the_token_elsewhere_or_reconfigure_the_process(
    target: HTTPServer, capture: HTTPServer, tmp_path: Path
) -> None:
    """A web UI started with a token and a host: a POST /swarm with another host is refused (success
    false, the page's message says why and how), and the other host never sees a request, let alone the
    token; a posted token, summary path, endpoints, auth origins, one of Locust's own start-up options
    or an unknown field is refused the same way and writes nothing; 10,001 users in one process and a
    threshold relative to a baseline the process was not started with are refused as a headless run
    refuses them. Then a run on the start-up host goes, with the token."""
    env = {"LOCUST_SCENARIO_AUTH_TOKEN": "tok-1", "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/api/items"}]'}
    ui = WebUI(endpoints_locustfile(tmp_path), base_url(target), tmp_path / "locust.log", env=env)
    try:
        elsewhere = ui.swarm({**PLAN, "host": base_url(capture)})
        assert elsewhere["success"] is False
        assert (
            f"the form's host '{base_url(capture)}' is not an origin the auth token may go to" in elsewhere["message"]
        )
        assert base_url(target) in elsewhere["message"]
        assert "LOCUST_SCENARIO_AUTH_ORIGINS" in elsewhere["message"]

        summary = tmp_path / "written" / "summary.json"
        report = tmp_path / "locust-report.html"
        refused = {
            "scenario_auth_token": "tok-2",
            "scenario_summary": str(summary),
            "scenario_endpoints": '[{"path": "http://127.0.0.1:9/x"}]',
            "scenario_auth_origins": "*",
            "html_file": str(report),
            "no_such_field": "1",
        }
        for field, value in refused.items():
            answer = ui.swarm({**PLAN, field: value})
            assert answer["success"] is False, field
            assert field in answer["message"], answer["message"]
            assert "tok-2" not in answer["message"]
        assert (
            "LOCUST_SCENARIO_SUMMARY is set where Locust starts"
            in ui.swarm({**PLAN, "scenario_summary": "x"})["message"]
        )
        too_many = ui.swarm({**PLAN, "scenario_users": "10001"})
        assert too_many["success"] is False
        assert "one Locust process runs at most 10000 users" in too_many["message"]
        no_baseline = ui.swarm({**PLAN, "scenario_thresholds": "p95<baseline+10%"})
        assert no_baseline["success"] is False
        assert "compares with a baseline: give a run record" in no_baseline["message"]

        time.sleep(2)
        assert ui.get("/scenario")["state"] == "ready"
        assert len(capture.log) == 0
        assert len(target.log) == 0

        assert ui.swarm(PLAN)["success"] is True
        ui.until(lambda: len(target.log) >= 3, "requests of the run")
        ui.stop_run()
        assert {request.headers.get("Authorization") for request, _ in target.log} == {"Bearer tok-1"}
    finally:
        assert ui.stop() in (0, 4, 5), ui.output()[-3000:]
    assert len(capture.log) == 0
    assert "tok-1" not in ui.output()
    assert not summary.parent.exists()
    assert not report.exists()


def test_master_form_cannot_send_its_workers_token_elsewhere(
    target: HTTPServer, capture: HTTPServer, tmp_path: Path
) -> None:
    """On a master's web UI (master and worker given the same token, as the chart gives them), a form
    with another host is refused before the master tells its worker to start, so the worker never
    sends the token there; a form without a host change then runs on the worker, with the token."""
    env = {"LOCUST_SCENARIO_AUTH_TOKEN": "tok-1", "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/api/items"}]'}
    locustfile = endpoints_locustfile(tmp_path)
    port = free_port()
    master_args = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    ui = WebUI(locustfile, base_url(target), tmp_path / "master.log", env=env, extra=master_args)
    with (tmp_path / "worker.log").open("w") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(locustfile), "--worker", "--master-host", "127.0.0.1",
             "--master-port", str(port)],
            env=clean_env(env), stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        ui.until(lambda: (ui.get("/stats/requests") or {}).get("workers") not in (None, []), "the worker")
        elsewhere = ui.swarm({**PLAN, "host": base_url(capture)})
        assert elsewhere["success"] is False
        assert "is not an origin the auth token may go to" in elsewhere["message"]
        time.sleep(2)
        assert len(capture.log) == 0
        assert ui.swarm(PLAN)["success"] is True
        ui.until(lambda: len(target.log) >= 3, "the worker's requests")
        ui.stop_run()
    finally:
        try:
            ui.stop()
            worker.wait(timeout=WAIT)  # told to quit by its master
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=WAIT)
    assert len(capture.log) == 0
    assert {request.headers.get("Authorization") for request, _ in target.log} == {"Bearer tok-1"}


def test_form_host_among_the_start_up_origins_gets_the_token(
    target: HTTPServer, capture: HTTPServer, tmp_path: Path
) -> None:
    """A host the start-up LOCUST_SCENARIO_AUTH_ORIGINS names may be entered in the form: the run goes
    there, with the token (the origins are fixed at start-up, not closed)."""
    env = {
        "LOCUST_SCENARIO_AUTH_TOKEN": "tok-1",
        "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/api/items"}]',
        "LOCUST_SCENARIO_AUTH_ORIGINS": base_url(capture),
    }
    ui = WebUI(endpoints_locustfile(tmp_path), base_url(target), tmp_path / "locust.log", env=env)
    try:
        assert ui.swarm({**PLAN, "host": base_url(capture)})["success"] is True
        ui.until(lambda: len(capture.log) >= 3, "requests to the form's host")
        ui.stop_run()
    finally:
        ui.stop()
    assert {request.headers.get("Authorization") for request, _ in capture.log} == {"Bearer tok-1"}
    assert len(target.log) == 0


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
    # Start-up settings are not offered; every help text says its default and no argparse escape leaks.
    for start_up in (
        "scenario_auth_token",
        "scenario_auth_origins",
        "scenario_summary",
        "scenario_endpoints",
        "scenario_record",
        "scenario_report",
        "scenario_record_log",
        "scenario_baseline_record",
    ):
        assert start_up not in options
    assert options["scenario_think_time"]["help_text"].endswith("(default: 1s)")
    assert options["scenario_trust_cpu"]["help_text"].endswith("(default: 90%)")
    assert options["scenario_users"]["help_text"].endswith("(default: the profile decides)")
    assert not [key for key, entry in options.items() if "%%" in entry["help_text"]]


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


def test_form_groups_list_every_form_field_once() -> None:
    """The form's groups hold exactly the settings the form offers (FORM_FIELDS), each once."""
    grouped = [field for _, fields in FORM_GROUPS for field in fields]
    assert sorted(grouped) == sorted(FORM_FIELDS)
    assert len(grouped) == len(set(grouped))


def test_token_scope_is_the_start_up_origins() -> None:
    """The token's scope: the start-up hosts and auth origins by origin (scheme, host, port with the
    default port explicit); any host without a token or with '*'; a refusal names what is allowed."""
    scope = TokenScope.at_start(True, ["http://127.0.0.1:8000/api", None, "https://a.example.com"], "http://b:81")
    assert scope.refusal("http://127.0.0.1:8000") is None
    assert scope.refusal("https://a.example.com:443/x") is None
    assert scope.refusal("http://b:81") is None
    assert scope.refusal("") is None  # no host in the form: the start-up host stays
    refusal = scope.refusal("http://127.0.0.1:8001")
    assert refusal is not None
    assert "'http://127.0.0.1:8001' is not an origin the auth token may go to" in refusal
    assert "http://127.0.0.1:8000/api, https://a.example.com, http://b:81" in refusal
    assert TokenScope.at_start(False, ["http://x"], None).refusal("http://elsewhere") is None
    assert TokenScope.at_start(True, ["http://x"], "*").refusal("http://elsewhere") is None
    assert TokenScope.at_start(True, [], None).refusal("http://x") is not None


def test_refused_fields_name_start_up_settings_by_their_variable() -> None:
    """Start-up settings are named with the variable that sets them, other names quoted; Locust's own
    fields, ours and other plugins' offered fields pass."""
    assert refused_fields(["host", "user_count", "scenario", "scenario_users", "plugin_opt"], ["plugin_opt"]) is None
    message = refused_fields(["scenario_summary", "prometheus_port", "x\r\ny"], [])
    assert message is not None
    assert "scenario_summary (LOCUST_SCENARIO_SUMMARY is set where Locust starts, not in the form)" in message
    assert "prometheus_port (LOCUST_PROMETHEUS_PORT is set where Locust starts" in message
    assert "'x\\r\\ny' (not a field of the form)" in message
    assert "\n" not in message
