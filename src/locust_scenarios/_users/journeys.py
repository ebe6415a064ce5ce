"""Running journeys: one iteration of the config-driven user is one flow, step by step.

Each user keeps what lasts its life (the captures and data rows of its ``on_start`` flows, its index)
and starts every iteration from that: a flow picked by weight draws a row from each data file it
reads, then sends its steps in order. A step's request is checked (status, latency budget, checks)
and its captures saved; a failed step ends the iteration, so no later step goes out with a value that
was never captured. A ``unique`` data file that has run out stops the user (``stop_run`` also ends
the run, ``recycle`` never runs out). The ``on_start`` flows run before the first iteration's flow,
and again before the next one until they succeed.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
import time
import uuid
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import User
from locust.env import Environment
from locust.exception import StopUser

from locust_scenarios._metrics import REGISTRY, Definition
from locust_scenarios._settings.errors import SettingsError

from .calls import _trace_ratio
from .captures import CaptureError, JsonBody
from .feeders import DataExhaustedError, Feeder
from .flowfile import FlowPlan, JourneyPlan, StepPlan
from .sharing import feeders_for
from .templating import RenderError, Template, _text, render_body
from .tracing import TRACE_CONTEXT, end_span, listen, span_for, traced

__all__ = ["JourneyError", "connect", "duration_metric", "run_iteration", "step_order"]

_INDEXES: weakref.WeakKeyDictionary[Environment, itertools.count[int]] = weakref.WeakKeyDictionary()
_RUN_IDS: weakref.WeakKeyDictionary[Environment, str] = weakref.WeakKeyDictionary()
_FEEDERS: weakref.WeakKeyDictionary[Environment, dict[int, dict[str, Feeder]]] = weakref.WeakKeyDictionary()
_ORDER: weakref.WeakKeyDictionary[Environment, list[str]] = weakref.WeakKeyDictionary()


class JourneyError(Exception):
    """A step could not be sent (a value that cannot go where its template puts it)."""


def duration_metric(flow_name: str) -> str:
    """The custom trend that records how long a flow's completed journeys took: ``journey_<name>``."""
    return "journey_" + re.sub(r"[^a-zA-Z0-9_]", "_", flow_name)


def _declare_durations(plan: JourneyPlan) -> None:
    for flow in (*plan.on_start, *plan.flows):
        name = duration_metric(flow.name)
        try:
            REGISTRY.declare(Definition(name, "trend", "s", f"seconds a completed {flow.name!r} journey took"))
        except ValueError as error:
            raise SettingsError.invalid("endpoints", flow.name, f"flow {flow.name!r}: {error}") from None


def connect(environment: Environment, plan: JourneyPlan) -> dict[str, Feeder]:
    """The plan's data files for this process (on a master: the allocator of ``unique`` rows), once;
    each flow's duration trend declared (``journey_<name>``, judged as ``[metric=journey_<name>]p95<2s``)."""
    by_plan = _FEEDERS.setdefault(environment, {})
    feeders = by_plan.get(id(plan))
    if feeders is None:
        _declare_durations(plan)
        feeders = by_plan[id(plan)] = feeders_for(environment, plan.data)
        order = _ORDER.setdefault(environment, [])
        order += [name for name in plan.step_names() if name not in order]
    return feeders


def step_order(environment: Environment) -> dict[str, int]:
    """The statistics names of the journeys' steps in journey order (``on_start`` flows first), by position."""
    return {name: position for position, name in enumerate(_ORDER.get(environment, ()))}


def _run_id(environment: Environment) -> str:
    run_id = _RUN_IDS.get(environment)
    if run_id is None:
        given = getattr(environment.parsed_options, "prometheus_run_id", None)
        run_id = _RUN_IDS[environment] = str(given or uuid.uuid4().hex[:12])
    return run_id


class _UserState:
    """What one user keeps between iterations."""

    __slots__ = ("drawn", "feeders", "iteration", "keys", "lasting", "started")

    def __init__(self, user: User, plan: JourneyPlan) -> None:
        environment = user.environment
        index = next(_INDEXES.setdefault(environment, itertools.count()))
        self.lasting: dict[str, Any] = {**plan.env, "user_index": index, "run_id": _run_id(environment)}
        self.feeders = connect(environment, plan)
        self.keys = {name: [(f"{name}.{column}", column) for column in feeder.source.columns]
                     for name, feeder in self.feeders.items()}  # fmt: skip
        self.iteration = 0
        self.started = not plan.on_start
        self.drawn: frozenset[str] = frozenset()  # data files whose on_start row lasts the user's life


def _pick(plan: JourneyPlan) -> FlowPlan:
    flows = plan.flows
    if len(flows) == 1:
        return flows[0]
    index = bisect.bisect_right(plan.cumulative, random.random() * plan.cumulative[-1])
    return flows[min(index, len(flows) - 1)]


def run_iteration(user: Any, plan: JourneyPlan, auth: Mapping[str, str]) -> None:
    """One iteration of ``user``: the ``on_start`` flows if they have not succeeded yet, then one flow."""
    state: _UserState | None = user.__dict__.get("_journey_state")
    if state is None:
        state = user.__dict__["_journey_state"] = _UserState(user, plan)
    state.iteration += 1
    trace = _trace_ratio(user)  # the share of requests that carry a sampled traceparent (tracing)
    if not state.started:
        scope = {**state.lasting, "iteration": state.iteration}
        drawn: set[str] = set()
        for flow in plan.on_start:
            if not _run_flow(user, flow, scope, state, drawn, auth=auth, trace=trace):
                return
        state.lasting.update(scope)
        del state.lasting["iteration"]
        state.drawn = frozenset(drawn)
        state.started = True
    scope = {**state.lasting, "iteration": state.iteration}
    _run_flow(user, _pick(plan), scope, state, set(state.drawn), auth=auth, trace=trace)


def _draw(user: Any, flow: FlowPlan, scope: dict[str, Any], state: _UserState, drawn: set[str]) -> bool:
    """A row of each data file the flow reads (unless one lasts from ``on_start``) into ``scope``."""
    for name in flow.data:
        if name in drawn:
            continue
        feeder = state.feeders[name]
        try:
            row = feeder.next_row()
            for key, column in state.keys[name]:
                scope[key] = row[column]
        except DataExhaustedError:
            raise StopUser() from None
        except KeyError as missing:  # a JSON Lines row without a column of the first row
            _report(user, flow.steps[0], f"{feeder.source.path.name}: a row has no {missing}")
            return False
        except ValueError as error:  # a malformed row: the iteration stops, reported once
            _report(user, flow.steps[0], str(error))
            return False
        drawn.add(name)
    return True


def _run_flow(
    user: Any,
    flow: FlowPlan,
    scope: dict[str, Any],
    state: _UserState,
    drawn: set[str],
    *,
    auth: Mapping[str, str],
    trace: float,
) -> bool:
    if flow.data and not _draw(user, flow, scope, state, drawn):
        return False
    started = time.perf_counter()
    for step in flow.steps:
        if step.for_each is not None:
            values = scope[step.for_each]
            if not isinstance(values, list):
                _report(user, step, f"for_each {step.for_each}: expected a list, got {type(values).__name__}")
                return False
            for value in values:
                scope[step.each] = value
                if not _run_step(user, step, scope, auth, trace):
                    return False
            continue
        for _ in range(step.repeat):
            if not _run_step(user, step, scope, auth, trace):
                return False
    REGISTRY.observe(duration_metric(flow.name), time.perf_counter() - started)
    return True


def _report(user: Any, step: StepPlan, message: str) -> None:
    """A step that could not be sent, reported as a failed request under the step's name."""
    user.environment.events.request.fire(
        request_type=step.method,
        name=step.label or step.path.source,
        response_time=0,
        response_length=0,
        response=None,
        context={},
        exception=JourneyError(message),
    )


def _run_step(user: Any, step: StepPlan, scope: dict[str, Any], auth: Mapping[str, str], trace: float) -> bool:
    """Send one request of a step, judge it, save its captures; False ends the iteration."""
    try:
        url = step.path.render(scope, "path")
        if step.query:
            pairs = [
                (key, value.render(scope) if isinstance(value, Template) else _text(value)) for key, value in step.query
            ]
            url += ("&" if "?" in url else "?") + urlencode(pairs)
        if url.startswith(("http://", "https://")):
            auth = user.auth_headers(url)
        headers = auth
        if step.headers:
            headers = dict(auth)
            for name, template in step.headers:
                headers[name] = template.render(scope, "header")
        body = render_body(step.body, scope)
    except RenderError as error:
        _report(user, step, str(error))
        return False
    context: dict[str, Any] = {}
    span = None
    if trace > 0:
        headers, trace_id = traced(dict(headers), trace)
        headers, trace_id, span = span_for(headers, trace_id, step.method, step.label or url)
        if trace_id is not None:
            listen(user.environment)
            context = {TRACE_CONTEXT: trace_id}
    status = None
    try:
        with user.client.request(
            step.method, url, name=step.label, catch_response=True, headers=headers, json=body, context=context
        ) as response:
            status = response.status_code
            ok = _judge(response, step, scope)
    finally:
        end_span(span, status)
    if step.think:
        gevent.sleep(step.think)
    return ok


def _judge(response: Any, step: StepPlan, scope: dict[str, Any]) -> bool:
    status = response.status_code or 0
    meta = response.request_meta
    if status == 0 and meta.get("exception") is not None:
        return False  # no response: Locust reports the connection error itself
    if status not in step.expected:
        expected = " or ".join(str(code) for code in step.expected)
        response.failure(f"expected status {expected}, got {status}")
        return False
    if step.budget is not None and meta.get("response_time", 0.0) > step.budget * 1000:
        from locust_scenarios._settings.options import format_duration  # noqa: PLC0415  (rare)

        response.failure(f"slower than the {format_duration(step.budget)} latency budget")
        return False
    if step.checks or step.captures:
        body = JsonBody(response.content)
        try:
            for check in step.checks:
                check.verify(response, body)
            for capture in step.captures:
                scope[capture.name] = capture.take(response, body)
        except CaptureError as error:
            response.failure(str(error))
            return False
    response.success()
    return True
