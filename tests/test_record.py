"""Run records built from Locust's statistics, their settings, and the reports and comparisons derived
from them, without running load (requests are logged into Locust's own statistics objects)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from locust.env import Environment
from locust.stats import RequestStats

from locust_scenarios import ScenarioSettings, SettingsError
from locust_scenarios._records.compare import compare
from locust_scenarios._records.record import (
    Recording,
    baseline_samples,
    load_record,
    log_line,
    parse_tags,
    record_from_log,
    schema,
)
from locust_scenarios._records.report import render_html, render_junit, render_markdown
from locust_scenarios._settings.redaction import REDACTED, install_redaction
from locust_scenarios._thresholds.grammar import parse
from locust_scenarios._thresholds.judging import evaluate
from locust_scenarios._thresholds.measure import with_baseline
from tests.records import lognormal_times, record_of


def test_record_validates_and_keeps_the_whole_distribution() -> None:
    """A record validates against the shipped schema; each request keeps Locust's rounded
    distribution, whose counts add up to the requests, and the percentiles Locust reports."""
    record = record_of({("GET", "/a"): [1.0, 5.0, 5.0, 120.0, 1234.0], ("POST", "/b"): [30.0] * 4})
    jsonschema.Draft202012Validator(schema()).validate(record)
    entry = next(e for e in record["requests"] if e["name"] == "/a")
    assert entry["response_times"] == [[1, 1], [5, 2], [120, 1], [1200, 1]]
    assert entry["p50_seconds"] == 0.005
    assert record["total"]["requests"] == 9
    assert record["total"]["method"] is None


def test_tags_are_key_value_pairs() -> None:
    """Tags parse as key=value separated by commas; a part without '=' is refused naming the setting."""
    assert parse_tags(" environment=staging , team=shop,empty= ") == {
        "environment": "staging",
        "team": "shop",
        "empty": "",
    }
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_TAGS='env' \(--scenario-tags\).*key=value"):
        parse_tags("env")


def test_record_path_under_a_file_is_refused(tmp_path: Path) -> None:
    """A record or report path that cannot be created is invalid configuration, naming the setting."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_REPORT=.*\(--scenario-report\): cannot write there"):
        Recording.configure(ScenarioSettings(report=str(blocker / "r.html")))
    with pytest.raises(SettingsError, match=r"is a folder"):
        Recording.configure(ScenarioSettings(record=str(tmp_path)))
    made = Recording.configure(ScenarioSettings(record=str(tmp_path / "new" / "deeper" / "r.json")))
    assert made.active
    assert (tmp_path / "new" / "deeper").is_dir()


def test_loading_refuses_what_is_not_a_record(tmp_path: Path) -> None:
    """Reading a missing file, non-JSON, another JSON document or another schema version fails with
    a message that says which."""
    path = tmp_path / "r.json"
    with pytest.raises(SettingsError, match="cannot read it"):
        load_record(path)
    path.write_text("{")
    with pytest.raises(SettingsError, match="not JSON"):
        load_record(path)
    path.write_text("{}")
    with pytest.raises(SettingsError, match="not a locust-scenarios run record"):
        load_record(path)
    path.write_text(json.dumps({**record_of({("GET", "/"): [1.0]}), "schema_version": 99}))
    with pytest.raises(SettingsError, match="schema version 99"):
        load_record(path)


def test_the_log_line_carries_the_whole_record() -> None:
    """The compressed log line decodes to the very record, found among other log lines."""
    record = record_of({("GET", "/a"): lognormal_times(1, 300, 20.0)})
    log = f"[x] master/INFO/locust.main: starting\n[y] master/INFO/locust.stats_logger: {log_line(record)}\n[z] bye\n"
    assert record_from_log(log) == json.loads(json.dumps(record))
    assert record_from_log("nothing here\n") is None


def test_junit_and_markdown_from_a_failed_run() -> None:
    """JUnit has one test case per threshold and a failure for each failed one with the measured value
    and limit; a threshold without samples fails with its note. Markdown shows the same table."""
    thresholds = [
        {"threshold": "p95<100ms", "aggregate": "p95", "operator": "<", "limit": 0.1, "value": 0.25, "samples": 9,
         "passed": False},
        {"threshold": "rps>1", "aggregate": "rps", "operator": ">", "limit": 1.0, "value": 3.0, "samples": 9,
         "passed": True},
        {"threshold": "[GET /x]p99<1s", "selector": "GET /x", "aggregate": "p99", "operator": "<", "limit": 1.0,
         "value": None, "samples": 0, "passed": False, "note": "no request named 'GET /x'"},
    ]  # fmt: skip
    record = record_of({("GET", "/a"): [250.0] * 9}, thresholds=thresholds, exit_code=3)
    suite = ET.fromstring(render_junit(record).split("\n", 1)[1])  # noqa: S314  (XML this test just made)
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["p95<100ms", "rps>1", "[GET /x]p99<1s"]
    messages = [c.find("failure").get("message") for c in cases if c.find("failure") is not None]  # type: ignore[union-attr]
    assert messages == [
        "p95<100ms: measured 250ms, limit < 100ms (9 samples)",
        "[GET /x]p99<1s: no request named 'GET /x'",
    ]
    assert suite.get("failures") == "2"
    markdown = render_markdown(record)
    assert "| p95<100ms | 250ms | 100ms | 9 | FAIL |" in markdown
    assert "Exit code 3 — a threshold failed" in markdown


def test_junit_without_thresholds_reports_the_exit_code() -> None:
    """A run without thresholds gets one test case for its exit code: failing for code 1, passing for 0."""
    failed = ET.fromstring(render_junit(record_of({("GET", "/a"): [1.0]}, exit_code=1)).split("\n", 1)[1])  # noqa: S314
    assert failed.get("failures") == "1"
    passed = ET.fromstring(render_junit(record_of({("GET", "/a"): [1.0]})).split("\n", 1)[1])  # noqa: S314
    assert passed.get("failures") == "0"
    assert passed.get("tests") == "1"


def test_html_report_escapes_names() -> None:
    """Request names and errors are escaped in the page, never interpreted as markup."""
    page = render_html(record_of({("GET", "/<script>alert(1)</script>"): [1.0]}))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_compare_names_the_slower_request() -> None:
    """Two records of the same two endpoints, one 30% slower in the second: only it regresses (exit 3);
    a record against itself passes (exit 0)."""
    baseline = record_of(
        {("GET", "/fast"): lognormal_times(1, 800, 10.0), ("GET", "/slow"): lognormal_times(2, 800, 50.0)}
    )
    current = record_of(
        {("GET", "/fast"): lognormal_times(3, 800, 10.0), ("GET", "/slow"): lognormal_times(4, 800, 65.0)}
    )
    assert compare(baseline, baseline).exit_code == 0
    result = compare(baseline, current)
    assert result.exit_code == 3
    assert [r.label for r in result.regressions] == ["GET /slow", "all requests"]
    assert "GET /slow (p50, p95" in result.summary()
    assert "GET /fast" not in result.summary()


def test_compare_lists_requests_of_one_side_only() -> None:
    """A request only in one of the runs is listed, not judged."""
    result = compare(record_of({("GET", "/old"): [1.0] * 30}), record_of({("GET", "/new"): [1.0] * 30}))
    assert result.only_baseline == ("GET /old",)
    assert result.only_current == ("GET /new",)
    assert "only in the baseline: GET /old" in result.markdown()


def _stats(times: list[float], failures: int = 0) -> RequestStats:
    stats = RequestStats()
    for index, milliseconds in enumerate(times):
        stats.log_request("GET", "/a", milliseconds, 10)
        if index < failures:
            stats.log_error("GET", "/a", "boom")
    return stats


def test_baseline_threshold_limit_and_significance() -> None:
    """'p95<baseline+10%' takes its limit from the baseline's p95; a rise beyond it that is only noise
    passes with a note, a clear 30% rise fails; 'fail_ratio<baseline+1%' adds one point."""
    baseline = record_of({("GET", "/a"): lognormal_times(1, 2000, 40.0)}, failures={("GET", "/a"): 20})
    criteria = with_baseline(parse("p95<baseline+10%,fail_ratio<baseline+1%"), baseline_samples(baseline))
    p95 = next(e for e in baseline["requests"])["p95_seconds"]
    assert criteria[0].limit == pytest.approx(p95 * 1.1)
    assert criteria[1].limit == pytest.approx(0.01 + 0.01)
    same = evaluate(criteria, _stats(lognormal_times(2, 2000, 40.0), failures=20))
    assert [r.passed for r in same] == [True, True]
    slower = evaluate(criteria, _stats(lognormal_times(3, 2000, 52.0), failures=20))
    assert [r.passed for r in slower] == [False, True]
    noisy = evaluate(criteria[:1], _stats([p95 * 1000 * 1.2] * 10))
    assert noisy[0].passed
    assert "not significantly" in noisy[0].note


def test_baseline_threshold_needs_a_baseline_with_those_requests() -> None:
    """Without a baseline, or with one lacking the selected requests, a relative threshold is refused;
    the breakpoint's stop criteria do not accept relative limits at all."""
    with pytest.raises(SettingsError, match="--scenario-baseline-record"):
        with_baseline(parse("p95<baseline+10%"), None)
    baseline = record_of({("GET", "/a"): [1.0] * 5})
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_BASELINE_RECORD=.*no requests named 'GET /b'"):
        with_baseline(parse("[GET /b]p95<baseline"), baseline_samples(baseline), "base.json")
    with pytest.raises(SettingsError, match="allowed in thresholds only"):
        parse("p95<baseline+10%", setting="stop_on")


def test_secrets_never_reach_the_record_the_report_or_the_log_line(tmp_path: Path) -> None:
    """An auth token quoted in an error message is redacted in the record file, the HTML report and the
    compressed log line, as in every other log line."""
    token = "tok-5f2c-record-test"  # noqa: S105  (a made-up token for this test)
    install_redaction(ScenarioSettings(auth_token=token))
    environment = Environment()
    environment.stats.log_request("GET", "/me", 5.0, 10)
    environment.stats.log_error("GET", "/me", f"401 for 'Bearer {token}'")
    settings = ScenarioSettings(record=str(tmp_path / "r.json"), report=str(tmp_path / "r.html"), record_log=True)
    record = Recording.configure(settings).finish(environment, {"run_id": "secret-test"})
    assert record is not None
    assert token not in json.dumps(record)
    assert REDACTED in (tmp_path / "r.json").read_text()
    assert token not in (tmp_path / "r.html").read_text()
    assert token not in json.dumps(record_from_log(log_line(record)))


def test_inconclusive_runs_say_why() -> None:
    """An inconclusive run (exit 5) shows as such with each reason and detail in HTML and Markdown,
    and fails the JUnit exit-code case."""
    reasons = [{"reason": "no_requests", "detail": "no request completed during the run"}]
    record = record_of({("GET", "/a"): [1.0]}, exit_code=5, inconclusive=reasons)
    jsonschema.Draft202012Validator(schema()).validate(record)
    assert "INCONCLUSIVE" in render_html(record)
    assert "inconclusive: no_requests: no request completed during the run" in render_markdown(record)
    suite = ET.fromstring(render_junit(record).split("\n", 1)[1])  # noqa: S314  (XML this test just made)
    assert suite.get("failures") == "1"
