"""Property-based tests of run records: any JSON input either loads as a record that every renderer
(HTML, Markdown, JUnit, compare) turns into writable output, or is refused with one line; never a
traceback. Each test gets as many examples as the parser property tests (``PATIENT``)."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from locust_scenarios._records.compare import compare
from locust_scenarios._records.report import render_html, render_junit, render_markdown
from locust_scenarios._records.validation import MAX_DEPTH, RecordError, check_record, parse_record
from tests.test_properties import PATIENT, _one_line
from tests.test_record_validation import real_record

COUNT_MAX = 2**53 - 1

# Text as request names, errors and thresholds can hold it: any code point (lone surrogates included),
# markup, table separators and brackets that look like nesting.
hostile_text = st.one_of(
    st.text(max_size=24),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=24),
    st.text(alphabet="<>&|[]{}\"'\\/`*_\x00\x01\x1b\r\n\t\u2028\ufffe\ud800\udfff é", max_size=24),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities included: Python's parser reads them
    hostile_text,
)


def _nested(scalars: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
        max_leaves=12,
    )


json_values = _nested(json_scalars)
finite_values = _nested(json_scalars.filter(lambda value: not (isinstance(value, float) and not math.isfinite(value))))


def _attempt(text: str) -> dict[str, Any] | None:
    """The checked record in ``text``, or ``None`` when it was refused with one line."""
    try:
        loaded = check_record(parse_record(text))
    except RecordError as refused:
        _one_line(str(refused))
        event("refused")
        return None
    event("loaded and rendered")
    return loaded


def _renders(record: dict[str, Any], other: dict[str, Any]) -> None:
    """Every renderer turns ``record`` into output that can be written: UTF-8 encodable, JUnit that XML
    parsers accept, Markdown without a tag from the data, a comparison with a one-line summary."""
    page = render_html(record)
    page.encode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    markdown = render_markdown(record)
    markdown.encode("utf-8")
    assert not re.search(r"<(?=[A-Za-z/!?])", markdown), "a tag reached the Markdown summary"
    junit = render_junit(record)
    suite = ET.fromstring(junit.encode("utf-8"))  # noqa: S314  (XML the renderer just made)
    assert suite.tag == "testsuite"
    for baseline, current in ((record, other), (other, record), (record, record)):
        comparison = compare(baseline, current)
        comparison.html().encode("utf-8")
        comparison.markdown().encode("utf-8")
        _one_line(comparison.summary())
        assert comparison.exit_code in (0, 3, 8)
    assert compare(record, record).comparable


@PATIENT
@given(json_values)
def test_any_json_document_loads_or_is_refused_in_one_line(document: object) -> None:
    """Any JSON value (NaN, huge integers and hostile text included) is a record or one line."""
    loaded = _attempt(json.dumps(document))
    if loaded is not None:
        _renders(loaded, real_record())


@PATIENT
@given(st.one_of(st.text(max_size=80), st.text(alphabet='[]{}",:0123456789 \\"', max_size=400)))
def test_any_text_loads_or_is_refused_in_one_line(text: str) -> None:
    """Any text, bracket soups deeper than the nesting bound included, is a record or one line."""
    _attempt(text)


def _mutate(data: st.DataObject, record: dict[str, Any]) -> object:
    """The record with one node replaced by any JSON value, removed, or given an unknown field."""
    parent: Any = None
    key: Any = None
    node: Any = record
    for _ in range(data.draw(st.integers(0, 6), label="depth")):
        if isinstance(node, dict) and node:
            choice = data.draw(st.sampled_from(sorted(node, key=str)), label="key")
        elif isinstance(node, list) and node:
            choice = data.draw(st.integers(0, len(node) - 1), label="index")
        else:
            break
        parent, key, node = node, choice, node[choice]
    action = data.draw(st.sampled_from(["replace", "remove", "add"]), label="action")
    if parent is None:
        return data.draw(json_values, label="document") if action == "replace" else record
    if action == "replace":
        parent[key] = data.draw(json_values, label="value")
    elif action == "remove":
        del parent[key]
    elif isinstance(node, dict):
        node[data.draw(hostile_text, label="field")] = data.draw(json_values, label="value")
    return record


@PATIENT
@given(st.data())
def test_a_damaged_real_record_loads_or_is_refused_in_one_line(data: st.DataObject) -> None:
    """The record of a real run with one node replaced, removed or added: if it still passes the
    checks, every renderer renders it; otherwise it is refused with one line."""
    damaged = _mutate(data, real_record())
    try:
        text = json.dumps(damaged)
    except (ValueError, TypeError):
        return
    loaded = _attempt(text)
    if loaded is not None:
        _renders(loaded, real_record())


# Records that pass every check, with hostile text and extreme numbers wherever the schema allows them.

counts = st.integers(0, COUNT_MAX)
small_counts = st.integers(0, 10**6)
seconds = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
optional_seconds = st.none() | seconds
numbers = st.floats(allow_nan=False, allow_infinity=False)
optional_text = st.none() | hostile_text
extras = st.dictionaries(hostile_text.filter(lambda key: key not in ("description", "reason", "detail")), finite_values)


@st.composite
def request_entries(draw: Callable[..., Any], methods: st.SearchStrategy[str | None]) -> dict[str, Any]:
    """One request's statistics: a distribution that adds up, failures within the requests."""
    times = draw(st.dictionaries(counts, st.integers(1, 10**9), max_size=6))
    timed = sum(times.values())
    requests = timed + draw(st.integers(0, 10**6))
    return {
        "method": draw(methods),
        "name": draw(hostile_text),
        "requests": requests,
        "failures": draw(st.integers(0, requests)),
        "fail_ratio": draw(st.none() | st.floats(0, 1)),
        "rps": draw(seconds),
        "timed": timed,
        "avg_seconds": draw(optional_seconds),
        "min_seconds": draw(optional_seconds),
        "max_seconds": draw(optional_seconds),
        "p50_seconds": draw(optional_seconds),
        "p90_seconds": draw(optional_seconds),
        "p95_seconds": draw(optional_seconds),
        "p99_seconds": draw(optional_seconds),
        "content_length_bytes": draw(counts),
        "total_response_time_ms": draw(seconds),
        "response_times": [[key, times[key]] for key in sorted(times)],
    }


thresholds = st.fixed_dictionaries(
    {
        "threshold": hostile_text,
        "aggregate": st.one_of(st.sampled_from(["p95", "fail_ratio", "rps", "requests", "avg"]), hostile_text),
        "operator": st.sampled_from(["<", "<=", ">", ">="]),
        "limit": numbers,
        "value": st.none() | numbers,
        "samples": counts,
        "passed": st.booleans(),
    },
    optional={
        "selector": optional_text,
        "note": hostile_text,
        "stage": optional_text,
        "window_seconds": st.none() | seconds,
        "measured": hostile_text,
    },
)
history_points = st.fixed_dictionaries(
    {
        "t": seconds,
        "planned": st.none() | seconds,
        "users": counts,
        "workers": counts,
        "rps": seconds,
        "failures_per_second": seconds,
        "p50_seconds": optional_seconds,
        "p95_seconds": optional_seconds,
        "stage": optional_text,
    }
)
scenarios = st.none() | st.fixed_dictionaries(
    {
        "name": hostile_text,
        "unit": st.sampled_from(["users", "iterations/s"]) | hostile_text,
        "peak": seconds,
        "duration_seconds": seconds,
        "points": st.lists(st.tuples(seconds, seconds).map(list), max_size=6),
    }
)
stages = st.fixed_dictionaries(
    {
        "name": hostile_text,
        "start_seconds": seconds,
        "end_seconds": seconds,
        "from": seconds,
        "to": seconds,
        "started": optional_text,
        "ended": optional_text,
    }
)
errors = st.fixed_dictionaries(
    {"method": optional_text, "name": optional_text, "error": hostile_text, "occurrences": st.integers(1, COUNT_MAX)}
)
verdicts = st.fixed_dictionaries(
    {
        "exit_code": st.none() | st.integers(0, 255),
        "passed": st.booleans(),
        "interrupted": st.booleans(),
        "aborted": optional_text,
        "thresholds": st.lists(thresholds, max_size=4),
        "inconclusive": st.lists(
            st.fixed_dictionaries({"reason": hostile_text}, optional={"detail": optional_text}), max_size=2
        ),
        "breach": st.none() | st.fixed_dictionaries({}, optional={"description": hostile_text}),
    }
)
generators = st.fixed_dictionaries(
    {
        "locust_version": hostile_text,
        "python_version": hostile_text,
        "mode": st.sampled_from(["local", "master"]),
        "workers": counts,
    },
    optional={
        "hostname": hostile_text,
        "cpu_count": st.none() | st.integers(1, 10**6),
        "expected_workers": st.none() | small_counts,
        "user_classes": st.lists(hostile_text, max_size=3),
        "host": optional_text,
        "processes": finite_values,
        "users": finite_values,
        "iterations": finite_values,
        "seconds_observed": finite_values,
    },
)


@st.composite
def valid_records(draw: Callable[..., Any]) -> dict[str, Any]:
    """A record that passes the schema and the semantic checks, with anything they allow."""
    return {
        "kind": "locust-scenarios/run-record",
        "schema_version": 1,
        "run_id": draw(optional_text),
        "tags": draw(st.dictionaries(hostile_text, hostile_text, max_size=3)),
        "started": draw(optional_text),
        "ended": draw(optional_text),
        "duration_seconds": draw(optional_seconds),
        "scenario": draw(scenarios),
        "stages": draw(st.lists(stages, max_size=3)),
        "requests": draw(st.lists(request_entries(optional_text), max_size=4)),
        "total": draw(request_entries(st.none())),
        "history": draw(st.lists(history_points, max_size=6)),
        "verdict": {**draw(verdicts), **draw(st.dictionaries(st.just("extra"), finite_values))},
        "errors": draw(st.lists(errors, max_size=3)),
        "generator": {**draw(extras), **draw(generators)},
    }


@PATIENT
@given(valid_records(), valid_records())
def test_every_renderer_renders_any_valid_record(record: dict[str, Any], other: dict[str, Any]) -> None:
    """Any record the checks accept (hostile names, extreme finite numbers, any extra facts) renders as
    HTML, Markdown and JUnit, and compares with any other, without an error."""
    checked = check_record(json.loads(json.dumps(record)))
    assert checked == json.loads(json.dumps(record))
    assert all(math.isfinite(entry["rps"]) for entry in checked["requests"])
    _renders(checked, check_record(json.loads(json.dumps(other))))


def test_the_strategies_reach_the_nesting_bound() -> None:
    """The bound the text tests probe is the one loading enforces (deeper is refused, not parsed)."""
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(RecordError, match=f"nested {MAX_DEPTH + 1} levels deep"):
        parse_record(deep)
    assert parse_record(deep[1:-1]) == json.loads(deep[1:-1])
