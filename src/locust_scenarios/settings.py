"""Settings: the scenario choice, the parameter vocabulary shared by every profile, and the exporter.

Every field here is also a Locust command-line option. ``add_options`` registers them on Locust's own
parser, so Locust's precedence applies unchanged (command line, then ``LOCUST_SCENARIO_*`` environment
variables, then ``locust.conf`` / ``[tool.locust]``). What Locust did not set falls through to a
``.env`` file, then to class attributes of the profile (a subclass that says ``users = 50``), then to
the defaults below. pydantic validates the merged result before any user spawns; ``SettingsError``
carries the one-line message naming the variable, the value and what is allowed.

This module imports nothing else of ours: it is the start of the one-way data flow.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

from locust.argument_parser import get_empty_argument_parser
from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .exitcodes import ExitCode

__all__ = [
    "BUILTIN_SCENARIOS",
    "Duration",
    "ExporterSettings",
    "Ratio",
    "ScenarioSettings",
    "SettingsError",
    "add_options",
    "describe",
    "env_name",
    "environment_options",
    "format_duration",
    "load_settings",
    "option_dest",
    "option_name",
    "parse_duration",
    "parse_ratio",
    "shown",
    "unknown_variable_warnings",
]

BUILTIN_SCENARIOS = ("smoke", "load", "stress", "spike", "endurance", "breakpoint")
"""The six test types every locustfile can run by name (``LOCUST_SCENARIO``)."""

MAX_USERS = 100_000
"""The most users a setting may ask for: beyond this, spawning alone starves the process."""

MAX_LOCAL_USERS = 10_000
"""The most users one Locust process without workers runs (more need ``--processes`` or workers)."""

MAX_RATE = 1_000_000.0
"""The most iterations per second a setting may ask for."""

MAX_DURATION = 366 * 86400.0
"""The longest duration a setting may hold (a year and a day)."""

_SHOWN_LIMIT = 80


def shown(value: object, limit: int = _SHOWN_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters: one line, however long or odd the value."""
    text = repr(str(value)) if not isinstance(value, int | float) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}…({len(str(value))} characters)"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from ``500ms``, ``90s``, ``5m``, ``1h30m``, ``2d`` or a plain number of seconds.

    A regular expression over five units rather than a dependency: pydantic's timedelta accepts only
    ISO 8601 and numbers, and Locust's own parser rejects ``ms``.
    """
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 500ms, 90s, 5m or 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise ValueError("must be a duration such as 500ms, 90s, 5m or 1h30m") from None
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("must be a duration of zero or more, such as 500ms, 90s, 5m or 1h30m")
    if seconds > MAX_DURATION:
        raise ValueError("must be a duration of at most 366d")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of ``1h30m``, ``90s``-style spellings for a number of seconds (inverse of parse)."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    if abs(seconds - whole) > 1e-9:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def parse_ratio(value: object) -> float:
    """A fraction from ``5%`` or ``0.05``."""
    text = str(value).strip()
    try:
        ratio = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError("must be a percentage such as 5% or a fraction such as 0.05") from None
    if not 0 <= ratio <= 1:
        raise ValueError("must be between 0% and 100%")
    return ratio


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written as ``500ms``, ``90s``, ``5m``, ``1h30m`` or a number."""

Ratio = Annotated[float, BeforeValidator(parse_ratio)]
"""A fraction in [0, 1], written as ``5%`` or ``0.05``."""


_TOKEN = re.compile(r"[\x21-\x7e]+")
"""Printable ASCII without spaces: a token that fits in a header unchanged."""

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An HTTP header name (RFC 9110 token)."""


class SettingsError(ValueError):
    """Invalid configuration; ``str()`` is one line naming the variable, the value and what is allowed."""

    exit_code: ClassVar[int] = ExitCode.INVALID_CONFIG


class _OptionModel(BaseSettings):
    """Common machinery: fields map to Locust options and environment variables by one naming rule."""

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )
    option_prefix: ClassVar[str]
    env_prefix_name: ClassVar[str]
    option_help: ClassVar[dict[str, str]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The process environment reaches us through Locust's parser (as init values), where it
        # already ranks below the command line and above config files. Reading it here again would
        # let an environment variable beat a command-line option.
        return (init_settings, dotenv_settings)


class ScenarioSettings(_OptionModel):
    """The scenario choice and every parameter a profile, user template or threshold may read.

    ``None`` means "not set": the profile's own default applies.
    """

    model_config = SettingsConfigDict(env_prefix="LOCUST_SCENARIO_")
    option_prefix: ClassVar[str] = "--scenario-"
    env_prefix_name: ClassVar[str] = "LOCUST_SCENARIO_"

    scenario: str = Field(
        "load",
        validation_alias=AliasChoices("scenario", "LOCUST_SCENARIO"),
        description="test type to run: smoke, load, stress, spike, endurance, breakpoint, or a registered name",
    )
    users: int | None = Field(None, ge=1, le=MAX_USERS, description="the most users the profile will ever run")
    rate: float | None = Field(
        None,
        gt=0,
        le=MAX_RATE,
        allow_inf_nan=False,
        description="open model: the most iterations per second; the profile then shapes throughput",
    )
    duration: Duration | None = Field(None, gt=0, description="total planned duration of the profile")
    ramp_up: Duration | None = Field(None, description="time to ramp from zero to the first level")
    ramp_down: Duration | None = Field(None, description="time to ramp back to zero at the end")
    hold: Duration | None = Field(None, description="time held at a peak (spike) or at each step")
    spawn_rate: float | None = Field(
        None,
        gt=0,
        le=MAX_USERS,
        allow_inf_nan=False,
        description="users per second for steps that have no ramp of their own",
    )
    steps: int | None = Field(None, ge=1, le=1000, description="number of steps (stress and breakpoint staircases)")
    baseline: Ratio | None = Field(None, description="baseline level as a share of users (spike)")
    stages: str | None = Field(
        None,
        description="declarative stages, 'DURATION:TARGET' separated by commas, e.g. '30s:10,1m:10,30s:0'",
    )
    think_time: str | None = Field(
        None, description="wait between iterations of the user templates: '1s' or a range '1s-3s'"
    )
    pacing: Duration | None = Field(
        None, description="each iteration of the user templates starts at least this long after the last"
    )
    endpoints: str | None = Field(
        None, description="endpoints of the config-driven user: a TOML, JSON or YAML file, or inline JSON"
    )
    auth_token: SecretStr | None = Field(
        None,
        description="token the user templates send in the auth header, to the target's origin only",
    )
    auth_header: str = Field("Authorization", description="header that carries the auth token")
    auth_scheme: str = Field("Bearer", description="scheme written before the token ('none' for the bare token)")
    auth_origins: str | None = Field(
        None,
        description="other origins that may receive the token too, e.g. 'https://auth.example.com' ('*': any)",
    )
    request_timeout: Duration | None = Field(
        None, gt=0, description="the user templates' connect and response timeout per request (default 60s)"
    )
    thresholds: str | None = Field(None, description="pass/fail criteria, e.g. 'p95<500ms,fail_ratio<1%,rps>50'")
    stop_on: str | None = Field(
        None, description="breakpoint: criteria that must hold; the run stops at the first breach"
    )
    abort_on_fail: bool = Field(False, description="stop the run as soon as a threshold fails")
    abort_grace: Duration = Field(30.0, description="no abort during this first part of the run")
    summary: str | None = Field(None, description="write the verdict and summary as JSON to this path")
    trust: bool = Field(
        True, description="judge the load generator (exit 5 when it missed the plan); 'off' keeps only 'no request'"
    )
    trust_cpu: Ratio = Field(0.9, description="CPU usage of a generator process counted as saturated")
    trust_lag: Duration = Field(
        0.5, description="event-loop delay of the master or local runner that counts as saturated"
    )
    trust_cpu_share: Ratio = Field(
        0.1, description="share of the run a generator process may spend saturated (CPU or event loop)"
    )
    trust_tracking: Ratio = Field(
        0.2, description="largest shortfall of users or iterations/s against the plan, over the run"
    )
    trust_late: Ratio = Field(0.1, description="largest share of open-model iterations started late or dropped")
    trust_worker_grace: Duration = Field(
        30.0, description="time a lost worker's users may stay below the plan before the run is inconclusive"
    )
    record: str | None = Field(None, description="write the run record (versioned JSON, see reports) to this path")
    report: str | None = Field(None, description="write the self-contained HTML report of the run to this path")
    record_log: bool = Field(
        False, description="also print the run record, compressed, as one log line (for `locust-scenarios fetch`)"
    )
    tags: str | None = Field(
        None, description="tags of the run record, 'key=value' separated by commas, e.g. 'environment=staging'"
    )
    baseline_record: str | None = Field(
        None, description="run record that thresholds such as 'p95<baseline+10%' compare against"
    )

    secret_fields: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    @field_validator("auth_token", mode="before")
    @classmethod
    def _plain_token(cls, value: object) -> object:
        # The error never repeats the token: _one_line hides the input of secret fields.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and text and not _TOKEN.fullmatch(text):
            raise ValueError(
                "must be printable ASCII without spaces or control characters "
                "(a trailing newline from `echo` counts: use `printf %s` or `echo -n`)"
            )
        return value

    @field_validator("auth_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.fullmatch(value):
            raise ValueError("must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)")
        return value

    @field_validator("auth_scheme")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value and not _HEADER_NAME.fullmatch(value.strip()):
            raise ValueError("must be one word such as Bearer, Token or none")
        return value


class ExporterSettings(_OptionModel):
    """Options of the Prometheus exporter (``--prometheus-*`` / ``LOCUST_PROMETHEUS_*``)."""

    model_config = SettingsConfigDict(env_prefix="LOCUST_PROMETHEUS_")
    option_prefix: ClassVar[str] = "--prometheus-"
    env_prefix_name: ClassVar[str] = "LOCUST_PROMETHEUS_"

    port: int | None = Field(None, ge=0, le=65535, description="serve /metrics on this port (0 = any free port)")
    host: str = Field("0.0.0.0", description="address the metrics port binds to")  # noqa: S104
    linger: Duration = Field(15.0, description="keep serving after the run so the final state is scraped")
    max_names: int = Field(200, ge=1, description="request names exported before the rest fold into one")
    buckets: str | None = Field(None, description="latency histogram buckets, e.g. '5ms,10ms,50ms,100ms,1s'")
    pushgateway: str | None = Field(None, description="push the final state to this Pushgateway URL")
    run_id: str | None = Field(None, description="run id label on locust_scenario_info (default: generated)")


SettingsT = TypeVar("SettingsT", bound=_OptionModel)


def option_name(model: type[_OptionModel], field: str) -> str:
    """The Locust command-line option of a field (``--scenario-users``; ``--scenario`` for the name)."""
    if field == "scenario" and model is ScenarioSettings:
        return "--scenario"
    return model.option_prefix + field.replace("_", "-")


def env_name(model: type[_OptionModel], field: str) -> str:
    """The environment variable of a field (``LOCUST_SCENARIO_USERS``; ``LOCUST_SCENARIO``)."""
    if field == "scenario" and model is ScenarioSettings:
        return "LOCUST_SCENARIO"
    return model.env_prefix_name + field.upper()


def option_dest(model: type[_OptionModel], field: str) -> str:
    """The attribute name of a field on Locust's parsed options (``scenario_users``)."""
    return option_name(model, field).removeprefix("--").replace("-", "_")


_MODELS: tuple[type[_OptionModel], ...] = (ScenarioSettings, ExporterSettings)


def add_options(parser: Any) -> None:
    """Register every setting as a Locust option on ``parser`` (a Locust argument parser).

    Defaults are ``None`` so that "not given" stays distinguishable from a value; pydantic fills
    defaults later, after ``.env`` and class attributes had their say.
    """
    # Straight on the parser, not in an argument group: only Locust's parser itself understands
    # include_in_web_ui, which keeps secrets out of the web UI and the master-to-worker messages' form.
    for model in _MODELS:
        secret: frozenset[str] = getattr(model, "secret_fields", frozenset())
        for field, info in model.model_fields.items():
            parser.add_argument(
                option_name(model, field),
                dest=option_dest(model, field),
                env_var=env_name(model, field),
                default=None,
                help=(info.description or "").replace("%", "%%"),
                include_in_web_ui=field not in secret,
            )


def environment_options(args: Sequence[str] = ()) -> Any:
    """Our options parsed as Locust would (``args``, then the environment, then config files).

    For code that runs outside a Locust process, such as a preview or a test building its own
    ``Environment``: it sees the same values a real run would.
    """
    parser = get_empty_argument_parser(add_help=False)
    add_options(parser)
    namespace, _ = parser.parse_known_args(args=list(args))
    return namespace


def _given(options: Any, model: type[_OptionModel]) -> dict[str, Any]:
    """The values the user actually gave (command line, environment or config file)."""
    if options is None:
        return {}
    found = vars(options) if not isinstance(options, Mapping) else options
    given = {}
    for field in model.model_fields:
        value = found.get(option_dest(model, field))
        # An empty value means "not set": Locust's web UI submits its empty form fields as "", and
        # templates render unset values as LOCUST_SCENARIO_USERS= .
        if value is not None and value != "":
            given[field] = value
    return given


def load_settings(
    model: type[SettingsT],
    options: Any = None,
    class_defaults: Mapping[str, Any] | None = None,
    env_file: str | None = ".env",
) -> SettingsT:
    """Merge and validate: Locust's parsed ``options`` > ``.env`` > ``class_defaults`` > defaults.

    Raises ``SettingsError`` with a one-line message for the first invalid setting.
    """
    target: type[SettingsT] = model
    defaults = {k: v for k, v in (class_defaults or {}).items() if k in model.model_fields}
    if defaults:
        # A subclass whose field defaults are the class attributes: pydantic then ranks them below
        # .env and validates them like any other value (validate_default=True).
        namespace: dict[str, Any] = {"__annotations__": {}}
        for field, value in defaults.items():
            namespace["__annotations__"][field] = model.model_fields[field].annotation
            namespace[field] = Field(value, **_constraints(model, field))
        target = type(model.__name__, (model,), namespace)
    given = _given(options, model)
    try:
        return target(_env_file=env_file if env_file and os.path.exists(env_file) else None, **given)
    except ValidationError as error:
        raise SettingsError(_one_line(model, error, given, defaults)) from None


def _constraints(model: type[_OptionModel], field: str) -> dict[str, Any]:
    info = model.model_fields[field]
    kept: dict[str, Any] = {"description": info.description}
    if info.validation_alias is not None:
        kept["validation_alias"] = info.validation_alias
    for meta in info.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(meta, name, None) is not None:
                kept[name] = getattr(meta, name)
    return kept


def _one_line(
    model: type[_OptionModel], error: ValidationError, given: Mapping[str, Any], defaults: Mapping[str, Any]
) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    field = loc[0] if loc else "?"
    if field == "LOCUST_SCENARIO":
        field = "scenario"
    secret: frozenset[str] = getattr(model, "secret_fields", frozenset())
    value = "<hidden>" if field in secret else shown(first.get("input"))
    where = env_name(model, field) if field in model.model_fields else field
    if field in given:
        source = f"{where}={value} ({option_name(model, field)})"
    elif field in defaults:
        source = f"{where}={value} (class attribute {field})"
    else:
        source = f"{where}={value}"
    message = str(first["msg"])
    message = message.removeprefix("Value error, ")
    message = message.replace("Input should be", "must be").replace("input should be", "must be")
    allowed = model.model_fields[field].description if field in model.model_fields else ""
    hint = f" — {allowed}" if allowed else ""
    return f"invalid setting {source}: {message}{hint}"


_SERVICE_LINK = re.compile(
    r"[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)"
)
"""The variables Kubernetes gives a pod for every Service of its namespace (service links): a Service
named ``locust-scenarios`` yields ``LOCUST_SCENARIOS_SERVICE_HOST``, ``LOCUST_SCENARIOS_PORT_5557_TCP``..."""


def unknown_variable_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """Warnings for ``LOCUST_SCENARIO_*`` / ``LOCUST_PROMETHEUS_*`` variables no option knows.

    Typos are the commonest bad input; each warning names the closest known variable. Service-link
    variables are not typos: charts that keep service links on (deliveryhero/locust) get them for
    Services named ``locust-scenarios...``.
    """
    environ = os.environ if environ is None else environ
    known = [env_name(model, field) for model in _MODELS for field in model.model_fields]
    warnings = []
    for name in sorted(environ):
        if not name.startswith(("LOCUST_SCENARIO", "LOCUST_PROMETHEUS_")) or name in known:
            continue
        if _SERVICE_LINK.fullmatch(name):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(known)}"
        warnings.append(f"unknown variable {name} is ignored{suggestion}")
    return warnings


@dataclass(frozen=True)
class _FieldDoc:
    option: str
    env: str
    default: Any
    description: str


def describe(model: type[_OptionModel]) -> Iterable[_FieldDoc]:
    """Option, variable, default and description of every field (for `list` and the docs)."""
    for field, info in model.model_fields.items():
        yield _FieldDoc(option_name(model, field), env_name(model, field), info.default, info.description or "")
