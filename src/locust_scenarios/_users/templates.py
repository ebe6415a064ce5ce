"""The user templates: ``RestUser``, a typed REST base, and ``EndpointsUser``, which needs no code.

- ``RestUser`` (FastHttpUser underneath): ``with self.call("GET", "/items/{id}", id=3) as call:`` sends
  one request, names it by its template, sends the auth header from the secret setting, and turns
  checks (``call.expect_status``, ``call.expect_json``, a latency budget, plain ``assert``) into a
  failed request with a clear message.
- ``EndpointsUser``: a ``RestUser`` that needs no code: weighted endpoints from
  ``LOCUST_SCENARIO_ENDPOINTS`` (a TOML, JSON or YAML file, or inline JSON); ``GET /`` when none.

Both wait by ``scenario_wait_time`` (see ``pacing``); the requests and their checks are in ``calls``.
The running profile is read duck-typed from ``environment.shape_class`` (``open_model``,
``planned_level(t)``, ``elapsed()``), never imported.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

import gevent
from gevent.pool import Group
from locust import FastHttpUser, User, task
from locust.env import Environment

from locust_scenarios._settings.context import scenario_settings
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import Setting

from .calls import Call, CallBlock, Picker, Request, judge, seconds, send
from .pacing import before_first_iteration, scenario_wait_time, settings_think_time
from .url import expand_path, origin_of

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

    from .endpoints import EndpointSource, EndpointTable

__all__ = ["EndpointsUser", "RestUser", "endpoint_table", "no_endpoints", "validate_class"]

logger = logging.getLogger("locust_scenarios")


_TABLES: weakref.WeakKeyDictionary[Environment, dict[tuple[type[User], str | None], EndpointTable]] = (
    weakref.WeakKeyDictionary()
)


def endpoint_table(environment: Environment, user_class: type[EndpointsUser]) -> EndpointTable:
    """The class's endpoints, loaded once per value of the setting (a worker gets the master's value)."""
    from .endpoints import EndpointTable  # noqa: PLC0415  (pydantic: at init, once)
    from .flowfile import JourneyPlan, load_configured  # noqa: PLC0415
    from .journeys import connect  # noqa: PLC0415

    configured = scenario_settings(environment).endpoints or None
    tables = _TABLES.setdefault(environment, {})
    table = tables.get((user_class, configured))
    if table is None:
        if configured:
            loaded = load_configured(configured)
        elif user_class.endpoints is None and user_class.require_endpoints:
            raise no_endpoints()
        else:
            declared = user_class.endpoints
            origin = Setting(f"{user_class.__name__}.endpoints", "class attribute")
            loaded = load_configured(declared, origin=origin)
        if isinstance(loaded, JourneyPlan):
            connect(environment, loaded)  # a master answers its workers' requests for unique rows from now
            table = EndpointTable((), (), journeys=loaded)
        else:
            table = EndpointTable.of(loaded)
        tables[(user_class, configured)] = table
    return table


def no_endpoints() -> SettingsError:
    """The refusal of a run whose config-driven user must be told its endpoints and was not."""
    return SettingsError.invalid(
        "endpoints",
        None,
        "not given; name the requests to send, e.g. LOCUST_SCENARIO_ENDPOINTS=endpoints.toml "
        'or \'[{"path": "/"}]\' (see docs/users.md)',
    )


def validate_class(environment: Environment, user_class: type[User]) -> None:
    """What one user class reads from settings, checked (``SettingsError`` when invalid)."""
    if issubclass(user_class, RestUser):
        settings_think_time(scenario_settings(environment))
    if issubclass(user_class, EndpointsUser):
        endpoint_table(environment, user_class)


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


# -- the templates ----------------------------------------------------------------------------------


class _Resolved:
    """What a user reads from the settings, resolved once per run (and again when the settings change)."""

    __slots__ = ("auth", "picker", "settings", "token")

    def __init__(self, settings: ScenarioSettings, token: str | None, auth: dict[str, str]) -> None:
        self.settings = settings
        self.token = token
        self.auth = auth
        self.picker: Picker | None = None


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
        self._origin = origin_of(self.host or "")
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
            validate_class(self.environment, type(self))
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
        origin = origin_of(url)
        if origin == self._origin:
            return True
        extra = {origin_of(item.strip()) for item in (allowed or "").split(",") if item.strip()}
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
        request = Request(
            method=method.upper(),
            url=url,
            name=label,
            headers=sent_headers,
            expected=expected,
            budget=seconds(limit) if limit is not None else None,
            body=json,
            data=data,
        )
        return CallBlock(self, request)


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
        sends it and reports it once, with the same checks ``call()`` applies. With a journeys file
        (``[[flows]]``), one iteration is one flow picked by weight (see ``journeys``).
        """
        resolved = self._current()
        picker = resolved.picker
        if picker is None:
            picker = resolved.picker = Picker(endpoint_table(self.environment, type(self)), self.auth_headers)
        if picker.journeys is not None:
            from .journeys import run_iteration  # noqa: PLC0415  (loaded with the plan; a lookup here)

            run_iteration(self, picker.journeys, picker.auth)
            return
        request = picker.pick()
        with send(self, request, resolved.settings.trace) as response:
            judge(response, request.expected or (200,), request.budget)
