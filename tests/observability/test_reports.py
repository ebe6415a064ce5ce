"""Run records from real Locust runs, and what is derived from them: the HTML report rendered in
headless Chromium, JUnit XML, `compare` and baseline-relative thresholds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import matplotlib.image
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from locust_scenarios._records.record import schema
from tests.browser import dump_dom, screenshot
from tests.conftest import base_url

from .conftest import OBSERVED_PROFILE, LocustRun

pytestmark = pytest.mark.e2e

StartLocust = Callable[..., LocustRun]


class _Loads(HTMLParser):
    """Every reference in a page that a browser would fetch by itself (links to follow are fine)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("link", "iframe", "object", "embed", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name in ("src", "srcset", "poster", "data", "background") or (name == "href" and tag != "a"):
                self.found.append(f"<{tag} {name}={value}>")
            if name == "style" and value and "url(" in value:
                self.found.append(f"<{tag} style={value}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and ("url(" in data or "@import" in data):
            self.found.append("a stylesheet that loads a resource")


def external_loads(page: str) -> list[str]:
    """The resources a page would load (scripts, styles, images, fonts, frames)."""
    parser = _Loads()
    parser.feed(page)
    return parser.found


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``locust-scenarios ARGS`` as users run it."""
    return subprocess.run(
        [sys.executable, "-m", "locust_scenarios", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def headless(target: HTTPServer | str, *extra: str, users: int = 4, seconds: int = 4) -> list[str]:
    """Arguments of a short local headless run under the stages profile (``seconds`` at ``users``).

    A profile's clock starts with the users; ``-t`` counts from before the locustfile is imported,
    so on a loaded machine a short ``-t`` can end the run at once.
    """
    url = target if isinstance(target, str) else base_url(target)
    stages = f"1s:{users},{seconds}s:{users}"
    profile = ["--scenario", "stages", "--scenario-stages", stages]
    return ["-f", OBSERVED_PROFILE, "--headless", "-H", url, *profile, *extra]


def test_record_validates_and_its_report_renders_offline(
    flaky_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """A short headless run with --scenario-record writes a record that validates against the shipped
    schema, whose distributions and counts agree with Locust's own JSON, and whose history covers the
    run; `report` turns it into one HTML file that loads nothing and renders in headless Chromium
    (screenshot kept under the test's tmp path)."""
    record_path = tmp_path / "out" / "out.json"
    env = {"LOCUST_SCENARIO_TAGS": "environment=ci,team=shop", "GITHUB_SHA": "0123abcd"}
    args = headless(flaky_target, "--scenario-record", str(record_path), "--json-file", str(tmp_path / "locust"))
    run = start_locust([*args, "--scenario-thresholds", "p95<5s"], env)
    assert run.finish(90) == 0, run.output()[-3000:]
    record = json.loads(record_path.read_text())
    jsonschema.Draft202012Validator(schema()).validate(record)
    assert record["schema_version"] == 1
    assert record["tags"] == {"git_sha": "0123abcd", "environment": "ci", "team": "shop"}
    assert record["verdict"]["exit_code"] == 0
    assert record["verdict"]["thresholds"][0]["threshold"] == "p95<5s"
    locust_own = {(e["method"], e["name"]): e for e in json.loads((tmp_path / "locust.json").read_text())}
    for entry in record["requests"]:
        own = locust_own[(entry["method"], entry["name"])]
        assert entry["requests"] == own["num_requests"]
        assert entry["failures"] == own["num_failures"]
        assert {int(k): v for k, v in own["response_times"].items()} == dict(map(tuple, entry["response_times"]))
    assert any("503" in e["error"] and e["name"] == "/slow" for e in record["errors"]), record["errors"]
    assert len(record["history"]) >= 2
    assert max(point["users"] for point in record["history"]) == 4
    assert any(point["rps"] > 0 for point in record["history"])
    assert record["generator"]["mode"] == "local"

    page = tmp_path / "r.html"
    done = cli("report", str(record_path), "-o", str(page))
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert external_loads(text) == []
    assert "GET /slow" in text
    dom = dump_dom(page)
    assert dom.count("<polyline") >= 4
    assert "PASSED" in dom
    shot = screenshot(page, tmp_path / "report.png")
    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[1] == 1000
    assert pixels[..., :3].std() > 0.05, "the screenshot is blank"


def test_unwritable_record_path_exits_2_before_any_load(
    observed_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """A record path under a regular file cannot be written: exit 2 with one line naming the setting,
    and the target never sees a request."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = start_locust(headless(observed_target), {"LOCUST_SCENARIO_RECORD": str(blocker / "out.json")})
    assert run.finish(60) == 2, run.output()[-3000:]
    line = next(line for line in run.output().splitlines() if line.startswith("locust-scenarios:"))
    assert "LOCUST_SCENARIO_RECORD=" in line
    assert "--scenario-record" in line
    assert "cannot write there" in line
    assert len(observed_target.log) == 0


def test_junit_has_one_failing_case_per_failed_threshold(
    observed_target: HTTPServer, start_locust: StartLocust, tmp_path: Path
) -> None:
    """Three thresholds, two of which fail: exit 3, and the JUnit XML has three test cases of which
    exactly those two fail, each message naming the measured value and the limit. The Markdown
    summary shows the same verdict."""
    record_path = tmp_path / "failing.json"
    thresholds = "p95<1ms,[GET /slow]p99<2ms,fail_ratio<50%"
    args = headless(observed_target, "--scenario-record", str(record_path), "--scenario-thresholds", thresholds)
    run = start_locust(args)
    assert run.finish(90) == 3, run.output()[-3000:]
    junit = tmp_path / "junit.xml"
    assert cli("report", str(record_path), "--format", "junit", "-o", str(junit)).returncode == 0
    suite = ET.parse(junit).getroot()  # noqa: S314  (a file this test just wrote)
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["p95<1ms", "[GET /slow]p99<2ms", "fail_ratio<50%"]
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {"p95<1ms", "[GET /slow]p99<2ms"}
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "2"
    message = failed["p95<1ms"].get("message") or ""
    assert "measured " in message
    assert "limit < 1ms" in message
    markdown = cli("report", str(record_path), "--format", "markdown")
    assert markdown.returncode == 0
    assert "| p95<1ms |" in markdown.stdout
    assert "FAIL" in markdown.stdout


@pytest.fixture
def tunable_target() -> Iterator[tuple[HTTPServer, list[float]]]:
    """A threaded local target: / at once, /slow after the delay in the returned list (changeable)."""
    delay = [0.080]
    server = HTTPServer(host="127.0.0.1", threaded=True)

    def slow(_request: Request) -> Response:
        time.sleep(delay[0])
        return Response("slow")

    server.expect_request("/").respond_with_data("ok")
    server.expect_request("/slow").respond_with_handler(slow)
    server.start()
    try:
        yield server, delay
    finally:
        server.clear()
        server.stop()


def _record(start_locust: StartLocust, url: str, path: Path, *extra: str, code: int = 0) -> dict[str, Any]:
    """A 9 s run of 4 users (see ``headless``)."""
    run = start_locust(headless(url, "--scenario-record", str(path), *extra, users=4, seconds=8))
    assert run.finish(90) == code, run.output()[-3000:]
    loaded: dict[str, Any] = json.loads(path.read_text())
    slow = next(e for e in loaded["requests"] if e["name"] == "/slow")
    assert slow["requests"] >= 40, "too short a run to compare"
    return loaded


def test_compare_finds_the_endpoint_made_slower(
    tunable_target: tuple[HTTPServer, list[float]], start_locust: StartLocust, tmp_path: Path
) -> None:
    """`compare` of a record with itself exits 0; against a run whose /slow answers 30% later it exits 3
    and names GET /slow with its p50, also in the HTML diff. A baseline-relative threshold on the
    slower run fails the run itself with exit 3. (GET / is not asserted either way: on a shared machine
    its latency drifts between runs, which a comparison rightly reports.)"""
    server, delay = tunable_target
    url = base_url(server)
    baseline = tmp_path / "baseline.json"
    _record(start_locust, url, baseline)
    delay[0] = 0.104
    current = tmp_path / "current.json"
    _record(start_locust, url, current)

    same = cli("compare", str(baseline), str(baseline))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "no significant regression" in same.stderr

    slower = cli("compare", str(baseline), str(current))
    assert slower.returncode == 3, slower.stdout + slower.stderr
    summary = slower.stderr.strip().splitlines()[-1]
    assert "GET /slow (p50" in summary, summary
    row = next(line for line in slower.stdout.splitlines() if line.startswith("| GET /slow |"))
    assert "REGRESSED" in row
    assert "significant" in row
    diff = tmp_path / "diff.html"
    assert cli("compare", str(baseline), str(current), "--format", "html", "-o", str(diff)).returncode == 3
    assert "GET /slow" in diff.read_text()
    assert external_loads(diff.read_text()) == []

    judged = tmp_path / "judged.json"
    threshold = ("--scenario-thresholds", "[GET /slow]p50<baseline+10%", "--scenario-baseline-record", str(baseline))
    record = _record(start_locust, url, judged, *threshold, code=3)
    result = record["verdict"]["thresholds"][0]
    assert result["passed"] is False
    assert result["limit"] == pytest.approx(
        next(e for e in json.loads(baseline.read_text())["requests"] if e["name"] == "/slow")["p50_seconds"] * 1.1
    )


def test_baseline_threshold_passes_against_the_same_speed(
    tunable_target: tuple[HTTPServer, list[float]], start_locust: StartLocust, tmp_path: Path
) -> None:
    """Two runs against the same target: 'p95<baseline+10%' and 'fail_ratio<baseline+1%' hold (exit 0)."""
    server, _ = tunable_target
    url = base_url(server)
    baseline = tmp_path / "baseline.json"
    _record(start_locust, url, baseline)
    threshold = ("--scenario-thresholds", "p95<baseline+10%,fail_ratio<baseline+1%")
    record = _record(
        start_locust, url, tmp_path / "again.json", *threshold, "--scenario-baseline-record", str(baseline)
    )
    assert [r["passed"] for r in record["verdict"]["thresholds"]] == [True, True]


def test_baseline_threshold_without_a_baseline_exits_2(observed_target: HTTPServer, start_locust: StartLocust) -> None:
    """'p95<baseline+10%' with no baseline record is invalid configuration: exit 2 before any load."""
    run = start_locust(headless(observed_target, "--scenario-thresholds", "p95<baseline+10%"))
    assert run.finish(60) == 2, run.output()[-3000:]
    assert "--scenario-baseline-record" in run.output()
    assert len(observed_target.log) == 0
