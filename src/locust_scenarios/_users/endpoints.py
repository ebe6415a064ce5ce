"""Endpoint definitions of the config-driven user: files (TOML, JSON, YAML) or inline JSON, validated.

Loadable and testable without a running Locust: ``load_endpoints`` turns a file path, inline JSON or
parsed definitions into validated ``Endpoint`` objects, or one line naming the bad entry. The
weighted pick lives here too (URL templates are in ``url``). pydantic loads with this module: the
templates import it when they first read their endpoints (at ``init``), not with the package.
"""

from __future__ import annotations

import importlib
import json as jsonlib
import math
import random
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from locust_scenarios._settings.errors import SettingsError, pydantic_rule
from locust_scenarios._settings.options import Setting, install_hint, parse_duration, shown, suggest

if TYPE_CHECKING:
    from .flowfile import JourneyPlan

__all__ = ["DEFAULT_ENDPOINTS", "Endpoint", "EndpointSource", "EndpointTable", "load_endpoints"]

EndpointSource = str | Path | Sequence[Mapping[str, Any]]
"""Where endpoints come from: a file path, inline JSON text, or already parsed definitions."""

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_YAML_HINT = f"reading YAML needs PyYAML: {install_hint('yaml')}"
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAX_BYTES = 1024 * 1024
"""The largest endpoints document read (file or inline): a bigger one is refused, not parsed."""
_MAX_ENDPOINTS = 10_000


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

    @field_validator("headers")
    @classmethod
    def _header_lines(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{shown(name)} is not an HTTP header name")
            if _CONTROL.search(text):
                raise ValueError(f"{name}: a header value must not hold CR, LF or other control characters")
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


def _plain(text: str) -> str:
    """``text`` as it is when short and printable, else quoted and cut (messages stay one line)."""
    return text if len(text) <= 80 and text.isprintable() else shown(text)


def _read_document(source: str | Path) -> Any:
    """Parsed content of an endpoints file (by extension) or of inline JSON text."""
    text = str(source).strip()
    if isinstance(source, str) and text.startswith(("[", "{")):
        if len(text) > _MAX_BYTES:
            raise ValueError(f"inline JSON is larger than {_MAX_BYTES // 1024} KiB")
        return _parse(text, "JSON", "inline JSON")
    try:
        path = Path(text).expanduser()
        found = path.is_file()
    except (RuntimeError, OSError, ValueError):  # ~nosuchuser, a name too long, a NUL byte
        found = False
        path = Path(text)
    if not found:
        raise ValueError(f"no such file {shown(path)} (give a .toml, .json, .yaml file, or inline JSON)")
    suffix = path.suffix.lower()
    kinds = {".toml": "TOML", ".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}
    if suffix not in kinds:
        raise ValueError(f"unknown file type {shown(suffix or '(none)')}: use .toml, .json, .yaml or .yml")
    if path.stat().st_size > _MAX_BYTES:
        raise ValueError(f"{_plain(path.name)} is larger than {_MAX_BYTES // 1024} KiB")
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {_plain(path.name)}: {error}") from None
    return _parse(content, kinds[suffix], _plain(path.name))


def _parse(content: str, kind: str, what: str) -> Any:
    """``content`` parsed as ``kind`` (JSON, TOML or YAML); any parser error becomes one ``ValueError``."""
    try:
        if kind == "JSON":
            return jsonlib.loads(content)
        if kind == "TOML":
            return tomllib.loads(content)
        return _load_yaml(content)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except (tomllib.TOMLDecodeError, jsonlib.JSONDecodeError) as error:
        raise ValueError(f"{what} is not valid {kind}: {error}") from None
    except _RefusedError as error:
        raise ValueError(f"{what}: {error}") from None
    except ImportError:
        raise ValueError(_YAML_HINT) from None
    except Exception as error:  # PyYAML's errors have no common base we can name without importing it
        raise ValueError(f"{what} is not valid {kind}: {' '.join(str(error).split())[:200]}") from None


class _RefusedError(Exception):
    """A YAML feature the endpoints format refuses."""


def _load_yaml(content: str) -> Any:
    """YAML without aliases: an alias can multiply a small file into gigabytes (a "billion laughs")."""
    yaml = importlib.import_module("yaml")

    class NoAliasLoader(yaml.SafeLoader):  # type: ignore[misc,name-defined]
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _RefusedError("YAML aliases (*name) are not allowed in endpoint files")
            return super().compose_node(parent, index)

    return yaml.load(content, Loader=NoAliasLoader)


def _entries(document: Any) -> list[Mapping[str, Any]]:
    """The endpoint entries of a document, with its ``defaults`` merged into each."""
    defaults: Mapping[str, Any] = {}
    if isinstance(document, Mapping):
        unknown = sorted(set(document) - {"endpoints", "defaults"})
        if unknown:
            raise ValueError(
                f"unknown top-level key {unknown[0]!r}: expected 'endpoints' and optional 'defaults' "
                "(or the journeys tables 'data' and 'flows')"
            )
        defaults = document.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise ValueError("'defaults' must be a table of endpoint fields")
        document = document.get("endpoints")
    if not isinstance(document, list):
        raise ValueError("expected a list of endpoints, or a table with an 'endpoints' list")
    if not document:
        raise ValueError("the list of endpoints is empty")
    if len(document) > _MAX_ENDPOINTS:
        raise ValueError(f"{len(document)} endpoints: at most {_MAX_ENDPOINTS} are allowed")
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
            # A misspelt key first: "pth is not a known field; did you mean path?" explains the
            # "path is required" that follows from it.
            first = min(error.errors(), key=lambda found: found["type"] != "extra_forbidden")
            field = ".".join(str(part) for part in first["loc"]) or "entry"
            message = pydantic_rule(first)
            if first["type"] == "extra_forbidden":
                known = [info.alias or name for name, info in Endpoint.model_fields.items()]
                message += suggest(field, known)
            label = f"{entry.get('method', 'GET')} {entry['path']}" if "path" in entry else "without a path"
            raise ValueError(f"endpoint {number} ({_plain(label)}): {_plain(field)} {message}") from None
    if not math.isfinite(sum(endpoint.weight for endpoint in endpoints)):
        raise ValueError("the weights add up to infinity: use smaller weights (only their ratios matter)")
    return tuple(endpoints)


def load_endpoints(source: EndpointSource | None, *, origin: Setting | None = None) -> tuple[Endpoint, ...]:
    """Validated endpoints from a file path, inline JSON, or parsed definitions; ``GET /`` for ``None``.

    Raises ``SettingsError`` with one line naming ``origin`` (default: the
    ``LOCUST_SCENARIO_ENDPOINTS`` setting; a class attribute names itself), the value and the first
    bad entry.
    """
    if source is None or (isinstance(source, str) and not source.strip()):
        return DEFAULT_ENDPOINTS
    described = str(source) if isinstance(source, str | Path) else "[...]"
    try:
        document = _read_document(source) if isinstance(source, str | Path) else list(source)
        return _validated(_entries(document))
    except RecursionError:
        raise SettingsError.invalid(origin or "endpoints", described, "the endpoints are nested too deeply") from None
    except ValueError as error:
        raise SettingsError.invalid(origin or "endpoints", described, str(error)) from None


@dataclass(frozen=True)
class EndpointTable:
    endpoints: tuple[Endpoint, ...]
    cumulative: tuple[float, ...]
    journeys: JourneyPlan | None = None
    """A journeys file's checked flows (``endpoints`` is then empty)."""

    @classmethod
    def of(cls, endpoints: tuple[Endpoint, ...]) -> EndpointTable:
        total, cumulative = 0.0, []
        for endpoint in endpoints:
            total += endpoint.weight
            cumulative.append(total)
        return cls(endpoints, tuple(cumulative))

    def pick(self) -> Endpoint:
        return random.choices(self.endpoints, cum_weights=self.cumulative)[0]
