"""Reports from run records: a self-contained HTML page, a Markdown summary and JUnit XML.

Every function here is a pure function of a record (a dict as ``record.build_record`` writes it, or
as ``record.load_record`` returns it once ``validation`` accepted it), so a report can be rebuilt
long after the run. The HTML page inlines its styles and draws its charts as SVG: it loads nothing
from anywhere and opens offline. Whatever a request name holds, the output can be written: HTML and
Markdown escape markup, JUnit XML leaves out what XML cannot carry, and every text is UTF-8 encodable.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from xml.etree import ElementTree as ET

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._files import encodable
from locust_scenarios._metrics import series_name
from locust_scenarios._thresholds.grammar import AGGREGATES, Kind, format_value

from .page import chart_svg, page, table

__all__ = [
    "describe_exit_code",
    "line_text",
    "markdown_text",
    "render_html",
    "render_junit",
    "render_markdown",
    "xml_text",
]


def describe_exit_code(code: int | None) -> str:
    """``0 — the run completed ...``, ``3 — a threshold failed ...``, ... for a record's exit code."""
    if code is None:
        return "unknown"
    try:
        return f"{code} — {ExitCode(code).meaning}"
    except ValueError:
        return f"{code} — not a locust-scenarios code (set by Locust's --exit-code-on-error or another plugin)"


def _outcome(record: Mapping[str, Any]) -> tuple[str, str]:
    """A one-word result and its CSS class."""
    verdict = record.get("verdict") or {}
    code = verdict.get("exit_code")
    words: dict[int, tuple[str, str]] = {
        ExitCode.PASSED: ("PASSED", "pass"),
        ExitCode.REQUEST_FAILED: ("REQUESTS FAILED", "fail"),
        ExitCode.THRESHOLD_FAILED: ("FAILED", "fail"),
        ExitCode.INTERRUPTED: ("INTERRUPTED", "other"),
        ExitCode.INCONCLUSIVE: ("INCONCLUSIVE", "other"),
        ExitCode.INVALID_CONFIG: ("INVALID", "other"),
    }
    return words.get(code, ("UNKNOWN", "other")) if isinstance(code, int) else ("UNKNOWN", "other")


def _reason(reason: Mapping[str, Any]) -> str:
    """``no_requests: no request completed during the run`` from an inconclusive reason."""
    detail = reason.get("detail")
    return f"{reason.get('reason')}: {detail}" if detail else str(reason.get("reason"))


def _kind(result: Mapping[str, Any]) -> Kind:
    aggregate = str(result.get("aggregate", ""))
    if aggregate == "promql":
        return "value"
    if "[metric=" in str(result.get("threshold", "")):
        metric_kinds: dict[str, Kind] = {"count": "count", "rate": "ratio"}
        return metric_kinds.get(aggregate, "value")
    return AGGREGATES.get(aggregate, "latency")


def _seconds(value: float | None) -> str:
    return format_value("latency", value)


def _rate(value: float | None) -> str:
    return format_value("rate", value)


def _ratio(value: float | None) -> str:
    return format_value("ratio", value)


# ---------------------------------------------------------------------------------------------------
# Charts


def _history(record: Mapping[str, Any], key: str) -> list[tuple[float, float]]:
    return [(float(p["t"]), float(p[key])) for p in record.get("history") or [] if p.get(key) is not None]


def _charts(record: Mapping[str, Any]) -> str:
    scenario = record.get("scenario") or {}
    history = record.get("history") or []
    end = max(
        [float(scenario.get("duration_seconds") or 0.0), *(float(p["t"]) for p in history)],
        default=0.0,
    )
    bands = [(float(s["start_seconds"]), float(s["end_seconds"]), str(s["name"])) for s in record.get("stages") or []]
    unit = str(scenario.get("unit") or "users")
    planned = [(float(t), float(v)) for t, v in scenario.get("points") or []]
    load: list[tuple[str, Sequence[tuple[float, float]]]] = [("users running", _history(record, "users"))]
    if planned:
        load.insert(0, (f"planned {unit}", planned))
    if unit != "users":
        load.append(("iterations/s (requests/s shown below)", []))
    return "".join(
        [
            chart_svg("Users: planned and running", load, x_end=end, bands=bands),
            chart_svg(
                "Throughput",
                [("requests/s", _history(record, "rps")), ("failures/s", _history(record, "failures_per_second"))],
                x_end=end,
                bands=bands,
            ),
            chart_svg(
                "Response time",
                [("p50", _history(record, "p50_seconds")), ("p95", _history(record, "p95_seconds"))],
                x_end=end,
                unit="s",
                bands=bands,
            ),
        ]
    )


# ---------------------------------------------------------------------------------------------------
# Tables and the HTML page


def _request_rows(record: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for entry in [*(record.get("requests") or []), record.get("total") or {}]:
        if not entry:
            continue
        name = f"{entry['method']} {entry['name']}" if entry.get("method") else f"{entry['name']} (all)"
        rows.append(
            [
                name,
                str(entry["requests"]),
                str(entry["failures"]),
                _ratio(entry.get("fail_ratio")),
                _rate(entry.get("rps")),
                _seconds(entry.get("avg_seconds")),
                _seconds(entry.get("p50_seconds")),
                _seconds(entry.get("p95_seconds")),
                _seconds(entry.get("p99_seconds")),
                _seconds(entry.get("max_seconds")),
            ]
        )
    return rows


_REQUEST_HEADER: Final = ("request", "requests", "failures", "fail %", "rps", "avg", "p50", "p95", "p99", "max")


def _threshold_rows(record: Mapping[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    rows, classes = [], []
    for result in (record.get("verdict") or {}).get("thresholds") or []:
        kind = _kind(result)
        value = format_value(kind, result.get("value")) if result.get("samples") else result.get("note", "no samples")
        rows.append(
            [
                str(result["threshold"]),
                value,
                f"{result['operator']} {format_value(kind, result.get('limit'))}",
                str(result.get("samples", 0)),
                "pass" if result["passed"] else "NOT JUDGED" if result.get("unjudged") else "FAIL",
            ]
        )
        classes.append(["", "", "", "", "good" if result["passed"] else "bad"])
    return rows, classes


def render_html(record: Mapping[str, Any]) -> str:
    """The run as one self-contained HTML page (inline CSS and SVG, nothing loaded from elsewhere)."""
    verdict = record.get("verdict") or {}
    word, css = _outcome(record)
    scenario = record.get("scenario") or {}
    title = f"{scenario.get('name') or 'Locust run'} — {record.get('run_id') or ''}"
    meta = [
        f"<span>started {html.escape(str(record.get('started') or '-'))}</span>",
        f"<span>duration {_seconds(record.get('duration_seconds'))}</span>",
    ]
    if scenario:
        meta.append(
            f"<span>profile {html.escape(str(scenario.get('name')))}: peak {scenario.get('peak', 0):g} "
            f"{html.escape(str(scenario.get('unit')))} over {_seconds(scenario.get('duration_seconds'))}</span>"
        )
    tags = record.get("tags") or {}
    tag_text = ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f'<div class="meta">{"".join(meta)}</div>',
        f'<div class="meta"><span>tags: {html.escape(tag_text or "none")}</span></div>',
        f'<div class="verdict {css}">{word} (exit code {html.escape(describe_exit_code(verdict.get("exit_code")))})'
        "</div>",
    ]
    notes = _notes(verdict)
    if notes:
        sections.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    sections.append("<h2>Load over time</h2>")
    sections.append(_charts(record))
    rows, classes = _threshold_rows(record)
    sections.append("<h2>Thresholds</h2>")
    sections.append(table(_THRESHOLD_HEADER, rows, classes) if rows else "<p>none configured</p>")
    sections.append("<h2>Requests</h2>")
    sections.append(table(_REQUEST_HEADER, _request_rows(record)))
    if record.get("populations"):
        sections.append("<h2>Populations</h2>")
        sections.append(table(_POPULATION_HEADER, _population_rows(record["populations"])))
    if record.get("custom_metrics"):
        sections.append("<h2>Custom metrics</h2>")
        sections.append(table(_CUSTOM_HEADER, _custom_rows(record["custom_metrics"])))
    sections.append("<h2>Errors</h2>")
    errors = _error_rows(record)
    sections.append(table(_ERROR_HEADER, errors) if errors else "<p>none</p>")
    if record.get("stages"):
        sections.append("<h2>Stages</h2>")
        sections.append(
            table(
                ("stage", "from", "to", "start", "end"),
                [
                    [
                        s["name"] or "-",
                        f"{s['from']:g}",
                        f"{s['to']:g}",
                        _seconds(s["start_seconds"]),
                        _seconds(s["end_seconds"]),
                    ]
                    for s in record["stages"]
                ],
            )
        )
    sections.append("<h2>Load generator</h2>")
    sections.append(_generator(record.get("generator") or {}))
    return page(title, "\n".join(sections))


_POPULATION_HEADER: Final = ("population", "requests", "failures", "fail ratio", "rps", "avg", "p50", "p95", "p99")


def _population_rows(populations: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per population: its requests, failures, rate and latencies."""
    return [
        [
            str(row["name"]),
            str(row["requests"]),
            str(row["failures"]),
            format_value("ratio", row.get("fail_ratio")),
            format_value("rate", row.get("rps")),
            *(format_value("latency", row.get(key)) for key in ("avg", "p50", "p95", "p99")),
        ]
        for row in populations
    ]


_CUSTOM_HEADER: Final = ("metric", "kind", "count", "avg", "p50", "p95", "p99", "max", "rate", "value")


def _custom_rows(metrics: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per custom metric (all its label sets together), then one per label set, named as PromQL
    selects it (``checkout{region="eu"}``): durations for trends in seconds, plain numbers otherwise."""
    rows = []
    for metric in metrics:
        kind: Kind = "latency" if metric.get("unit") == "s" else "value"
        for name, found in (
            (str(metric["name"]), metric),
            *((series_name(str(metric["name"]), s.get("labels") or {}), s) for s in metric.get("label_sets") or []),
        ):
            figures = [format_value(kind, found.get(key)) for key in ("avg", "p50", "p95", "p99", "max")]
            rate, value = found.get("rate"), found.get("value")
            rows.append(
                [
                    name,
                    str(metric["kind"]),
                    str(found["count"]),
                    *figures,
                    _ratio(rate) if rate is not None else "-",
                    format_value("value", value),
                ]
            )
        if metric.get("refused"):
            rows.append(
                [f"{metric['name']} (refused: beyond the label set bound)", "", str(metric["refused"])] + ["-"] * 7
            )
    return rows


def _notes(verdict: Mapping[str, Any]) -> list[str]:
    """What the verdict says besides the exit code: abort, interruption, inconclusive reasons, breach."""
    notes = []
    if verdict.get("aborted"):
        notes.append(f"aborted during the run: {verdict['aborted']}")
    if verdict.get("interrupted"):
        notes.append("interrupted before the profile completed")
    for reason in verdict.get("inconclusive") or []:
        notes.append(f"inconclusive: {_reason(reason)}")
    breach = verdict.get("breach")
    if breach:
        notes.append(f"breakpoint: {_plain(breach.get('description'))}")
    return notes


def _error_rows(record: Mapping[str, Any]) -> list[list[str]]:
    return [
        [e["error"], f"{e.get('method') or ''} {e.get('name') or ''}".strip(), str(e["occurrences"])]
        for e in record.get("errors") or []
    ]


_THRESHOLD_HEADER: Final = ("threshold", "value", "limit", "samples", "result")
_ERROR_HEADER: Final = ("error", "request", "occurrences")


# ---------------------------------------------------------------------------------------------------
# The load generator's facts, as people read them


_FACTS: Final = {
    "mode": "mode",
    "host": "target host",
    "workers": "workers (most connected)",
    "expected_workers": "workers expected",
    "user_classes": "user classes",
    "requests": "requests seen",
    "seconds_observed": "observed for",
    "users": "users",
    "iterations": "iterations (open model)",
    "worker_loss": "worker loss",
    "locust_version": "Locust",
    "python_version": "Python",
    "hostname": "machine",
    "cpu_count": "CPUs",
}
"""The generator's facts in the order shown, with their labels; other facts follow by name."""

_LABELS: Final = {
    **_FACTS,
    "name": "process",
    "cpu": "CPU (last)",
    "cpu_mean": "CPU mean",
    "cpu_max": "CPU max",
    "saturated_share": "saturated",
    "cpu_high_share": "CPU above the warning limit",
    "lagging_share": "event loop late",
    "loop_lag_mean_seconds": "event loop lag (mean)",
    "loop_lag_max_seconds": "event loop lag (max)",
    "heartbeat_age_seconds": "heartbeat age",
    "longest_unreplaced_seconds": "longest unreplaced",
    "late_or_dropped_share": "late or dropped",
}

_RATIO_KEYS: Final = re.compile(r"^cpu(_mean|_max)?$|_share$|tracking_error$")


def _label(key: str) -> str:
    return _LABELS.get(key, key.replace("_", " "))


def _fact(key: str, value: Any) -> str:
    """One value in words: seconds and shares with their unit, lists joined, tables as ``name value``."""
    if isinstance(value, list):
        return ", ".join(_fact(key, item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{_label(str(k))} {_fact(str(k), v)}" for k, v in value.items()) or "none"
    if value is None or isinstance(value, bool):
        return {None: "-", True: "yes", False: "no"}[value]
    return _number_fact(key, value) if isinstance(value, int | float) else str(value)


def _number_fact(key: str, value: float) -> str:
    """A number with the unit its name implies: ``..._seconds`` a duration, ``cpu...``/``..._share`` a share."""
    if key.endswith("seconds") or key.startswith("seconds"):
        return _seconds(value) if value else "0s"
    if _RATIO_KEYS.search(key):
        return _ratio(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plain(value: Any) -> str:
    return _fact("", value)


def _generator(generator: Mapping[str, Any]) -> str:
    """The generator's facts as a two-column table, and its processes as a table of their own."""
    processes = _processes(generator.get("processes"))
    keys = [k for k in _FACTS if k in generator] + sorted(k for k in generator if k not in _FACTS)
    rows = [
        [_label(key), _fact(key, generator[key])]
        for key in keys
        if generator[key] is not None
        and not (key == "processes" and processes)
        and not (key == "iterations" and _closed_model(generator[key]))
    ]
    parts = [table(("fact", "value"), rows, kind="facts")]
    if processes:
        columns = list(dict.fromkeys(str(k) for p in processes for k in p))
        parts.append(table([_label(c) for c in columns], [[_fact(c, p.get(c)) for c in columns] for p in processes]))
    return "".join(parts)


def _processes(value: Any) -> list[dict[str, Any]]:
    """The generator's processes, when they are a list of tables (one row each)."""
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        return value
    return []


def _closed_model(iterations: Any) -> bool:
    """Whether the iteration figures belong to a closed-model run (all zero: not worth a row)."""
    return isinstance(iterations, dict) and iterations.get("open_model") is False


# ---------------------------------------------------------------------------------------------------
# Markdown and JUnit


_TAG_START: Final = re.compile(r"<(?=[A-Za-z/!?])")


def markdown_text(text: str) -> str:
    """``text`` safe in a Markdown line, on one line: every ``<`` that could open an HTML tag, comment or
    autolink is written ``&lt;`` (Markdown renderers pass raw HTML through); ``p95<500ms`` stays as it is."""
    return " ".join(_TAG_START.sub("&lt;", encodable(text)).splitlines())


def _cell(text: str) -> str:
    return markdown_text(text).replace("|", "\\|")


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(record: Mapping[str, Any]) -> str:
    """A Markdown summary of the run (for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment)."""
    verdict = record.get("verdict") or {}
    word, _ = _outcome(record)
    scenario = record.get("scenario") or {}
    name, run_id = str(scenario.get("name") or "Locust run"), str(record.get("run_id") or "-")
    lines = [
        markdown_text(f"### Load test {word.lower()}: {name} (run {run_id})"),
        "",
        f"Exit code {describe_exit_code(verdict.get('exit_code'))}; "
        f"duration {_seconds(record.get('duration_seconds'))}.",
    ]
    lines += [f"- {markdown_text(note)}" for note in _notes(verdict)]
    rows, _ = _threshold_rows(record)
    if rows:
        lines += ["", "**Thresholds**", "", *_markdown_table(_THRESHOLD_HEADER, rows)]
    lines += ["", "**Requests**", "", *_markdown_table(_REQUEST_HEADER, _request_rows(record))]
    errors = _error_rows(record)
    if errors:
        lines += ["", "**Errors**", "", *_markdown_table(_ERROR_HEADER, errors[:20])]
    return "\n".join(lines) + "\n"


def line_text(text: str, limit: int) -> str:
    """``text`` as one line for a terminal: every character that is not printable (line breaks, escape
    sequences, lone surrogates) written as its escape (``\\x1b``), cut to ``limit`` characters."""
    shown = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
    return shown if len(shown) <= limit else f"{shown[: limit - 1]}…"


_NOT_XML: Final = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with each character XML 1.0 cannot carry (control characters, lone surrogates,
    U+FFFE/U+FFFF) written as its escape (``\\x01``), so that any XML parser accepts the document."""
    return _NOT_XML.sub(lambda found: ascii(found[0])[1:-1], text)


def render_junit(record: Mapping[str, Any]) -> str:
    """JUnit XML: one test case per threshold; a failed one says the measured value and the limit.

    A run without thresholds gets one test case for its exit code, so CI still shows the outcome.
    """
    verdict = record.get("verdict") or {}
    results = verdict.get("thresholds") or []
    suite_name = f"locust-scenarios {(record.get('scenario') or {}).get('name') or 'run'}"
    suite = ET.Element("testsuite", name=xml_text(suite_name), timestamp=xml_text(str(record.get("started") or "")))
    failures = 0
    for result in results:
        kind = _kind(result)
        case = ET.SubElement(suite, "testcase", classname="thresholds", name=xml_text(str(result["threshold"])))
        if result["passed"]:
            continue
        failures += 1
        if result.get("samples"):
            message = (
                f"{result['threshold']}: measured {format_value(kind, result.get('value'))}, "
                f"limit {result['operator']} {format_value(kind, result.get('limit'))} "
                f"({result.get('samples')} samples)"
            )
        else:
            message = f"{result['threshold']}: {result.get('note') or 'no samples'}"
        failure = ET.SubElement(case, "failure", message=xml_text(message), type="threshold")
        failure.text = xml_text(message)
    code = verdict.get("exit_code")
    if not results or code not in (ExitCode.PASSED, ExitCode.THRESHOLD_FAILED):
        case = ET.SubElement(suite, "testcase", classname="run", name="exit code")
        if code not in (ExitCode.PASSED, None) and not (results and code == ExitCode.THRESHOLD_FAILED):
            failures += 1
            message = xml_text(f"exit code {describe_exit_code(code)}")
            ET.SubElement(case, "failure", message=message, type="run").text = message
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("time", f"{float(record.get('duration_seconds') or 0.0):.3f}")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
