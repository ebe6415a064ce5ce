"""The parts of a self-contained HTML page: inline styles, tables and SVG line charts.

The report and the comparison are built from these. Pages load nothing from anywhere and open
offline; every text is escaped; a table wider than the page scrolls inside its own box, so the page
itself never gets wider than the window (long request names wrap).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Final

from locust_scenarios._files import encodable
from locust_scenarios._thresholds.grammar import format_value

__all__ = ["chart_svg", "page", "table"]

_COLOURS: Final = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df")
_STYLE: Final = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:20px 24px 40px;background:#fff}
h1,.meta,li,td:first-child,table.facts td{overflow-wrap:anywhere}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#59636e;font-size:13px}.meta span{margin-right:14px;display:inline-block}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:600;margin:12px 0;color:#fff}
.pass{background:#1a7f37}.fail{background:#d1242f}.other{background:#9a6700}
.notice{border-left:4px solid #9a6700;background:#fff8c5;padding:8px 12px;margin:8px 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:right;vertical-align:top}
td{font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left;min-width:12em}
table.facts td,table.facts th{text-align:left}table.facts td:first-child{min-width:9em;width:14em;color:#59636e}
th{background:#f6f8fa;font-weight:600}
td.bad{color:#d1242f;font-weight:600}td.good{color:#1a7f37}table.facts td:last-child{overflow-wrap:normal}
svg{display:block;margin:4px 0 10px;max-width:100%;height:auto}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#59636e}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle}
"""

_MAX_TICKS: Final = 12


def page(title: str, body: str) -> str:
    """A whole HTML document with the report's inline styles around ``body`` (UTF-8 encodable)."""
    return encodable(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body><main>\n{body}\n</main></body></html>\n"
    )


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    classes: Iterable[Sequence[str]] = (),
    *,
    kind: str = "",
) -> str:
    """An HTML table of text cells (escaped) in a box that scrolls sideways when it is too wide.

    ``classes`` gives CSS classes by row and cell (``bad``, ``good``); ``kind`` is the table's class
    (``facts`` for a two-column list of names and values).
    """
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
    attribute = f' class="{kind}"' if kind else ""
    return (
        f'<div class="scroll"><table{attribute}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _axis(peak: float) -> tuple[float, float]:
    """The step between grid lines and the top of a value axis that shows ``peak``."""
    if not peak > 0:
        return 1.0, 1.0
    step = float(_nice_step(peak))
    if not (step > 0 and math.isfinite(step)):
        return peak, peak
    top = step * math.ceil(peak / step)
    return (step, top) if math.isfinite(top) and top > 0 else (peak, peak)


def _ticks(end: float, step: float) -> list[float]:
    """``0, step, 2*step, ...`` up to ``end`` (a few more than ``end / step`` at most: never unbounded)."""
    count = min(int(end / step + 1e-9), _MAX_TICKS) if step > 0 and math.isfinite(end / step) else 0
    return [index * step for index in range(count + 1)]


def _tick_label(value: float, unit: str) -> str:
    if unit == "s":
        return format_value("latency", value)
    return f"{value:g}"


def chart_svg(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_end: float,
    unit: str = "",
    bands: Sequence[tuple[float, float, str]] = (),
    width: int = 1040,
    height: int = 210,
) -> str:
    """A line chart as inline SVG: ``series`` of ``(label, [(t, value)])``, shaded stage ``bands``."""
    left, right, top, bottom = 62, 12, 22, 26
    inner_w, inner_h = width - left - right, height - top - bottom
    values = [v for _, points in series for _, v in points if v is not None and math.isfinite(v)]
    step, y_max = _axis(max(values, default=0.0))
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
    for tick in _ticks(y_max, step):
        parts.append(
            f'<line x1="{left}" x2="{left + inner_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de"'
            ' stroke-width="0.6"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_tick_label(tick, unit)}</text>')
    for tick in _ticks(x_max, _nice_step(x_max, 8)):
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle">{tick:g}s</text>')
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
