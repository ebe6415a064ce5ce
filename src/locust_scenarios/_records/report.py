"""Reports from run records: a self-contained HTML page, a Markdown summary and JUnit XML.

Every function here is a pure function of a record (a dict as ``record.build_record`` writes it), so
a report can be rebuilt long after the run. The HTML page inlines its styles and draws its charts as
SVG: it loads nothing from anywhere and opens offline.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from xml.etree import ElementTree as ET

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._thresholds.grammar import AGGREGATES, Kind, format_value

__all__ = ["chart_svg", "describe_exit_code", "page", "render_html", "render_junit", "render_markdown"]

_COLOURS: Final = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df")
_STYLE: Final = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1000px;margin:0 auto;padding:20px 24px 40px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#59636e;font-size:13px}.meta span{margin-right:14px}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:600;margin:12px 0;color:#fff}
.pass{background:#1a7f37}.fail{background:#d1242f}.other{background:#9a6700}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal}
th{background:#f6f8fa;font-weight:600}
td.bad{color:#d1242f;font-weight:600}td.good{color:#1a7f37}
svg{display:block;margin:4px 0 10px;max-width:100%;height:auto}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#59636e}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle}
"""


def describe_exit_code(code: int | None) -> str:
    """``0 passed``, ``3 threshold failed``, ... for a record's exit code."""
    if code is None:
        return "unknown"
    try:
        return f"{code} — {ExitCode(code).meaning}"
    except ValueError:
        return str(code)


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
    return AGGREGATES.get(aggregate, "latency")


def _seconds(value: float | None) -> str:
    return format_value("latency", value)


def _rate(value: float | None) -> str:
    return format_value("rate", value)


def _ratio(value: float | None) -> str:
    return format_value("ratio", value)


# ---------------------------------------------------------------------------------------------------
# SVG charts


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _tick_label(value: float, unit: str) -> str:
    if unit == "s":
        return _seconds(value)
    return f"{value:g}"


def chart_svg(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_end: float,
    unit: str = "",
    bands: Sequence[tuple[float, float, str]] = (),
    width: int = 940,
    height: int = 210,
) -> str:
    """A line chart as inline SVG: ``series`` of ``(label, [(t, value)])``, shaded stage ``bands``."""
    left, right, top, bottom = 62, 12, 22, 26
    inner_w, inner_h = width - left - right, height - top - bottom
    values = [v for _, points in series for _, v in points if v is not None and math.isfinite(v)]
    peak = max(values, default=0.0)
    step = _nice_step(peak) if peak > 0 else 1.0
    y_max = step * math.ceil(peak / step) if peak > 0 else 1.0
    x_max = x_end if x_end > 0 else 1.0

    def x(t: float) -> float:
        return left + inner_w * min(max(t / x_max, 0.0), 1.0)

    def y(v: float) -> float:
        return top + inner_h * (1 - min(max(v / y_max, 0.0), 1.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="14" style="font-weight:600;fill:#1f2328">{html.escape(title)}</text>',
    ]
    for index, (start, end, name) in enumerate(bands):
        shade = "#eef3fb" if index % 2 == 0 else "#f8fafc"
        parts.append(
            f'<rect x="{x(start):.1f}" y="{top}" width="{max(x(end) - x(start), 0):.1f}" height="{inner_h}"'
            f' fill="{shade}"><title>{html.escape(name)}</title></rect>'
        )
        if x(end) - x(start) > 40 and name:
            parts.append(f'<text x="{x(start) + 3:.1f}" y="{top + 11}">{html.escape(name[:18])}</text>')
    tick = 0.0
    while tick <= y_max + 1e-9:
        parts.append(
            f'<line x1="{left}" x2="{left + inner_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de"'
            ' stroke-width="0.6"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_tick_label(tick, unit)}</text>')
        tick += step
    x_step = _nice_step(x_max, 8)
    tick = 0.0
    while tick <= x_max + 1e-9:
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle">{tick:g}s</text>')
        tick += x_step
    parts.append(
        f'<rect x="{left}" y="{top}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#8c959f"'
        ' stroke-width="0.8"/>'
    )
    for index, (label, points) in enumerate(series):
        kept = [(t, v) for t, v in points if v is not None and math.isfinite(v)]
        if not kept:
            continue
        colour = _COLOURS[index % len(_COLOURS)]
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in kept)
        dash = ' stroke-dasharray="6 4"' if label.startswith("planned") else ""
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}>'
            f"<title>{html.escape(label)}</title></polyline>"
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{_COLOURS[i % len(_COLOURS)]}"></i>{html.escape(label)}</span>'
        for i, (label, _) in enumerate(series)
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


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
# HTML


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], classes: Iterable[Sequence[str]] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    class_rows = list(classes)
    for index, row in enumerate(rows):
        marks = class_rows[index] if index < len(class_rows) else ()
        cells = "".join(
            f'<td class="{marks[i]}">{html.escape(c)}</td>'
            if i < len(marks) and marks[i]
            else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


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
                format_value(kind, result.get("limit")),
                str(result.get("samples", 0)),
                "pass" if result["passed"] else "FAIL",
            ]
        )
        classes.append(["", "", "", "", "good" if result["passed"] else "bad"])
    return rows, classes


def page(title: str, body: str) -> str:
    """A whole HTML document with the report's inline styles around ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body><main>\n{body}\n</main></body></html>\n"
    )


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
        f'<div class="verdict {css}">{word} (exit code {describe_exit_code(verdict.get("exit_code"))})</div>',
    ]
    notes = []
    if verdict.get("aborted"):
        notes.append(f"aborted during the run: {verdict['aborted']}")
    if verdict.get("interrupted"):
        notes.append("interrupted before the profile completed")
    for reason in verdict.get("inconclusive") or []:
        notes.append(f"inconclusive: {_reason(reason)}")
    breach = verdict.get("breach")
    if breach:
        notes.append(f"breakpoint: {breach.get('description')}")
    if notes:
        sections.append("<ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>")
    sections.append("<h2>Load over time</h2>")
    sections.append(_charts(record))
    rows, classes = _threshold_rows(record)
    sections.append("<h2>Thresholds</h2>")
    sections.append(
        _table(("threshold", "value", "limit", "samples", "result"), rows, classes)
        if rows
        else "<p>none configured</p>"
    )
    sections.append("<h2>Requests</h2>")
    sections.append(_table(_REQUEST_HEADER, _request_rows(record)))
    sections.append("<h2>Errors</h2>")
    errors = record.get("errors") or []
    sections.append(
        _table(
            ("error", "request", "occurrences"),
            [
                [e["error"], f"{e.get('method') or ''} {e.get('name') or ''}".strip(), str(e["occurrences"])]
                for e in errors
            ],
        )
        if errors
        else "<p>none</p>"
    )
    if record.get("stages"):
        sections.append("<h2>Stages</h2>")
        sections.append(
            _table(
                ("stage", "from", "to", "start", "end"),
                [
                    [
                        s["name"] or "-",
                        f"{s['from']:g}",
                        f"{s['to']:g}",
                        f"{s['start_seconds']:g}s",
                        f"{s['end_seconds']:g}s",
                    ]
                    for s in record["stages"]
                ],
            )
        )
    generator = record.get("generator") or {}
    sections.append("<h2>Load generator</h2>")
    sections.append(_table(("fact", "value"), [[str(k), str(v)] for k, v in sorted(generator.items())]))
    return page(title, "\n".join(sections))


# ---------------------------------------------------------------------------------------------------
# Markdown and JUnit


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(record: Mapping[str, Any]) -> str:
    """A Markdown summary of the run (for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment)."""
    verdict = record.get("verdict") or {}
    word, _ = _outcome(record)
    scenario = record.get("scenario") or {}
    lines = [
        f"### Load test {word.lower()}: {scenario.get('name') or 'Locust run'} (run {record.get('run_id') or '-'})",
        "",
        f"Exit code {describe_exit_code(verdict.get('exit_code'))}; "
        f"duration {_seconds(record.get('duration_seconds'))}.",
    ]
    for reason in verdict.get("inconclusive") or []:
        lines.append(f"- inconclusive: {_reason(reason)}")
    if verdict.get("aborted"):
        lines.append(f"- aborted during the run: {verdict['aborted']}")
    rows, _ = _threshold_rows(record)
    if rows:
        lines += [
            "",
            "**Thresholds**",
            "",
            *_markdown_table(("threshold", "value", "limit", "samples", "result"), rows),
        ]
    lines += ["", "**Requests**", "", *_markdown_table(_REQUEST_HEADER, _request_rows(record))]
    errors = record.get("errors") or []
    if errors:
        lines += ["", "**Errors**", ""]
        lines += _markdown_table(
            ("error", "request", "occurrences"),
            [
                [e["error"], f"{e.get('method') or ''} {e.get('name') or ''}".strip(), str(e["occurrences"])]
                for e in errors[:20]
            ],
        )
    return "\n".join(lines) + "\n"


def render_junit(record: Mapping[str, Any]) -> str:
    """JUnit XML: one test case per threshold; a failed one says the measured value and the limit.

    A run without thresholds gets one test case for its exit code, so CI still shows the outcome.
    """
    verdict = record.get("verdict") or {}
    results = verdict.get("thresholds") or []
    suite_name = f"locust-scenarios {(record.get('scenario') or {}).get('name') or 'run'}"
    suite = ET.Element("testsuite", name=suite_name, timestamp=str(record.get("started") or ""))
    failures = 0
    for result in results:
        kind = _kind(result)
        case = ET.SubElement(suite, "testcase", classname="thresholds", name=str(result["threshold"]))
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
        failure = ET.SubElement(case, "failure", message=message, type="threshold")
        failure.text = message
    code = verdict.get("exit_code")
    if not results or code not in (ExitCode.PASSED, ExitCode.THRESHOLD_FAILED):
        case = ET.SubElement(suite, "testcase", classname="run", name="exit code")
        if code not in (ExitCode.PASSED, None) and not (results and code == ExitCode.THRESHOLD_FAILED):
            failures += 1
            message = f"exit code {describe_exit_code(code)}"
            ET.SubElement(case, "failure", message=message, type="run").text = message
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("time", f"{float(record.get('duration_seconds') or 0.0):.3f}")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
