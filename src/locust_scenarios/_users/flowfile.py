"""The journeys format of an endpoints file: ``[[data]]``, ``[[flows]]`` and their steps, checked whole.

An endpoints file with ``data`` or ``flows`` tables is loaded here; a file with only ``endpoints``
keeps its old meaning (``endpoints.load_endpoints``), and in a journeys file each endpoint becomes a
one-step flow. Everything is checked before any load, and the first problem is one line naming the
file, the flow, the step and the field:

- the fields of every data file, flow, step, capture and check (unknown keys with a suggestion);
- every data file exists, can be read, and has each column a step uses;
- every ``{{ variable }}`` is a data file column, a built-in, an environment variable that is set,
  a capture of an earlier step of the same flow, or of an ``on_start`` flow (they last the user's life).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from locust_scenarios._settings.errors import SettingsError, pydantic_rule
from locust_scenarios._settings.options import Setting, parse_duration, suggest

from .captures import NOT_GIVEN, Capture, Check, compile_capture, compile_check
from .endpoints import Endpoint, EndpointSource, _entries, _plain, _read_document, _validated, load_endpoints
from .feeders import open_source
from .sharing import DataPlan
from .templating import BUILTINS, Template, compile_body, parse_template, variables_of_body

__all__ = ["DataFile", "Flow", "JourneyPlan", "Step", "StepPlan", "load_configured", "load_journeys"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOP_LEVEL = ("endpoints", "defaults", "data", "flows")
_RESERVED = BUILTINS | {"env"}
_T = TypeVar("_T")


class DataFile(BaseModel):
    """``[[data]]``: a CSV, JSON or JSON Lines file whose columns are variables ``{{ name.column }}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    file: str
    mode: Literal["sequential", "random", "unique"] = "sequential"
    on_exhausted: Literal["stop_user", "stop_run", "recycle"] | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.fullmatch(value) or value in _RESERVED:
            raise ValueError(f"{value!r} must be a name of letters, digits and _ (not {', '.join(sorted(_RESERVED))})")
        return value


class CheckSpec(BaseModel):
    """One entry of a step's ``checks``: ``json`` with ``equals`` or ``exists``, or ``body_contains``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    json_path: str | None = Field(None, alias="json")
    equals: Any = NOT_GIVEN
    exists: bool | None = None
    body_contains: str | None = None


class Step(Endpoint):
    """``[[flows.steps]]``: an endpoint (method, path, headers, json, status, budget, name) plus the
    journey's parts: ``query``, ``capture``, ``checks``, ``think``, ``repeat`` and ``for_each``/``as``."""

    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    capture: dict[str, str] = Field(default_factory=dict)
    checks: tuple[CheckSpec, ...] = ()
    think: float | None = None
    repeat: int = Field(1, ge=1, le=10_000)
    for_each: str | None = None
    each: str = Field("each", alias="as")

    @field_validator("weight")
    @classmethod
    def _no_weight(cls, _value: float) -> float:
        raise ValueError("a step has no weight: weigh the flow")

    @field_validator("think", mode="before")
    @classmethod
    def _think(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("capture")
    @classmethod
    def _capture_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _IDENTIFIER.fullmatch(name) or name in _RESERVED:
                raise ValueError(f"{name!r} must be a name of letters, digits and _ (not a built-in)")
        return value


class Flow(BaseModel):
    """``[[flows]]``: a named, weighted journey of ordered steps; ``on_start`` runs once per user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0, allow_inf_nan=False)
    on_start: bool = False
    steps: tuple[Step, ...] = Field(min_length=1)


def _field(name: str, make: Callable[[], _T]) -> _T:
    """``make()``, its ``ValueError`` prefixed with the field it is about."""
    try:
        return make()
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


class StepPlan:
    """A step made ready to send: templates parsed, captures and checks compiled."""

    __slots__ = (
        "body",
        "budget",
        "captures",
        "checks",
        "each",
        "expected",
        "for_each",
        "headers",
        "label",
        "method",
        "path",
        "query",
        "repeat",
        "think",
    )

    def __init__(self, step: Step, defaults_headers: Mapping[str, str]) -> None:
        self.method = step.method
        self.path: Template = _field("path", partial(parse_template, step.path))
        self.label = step.name or (step.path if not self.path.constant or step.query else None)
        headers = {**defaults_headers, **step.headers}
        self.headers = tuple(
            (name, _field(f"headers.{name}", partial(parse_template, text))) for name, text in headers.items()
        )
        self.query = tuple(
            (key, _field(f"query.{key}", partial(parse_template, value)) if isinstance(value, str) else value)
            for key, value in step.query.items()
        )
        self.body = _field("json", partial(compile_body, step.body))
        self.expected = step.status
        self.budget = step.budget
        self.captures: tuple[Capture, ...] = tuple(
            _field(f"capture.{name}", partial(compile_capture, name, spec)) for name, spec in step.capture.items()
        )
        self.checks: tuple[Check, ...] = tuple(
            _field(f"checks.{n}", partial(compile_check, c.json_path, c.equals, c.exists, c.body_contains))
            for n, c in enumerate(step.checks, 1)
        )
        self.think = step.think
        self.repeat = step.repeat
        self.for_each = step.for_each
        self.each = step.each

    def variables(self) -> list[tuple[str, str]]:
        """``(field, variable)`` for each variable the step reads."""
        found = [("path", name) for name in self.path.variables]
        found += [(f"headers.{key}", name) for key, template in self.headers for name in template.variables]
        found += [(f"query.{key}", name) for key, value in self.query if isinstance(value, Template)
                  for name in value.variables]  # fmt: skip
        return found


class FlowPlan:
    """A flow made ready to run: its steps, and the data files its steps read."""

    __slots__ = ("data", "name", "on_start", "steps", "weight")

    def __init__(self, name: str, weight: float, on_start: bool, steps: tuple[StepPlan, ...], data: tuple[str, ...]):
        self.name = name
        self.weight = weight
        self.on_start = on_start
        self.steps = steps
        self.data = data


class JourneyPlan:
    """A whole journeys file, checked: flows (``on_start`` apart), data files and environment values."""

    def __init__(self, flows: tuple[FlowPlan, ...], data: tuple[DataPlan, ...], env: dict[str, str]) -> None:
        self.on_start = tuple(flow for flow in flows if flow.on_start)
        self.flows = tuple(flow for flow in flows if not flow.on_start)
        self.data = data
        self.env = env
        total, cumulative = 0.0, []
        for flow in self.flows:
            total += flow.weight
            cumulative.append(total)
        self.cumulative = tuple(cumulative)

    def step_names(self) -> list[str]:
        """The statistics names of the steps, in journey order (``on_start`` flows first)."""
        names: list[str] = []
        for flow in (*self.on_start, *self.flows):
            for step in flow.steps:
                name = step.label or step.path.source
                if name not in names:
                    names.append(name)
        return names


# -- loading ----------------------------------------------------------------------------------------


def _where(flow: str | None, step: int | None, label: str | None) -> str:
    parts = []
    if flow is not None:
        parts.append(f"flow {flow!r}")
    if step is not None:
        parts.append(f"step {step}" + (f" ({_plain(label)})" if label else ""))
    return ", ".join(parts)


def _model(model: type[BaseModel], raw: Any, where: str) -> Any:
    """``raw`` validated as ``model``; ``ValueError`` naming ``where`` and the first bad field."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a table of fields")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = min(error.errors(), key=lambda found: found["type"] != "extra_forbidden")
        field = ".".join(str(part) for part in first["loc"]) or "entry"
        message = pydantic_rule(first)
        if first["type"] == "extra_forbidden":
            message += suggest(field, [info.alias or name for name, info in model.model_fields.items()])
        raise ValueError(f"{where}: {_plain(field)} {message}") from None


def _flows(document: Mapping[str, Any]) -> list[tuple[Flow, dict[str, str]]]:
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ValueError("'defaults' must be a table of endpoint fields")
    step_defaults = {key: value for key, value in defaults.items() if key not in ("weight", "headers")}
    headers = dict(defaults.get("headers") or {})
    flows: list[tuple[Flow, dict[str, str]]] = []
    if document.get("endpoints"):
        entries = _entries({"endpoints": document["endpoints"], "defaults": defaults})
        for endpoint in _validated(entries):
            step = Step.model_validate(endpoint.model_dump(exclude={"weight"}, by_alias=False))
            flows.append((Flow(name=endpoint.describe(), weight=endpoint.weight, steps=(step,)), {}))
    raw_flows = document.get("flows") or []
    if not isinstance(raw_flows, list):
        raise ValueError("'flows' must be a list of [[flows]] tables")
    for number, raw in enumerate(raw_flows, 1):
        name = raw.get("name") if isinstance(raw, Mapping) else None
        where = _where(str(name) if name else f"#{number}", None, None)
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: must be a table of fields")
        steps = raw.get("steps")
        if isinstance(steps, list):
            validated = []
            for index, step in enumerate(steps, 1):
                label = f"{step.get('method', 'GET')} {step.get('path')}" if isinstance(step, Mapping) else None
                validated.append(_model(Step, {**step_defaults, **step} if isinstance(step, Mapping) else step,
                                        f"{where}, {_where(None, index, label)}"))  # fmt: skip
            flows.append((_model(Flow, {**raw, "steps": validated}, where), headers))
        else:
            flows.append((_model(Flow, raw, where), headers))
    names = [flow.name for flow, _ in flows]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"flow {duplicated[0]!r}: two flows have this name")
    if flows and all(flow.on_start for flow, _ in flows):
        raise ValueError("every flow is on_start: add a flow for the iterations")
    if not flows:
        raise ValueError("no flows and no endpoints: add a [[flows]] table with steps")
    return flows


def _data(document: Mapping[str, Any], base: Path) -> dict[str, DataPlan]:
    raw = document.get("data") or []
    if not isinstance(raw, list):
        raise ValueError("'data' must be a list of [[data]] tables")
    plans: dict[str, DataPlan] = {}
    for number, entry in enumerate(raw, 1):
        label = entry.get("name") if isinstance(entry, Mapping) else None
        where = f"data {str(label or f'#{number}')!r}"
        spec: DataFile = _model(DataFile, entry, where)
        if spec.name in plans:
            raise ValueError(f"{where}: two data files have this name")
        if spec.on_exhausted is not None and spec.mode != "unique":
            raise ValueError(f"{where}: on_exhausted applies to mode = 'unique' only")
        path = Path(spec.file).expanduser()
        try:
            source = open_source(path if path.is_absolute() else base / path)
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{where}: cannot read {spec.file}: {error}") from None
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        plans[spec.name] = DataPlan(spec.name, source, spec.mode, spec.on_exhausted or "stop_user")
    return plans


def _check_variable(name: str, defined: set[str], data: Mapping[str, DataPlan], env: dict[str, str]) -> str | None:
    """Why ``name`` cannot be filled, or None when it can (an ``env.NAME`` read is stored in ``env``)."""
    if name in defined or name in BUILTINS:
        return None
    head, dot, column = name.partition(".")
    if dot and head == "env":
        if column not in os.environ:
            return f"{{{{ {name} }}}}: the environment variable {column} is not set"
        env[name] = os.environ[column]
        return None
    if dot and head in data:
        columns = data[head].source.columns
        if column in columns:
            return None
        return (
            f"{{{{ {name} }}}}: {data[head].source.path.name} has no column {column!r} (columns: {', '.join(columns)})"
        )
    known = sorted(defined | BUILTINS | {f"{d}.{c}" for d in data for c in data[d].source.columns})
    return (
        f"{{{{ {name} }}}} is not defined (not a data file column, a built-in or a capture of an earlier step)"
        + suggest(name, known)
    )


def _plan(document: Mapping[str, Any], base: Path) -> JourneyPlan:
    unknown = sorted(set(document) - set(_TOP_LEVEL))
    if unknown:
        raise ValueError(f"unknown top-level key {unknown[0]!r}: expected {', '.join(_TOP_LEVEL)}" +
                         suggest(unknown[0], _TOP_LEVEL))  # fmt: skip
    data = _data(document, base)
    flows = _flows(document)
    env: dict[str, str] = {}
    lasting: set[str] = set()  # captures of on_start flows, for the user's life
    plans: list[FlowPlan] = []
    for flow, headers in sorted(flows, key=lambda item: not item[0].on_start):
        defined = set(lasting)
        used: list[str] = []
        steps: list[StepPlan] = []
        for index, step in enumerate(flow.steps, 1):
            where = f"{_where(flow.name, index, step.describe())}"
            try:
                plan = StepPlan(step, headers)
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
            local = set(defined)
            if step.for_each is not None:
                problem = _check_variable(step.for_each, defined, data, env)
                if problem:
                    raise ValueError(f"{where}: for_each {problem}")
                local.add(step.each)
            reads = plan.variables() + [("json", name) for name in variables_of_body(step.body)]
            for field, name in reads:
                problem = _check_variable(name, local, data, env)
                if problem:
                    raise ValueError(f"{where}: {field} {problem}")
                head = name.partition(".")[0]
                if head in data and head not in used:
                    used.append(head)
            clash = sorted(set(step.capture) & set(data))
            if clash:
                raise ValueError(f"{where}: capture {clash[0]} has the name of a data file")
            defined |= set(step.capture)
            steps.append(plan)
        if flow.on_start:
            lasting |= defined
        plans.append(FlowPlan(flow.name, flow.weight, flow.on_start, tuple(steps), tuple(used)))
    return JourneyPlan(tuple(plans), tuple(data.values()), env)


def is_journeys(document: Any) -> bool:
    """True for a document in the journeys format (it has ``data`` or ``flows``)."""
    return isinstance(document, Mapping) and ("flows" in document or "data" in document)


def load_journeys(document: Mapping[str, Any], base: Path) -> JourneyPlan:
    """A journeys document checked whole (data files relative to ``base``); ``ValueError`` with one line."""
    return _plan(document, base)


def load_configured(
    source: EndpointSource | None, *, origin: Setting | None = None
) -> tuple[Endpoint, ...] | JourneyPlan:
    """The endpoints file of a run: plain endpoints, or a checked ``JourneyPlan``; ``SettingsError`` if bad.

    The error names the setting (or ``origin``), the file, and then the flow, step and field.
    """
    if source is None or not isinstance(source, str | Path):
        return load_endpoints(source, origin=origin)
    described = str(source)
    try:
        document = _read_document(source)
    except ValueError:
        return load_endpoints(source, origin=origin)  # the same refusal, worded by the plain loader
    if not is_journeys(document):
        return load_endpoints(source, origin=origin)
    text = str(source).strip()
    inline = isinstance(source, str) and text.startswith(("[", "{"))
    base = Path.cwd() if inline else Path(text).expanduser().parent
    name = "inline JSON" if inline else Path(text).name
    try:
        return load_journeys(document, base)
    except RecursionError:
        raise SettingsError.invalid(origin or "endpoints", described, f"{name} is nested too deeply") from None
    except ValueError as error:
        raise SettingsError.invalid(origin or "endpoints", described, f"{name}: {error}") from None
