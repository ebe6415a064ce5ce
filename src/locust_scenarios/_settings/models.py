"""Settings: the scenario choice, the parameter vocabulary shared by every profile, and the exporter.

Every field here is also a Locust command-line option. ``add_options`` registers them on Locust's own
parser, so Locust's precedence applies unchanged (command line, then ``LOCUST_SCENARIO_*`` environment
variables, then ``locust.conf`` / ``[tool.locust]``). What Locust did not set falls through to a
``.env`` file, then to class attributes of the profile (a subclass that says ``users = 50``), then to
the defaults below. pydantic validates the merged result before any user spawns; ``SettingsError``
carries the one-line message naming the variable, the value and what is allowed.

pydantic and pydantic-settings load with this module, which the package imports only where settings
are validated (``init``, a preview, a test): the names, help texts, limits and units of the options
live in the pydantic-free ``options``, so registering the options costs no pydantic import.

This module imports nothing else of ours but ``options`` and the exit codes: it is the start of the
one-way data flow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import SettingsError, pydantic_rule
from .options import (
    DEFAULT_THINK_TIME,
    EXPORTER,
    MAX_RATE,
    MAX_USERS,
    SCENARIO,
    OptionGroup,
    env_name,
    help_text,
    option_dest,
    option_name,
    parse_duration,
    parse_ratio,
)

__all__ = [
    "Duration",
    "ExporterSettings",
    "Ratio",
    "ScenarioSettings",
    "chosen_scenario",
    "describe",
    "load_settings",
]

Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written as ``500ms``, ``90s``, ``5m``, ``1h30m`` or a number."""

Ratio = Annotated[float, BeforeValidator(parse_ratio)]
"""A fraction in [0, 1], written as ``5%`` or ``0.05``."""


_TOKEN = re.compile(r"[\x21-\x7e]+")
"""Printable ASCII without spaces: a token that fits in a header unchanged."""

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An HTTP header name (RFC 9110 token)."""


def _scenario(field: str) -> str:
    return help_text(SCENARIO, field)


def _exporter(field: str) -> str:
    return help_text(EXPORTER, field)


def _scenario_field() -> Any:
    """The profile's name: ``--scenario`` / ``LOCUST_SCENARIO``, ``load`` when not given."""
    named = AliasChoices("scenario", "LOCUST_SCENARIO")
    return Field("load", validation_alias=named, description=_scenario("scenario"))


class _OptionModel(BaseSettings):
    """Common machinery: fields map to Locust options and environment variables by one naming rule."""

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )
    options: ClassVar[OptionGroup]
    """How the fields are spelt as options and variables (``options`` holds the help texts)."""

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
    options: ClassVar[OptionGroup] = SCENARIO

    scenario: str = _scenario_field()
    users: int | None = Field(None, ge=1, le=MAX_USERS, description=_scenario("users"))
    rate: float | None = Field(
        None,
        gt=0,
        le=MAX_RATE,
        allow_inf_nan=False,
        description=_scenario("rate"),
    )
    duration: Duration | None = Field(None, gt=0, description=_scenario("duration"))
    ramp_up: Duration | None = Field(None, description=_scenario("ramp_up"))
    ramp_down: Duration | None = Field(None, description=_scenario("ramp_down"))
    hold: Duration | None = Field(None, description=_scenario("hold"))
    spawn_rate: float | None = Field(
        None,
        gt=0,
        le=MAX_USERS,
        allow_inf_nan=False,
        description=_scenario("spawn_rate"),
    )
    steps: int | None = Field(None, ge=1, le=1000, description=_scenario("steps"))
    baseline: Ratio | None = Field(None, description=_scenario("baseline"))
    stages: str | None = Field(
        None,
        description=_scenario("stages"),
    )
    trough: Ratio | None = Field(None, description=_scenario("trough"))
    period: Duration | None = Field(None, gt=0, description=_scenario("period"))
    phase: Ratio | None = Field(None, description=_scenario("phase"))
    harmonics: str | None = Field(None, description=_scenario("harmonics"))
    replay_source: str | None = Field(None, description=_scenario("replay_source"))
    replay_query: str | None = Field(None, description=_scenario("replay_query"))
    replay_range: Duration | None = Field(None, gt=0, description=_scenario("replay_range"))
    think_time: str = Field(DEFAULT_THINK_TIME, description=_scenario("think_time"))
    pacing: Duration | None = Field(None, description=_scenario("pacing"))
    populations: str | None = Field(None, description=_scenario("populations"))
    arrivals: Literal["uniform", "poisson"] = Field("uniform", description=_scenario("arrivals"))
    seed: int | None = Field(None, ge=0, description=_scenario("seed"))
    max_users: int | None = Field(None, ge=1, le=MAX_USERS, description=_scenario("max_users"))
    endpoints: str | None = Field(None, description=_scenario("endpoints"))
    auth_token: SecretStr | None = Field(
        None,
        description=_scenario("auth_token"),
    )
    auth_header: str = Field("Authorization", description=_scenario("auth_header"))
    auth_scheme: str = Field("Bearer", description=_scenario("auth_scheme"))
    auth_origins: str | None = Field(
        None,
        description=_scenario("auth_origins"),
    )
    request_timeout: Duration | None = Field(None, gt=0, description=_scenario("request_timeout"))
    thresholds: str | None = Field(None, description=_scenario("thresholds"))
    stop_on: str | None = Field(None, description=_scenario("stop_on"))
    abort_on_fail: bool = Field(False, description=_scenario("abort_on_fail"))
    abort_grace: Duration = Field(30.0, description=_scenario("abort_grace"))
    summary: str | None = Field(None, description=_scenario("summary"))
    trust: bool = Field(True, description=_scenario("trust"))
    trust_cpu: Ratio = Field(0.9, description=_scenario("trust_cpu"))
    trust_lag: Duration = Field(0.01, description=_scenario("trust_lag"))
    trust_cpu_share: Ratio = Field(0.1, description=_scenario("trust_cpu_share"))
    trust_tracking: Ratio = Field(0.2, description=_scenario("trust_tracking"))
    trust_late: Ratio = Field(0.1, description=_scenario("trust_late"))
    trust_worker_grace: Duration = Field(30.0, description=_scenario("trust_worker_grace"))
    record: str | None = Field(None, description=_scenario("record"))
    report: str | None = Field(None, description=_scenario("report"))
    record_log: bool = Field(False, description=_scenario("record_log"))
    tags: str | None = Field(None, description=_scenario("tags"))
    baseline_record: str | None = Field(None, description=_scenario("baseline_record"))
    prometheus_url: str | None = Field(None, description=_scenario("prometheus_url"))
    prometheus_token: SecretStr | None = Field(None, description=_scenario("prometheus_token"))
    prometheus_user: str | None = Field(None, description=_scenario("prometheus_user"))
    prometheus_password: SecretStr | None = Field(None, description=_scenario("prometheus_password"))
    prometheus_ca_bundle: str | None = Field(None, description=_scenario("prometheus_ca_bundle"))
    prometheus_timeout: Duration = Field(10.0, gt=0, description=_scenario("prometheus_timeout"))
    trace: Ratio = Field(0.0, description=_scenario("trace"))

    @field_validator("auth_token", mode="before")
    @classmethod
    def _plain_token(cls, value: object) -> object:
        # The error never repeats the token: the option table marks it secret, so no message shows it.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and text and not _TOKEN.fullmatch(text):
            raise ValueError(
                "must be printable ASCII without spaces or control characters "
                "(a trailing newline from `echo` counts: use `printf %s` or `echo -n`)"
            )
        return value

    @field_validator("prometheus_url")
    @classmethod
    def _prometheus_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value.strip()):
            raise ValueError("must be an http:// or https:// URL such as http://prometheus:9090 (no query)")
        return value.strip().rstrip("/") if value is not None else None

    @field_validator("prometheus_ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isfile(value):
            raise ValueError("must be a readable PEM file of CA certificates")
        return value

    @field_validator("auth_origins")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        # An entry without a scheme would never match a request's origin: refused, not silently useless.
        for item in (value or "").split(","):
            entry = item.strip()
            if entry and entry != "*" and not _http_url(entry):
                raise ValueError(
                    f"{entry!r} is not an origin: write each as scheme://host[:port], e.g. "
                    "'https://auth.example.com,http://127.0.0.1:8081', or '*' for any"
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
    options: ClassVar[OptionGroup] = EXPORTER

    port: int | None = Field(None, ge=0, le=65535, description=_exporter("port"))
    host: str = Field("0.0.0.0", description=_exporter("host"))  # noqa: S104
    linger: Duration = Field(15.0, description=_exporter("linger"))
    max_names: int = Field(200, ge=1, description=_exporter("max_names"))
    buckets: str | None = Field(None, description=_exporter("buckets"))
    pushgateway: str | None = Field(None, description=_exporter("pushgateway"))
    run_id: str | None = Field(None, description=_exporter("run_id"))

    @field_validator("pushgateway")
    @classmethod
    def _pushgateway(cls, value: str | None) -> str | None:
        # Checked at start: a URL found wrong only when the run ends would lose that run's push.
        if value and not _http_url(value):
            raise ValueError("must be a URL starting with http:// or https://, e.g. http://pushgateway:9091")
        return value


def _http_url(text: str) -> bool:
    """``text`` is an http(s) URL with a host (and a valid port, if any)."""
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


class _ScenarioChoice(_OptionModel):
    """The profile's name alone, read from the same sources as ``ScenarioSettings`` reads it."""

    model_config = SettingsConfigDict(env_prefix="LOCUST_SCENARIO_")
    options: ClassVar[OptionGroup] = SCENARIO

    scenario: str = _scenario_field()


SettingsT = TypeVar("SettingsT", bound=_OptionModel)


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

    Raises ``SettingsError`` with a one-line message naming every refused setting.
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
        raise _one_line(model, error, given, defaults) from None


def chosen_scenario(options: Any = None, default: str | None = None) -> str:
    """The profile name a run selects: Locust's ``options`` > ``.env`` > ``default`` > ``load``.

    The selecting shape needs the name before it can validate the settings once, with the chosen
    profile's class attributes as defaults; this reads that one field the way the settings read it.
    """
    return load_settings(_ScenarioChoice, options, {"scenario": default} if default else None).scenario


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
) -> SettingsError:
    """Every refused setting of ``error``, one clause each, on one line."""
    return SettingsError.joined(_clause(model, found, given, defaults) for found in error.errors())


def _clause(
    model: type[_OptionModel], found: ErrorDetails, given: Mapping[str, Any], defaults: Mapping[str, Any]
) -> SettingsError:
    """One pydantic error as a refused setting, named where its value came from."""
    field = str(found["loc"][0]) if found["loc"] else "scenario"
    if field == "LOCUST_SCENARIO":
        field = "scenario"
    if field in given:
        source = None  # the option (command line, environment or config file)
    elif field in defaults:
        source = f"class attribute {field}"
    else:
        source = "from .env"
    allowed = model.model_fields[field].description if field in model.model_fields else ""
    rule = pydantic_rule(found) + (f" — {allowed}" if allowed else "")
    return SettingsError.invalid(field, found.get("input"), rule, group=model.options, source=source)


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
