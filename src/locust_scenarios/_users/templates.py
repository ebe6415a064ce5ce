"""User templates: a config-driven endpoints user, a typed REST base with checks, and wait times.

- ``RestUser`` (FastHttpUser underneath): ``with self.call("GET", "/items/{id}", id=3) as call:`` sends
  one request, names it by its template, sends the auth header from the secret setting, and turns
  checks (``call.expect_status``, ``call.expect_json``, a latency budget, plain ``assert``) into a
  failed request with a clear message.
- ``EndpointsUser``: a ``RestUser`` that needs no code: weighted endpoints from
  ``LOCUST_SCENARIO_ENDPOINTS`` (a TOML, JSON or YAML file, or inline JSON); ``GET /`` when none.
- Wait times that follow the settings: ``think_time`` (``1s`` or ``1s-3s``), ``pacing`` (constant
  pacing) and ``open_model_pacing`` (iterations follow the running open-model profile's planned
  rate). ``scenario_wait_time`` picks one of them in that order of precedence and is the default of
  both templates.

Endpoint files live in ``endpoints``, wait times and pacing in ``pacing``; this module holds the
templates and re-exports what locustfiles import. The running profile is read duck-typed from
``environment.shape_class`` (``open_model``, ``planned_level(t)``, ``elapsed()``), never imported.
"""

from __future__ import annotations

import bisect
import functools
import json as jsonlib
import logging
import random
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn
from urllib.parse import urlencode, urlsplit

import gevent
from gevent.pool import Group
from locust import FastHttpUser, HttpUser, User, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopTest, StopUser

from locust_scenarios._settings.context import scenario_settings
from locust_scenarios._settings.options import SettingsError, format_duration, parse_duration, setting_source
from locust_scenarios._settings.redaction import redact

from .pacing import (
    PacingStats,
    WaitTime,
    before_first_iteration,
    open_model_pacing,
    paces_open_model,
    pacing,
    pacing_stats,
    scenario_wait_time,
    settings_think_time,
    think_time,
)
from .url import expand_path

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

    from .endpoints import Endpoint, EndpointSource, EndpointTable, load_endpoints

__all__ = [
    "Call",
    "Endpoint",
    "EndpointsUser",
    "PacingStats",
    "RestUser",
    "WaitTime",
    "check_host",
    "check_user_classes",
    "load_endpoints",
    "open_model_pacing",
    "pacing",
    "pacing_stats",
    "scenario_settings",
    "scenario_wait_time",
    "think_time",
    "validate_user_settings",
]

logger = logging.getLogger("locust_scenarios")

_LAZY = frozenset({"Endpoint", "load_endpoints"})
"""Names re-exported from ``endpoints``, which loads pydantic: imported when first used."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import endpoints  # noqa: PLC0415

        return getattr(endpoints, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TABLES: weakref.WeakKeyDictionary[Environment, dict[tuple[type[User], str | None], EndpointTable]] = (
    weakref.WeakKeyDictionary()
)


def _endpoint_table(environment: Environment, user_class: type[EndpointsUser]) -> EndpointTable:
    """The class's endpoints, loaded once per value of the setting (a worker gets the master's value)."""
    from .endpoints import EndpointTable, load_endpoints  # noqa: PLC0415  (pydantic: at init, once)

    configured = scenario_settings(environment).endpoints or None
    tables = _TABLES.setdefault(environment, {})
    table = tables.get((user_class, configured))
    if table is None:
        if configured:
            endpoints = load_endpoints(configured)
        elif user_class.endpoints is None and user_class.require_endpoints:
            raise SettingsError(_NO_ENDPOINTS)
        else:
            declared = user_class.endpoints
            shown = declared if isinstance(declared, str | Path) else "[...]"
            endpoints = load_endpoints(declared, origin=f"{user_class.__name__}.endpoints={str(shown)!r}")
        table = tables[(user_class, configured)] = EndpointTable.of(endpoints)
    return table


_NO_ENDPOINTS = (
    "invalid setting LOCUST_SCENARIO_ENDPOINTS (--scenario-endpoints): not given; name the requests to "
    'send, e.g. LOCUST_SCENARIO_ENDPOINTS=endpoints.toml or \'[{"path": "/"}]\' (see docs/users.md)'
)


def _validate_class(environment: Environment, user_class: type[User]) -> None:
    """What one user class reads from settings, checked (``SettingsError`` when invalid)."""
    if issubclass(user_class, RestUser):
        settings_think_time(scenario_settings(environment))
    if issubclass(user_class, EndpointsUser):
        _endpoint_table(environment, user_class)


def validate_user_settings(environment: Environment, settings: ScenarioSettings | None = None) -> None:
    """Check what the user templates will read, before any user spawns.

    Meant for the ``init`` event: the think time of every ``RestUser`` and the endpoints of every
    ``EndpointsUser`` among ``environment.user_classes``. ``settings`` checks other values than the
    run's (a web UI form before its run starts). Raises ``SettingsError`` (one line).
    """
    if settings is not None:
        for user_class in environment.user_classes:
            if issubclass(user_class, RestUser):
                settings_think_time(settings)
            if issubclass(user_class, EndpointsUser) and settings.endpoints:
                from .endpoints import load_endpoints  # noqa: PLC0415  (pydantic, at init)

                load_endpoints(settings.endpoints)
            elif issubclass(user_class, EndpointsUser) and user_class.require_endpoints and not user_class.endpoints:
                raise SettingsError(_NO_ENDPOINTS)
        return
    for user_class in environment.user_classes:
        _validate_class(environment, user_class)


def check_user_classes(user_classes: Sequence[type[User]], settings: ScenarioSettings) -> None:
    """The open model (``rate``) needs user classes that pace their iterations by the planned rate.

    A class with its own ``wait_time`` (or Locust's default of none) would loop as fast as it can and
    the planned rate would silently not apply. Raises ``SettingsError`` naming those classes.
    """
    if settings.rate is None:
        return
    unpaced = sorted(cls.__name__ for cls in user_classes if not paces_open_model(cls))
    if unpaced:
        raise SettingsError(
            f"invalid setting {setting_source('rate', settings.rate)}: the open model paces iterations, "
            f"and {', '.join(unpaced)} cannot (its wait_time does not follow the planned rate); "
            "subclass RestUser or EndpointsUser, or set wait_time = open_model_pacing()"
        )


def check_host(environment: Environment, host: str | None) -> None:
    """The target must be a URL with a scheme, given by -H/LOCUST_HOST or by each HTTP user class.

    Raises ``SettingsError``: without a host every request would fail (or Locust would stop with a
    traceback), and ``localhost:8000`` without ``http://`` fails each request with a resolver error.
    """
    http_users = [cls for cls in environment.user_classes if issubclass(cls, HttpUser | FastHttpUser)]
    if host:
        _check_url(host, "LOCUST_HOST", "-H/--host")
        return
    missing = sorted(cls.__name__ for cls in http_users if not cls.host)
    if missing:
        raise SettingsError(
            f"invalid setting LOCUST_HOST (-H/--host): not given, and {', '.join(missing)} has no host "
            "attribute; give the target's URL, e.g. -H http://127.0.0.1:8000"
        )
    for cls in http_users:
        _check_url(str(cls.host), f"{cls.__name__}.host", "class attribute")


def _check_url(url: str, name: str, where: str) -> None:
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(
            f"invalid setting {name}={url!r} ({where}): must be a URL starting with http:// or https://, "
            "e.g. http://127.0.0.1:8000"
        )


_STOPPED: weakref.WeakSet[Environment] = weakref.WeakSet()


def _stop_invalid(environment: Environment, error: SettingsError) -> None:
    """Invalid configuration found at spawn (validation at init did not run): stop, exit code 2."""
    if environment in _STOPPED:
        return
    _STOPPED.add(environment)
    logger.error("locust-scenarios: %s", error)
    environment.process_exit_code = SettingsError.exit_code
    if environment.runner is not None:
        gevent.spawn(environment.runner.quit)


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


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` of a URL, with the scheme's default port made explicit."""
    if url == "*":
        return ("*", "", None)
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


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


class _CallBlock:
    """The ``with`` block of ``RestUser.call``: sends on entry, judges and reports once on exit.

    A plain class rather than a generator context manager: this runs for every request.
    """

    __slots__ = ("_call", "_request", "_response", "_user")

    def __init__(self, user: RestUser, request: _Request) -> None:
        self._user = user
        self._request = request

    def __enter__(self) -> Call:
        request = self._request
        response = _send(self._user, request)
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
class _Request:
    """One request as sent: everything resolved before the request goes out."""

    method: str
    url: str
    name: str | None
    headers: dict[str, str]
    expected: tuple[int, ...] | None
    budget: float | None
    body: Any = None
    data: str | None = None


def _send(user: RestUser, request: _Request) -> ResponseContextManager:
    """Send a request with ``catch_response``: the caller judges it and Locust reports it once."""
    return user.client.request(
        request.method,
        request.url,
        name=request.name,
        catch_response=True,
        headers=request.headers,
        json=request.body,
        data=request.data,
    )


def _judge(response: ResponseContextManager, expected: tuple[int, ...], budget: float | None) -> None:
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
def _seconds(budget: str | float) -> float:
    return parse_duration(budget)


# -- the templates ----------------------------------------------------------------------------------


class _Resolved:
    """What a user reads from the settings, resolved once per run (and again when the settings change)."""

    __slots__ = ("auth", "picker", "settings", "token")

    def __init__(self, settings: object, token: str | None, auth: dict[str, str]) -> None:
        self.settings = settings
        self.token = token
        self.auth = auth
        self.picker: _Picker | None = None


class _Picker:
    """The endpoints as ready-to-send requests, picked by weight: constant time for one, a bisection for many."""

    __slots__ = ("cumulative", "requests", "single", "total")

    def __init__(self, table: EndpointTable, auth: Callable[[str], Mapping[str, str]]) -> None:
        self.requests = tuple(
            _Request(
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

    def pick(self) -> _Request:
        if self.single is not None:
            return self.single
        index = bisect.bisect_right(self.cumulative, random.random() * self.total)
        return self.requests[min(index, len(self.requests) - 1)]


class RestUser(FastHttpUser):
    """A FastHttpUser with ``call()``: named requests, checks with clear messages, auth and budgets.

    ::

        class Api(RestUser):
            @task
            def item(self) -> None:
                with self.call("GET", "/api/items/{id}", id=random.randint(1, 20)) as call:
                    call.expect_json("id", int)

    The auth header (``auth_header``: ``auth_scheme`` ``auth_token``) is sent when the token setting
    is given or ``authenticate()`` was called; ``latency_budget`` (seconds or ``"500ms"``) fails
    requests slower than that unless a call gives its own ``budget``.
    """

    abstract = True
    wait_time = scenario_wait_time()
    latency_budget: ClassVar[str | float | None] = None

    def __init__(self, environment: Environment) -> None:
        try:
            timeout = scenario_settings(environment).request_timeout
        except SettingsError:
            timeout = None  # reported with exit code 2 when the user starts (see start)
        if timeout is not None:
            self.network_timeout = self.connection_timeout = timeout
        super().__init__(environment)
        self._token: str | None = None
        self._origin = _origin(self.host or "")
        self._resolved: _Resolved | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, group: Group) -> gevent.Greenlet:
        """Spawn the user; before ``on_start`` it checks the settings and waits for its first slot.

        (An invalid configuration that was not caught at ``init`` stops the run with exit code 2 here,
        before this user sends anything.)
        """

        def run_user(user: RestUser) -> None:
            # Locust finds the user of a greenlet as its first argument, as in User.start.
            if user._prepare():
                user.run()  # type: ignore[no-untyped-call]

        self._greenlet = group.spawn(run_user, self)
        self._group = group
        return self._greenlet

    def _prepare(self) -> bool:
        try:
            _validate_class(self.environment, type(self))
        except SettingsError as error:
            _stop_invalid(self.environment, error)
            return False
        before_first_iteration(self)
        return True

    def _current(self) -> _Resolved:
        """The settings as this user sends by them: resolved on first use, again when they change.

        The plugin stores a new settings object when a run (re)starts, so one identity check per
        request is all it costs to follow the run.
        """
        settings = scenario_settings(self.environment)
        resolved = self._resolved
        if resolved is None or resolved.settings is not settings or resolved.token is not self._token:
            resolved = self._resolved = _Resolved(settings, self._token, self.auth_headers())
        return resolved

    # -- auth --------------------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> None:
        """Send ``token`` in the auth header from now on (``None``: back to the setting's token)."""
        self._token = token

    def auth_headers(self, url: str = "") -> dict[str, str]:
        """The auth header to send to ``url``, or nothing when there is no token.

        The token goes to the target's origin only: a full URL to another scheme, host or port gets
        no auth header unless ``auth_origins`` names that origin (or is ``*``).
        """
        settings = scenario_settings(self.environment)
        if url.startswith(("http://", "https://")) and not self._may_receive_token(url, settings.auth_origins):
            return {}
        token = self._token
        if token is None and settings.auth_token is not None:
            token = settings.auth_token.get_secret_value()
        if not token:
            return {}
        scheme = settings.auth_scheme.strip()
        bare = scheme.lower() in ("", "none")
        return {settings.auth_header: token if bare else f"{scheme} {token}"}

    def _may_receive_token(self, url: str, allowed: str | None) -> bool:
        origin = _origin(url)
        if origin == self._origin:
            return True
        extra = {_origin(item.strip()) for item in (allowed or "").split(",") if item.strip()}
        return ("*", "", None) in extra or origin in extra

    # -- requests ----------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        expect: int | Sequence[int] | None = None,
        budget: str | float | None = None,
        json: Any = None,
        data: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        **path_values: object,
    ) -> AbstractContextManager[Call]:
        """Send one request; the ``with`` block checks it; leaving the block reports it.

        ``path`` may hold placeholders (``/items/{id}``) filled from keyword arguments and URL-quoted;
        the request is then named by the template unless ``name`` says otherwise. ``expect`` is the
        expected status (default: any 2xx), ``budget`` a latency budget (default ``latency_budget``).
        A failed check, a failed ``assert`` or any other error in the block fails the request with
        its message (other errors are raised again after reporting).
        """
        url = expand_path(path, path_values) if path_values else path
        if params:
            url += ("&" if "?" in url else "?") + urlencode({k: str(v) for k, v in params.items()})
        label = name or (path if path_values or params else None)
        expected = None if expect is None else ((expect,) if isinstance(expect, int) else tuple(expect))
        limit = budget if budget is not None else type(self).latency_budget
        # The run's auth header, resolved once, for the target; a full URL is checked against the
        # origins that may receive the token.
        auth = self.auth_headers(url) if url.startswith(("http://", "https://")) else self._current().auth
        sent_headers = {**auth, **headers} if headers else auth
        request = _Request(
            method=method.upper(),
            url=url,
            name=label,
            headers=sent_headers,
            expected=expected,
            budget=_seconds(limit) if limit is not None else None,
            body=json,
            data=data,
        )
        return _CallBlock(self, request)


class EndpointsUser(RestUser):
    """A user that needs no code: weighted requests from ``LOCUST_SCENARIO_ENDPOINTS``.

    The setting is a TOML, JSON or YAML file (``[[endpoints]]`` tables or a list), or inline JSON.
    Below the setting ranks the class attribute ``endpoints`` (a path or a list of dicts); with
    neither, the user requests ``GET /``, unless ``require_endpoints`` is set (as in the built-in
    locustfile of ``locust-scenarios run``): then the run is refused as invalid configuration.
    """

    abstract = True
    endpoints: ClassVar[EndpointSource | None] = None
    require_endpoints: ClassVar[bool] = False

    @task
    def call_endpoint(self) -> None:
        """One iteration: a request to an endpoint picked by weight, checked against its status.

        The endpoints are turned into ready-to-send requests once per run; each iteration picks one,
        sends it and reports it once, with the same checks ``call()`` applies.
        """
        resolved = self._current()
        picker = resolved.picker
        if picker is None:
            picker = resolved.picker = _Picker(_endpoint_table(self.environment, type(self)), self.auth_headers)
        request = picker.pick()
        with _send(self, request) as response:
            _judge(response, request.expected or (200,), request.budget)
