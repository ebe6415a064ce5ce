"""W3C trace context for the user templates' requests (``LOCUST_SCENARIO_TRACE``).

With a ratio above 0, every request the templates send carries a ``traceparent`` header
(``00-<32 hex trace id>-<16 hex span id>-<flags>``) with a new trace id; the given share of them is
sampled (flags ``01``), the others are not (``00``), so the system under test traces what we trace. A
``traceparent`` the locustfile sets itself is kept, and so is its ``tracestate`` (passed through as
given). Sampled requests leave their trace id as an exemplar on the latency histogram; failed ones
log it, so that a slow or failed request leads to its trace.

With ``opentelemetry-api`` installed (the ``otel`` extra), a sampled request is also a client span
started through its API, as a child of the span current in the user's code if there is one: when an
OpenTelemetry SDK records it, the ``traceparent`` sent carries that span's trace id and span id, so
the system under test's spans hang under it. Without an SDK the API does nothing, and the header
keeps the ids drawn here.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import time
import weakref
from collections.abc import Mapping
from typing import Any, Final

from locust.env import Environment

from locust_scenarios._exemplars import EXEMPLARS, Exemplar

__all__ = ["TRACE_CONTEXT", "end_span", "listen", "span_for", "traced"]

logger = logging.getLogger("locust_scenarios.trace")

TRACE_CONTEXT: Final = "locust_scenarios_trace_id"
"""The key of a sampled request's trace id in the request's Locust context."""

_FAILURES_LOGGED: Final = 100
"""Failed requests logged with their trace id per process, then one line says the rest are not."""

_random = random.Random()  # trace ids need to be unique, not secret
os.register_at_fork(after_in_child=_random.seed)  # Locust's --processes forks: each child draws its own ids


def traced(headers: dict[str, str], ratio: float) -> tuple[dict[str, str], str | None]:
    """``headers`` with a new ``traceparent`` (unless one is given), and the trace id when sampled."""
    if ratio <= 0 or any(key.lower() == "traceparent" for key in headers):
        return headers, None
    bits = _random.getrandbits(192)
    trace_id = f"{bits >> 64:032x}"
    span_id = f"{(bits & (2**64 - 1)) or 1:016x}"
    if trace_id == "0" * 32:  # all zeros is not a valid trace id
        trace_id = f"{1:032x}"
    sampled = ratio >= 1 or _random.random() < ratio
    header = f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"
    return {**headers, "traceparent": header}, trace_id if sampled else None


@functools.cache
def _tracer() -> Any | None:
    """OpenTelemetry's tracer for our spans, or ``None`` without ``opentelemetry-api``."""
    try:
        from opentelemetry import trace  # noqa: PLC0415  (optional: the otel extra)
    except ImportError:
        return None
    return trace.get_tracer("locust_scenarios")


def span_for(
    headers: dict[str, str], trace_id: str | None, method: str, name: str
) -> tuple[dict[str, str], str | None, Any]:
    """For a sampled request, a client span through OpenTelemetry's API (``None`` without it) and the
    ``headers`` and trace id to send: the span's own when an SDK records it, so both are one trace."""
    tracer = _tracer() if trace_id is not None else None
    if tracer is None:
        return headers, trace_id, None
    from opentelemetry.trace import SpanKind  # noqa: PLC0415  (present: _tracer imported its package)

    span = tracer.start_span(f"{method} {name}", kind=SpanKind.CLIENT, attributes={"http.request.method": method})
    found = span.get_span_context()
    if not found.is_valid or not found.trace_flags.sampled:
        return headers, trace_id, span
    own = f"{found.trace_id:032x}"
    return {**headers, "traceparent": f"00-{own}-{found.span_id:016x}-01"}, own, span


def end_span(span: Any, status: int | None) -> None:
    """End a request's span with its response's status (0 or ``None``: no response; 400 on: an error)."""
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415  (present: the span exists)

    if status:
        span.set_attribute("http.response.status_code", status)
    if not status or status >= 400:
        span.set_status(Status(StatusCode.ERROR, f"status {status or 'none'}"))
    span.end()


class _Listener:
    """Keeps sampled requests' exemplars and logs failed ones' trace ids (one per environment)."""

    def __init__(self) -> None:
        self.failures = 0

    def __call__(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        exception: BaseException | None = None,
        context: Mapping[str, Any] | None = None,
        **_kwargs: Any,
    ) -> None:
        trace_id = context.get(TRACE_CONTEXT) if context else None
        if trace_id is None:
            return
        if exception is not None:
            self.failures += 1
            if self.failures <= _FAILURES_LOGGED:
                logger.info("failed %s %s (trace_id %s): %s", request_type, name, trace_id, exception)
            elif self.failures == _FAILURES_LOGGED + 1:
                logger.info("more failed requests: their trace ids are no longer logged")
        if response_time is not None:
            EXEMPLARS.keep(request_type, name, Exemplar(response_time / 1000, trace_id, time.time()))


_LISTENING: weakref.WeakSet[Environment] = weakref.WeakSet()
"""The environments whose requests are listened to (a request listener costs every request: only
added once a request was traced)."""


def listen(environment: Environment) -> None:
    """Listen to ``environment``'s requests for exemplars (once; when the first request is traced)."""
    if environment in _LISTENING:
        return
    _LISTENING.add(environment)
    environment.events.request.add_listener(_Listener())
