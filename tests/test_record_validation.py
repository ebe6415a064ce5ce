"""Every run record is checked before anything reads it, and whatever a record holds, every writer
writes it: damaged records are one line and exit 2 naming the JSON path; request names with lone
surrogates, control characters or markup reach HTML, Markdown, JUnit and compare output intact."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from locust.env import Environment

from locust_scenarios import ScenarioSettings, SettingsError
from locust_scenarios._files import clear_leftovers, move_aside, write_text
from locust_scenarios._records.record import Recording, load_record, log_line, record_from_log
from locust_scenarios._records.report import render_markdown
from locust_scenarios._records.validation import MAX_DEPTH, check_record, schema
from tests.conftest import clean_env
from tests.records import record_of

REAL_RUN = Path(__file__).parent / "fixtures" / "records" / "real-run.json"
"""A record written by a real run: stages profile, three thresholds (two failed), an error, history."""

Damage = Callable[[dict[str, Any]], object]


def real_record() -> dict[str, Any]:
    """A fresh copy of the record of a real run."""
    loaded: dict[str, Any] = json.loads(REAL_RUN.read_text())
    return loaded


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``locust-scenarios ARGS`` as users run it."""
    return subprocess.run(
        [sys.executable, "-m", "locust_scenarios", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(env),
        check=False,
    )


def one_line(stderr: str) -> str:
    """The only line of ``stderr``; fails on a traceback or several lines."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_real_record_and_a_built_one_pass_the_checks() -> None:
    """The record of a real run and one built from Locust's statistics pass the schema and the
    semantic checks unchanged."""
    record = real_record()
    assert check_record(copy.deepcopy(record)) == record
    built = json.loads(json.dumps(record_of({("GET", "/a"): [1.0, 250.0]}, failures={("GET", "/a"): 1})))
    assert check_record(built) == built
    assert load_record(REAL_RUN)["run_id"] == record["run_id"]


def _set(path: tuple[str | int, ...], value: object) -> Damage:
    def damage(record: dict[str, Any]) -> object:
        target: Any = record
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        return record

    return damage


def _drop(*path: str | int) -> Damage:
    def damage(record: dict[str, Any]) -> object:
        target: Any = record
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
        return record

    return damage


DAMAGED: list[tuple[str, Damage, str]] = [
    ("a count as text", _set(("total", "requests"), "abc"), "$.total.requests: 'abc' is not of type 'integer'"),
    ("a missing field", _drop("verdict"), "$: 'verdict' is a required property"),
    ("a negative count", _set(("requests", 1, "failures"), -1), "$.requests[1].failures: -1 is less than the minimum"),
    ("NaN", _set(("duration_seconds",), float("nan")), "$.duration_seconds: nan is not a finite number"),
    ("infinity", _set(("history", 0, "rps"), float("inf")), "$.history[0].rps: inf is not a finite number"),
    ("an impossible exit code", _set(("verdict", "exit_code"), 999), "$.verdict.exit_code: 999 is greater than"),
    ("a list for an object", _set(("generator",), []), "$.generator: [] is not of type 'object'"),
    ("more failures than requests", _set(("total", "failures"), 10**6), "$.total.failures: 1000000 is more than"),
    ("a count beyond 2^53", _set(("total", "requests"), 2**60), "$.total.requests: 1152921504606846976 is greater"),
    ("a distribution out of order", _set(("requests", 0, "response_times"), [[5, 1], [2, 4]]), "increasing order"),
    ("a distribution that does not add up", _set(("requests", 0, "response_times"), [[2, 1]]), "counts 1 requests"),
    ("another kind", _set(("kind",), "something"), "not a locust-scenarios run record"),
    ("another version", _set(("schema_version",), 2), "schema version 2, this version reads 1"),
    ("not an object", lambda record: [record], "not a locust-scenarios run record"),
    ("a name that is not text", _set(("errors", 0, "name"), {"x": 1}), "$.errors[0].name: {'x': 1} is not of type"),
]


@pytest.mark.parametrize(("damage", "expected"), [(d, e) for _, d, e in DAMAGED], ids=[n for n, _, _ in DAMAGED])
def test_a_damaged_record_is_refused_in_one_line_naming_the_json_path(
    tmp_path: Path, damage: Damage, expected: str
) -> None:
    """Each kind of damage the issue found (wrong types, missing fields, negative counts, NaN, exit code
    999, lists for objects, counts that do not add up) is one SettingsError line with the file and path."""
    path = tmp_path / "record.json"
    path.write_text(json.dumps(damage(real_record())))
    with pytest.raises(SettingsError) as refused:
        load_record(path)
    message = str(refused.value)
    assert message.startswith(f"invalid run record {str(path)!r}: "), message
    assert expected in message
    assert "\n" not in message


def test_report_on_a_damaged_record_exits_2_with_one_line(tmp_path: Path) -> None:
    """`report` on a record whose total.requests is a string, or nested 100,000 levels deep, exits 2
    with one line naming the problem, before any renderer runs (and without a RecursionError)."""
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(_set(("total", "requests"), "abc")(real_record())))
    done = cli("report", str(wrong), "-o", str(tmp_path / "wrong.html"))
    assert done.returncode == 2
    assert one_line(done.stderr).endswith("wrong.json': $.total.requests: 'abc' is not of type 'integer'")
    assert not (tmp_path / "wrong.html").exists()

    deep = tmp_path / "deep.json"
    deep.write_text('{"kind": "locust-scenarios/run-record", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for command in (["report", str(deep)], ["compare", str(REAL_RUN), str(deep)]):
        done = cli(*command)
        assert done.returncode == 2, command
        assert f"nested 100001 levels deep; a run record has at most {MAX_DEPTH}" in one_line(done.stderr)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    """A request name full of brackets is text, not nesting: the record loads."""
    record = real_record()
    for entry in (*record["requests"], *record["errors"]):
        if entry["name"] == "/flaky":
            entry["name"] = '/flaky?q=[[[{{{"' + "[" * 200 + '\\"'
    path = tmp_path / "brackets.json"
    path.write_text(json.dumps(record))
    assert load_record(path)["requests"][2]["name"].endswith("[" * 200 + '\\"')


def test_a_damaged_baseline_is_refused_naming_the_setting(tmp_path: Path) -> None:
    """A baseline record that fails the checks stops the run before any load, naming the variable, the
    file and the JSON path."""
    path = tmp_path / "base.json"
    path.write_text(json.dumps(_set(("requests", 0, "requests"), -5)(real_record())))
    with pytest.raises(SettingsError) as refused:
        Recording.configure(ScenarioSettings(baseline_record=str(path)))
    message = str(refused.value)
    assert message.startswith(f"invalid setting LOCUST_SCENARIO_BASELINE_RECORD='{path}' (--scenario-baseline-record)")
    assert "$.requests[0].requests: -5 is less than the minimum of 0" in message


def test_a_damaged_record_in_a_log_is_one_line() -> None:
    """`fetch` reads records from a pod's log: a record there that fails the checks is one line."""
    line = log_line(_drop("total")(real_record()))  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match=r"^the run record in the log is damaged: \$: 'total' is a required"):
        record_from_log(f"[x] master/INFO/locust.stats_logger: {line}\n")
    with pytest.raises(SettingsError, match=r"^the run record in the log is damaged: "):
        record_from_log('{"event": "locust_scenarios.record", "encoding": "gzip+base64", "data": "bm90IGd6aXA="}')


def test_without_jsonschema_reading_a_record_says_how_to_install_it(tmp_path: Path) -> None:
    """Where jsonschema is not installed, `report` says in one line (exit 2) which extra brings it."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'jsonschema' or name.startswith('jsonschema.'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    done = cli("report", str(REAL_RUN), env={"PYTHONPATH": str(blocker)})
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert line.startswith("locust-scenarios: reading a run record needs jsonschema: ")
    assert "pip install 'locust-scenarios[records]'" in line


HOSTILE = "/a\ud800<b>x</b>|\x01\x1b[31m\r\n\u2028&amp;"
"""A request name with a lone surrogate, markup, a table separator, control characters and line breaks."""


def hostile_record() -> dict[str, Any]:
    """A record built from Locust's statistics with a hostile request name and a threshold holding \\x01."""
    threshold = f"[GET {HOSTILE}]p95<1ms\x01"
    results = [
        {"threshold": threshold, "aggregate": "p95", "operator": "<", "limit": 0.001, "value": 0.25,
         "samples": 3, "passed": False},
    ]  # fmt: skip
    return record_of({("GET", HOSTILE): [250.0] * 3, ("GET", "/plain"): [5.0] * 3}, thresholds=results, exit_code=3)


def test_junit_from_a_threshold_with_a_control_character_parses(tmp_path: Path) -> None:
    """`report --format junit` on a record whose threshold text holds \\x01 (and a request name holds a
    lone surrogate) writes XML that Python's parser accepts, with those characters shown as escapes."""
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile_record()))
    junit = tmp_path / "junit.xml"
    done = cli("report", str(path), "--format", "junit", "-o", str(junit))
    assert done.returncode == 0, done.stderr
    suite = ET.parse(junit).getroot()  # noqa: S314  (a file this test just wrote)
    (case,) = [c for c in suite.findall("testcase") if "p95<1ms" in (c.get("name") or "")]
    assert case.get("name") == "[GET /a\\ud800<b>x</b>|\\x01\\x1b[31m\r\n\u2028&amp;]p95<1ms\\x01"
    assert suite.get("failures") == "1"


def test_a_lone_surrogate_in_a_request_name_reaches_every_writer(tmp_path: Path) -> None:
    """The run's own writer (record and HTML report), `report` in every format and `compare` in both
    formats all write a record whose request name holds a lone surrogate: exit 0, the name shown with
    U+FFFD where the surrogate was, the record itself keeping it escaped."""
    environment = Environment()
    environment.stats.log_request("GET", HOSTILE, 5.0, 10)
    settings = ScenarioSettings(record=str(tmp_path / "run" / "r.json"), report=str(tmp_path / "run" / "r.html"))
    recording = Recording.configure(settings)
    recording.write(recording.build(environment, {"run_id": "surrogate", "exit_code": 0}))
    assert json.loads((tmp_path / "run" / "r.json").read_text())["requests"][0]["name"] == HOSTILE
    assert "/a\ufffd&lt;b&gt;" in (tmp_path / "run" / "r.html").read_text(encoding="utf-8")

    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile_record()))
    for extra in (["--format", "html"], ["--format", "markdown"], ["--format", "junit"]):
        done = cli("report", str(path), *extra)
        assert done.returncode == 0, done.stderr
        assert "/a\ufffd" in done.stdout or "/a\\ud800" in done.stdout
    for extra in (["--format", "html", "-o", str(tmp_path / "c.html")], ["-o", str(tmp_path / "c.md")], []):
        done = cli("compare", str(path), str(path), *extra)
        assert done.returncode == 0, done.stderr
    assert "/a\ufffd" in (tmp_path / "c.md").read_text(encoding="utf-8")


def test_markdown_escapes_html_from_request_names() -> None:
    """No tag from a request name survives into the Markdown summary (GitHub renders raw HTML);
    comparisons such as p95<1ms stay readable, and the table keeps its columns."""
    markdown = render_markdown(hostile_record())
    assert "<b>" not in markdown
    assert "</b>" not in markdown
    assert "&lt;b>x&lt;/b>" in markdown
    assert "p95<1ms" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| GET /a"))
    assert row.count(" | ") == 9, row


def test_a_failed_write_leaves_neither_a_temporary_file_nor_a_partial_target(tmp_path: Path) -> None:
    """A write whose rename fails (the target is a folder) removes its temporary file and leaves the
    target as it was; a successful one replaces the file whole, with a plain new file's permissions."""
    target = tmp_path / "report.html"
    target.mkdir()
    (target / "inside").write_text("kept")
    with pytest.raises(IsADirectoryError):
        write_text(target, "<html>new</html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert (target / "inside").read_text() == "kept"

    written = tmp_path / "record.json"
    written.write_text("old")
    write_text(written, "new \ud800")
    assert written.read_text(encoding="utf-8") == "new \ufffd"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json", "report.html"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask


def test_an_earlier_record_is_moved_aside_and_leftovers_cleared(tmp_path: Path) -> None:
    """Before a run writes its record, an earlier one at the path becomes NAME.previous.json and the
    temporary files of a killed write are removed; nothing to move is not an error."""
    record = tmp_path / "record.json"
    assert move_aside(record) is None
    record.write_text("earlier")
    (tmp_path / ".record.json.1a2b3c4d.tmp").write_text("half")
    clear_leftovers(record)
    assert move_aside(record) == tmp_path / "record.previous.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.previous.json"]
    assert (tmp_path / "record.previous.json").read_text() == "earlier"


def test_the_schema_states_the_bounds_the_checks_rely_on() -> None:
    """Counts are whole numbers from 0 to 2^53 - 1 and exit codes are 0 to 255, in the shipped schema."""
    shipped = schema()
    count = shipped["$defs"]["count"]
    assert (count["type"], count["minimum"], count["maximum"]) == ("integer", 0, 2**53 - 1)
    code = shipped["properties"]["verdict"]["properties"]["exit_code"]
    assert (code["minimum"], code["maximum"]) == (0, 255)
