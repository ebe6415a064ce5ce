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

Only ``settings`` of this package is imported; the running profile is read duck-typed from
``environment.shape_class`` (``open_model``, ``planned_level(t)``, ``elapsed()``).
"""

from __future__ import annotations

import functools
import importlib
import json as jsonlib
import logging
import math
import random
import re
import time
import tomllib
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NoReturn
from urllib.parse import quote, urlencode

import gevent
from gevent.pool import Group
from locust import FastHttpUser, User, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopTest, StopUser
from locust.runners import WorkerRunner
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from .settings import (
    ScenarioSettings,
    SettingsError,
    env_name,
    environment_options,
    format_duration,
    load_settings,
    option_name,
    parse_duration,
)

__all__ = [
    "Call",
    "Endpoint",
    "EndpointsUser",
    "PacingStats",
    "RestUser",
    "WaitTime",
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

WaitTime = Callable[[User], float]
"""A Locust ``wait_time``: called with the user after each task, returns seconds to wait."""

EndpointSource = str | Path | Sequence[Mapping[str, Any]]
"""Where endpoints come from: a file path, inline JSON text, or already parsed definitions."""

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_YAML_HINT = "reading YAML needs PyYAML: pip install 'locust-scenarios[yaml]'"

# -- settings ---------------------------------------------------------------------------------------

_SETTINGS: weakref.WeakKeyDictionary[Environment, ScenarioSettings] = weakref.WeakKeyDictionary()


def scenario_settings(environment: Environment) -> ScenarioSettings:
    """The validated settings of a run, as the user templates read them.

    The plugin stores them on the environment at ``init``; without it (an ``Environment`` built in
    a test) they are read from ``environment.parsed_options``, or from ``LOCUST_SCENARIO_*``
    variables and config files when there are no parsed options. Raises ``SettingsError``.
    """
    stored = getattr(environment, "scenario_settings", None)
    if isinstance(stored, ScenarioSettings):
        return stored
    cached = _SETTINGS.get(environment)
    if cached is None:
        options = environment.parsed_options
        if options is None:
            options = environment_options()
        cached = load_settings(ScenarioSettings, options)
        _SETTINGS[environment] = cached
    return cached


def _setting_source(field: str, value: object) -> str:
    return f"{env_name(ScenarioSettings, field)}={value!r} ({option_name(ScenarioSettings, field)})"


def _think_time_range(spec: str | float | None) -> tuple[float, float]:
    """``(low, high)`` seconds from ``1s``, ``500ms-2s``, ``1-3`` or a number; ``(0, 0)`` for none."""
    if spec is None or spec == "":
        return 0.0, 0.0
    if isinstance(spec, int | float):
        low = high = parse_duration(spec)
    else:
        parts = [part.strip() for part in str(spec).split("-")]
        if len(parts) > 2:
            raise ValueError("must be a duration such as 1s or a range such as 1s-3s")
        try:
            low, high = parse_duration(parts[0]), parse_duration(parts[-1])
        except ValueError:
            raise ValueError("must be a duration such as 1s or a range such as 1s-3s") from None
    if high < low:
        raise ValueError("the range must go from the shorter to the longer wait, such as 1s-3s")
    return low, high


def _settings_think_time(settings: ScenarioSettings) -> tuple[float, float]:
    try:
        return _think_time_range(settings.think_time)
    except ValueError as error:
        raise SettingsError(f"invalid setting {_setting_source('think_time', settings.think_time)}: {error}") from None


# -- endpoint definitions ---------------------------------------------------------------------------


class Endpoint(BaseModel):
    """One weighted request of the config-driven user.

    ``status`` is the expected status (one code or a list); ``name`` groups parametrised URLs under
    one entry in Locust's statistics; ``json`` is sent as the request body; ``budget`` is a latency
    budget (``500ms``) beyond which the request counts as failed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    method: str = "GET"
    path: str
    weight: float = Field(1.0, gt=0, allow_inf_nan=False)
    status: tuple[int, ...] = (200,)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, validation_alias=AliasChoices("json", "body"))
    name: str | None = None
    budget: float | None = None

    @field_validator("method", mode="before")
    @classmethod
    def _known_method(cls, value: object) -> str:
        method = str(value).upper()
        if method not in _METHODS:
            raise ValueError(f"must be one of {', '.join(sorted(_METHODS))}")
        return method

    @field_validator("path")
    @classmethod
    def _url_path(cls, value: str) -> str:
        if not value.startswith(("/", "http://", "https://")):
            raise ValueError("must start with / (or be a full http:// or https:// URL)")
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status_codes(cls, value: object) -> tuple[int, ...]:
        codes = value if isinstance(value, list | tuple) else [value]
        if not codes or not all(isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes):
            raise ValueError("must be an HTTP status code (100-599) or a list of them")
        return tuple(codes)

    @field_validator("budget", mode="before")
    @classmethod
    def _budget(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)

    def describe(self) -> str:
        """``GET /path`` (for messages)."""
        return f"{self.method} {self.path}"


DEFAULT_ENDPOINTS: tuple[Endpoint, ...] = (Endpoint(path="/"),)
"""What the config-driven user requests when no endpoints are configured."""


def _read_document(source: str | Path) -> Any:
    """Parsed content of an endpoints file (by extension) or of inline JSON text."""
    text = str(source).strip()
    if isinstance(source, str) and text.startswith(("[", "{")):
        try:
            return jsonlib.loads(text)
        except jsonlib.JSONDecodeError as error:
            raise ValueError(f"inline JSON is not valid: {error}") from None
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(f"no such file {str(path)!r} (give a .toml, .json, .yaml file, or inline JSON)")
    suffix = path.suffix.lower()
    content = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            return tomllib.loads(content)
        if suffix == ".json":
            return jsonlib.loads(content)
        if suffix in (".yaml", ".yml"):
            try:
                yaml = importlib.import_module("yaml")
            except ImportError:
                raise ValueError(_YAML_HINT) from None
            return yaml.safe_load(content)
    except (tomllib.TOMLDecodeError, jsonlib.JSONDecodeError) as error:
        raise ValueError(f"{path.name} is not valid {suffix[1:].upper()}: {error}") from None
    except ValueError:
        raise
    except Exception as error:  # PyYAML's errors have no common base we can name without importing it
        raise ValueError(f"{path.name} is not valid YAML: {' '.join(str(error).split())}") from None
    raise ValueError(f"unknown file type {suffix or '(none)'!r}: use .toml, .json, .yaml or .yml")


def _entries(document: Any) -> list[Mapping[str, Any]]:
    """The endpoint entries of a document, with its ``defaults`` merged into each."""
    defaults: Mapping[str, Any] = {}
    if isinstance(document, Mapping):
        unknown = sorted(set(document) - {"endpoints", "defaults"})
        if unknown:
            raise ValueError(f"unknown top-level key {unknown[0]!r}: expected 'endpoints' and optional 'defaults'")
        defaults = document.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise ValueError("'defaults' must be a table of endpoint fields")
        document = document.get("endpoints")
    if not isinstance(document, list):
        raise ValueError("expected a list of endpoints, or a table with an 'endpoints' list")
    if not document:
        raise ValueError("the list of endpoints is empty")
    entries: list[Mapping[str, Any]] = []
    for number, entry in enumerate(document, 1):
        if not isinstance(entry, Mapping):
            raise ValueError(f"endpoint {number} must be a table of fields (method, path, weight, ...)")
        merged = {**defaults, **entry}
        if isinstance(defaults.get("headers"), Mapping) and isinstance(entry.get("headers"), Mapping):
            merged["headers"] = {**defaults["headers"], **entry["headers"]}
        entries.append(merged)
    return entries


def _validated(entries: list[Mapping[str, Any]]) -> tuple[Endpoint, ...]:
    endpoints = []
    for number, entry in enumerate(entries, 1):
        try:
            endpoints.append(Endpoint.model_validate(entry))
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "entry"
            message = str(first["msg"]).removeprefix("Value error, ")
            message = message.replace("Input should be", "must be").replace("Field required", "is required")
            message = message.replace("Extra inputs are not permitted", "is not a known field")
            label = f"{entry.get('method', 'GET')} {entry['path']}" if "path" in entry else "without a path"
            raise ValueError(f"endpoint {number} ({label}): {field} {message}") from None
    return tuple(endpoints)


def load_endpoints(source: EndpointSource | None, *, origin: str | None = None) -> tuple[Endpoint, ...]:
    """Validated endpoints from a file path, inline JSON, or parsed definitions; ``GET /`` for ``None``.

    Raises ``SettingsError`` with one line naming ``origin`` (default: the
    ``LOCUST_SCENARIO_ENDPOINTS`` setting), the value and the first bad entry.
    """
    if source is None or (isinstance(source, str) and not source.strip()):
        return DEFAULT_ENDPOINTS
    shown = source if isinstance(source, str | Path) else "[...]"
    origin = origin or _setting_source("endpoints", str(shown))
    try:
        document = _read_document(source) if isinstance(source, str | Path) else list(source)
        return _validated(_entries(document))
    except ValueError as error:
        raise SettingsError(f"invalid setting {origin}: {error}") from None


@dataclass(frozen=True)
class _EndpointTable:
    endpoints: tuple[Endpoint, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, endpoints: tuple[Endpoint, ...]) -> _EndpointTable:
        total, cumulative = 0.0, []
        for endpoint in endpoints:
            total += endpoint.weight
            cumulative.append(total)
        return cls(endpoints, tuple(cumulative))

    def pick(self) -> Endpoint:
        return random.choices(self.endpoints, cum_weights=self.cumulative)[0]


_TABLES: weakref.WeakKeyDictionary[Environment, dict[tuple[type[User], str | None], _EndpointTable]] = (
    weakref.WeakKeyDictionary()
)


def _endpoint_table(environment: Environment, user_class: type[EndpointsUser]) -> _EndpointTable:
    """The class's endpoints, loaded once per value of the setting (a worker gets the master's value)."""
    configured = scenario_settings(environment).endpoints or None
    tables = _TABLES.setdefault(environment, {})
    table = tables.get((user_class, configured))
    if table is None:
        if configured:
            endpoints = load_endpoints(configured)
        else:
            declared = user_class.endpoints
            shown = declared if isinstance(declared, str | Path) else "[...]"
            endpoints = load_endpoints(declared, origin=f"{user_class.__name__}.endpoints={str(shown)!r}")
        table = tables[(user_class, configured)] = _EndpointTable.of(endpoints)
    return table


def _validate_class(environment: Environment, user_class: type[User]) -> None:
    """What one user class reads from settings, checked (``SettingsError`` when invalid)."""
    if issubclass(user_class, RestUser):
        _settings_think_time(scenario_settings(environment))
    if issubclass(user_class, EndpointsUser):
        _endpoint_table(environment, user_class)


def validate_user_settings(environment: Environment) -> None:
    """Check what the user templates will read, before any user spawns.

    Meant for the ``init`` event: the think time of every ``RestUser`` and the endpoints of every
    ``EndpointsUser`` among ``environment.user_classes``. Raises ``SettingsError`` (one line).
    """
    for user_class in environment.user_classes:
        _validate_class(environment, user_class)


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


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@functools.lru_cache(maxsize=1024)
def _template(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``/items/{id}/tags`` → literal parts ``("/items/", "/tags")`` and keys ``("id",)``, cached."""
    pieces = _PLACEHOLDER.split(path)
    return tuple(pieces[0::2]), tuple(pieces[1::2])


def _expand(path: str, values: Mapping[str, object]) -> str:
    """``/items/{id}`` with ``id=3`` → ``/items/3`` (values URL-quoted); every placeholder needs a value."""
    if not values:
        return path
    literals, keys = _template(path)
    missing = [key for key in keys if key not in values]
    if missing:
        raise ValueError(f"no value for {{{missing[0]}}} in {path!r}")
    unused = sorted(set(values) - set(keys))
    if unused:
        raise ValueError(f"{path!r} has no placeholder {{{unused[0]}}}")
    parts = [literals[0]]
    for key, literal in zip(keys, literals[1:], strict=True):
        parts += [quote(str(values[key]), safe=""), literal]
    return "".join(parts)


# -- wait times -------------------------------------------------------------------------------------


def _uniform(low: float, high: float) -> float:
    return low if high == low else random.uniform(low, high)


def think_time(spec: str | float | None = None) -> WaitTime:
    """Wait ``spec`` after each iteration: ``"1s"`` constant, ``"1s-3s"`` uniform in the range.

    Without ``spec`` the ``think_time`` setting (``LOCUST_SCENARIO_THINK_TIME``) applies, read at run
    time; no setting means no wait.
    """
    fixed = _think_time_range(spec) if spec is not None else None

    def wait(user: User) -> float:
        return _uniform(*(fixed or _settings_think_time(scenario_settings(user.environment))))

    return wait


_ITERATION_START = "_scenario_iteration_start"


def pacing(interval: str | float | None = None) -> WaitTime:
    """Constant pacing: each iteration starts at least ``interval`` after the previous one started.

    A slow iteration is followed at once by the next (no catch-up). Without ``interval`` the
    ``pacing`` setting (``LOCUST_SCENARIO_PACING``) applies.
    """
    fixed = parse_duration(interval) if interval is not None else None

    def wait(user: User) -> float:
        every = fixed if fixed is not None else scenario_settings(user.environment).pacing or 0.0
        now = time.monotonic()
        last = getattr(user, _ITERATION_START, None)
        start = now if last is None else max(now, last + every)
        setattr(user, _ITERATION_START, start)
        return start - now

    return wait


@dataclass(frozen=True)
class PacingStats:
    """Open-model pacing in this process: slots handed out, started late, and dropped after a stall."""

    iterations: int = 0
    late: int = 0
    dropped: int = 0


class _SlotSchedule:
    """One process's schedule of iteration start times following ``share * planned_level(t)``.

    Times are the profile's run time. ``cursor`` is the start of the last slot handed out; each
    claim takes the next slot after it, so slots are spread by the planned rate no matter which
    user claims them or how long iterations take. Behind schedule, at most ``max_backlog`` seconds
    of missed slots are caught up (they start at once and count as late); older slots are dropped.
    """

    STEP = 0.25  # integration step (s): planned levels are piecewise linear, so this is plenty
    HORIZON = 60.0  # how far ahead a claim looks for a slot when the planned rate is zero

    def __init__(self, shape: Any, max_backlog: float, late_after: float) -> None:
        self.shape = shape
        self.max_backlog = max_backlog
        self.late_after = late_after
        self.cursor: float | None = None
        self.last_now = -math.inf
        self.iterations = self.late = self.dropped = 0
        self.warned = False

    def rate(self, t: float, share: float) -> float:
        return max(float(self.shape.planned_level(t)), 0.0) * share

    def _integral(self, start: float, end: float, share: float) -> float:
        steps = max(1, min(400, math.ceil((end - start) / self.STEP)))
        width = (end - start) / steps
        return sum(self.rate(start + (i + 0.5) * width, share) * width for i in range(steps))

    def _next_after(self, start: float, share: float) -> float | None:
        """Run time where one more planned iteration has accumulated after ``start``."""
        need, t = 1.0, start
        while t < start + self.HORIZON:
            here = self.rate(t, share)
            step = self.STEP if here <= 0 else min(self.STEP, need / here)
            middle = self.rate(t + step / 2, share)
            if middle > 0 and middle * step >= need - 1e-12:
                return t + need / middle
            need -= middle * step
            t += step
        return None

    def claim(self, now: float, share: float) -> float | None:
        """Start time of the next slot for an iteration asking at ``now``; None if none is planned soon."""
        if now < self.last_now - 1.0:  # the profile's clock was reset: a new run
            self.cursor = None
            self.iterations = self.late = self.dropped = 0
        self.last_now = now
        if self.cursor is None:
            slot = now if self.rate(now, share) > 0 else self._next_after(now, share)
        else:
            oldest = now - self.max_backlog
            if self.cursor < oldest:
                self.dropped += math.floor(self._integral(self.cursor, oldest, share))
                self.cursor = oldest
            slot = self._next_after(self.cursor, share)
        if slot is None:
            return None
        self.cursor = slot
        self.iterations += 1
        if now - slot > self.late_after:
            self.late += 1
            self._warn_once()
        return slot

    def _warn_once(self) -> None:
        if not self.warned and self.iterations >= 50 and self.late > 0.05 * self.iterations:
            self.warned = True
            logger.warning(
                "open model: %d of %d iterations started late; the planned rate needs more users "
                "(LOCUST_SCENARIO_USERS) or a faster target",
                self.late,
                self.iterations,
            )

    def stats(self) -> PacingStats:
        return PacingStats(self.iterations, self.late, self.dropped)


_SCHEDULES: weakref.WeakKeyDictionary[Environment, _SlotSchedule] = weakref.WeakKeyDictionary()
_OPEN_MODEL_WAITS: weakref.WeakKeyDictionary[WaitTime, tuple[float, float]] = weakref.WeakKeyDictionary()
"""Wait functions that pace the open model, with their ``(max_backlog, late_after)``."""


def _open_model_shape(environment: Environment) -> Any:
    """The running shape when it plans an open model (iterations per second), else None."""
    shape = environment.shape_class
    if shape is None or not getattr(shape, "open_model", False):
        return None
    return shape


def _planned_pool(shape: Any) -> float | None:
    """Users the profile runs in the open model (the pool pacing is shared among)."""
    planned = getattr(shape, "planned_users", None)
    if callable(planned):
        return float(planned())
    settings = getattr(shape, "settings", None)
    users = getattr(settings, "users", None) or getattr(shape, "users", None)
    return float(users) if users else None


def _process_share(environment: Environment, shape: Any) -> float:
    """This process's share of the planned rate: all of it, or local users / pool on a worker."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        return 1.0
    pool = _planned_pool(shape)
    if not pool or not runner.target_user_count:
        return 1.0
    return min(runner.target_user_count / pool, 1.0)


def _schedule(environment: Environment, shape: Any, max_backlog: float, late_after: float) -> _SlotSchedule:
    schedule = _SCHEDULES.get(environment)
    if schedule is None or schedule.shape is not shape:
        schedule = _SCHEDULES[environment] = _SlotSchedule(shape, max_backlog, late_after)
    return schedule


def _wait_for_slot(user: User, shape: Any, max_backlog: float, late_after: float) -> float:
    """Seconds until this user's next slot; while none is planned (rate 0) it sleeps and asks again."""
    environment = user.environment
    schedule = _schedule(environment, shape, max_backlog, late_after)
    while True:
        now = float(shape.elapsed())
        slot = schedule.claim(now, _process_share(environment, shape))
        if slot is not None:
            return max(slot - now, 0.0)
        gevent.sleep(1.0)


def open_model_pacing(*, max_backlog: float = 1.0, late_after: float = 0.1) -> WaitTime:
    """Pace iterations so the whole test follows the open-model profile's planned iterations/s.

    The process keeps a schedule of slots spread by the planned rate at each moment (a worker takes
    its share: its users / the profile's pool). Each iteration takes the next slot. Iterations that
    start more than ``late_after`` seconds behind their slot count as late; after a stall at most
    ``max_backlog`` seconds of slots are caught up and the rest are dropped, so there is no burst.
    Without an open-model profile running this waits nothing.
    """

    def wait(user: User) -> float:
        shape = _open_model_shape(user.environment)
        if shape is None:
            return 0.0
        return _wait_for_slot(user, shape, max_backlog, late_after)

    _OPEN_MODEL_WAITS[wait] = (max_backlog, late_after)
    return wait


def pacing_stats(environment: Environment) -> PacingStats:
    """Open-model pacing counters of this process (zeros when no open-model pacing ran)."""
    schedule = _SCHEDULES.get(environment)
    return schedule.stats() if schedule is not None else PacingStats()


def scenario_wait_time() -> WaitTime:
    """The templates' default: open-model pacing when the profile is open-model, else ``pacing``,
    else ``think_time``, else no wait (all read from settings at run time)."""
    open_model, paced = open_model_pacing(), pacing()

    def wait(user: User) -> float:
        if _open_model_shape(user.environment) is not None:
            return open_model(user)
        settings = scenario_settings(user.environment)
        if settings.pacing:
            return paced(user)
        return _uniform(*_settings_think_time(settings)) if settings.think_time else 0.0

    _OPEN_MODEL_WAITS[wait] = _OPEN_MODEL_WAITS[open_model]
    return wait


# -- the templates ----------------------------------------------------------------------------------


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
        super().__init__(environment)
        self._token: str | None = None

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
        shape = _open_model_shape(self.environment)
        paced = _OPEN_MODEL_WAITS.get(type(self).wait_time)
        if shape is not None and paced is not None:
            # The first iteration takes a slot too; otherwise every user's first one starts at spawn.
            gevent.sleep(_wait_for_slot(self, shape, *paced))
        setattr(self, _ITERATION_START, time.monotonic())
        return True

    # -- auth --------------------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> None:
        """Send ``token`` in the auth header from now on (``None``: back to the setting's token)."""
        self._token = token

    def auth_headers(self) -> dict[str, str]:
        """The auth header to send, or nothing when there is no token."""
        settings = scenario_settings(self.environment)
        token = self._token
        if token is None and settings.auth_token is not None:
            token = settings.auth_token.get_secret_value()
        if not token:
            return {}
        scheme = settings.auth_scheme.strip()
        bare = scheme.lower() in ("", "none")
        return {settings.auth_header: token if bare else f"{scheme} {token}"}

    # -- requests ----------------------------------------------------------------------------------

    @contextmanager
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
    ) -> Iterator[Call]:
        """Send one request; the ``with`` block checks it; leaving the block reports it.

        ``path`` may hold placeholders (``/items/{id}``) filled from keyword arguments and URL-quoted;
        the request is then named by the template unless ``name`` says otherwise. ``expect`` is the
        expected status (default: any 2xx), ``budget`` a latency budget (default ``latency_budget``).
        A failed check, a failed ``assert`` or any other error in the block fails the request with
        its message (other errors are raised again after reporting).
        """
        url = _expand(path, path_values)
        if params:
            url += ("&" if "?" in url else "?") + urlencode({k: str(v) for k, v in params.items()})
        label = name or (path if path_values or params else None)
        expected = None if expect is None else ((expect,) if isinstance(expect, int) else tuple(expect))
        limit = budget if budget is not None else type(self).latency_budget
        sent_headers = {**self.auth_headers(), **(headers or {})}
        with self.client.request(
            method.upper(), url, name=label, catch_response=True, headers=sent_headers, json=json, data=data
        ) as response:
            call = Call(response, expected, parse_duration(limit) if limit is not None else None)
            try:
                yield call
                call._finish()
            except _TransportFailedError:
                return  # Locust reports the connection error itself
            except _CheckFailedError as failed:
                response.failure(str(failed))
            except AssertionError as failed:
                detail = str(failed).split("\n", 1)[0]
                response.failure(f"assertion failed: {detail}" if detail else "assertion failed")
            except _CONTROL_FLOW:
                _settle(call, response)  # the task asked to stop or reschedule: report by the checks
                raise
            except Exception as error:
                response.failure(f"{type(error).__name__}: {error}")
                raise
            else:
                response.success()


class EndpointsUser(RestUser):
    """A user that needs no code: weighted requests from ``LOCUST_SCENARIO_ENDPOINTS``.

    The setting is a TOML, JSON or YAML file (``[[endpoints]]`` tables or a list), or inline JSON.
    Below the setting ranks the class attribute ``endpoints`` (a path or a list of dicts); with
    neither, the user requests ``GET /``.
    """

    abstract = True
    endpoints: ClassVar[EndpointSource | None] = None

    @task
    def call_endpoint(self) -> None:
        """One iteration: a request to an endpoint picked by weight, checked against its status."""
        endpoint = _endpoint_table(self.environment, type(self)).pick()
        with self.call(
            endpoint.method,
            endpoint.path,
            name=endpoint.name,
            expect=endpoint.status,
            budget=endpoint.budget,
            json=endpoint.body,
            headers=endpoint.headers,
        ):
            pass
