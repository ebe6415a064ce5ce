"""Captures and checks of a journey step: values saved from a response, and conditions on it.

A capture is ``json:<JMESPath>`` (a value of the JSON body), ``header:<Name>`` (a response header) or
``regex:<pattern>`` (the first group of the first match in the body, or the whole match). A capture
that finds nothing (no match, ``null``, an empty string) fails its request with a message naming the
capture: no later request ever goes out with an empty value. ``json:`` needs JMESPath (the
``journeys`` extra); a file that uses it without JMESPath installed is refused at load.

A check is ``status``/``budget`` (on the step) or one of these (``checks = [...]``): ``json`` with
``equals`` (the value must equal it) or ``exists`` (true: must exist; false: must not), and
``body_contains``.
"""

from __future__ import annotations

import importlib
import json as jsonlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from locust_scenarios._settings.options import install_hint

__all__ = ["Capture", "CaptureError", "Check", "JsonBody", "compile_capture", "compile_check", "jmespath_hint"]

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_MISSING: Any = object()


class CaptureError(Exception):
    """A capture found nothing, or a check failed: the request fails with this message."""


def jmespath_hint() -> str:
    """How to install what ``json:`` paths need."""
    return f"json: paths need JMESPath: {install_hint('journeys')}"


def _compile_path(expression: str) -> Callable[[Any], Any]:
    """A JMESPath expression compiled once; ``ValueError`` for a bad one or a missing library."""
    try:
        jmespath = importlib.import_module("jmespath")
    except ImportError:
        raise ValueError(jmespath_hint()) from None
    try:
        compiled = jmespath.compile(expression)
    except Exception as error:  # jmespath's ParseError and friends have no public common base
        raise ValueError(f"{expression!r} is not a JMESPath expression: {' '.join(str(error).split())[:120]}") from None
    if _SIMPLE_PATH.fullmatch(expression):
        return _lookup(tuple(int(part[1:-1]) if part[0] == "[" else part for part in _PATH_PART.findall(expression)))
    search: Callable[[Any], Any] = compiled.search
    return search


_SIMPLE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[-?\d+\])*")
_PATH_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\[-?\d+\]")


def _lookup(keys: tuple[str | int, ...]) -> Callable[[Any], Any]:
    """What JMESPath answers for a plain path (``items[0].id``), without its interpreter: the common case.

    As in JMESPath, a key of a non-object or an index of a non-array (or out of range) is ``None``.
    """

    def search(value: Any) -> Any:
        for key in keys:
            if isinstance(key, str):
                if not isinstance(value, dict):
                    return None
                value = value.get(key)
            else:
                if not isinstance(value, list) or not -len(value) <= key < len(value):
                    return None
                value = value[key]
        return value

    return search


class JsonBody:
    """A response's body parsed as JSON once, for every capture and check of the step."""

    __slots__ = ("_content", "_value")

    def __init__(self, content: bytes | None) -> None:
        self._content = content
        self._value: Any = _MISSING

    @property
    def value(self) -> Any:
        if self._value is _MISSING:
            try:
                self._value = jsonlib.loads(self._content or b"")
            except ValueError:
                raise CaptureError("response is not JSON") from None
        return self._value


@dataclass(frozen=True, slots=True)
class Capture:
    """One ``name = "kind:spec"`` of a step."""

    name: str
    spec: str
    kind: str
    read: Callable[[Any, JsonBody], Any]

    def take(self, response: Any, body: JsonBody) -> Any:
        """The captured value; ``CaptureError`` naming the capture when there is none."""
        try:
            value = self.read(response, body)
        except CaptureError as error:
            raise CaptureError(f"capture {self.name} ({self.spec}) found nothing: {error}") from None
        if value is None or value == "":
            raise CaptureError(f"capture {self.name} ({self.spec}) found nothing")
        return value


def compile_capture(name: str, spec: str) -> Capture:
    """``spec`` (``json:``, ``header:``, ``regex:``) made ready to run; ``ValueError`` naming what is allowed."""
    kind, _, argument = spec.partition(":")
    if kind == "json" and argument:
        search = _compile_path(argument)
        return Capture(name, spec, kind, lambda _response, body: search(body.value))
    if kind == "header" and argument:
        if not _HEADER_NAME.fullmatch(argument):
            raise ValueError(f"{argument!r} is not an HTTP header name")
        return Capture(name, spec, kind, lambda response, _body: response.headers.get(argument))
    if kind == "regex" and argument:
        try:
            pattern = re.compile(argument)
        except re.error as error:
            raise ValueError(f"{argument!r} is not a regular expression: {error}") from None

        def matched(response: Any, _body: JsonBody) -> Any:
            found = pattern.search(response.text or "")
            if found is None:
                return None
            return found.group(1) if pattern.groups else found.group(0)

        return Capture(name, spec, kind, matched)
    raise ValueError(f"{spec!r} must be json:<JMESPath>, header:<Name> or regex:<pattern>")


@dataclass(frozen=True, slots=True)
class Check:
    """One condition on a response; ``verify`` raises ``CaptureError`` with the reason it failed."""

    verify: Callable[[Any, JsonBody], None]


def _short(value: object) -> str:
    text = jsonlib.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def compile_check(json_path: str | None, equals: Any, exists: bool | None, body_contains: str | None) -> Check:
    """A check from its fields (one of ``json`` or ``body_contains``); ``ValueError`` for a bad one."""
    if (json_path is None) == (body_contains is None):
        raise ValueError("a check needs exactly one of json or body_contains")
    if body_contains is not None:
        if equals is not _MISSING or exists is not None:
            raise ValueError("equals and exists go with json, not body_contains")
        needle = body_contains

        def contains(response: Any, _body: JsonBody) -> None:
            if needle not in (response.text or ""):
                raise CaptureError(f"body does not contain {_short(needle)}")

        return Check(contains)
    assert json_path is not None
    if equals is not _MISSING and exists is not None:
        raise ValueError("give equals or exists, not both")
    search = _compile_path(json_path)
    path = json_path

    def verify(_response: Any, body: JsonBody) -> None:
        value = search(body.value)
        if equals is not _MISSING:
            if value != equals:
                raise CaptureError(f"JSON {path}: expected {_short(equals)}, got {_short(value)}")
        elif exists is False:
            if value is not None:
                raise CaptureError(f"JSON {path}: expected nothing, got {_short(value)}")
        elif value is None:
            raise CaptureError(f"JSON {path}: missing")

    return Check(verify)


NOT_GIVEN: Any = _MISSING
"""The ``equals`` of a check that gives none (``None`` is a value to compare with: JSON null)."""
