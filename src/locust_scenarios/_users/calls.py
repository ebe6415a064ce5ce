"""One request of a user template: sent, checked and reported once, with the checks' messages.

``Call`` is what a ``with self.call(...) as call:`` block sees; a failed check, a failed ``assert`` or
another error in the block fails the request with its message. ``Picker`` turns the config-driven
user's endpoints into ready-to-send requests picked by weight.
"""

from __future__ import annotations

import bisect
import functools
import json as jsonlib
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from locust import FastHttpUser
from locust.contrib.fasthttp import ResponseContextManager
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopTest, StopUser

from locust_scenarios._settings.context import scenario_settings
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import format_duration, parse_duration
from locust_scenarios._settings.redaction import redact

from .tracing import TRACE_CONTEXT, end_span, listen, span_for, traced

if TYPE_CHECKING:
    from .endpoints import EndpointTable
    from .flowfile import JourneyPlan

__all__ = ["Call", "CallBlock", "Picker", "Request", "judge", "seconds", "send"]


# -- checks -----------------------------------------------------------------------------------------


class _CheckFailedError(Exception):
    """A check failed: the request is reported as failed with this message."""


class _TransportFailedError(Exception):
    """The request got no response: Locust reports its own error, checks are moot."""


_MISSING: Any = object()
_PATH_PART = re.compile(r"[^.\[\]]+")


def _json_path(path: str) -> list[str | int]:
    """``items[0].name`` / ``items.0.name`` / ``$.items[0].name`` as lookup keys."""
    keys: list[str | int] = []
    for part in _PATH_PART.findall(path.removeprefix("$")):
        keys.append(int(part) if part.lstrip("-").isdigit() else part)
    return keys


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _status_text(codes: tuple[int, ...] | None) -> str:
    if codes is None:
        return "a 2xx status"
    return "status " + " or ".join(str(code) for code in codes)


class Call:
    """One request of ``RestUser.call``: the response plus checks that fail the request.

    A failed check stops the ``with`` block (like ``assert``) and reports the request as failed with
    the check's message; the expected status is checked first, so a 500 reads "expected status 200,
    got 500" rather than "response is not JSON".
    """

    def __init__(
        self, response: ResponseContextManager, expected: tuple[int, ...] | None, budget: float | None
    ) -> None:
        self.response = response
        """Locust's response object (``status_code``, ``headers``, ``text``, ``content``)."""
        self.expected = expected
        self.budget = budget
        self._json: Any = _MISSING

    @property
    def status(self) -> int:
        """The HTTP status code (0 when no response arrived)."""
        return int(self.response.status_code or 0)

    @property
    def elapsed(self) -> float:
        """Seconds from sending the request to reading the whole response."""
        return float(self.response.request_meta.get("response_time", 0.0)) / 1000

    @property
    def text(self) -> str:
        """The response body as text."""
        return self.response.text or ""

    @property
    def json(self) -> Any:
        """The parsed JSON body; a body that is not JSON fails the request."""
        self._check_status()
        if self._json is _MISSING:
            try:
                self._json = jsonlib.loads(self.response.content or b"")
            except ValueError:
                self.fail("response is not JSON")
        return self._json

    def fail(self, message: str) -> NoReturn:
        """Report the request as failed with ``message`` and leave the ``with`` block."""
        raise _CheckFailedError(message)

    def expect(self, condition: object, message: str) -> None:
        """Fail with ``message`` unless ``condition`` holds."""
        if not condition:
            self.fail(message)

    def expect_status(self, *codes: int) -> None:
        """The status must be one of ``codes`` (this replaces the expectation given to ``call``)."""
        self.expected = tuple(codes) or None
        self._check_status()

    def expect_json(self, path: str, expected: Any = _MISSING) -> Any:
        """The JSON value at ``path`` (``items[0].id``) must exist and match; returns it.

        ``expected`` is a value (compared with ``==``), a type (``isinstance``), or a predicate
        (a callable that must return true). Without ``expected`` the value only has to exist.
        """
        value = self.json
        for key in _json_path(path):
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                self.fail(f"JSON {path}: missing")
        if expected is _MISSING:
            return value
        if isinstance(expected, type):
            if not isinstance(value, expected):
                self.fail(f"JSON {path}: expected {expected.__name__}, got {type(value).__name__}")
        elif callable(expected):
            if not expected(value):
                check = getattr(expected, "__name__", "check")
                self.fail(f"JSON {path}: {check} failed for {_short(value)}")
        elif value != expected:
            self.fail(f"JSON {path}: expected {_short(expected)}, got {_short(value)}")
        return value

    def _check_status(self) -> None:
        exception = self.response.request_meta.get("exception")
        if self.status == 0 and exception is not None:
            raise _TransportFailedError(str(exception))
        ok = 200 <= self.status < 300 if self.expected is None else self.status in self.expected
        if not ok:
            self.fail(f"expected {_status_text(self.expected)}, got {self.status}")

    def _finish(self) -> None:
        """The checks that always run when the block ends: status, then the latency budget."""
        self._check_status()
        if self.budget is not None and self.elapsed > self.budget:
            self.fail(f"slower than the {format_duration(self.budget)} latency budget")


_CONTROL_FLOW = (StopUser, StopTest, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet)
"""Locust's exceptions that steer a user rather than report an error."""


def _settle(call: Call, response: ResponseContextManager) -> None:
    """Report the request by the always-run checks (status, budget)."""
    try:
        call._finish()
    except _TransportFailedError:
        return
    except _CheckFailedError as failed:
        response.failure(str(failed))
    else:
        response.success()


class CallBlock:
    """The ``with`` block of ``RestUser.call``: sends on entry, judges and reports once on exit.

    A plain class rather than a generator context manager: this runs for every request.
    """

    __slots__ = ("_call", "_request", "_response", "_user")

    def __init__(self, user: FastHttpUser, request: Request) -> None:
        self._user = user
        self._request = request

    def __enter__(self) -> Call:
        request = self._request
        response = send(self._user, request)
        self._response = response.__enter__()
        self._call = Call(response, request.expected, request.budget)
        return self._call

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> bool:
        response, call = self._response, self._call
        handled = True  # the block's exception is dealt with here and does not propagate
        if kind is None:
            _settle(call, response)
        elif issubclass(kind, _TransportFailedError):
            pass  # Locust reports the connection error itself
        elif issubclass(kind, _CheckFailedError):
            response.failure(str(error))
        elif issubclass(kind, AssertionError):
            detail = str(error).split("\n", 1)[0]
            response.failure(f"assertion failed: {detail}" if detail else "assertion failed")
        elif issubclass(kind, _CONTROL_FLOW):
            _settle(call, response)  # the task asked to stop or reschedule: report by the checks
            handled = False
        elif issubclass(kind, Exception):
            response.failure(redact(f"{kind.__name__}: {error}"))
            handled = False
        else:
            handled = False  # GreenletExit, KeyboardInterrupt: leave at once
        if handled:
            response.__exit__(None, None, None)
            return True
        response.__exit__(kind, error, trace)
        return False


@dataclass(slots=True)
class Request:
    """One request as sent: everything resolved before the request goes out."""

    method: str
    url: str
    name: str | None
    headers: dict[str, str]
    expected: tuple[int, ...] | None
    budget: float | None
    body: Any = None
    data: str | None = None


def send(user: FastHttpUser, request: Request, trace: float | None = None) -> ResponseContextManager:
    """Send a request with ``catch_response``: the caller judges it and Locust reports it once.

    With ``LOCUST_SCENARIO_TRACE`` above 0 (``trace``, when the caller has the settings at hand) it
    carries a W3C ``traceparent`` (see ``tracing``).
    """
    headers = request.headers
    context: dict[str, Any] = {}
    span = None
    ratio = _trace_ratio(user) if trace is None else trace
    if ratio > 0:
        headers, trace_id = traced(headers, ratio)
        headers, trace_id, span = span_for(headers, trace_id, request.method, request.name or request.url)
        if trace_id is not None:
            listen(user.environment)
            context = {TRACE_CONTEXT: trace_id}
    response = None
    try:
        response = user.client.request(
            request.method,
            request.url,
            name=request.name,
            catch_response=True,
            headers=headers,
            json=request.body,
            data=request.data,
            context=context,
        )
    finally:
        end_span(span, response.status_code if response is not None else None)
    return response


def _trace_ratio(user: FastHttpUser) -> float:
    """The share of requests traced (0 when the settings cannot be read: the run reports that itself)."""
    try:
        return scenario_settings(user.environment).trace
    except SettingsError:
        return 0.0


def judge(response: ResponseContextManager, expected: tuple[int, ...], budget: float | None) -> None:
    """The config-driven user's checks (as ``Call`` does them): status, then the latency budget."""
    meta = response.request_meta
    status = response.status_code or 0
    if status == 0 and meta.get("exception") is not None:
        return  # no response: Locust reports the connection error itself
    if status not in expected:
        response.failure(f"expected {_status_text(expected)}, got {status}")
    elif budget is not None and meta.get("response_time", 0.0) > budget * 1000:
        response.failure(f"slower than the {format_duration(budget)} latency budget")
    else:
        response.success()


@functools.lru_cache(maxsize=256)
def seconds(budget: str | float) -> float:
    return parse_duration(budget)


class Picker:
    """The endpoints as ready-to-send requests, picked by weight: constant time for one, a bisection for many."""

    __slots__ = ("auth", "cumulative", "journeys", "requests", "single", "total")

    def __init__(self, table: EndpointTable, auth: Callable[[str], Mapping[str, str]]) -> None:
        self.journeys: JourneyPlan | None = table.journeys
        """A journeys file: each iteration runs a flow instead of picking a request."""
        self.auth = dict(auth(""))
        if table.journeys is not None:
            self.requests: tuple[Request, ...] = ()
            self.cumulative: tuple[float, ...] = ()
            self.total, self.single = 0.0, None
            return
        self.requests = tuple(
            Request(
                method=endpoint.method,
                url=endpoint.path,
                name=endpoint.name,
                headers={**auth(endpoint.path), **endpoint.headers},
                expected=endpoint.status,
                budget=endpoint.budget,
                body=endpoint.body,
            )
            for endpoint in table.endpoints
        )
        self.cumulative = table.cumulative
        self.total = table.cumulative[-1]
        self.single = self.requests[0] if len(self.requests) == 1 else None

    def pick(self) -> Request:
        if self.single is not None:
            return self.single
        index = bisect.bisect_right(self.cumulative, random.random() * self.total)
        return self.requests[min(index, len(self.requests) - 1)]
