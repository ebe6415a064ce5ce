"""Run records checked before anything reads them: JSON within a nesting bound, the shipped JSON
Schema (through ``jsonschema``), then what a schema cannot say.

Every renderer and ``compare`` relies on this: a record that passes ``check_record`` has every field
the schema requires, of the type it states (exit codes a process can have, counts of at most
2^53 - 1), with finite numbers and counts that add up. A record that does not is refused with one
line naming the JSON path of the first problem (``$.total.requests: 'abc' is not of type
'integer'``), as a ``SettingsError`` (exit code 2).

``jsonschema`` is imported only when a record is checked: the hosts that read records (``report``,
``compare``, a baseline) install it with the ``records`` extra; the pods that only write records do
not need it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from itertools import accumulate, pairwise
from typing import Any, Final

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import install_hint, shown

__all__ = [
    "KIND",
    "MAX_DEPTH",
    "SCHEMA_VERSION",
    "RecordError",
    "check_record",
    "describe_problem",
    "json_path",
    "parse_record",
    "read_record",
    "schema",
]

SCHEMA_VERSION: Final = 1
"""The version of the record layout; a reader refuses records of a version it does not know."""

KIND: Final = "locust-scenarios/run-record"

MAX_DEPTH: Final = 32
"""The deepest nesting of arrays and objects a record may have (a real one has 5 levels)."""

_MESSAGE_LIMIT: Final = 160
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def schema() -> dict[str, Any]:
    """The JSON Schema of run records (``locust_scenarios/schemas/run-record.schema.json``)."""
    text = resources.files("locust_scenarios").joinpath("schemas/run-record.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


class RecordError(ValueError):
    """What is wrong with a record: the JSON path and the rule (turned into a ``SettingsError`` by callers)."""

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path}: {rule}" if path else rule)


def json_path(parts: Iterator[str | int] | list[str | int] | tuple[str | int, ...]) -> str:
    """``$.requests[0].name`` for the keys and indexes; keys that are not plain names are quoted."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.fullmatch(part):
            text += f".{part}"
        else:
            text += f"[{_cut(json.dumps(part))}]"
    return text


def _cut(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in a JSON text, brackets inside strings not counted."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if char in "[{" else -1 for char in brackets), default=0)


def parse_record(text: str) -> Any:
    """The JSON value of ``text``; ``RecordError`` when it is not JSON or nests deeper than ``MAX_DEPTH``.

    The nesting is measured before parsing, so a hostile document (100,000 brackets deep) is refused
    in one line instead of exhausting the parser's recursion.
    """
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise RecordError("", f"nested {depth} levels deep; a run record has at most {MAX_DEPTH}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise RecordError("", f"not JSON ({_cut(str(error))})") from None


@functools.cache
def _validator() -> Any:
    try:
        import jsonschema  # noqa: PLC0415  (host-side only: the records extra)
    except ImportError:
        raise SettingsError(f"reading a run record needs jsonschema: {install_hint('records')}") from None
    return jsonschema.Draft202012Validator(schema())


def check_record(document: Any) -> dict[str, Any]:
    """``document`` when it is a run record this version reads; ``RecordError`` naming the first problem.

    ``SettingsError`` when ``jsonschema`` is not installed.
    """
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise RecordError("", f'not a locust-scenarios run record (no "kind": "{KIND}")')
    version = document.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise RecordError("", f"schema version {_cut(repr(version), 40)}, this version reads {SCHEMA_VERSION}")
    _check_numbers(document)
    error = _first_schema_error(document)
    if error is not None:
        raise RecordError(json_path(list(error.absolute_path)), _cut(" ".join(error.message.split())))
    _check_counts(document)
    return document


def read_record(text: str, source: str, *, setting: str | None = None) -> dict[str, Any]:
    """The run record in ``text`` (read from ``source``), checked; a one-line ``SettingsError`` if it is not one."""
    try:
        return check_record(parse_record(text))
    except RecordError as problem:
        raise describe_problem(source, problem, setting) from None


def describe_problem(source: str, problem: RecordError, setting: str | None = None) -> SettingsError:
    """The one-line refusal of the record read from ``source``: by the setting that named it, if any."""
    if setting:
        return SettingsError.invalid(setting, source, str(problem))
    return SettingsError(f"invalid run record {shown(source)}: {problem}")


def _first_schema_error(document: Mapping[str, Any]) -> Any:
    validator = _validator()
    from jsonschema.exceptions import best_match  # noqa: PLC0415  (installed with the validator)

    return best_match(validator.iter_errors(document))


def _check_numbers(value: Any, path: tuple[str | int, ...] = ()) -> None:
    """Every number finite (JSON has no NaN or infinity; Python's parser reads ``NaN`` and ``1e999``)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise RecordError(json_path(where), f"{item!r} is not a finite number")
        if isinstance(item, dict):
            stack.extend((child, (*where, str(key))) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, (*where, index)) for index, child in enumerate(item))


def _check_counts(record: Mapping[str, Any]) -> None:
    """What the schema cannot state: counts that add up, and an ordered distribution."""
    entries = [(("requests", index), entry) for index, entry in enumerate(record["requests"])]
    for where, entry in [*entries, (("total",), record["total"])]:
        for count in ("failures", "timed"):
            if entry[count] > entry["requests"]:
                raise RecordError(
                    json_path((*where, count)), f"{entry[count]} is more than the {entry['requests']} requests"
                )
        times = [pair[0] for pair in entry["response_times"]]
        if any(later <= earlier for earlier, later in pairwise(times)):
            raise RecordError(json_path((*where, "response_times")), "response times are not in increasing order")
        counted = sum(pair[1] for pair in entry["response_times"])
        if counted != entry["timed"]:
            raise RecordError(
                json_path((*where, "response_times")),
                f"the distribution counts {counted} requests, not the {entry['timed']} timed ones",
            )
