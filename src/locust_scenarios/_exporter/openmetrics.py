"""The OpenMetrics exposition, with trace-id exemplars on the latency histogram's buckets.

Served instead of the Prometheus text format when a scrape asks for ``application/openmetrics-text``
(Prometheus does, first) and the run traces requests (``LOCUST_SCENARIO_TRACE`` above 0): exemplars
exist only in OpenMetrics, and Prometheus stores them with ``--enable-feature=exemplar-storage``.
The text format's output is rewritten, not rendered twice: counters' metadata lose ``_total``
(OpenMetrics names the family without it), each ``locust_request_duration_seconds_bucket`` line gets
the latest exemplar whose latency falls in that bucket, and ``# EOF`` ends the exposition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from locust_scenarios._exemplars import Exemplar

from .exposition import format_float

__all__ = ["OPENMETRICS_CONTENT_TYPE", "to_openmetrics", "wants_openmetrics"]

OPENMETRICS_CONTENT_TYPE: Final = "application/openmetrics-text; version=1.0.0; charset=utf-8"

_BUCKET = re.compile(r'^locust_request_duration_seconds_bucket\{(?P<labels>.*),le="(?P<le>[^"]+)"\} (?P<count>\S+)$')
_COUNTER_META = re.compile(r"^(# (?:HELP|TYPE) \S+)_total( .*)$")


def wants_openmetrics(accept: str | None) -> bool:
    """Whether an ``Accept`` header takes OpenMetrics (with a quality above zero)."""
    for part in (accept or "").split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        if media.lower() != "application/openmetrics-text":
            continue
        quality = next((p.split("=", 1)[1] for p in parameters if p.lower().startswith("q=")), "1")
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            continue
    return False


def _pick(exemplars: Iterable[Exemplar], low: float, high: float) -> Exemplar | None:
    """The latest exemplar with a latency in ``(low, high]``."""
    inside = [e for e in exemplars if low < e.seconds <= high]
    return max(inside, key=lambda e: e.timestamp) if inside else None


def to_openmetrics(text: bytes, exemplars: Mapping[str, Sequence[Exemplar]]) -> bytes:
    """``text`` (the Prometheus text format) as OpenMetrics, with ``exemplars`` by series labels."""
    lines = []
    previous: tuple[str, float] = ("", -math.inf)
    for line in text.decode().splitlines():
        meta = _COUNTER_META.match(line)
        if meta and line.startswith("# TYPE") and not line.endswith(" counter"):
            meta = None  # only counters are named without _total
        if meta:
            lines.append(meta.group(1) + meta.group(2))
            continue
        bucket = _BUCKET.match(line) if line.startswith("locust_request_duration_seconds_bucket") else None
        if bucket is None:
            lines.append(line)
            continue
        labels, le = bucket.group("labels"), bucket.group("le")
        high = math.inf if le == "+Inf" else float(le)
        low = previous[1] if previous[0] == labels else -math.inf
        previous = (labels, high)
        found = _pick(exemplars.get(labels, ()), low, high)
        if found is None:
            lines.append(line)
        else:
            lines.append(
                f'{line} # {{trace_id="{found.trace_id}"}} {format_float(found.seconds)} {found.timestamp:.3f}'
            )
    lines.append("# EOF")
    return ("\n".join(lines) + "\n").encode()
