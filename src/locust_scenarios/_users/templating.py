"""``{{ name }}`` in a journey step: parsed once at load, filled per request, escaped for where it lands.

A template is literal text with expressions between ``{{`` and ``}}``. An expression is a variable
(a data file column ``accounts.user``, a capture ``token``, a built-in ``user_index``, ``iteration``,
``run_id``, an environment variable named in the file ``env.API_KEY``) or a generator
(``random_int(1, 100)``, ``uuid()``). Where a value lands decides its escaping:

- a path: percent-encoded as one segment (``/`` and ``?`` in a value cannot change the route);
- a query value: left as text here, ``urlencode`` encodes it when the URL is built;
- a header: text that must not hold CR, LF or another control character (no header injection);
- a JSON body: a string that is exactly one expression keeps the value's type (a number stays a
  number, a list a list); text around an expression makes a JSON string, escaped by the encoder.
"""

from __future__ import annotations

import functools
import json as jsonlib
import random
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = [
    "BUILTINS",
    "Expression",
    "RenderError",
    "Template",
    "compile_body",
    "parse_template",
    "render_body",
    "variables_of_body",
]

BUILTINS = frozenset({"user_index", "iteration", "run_id"})
"""Built-in variables, set for each user and iteration (``env.NAME`` and the generators are built in too)."""

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)?")
_RANDOM_INT = re.compile(r"random_int\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class RenderError(Exception):
    """A value cannot go where the template puts it (a line break in a header); the iteration stops."""


@dataclass(frozen=True, slots=True)
class Expression:
    """One ``{{ ... }}``: a variable to look up, or a generator (``random_int``, ``uuid``)."""

    text: str
    variable: str | None = None
    low: int = 0
    high: int = 0

    def value(self, scope: Mapping[str, Any]) -> Any:
        """The expression's value now; a variable is looked up in ``scope`` (checked before load)."""
        if self.variable is not None:
            return scope[self.variable]
        if self.text == "uuid()":
            return str(uuid.uuid4())
        return random.randint(self.low, self.high)


def _expression(text: str) -> Expression:
    """``text`` (stripped) as an expression; ``ValueError`` naming what is allowed."""
    if text == "uuid()":
        return Expression(text)
    generator = _RANDOM_INT.fullmatch(text)
    if generator:
        low, high = int(generator[1]), int(generator[2])
        if low > high:
            raise ValueError(f"{{{{ {text} }}}}: the lower bound must not exceed the upper bound")
        return Expression(text, low=low, high=high)
    if _VARIABLE.fullmatch(text):
        return Expression(text, variable=text)
    raise ValueError(
        f"{{{{ {text} }}}} is not a variable (name, data.column, env.NAME) or a built-in "
        "(user_index, iteration, run_id, random_int(A, B), uuid())"
    )


def _text(value: Any) -> str:
    """A value as text in a URL or header: JSON spelling for true/false/lists, plain text otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | list | dict) or value is None:
        return jsonlib.dumps(value, separators=(",", ":"))
    return str(value)


@dataclass(frozen=True, slots=True)
class Template:
    """Literal text around expressions: ``literals`` has one more item than ``expressions``."""

    source: str
    literals: tuple[str, ...]
    expressions: tuple[Expression, ...]

    @property
    def constant(self) -> bool:
        """True when the text holds no expression (rendering returns it as it is)."""
        return not self.expressions

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables it reads, in order of appearance."""
        return tuple(e.variable for e in self.expressions if e.variable is not None)

    def render(self, scope: Mapping[str, Any], place: str = "text") -> str:
        """The text with each expression's value, escaped for ``place`` (``path``, ``header``, ``text``)."""
        if not self.expressions:
            return self.source
        parts = [self.literals[0]]
        for expression, literal in zip(self.expressions, self.literals[1:], strict=True):
            text = _text(expression.value(scope))
            if place == "path":
                text = quote(text, safe="")
            elif place == "header" and _CONTROL.search(text):
                raise RenderError(f"{{{{ {expression.text} }}}} holds a line break or control character")
            parts += [text, literal]
        return "".join(parts)

    def value(self, scope: Mapping[str, Any]) -> Any:
        """For a JSON body: the value itself when the text is exactly one expression, else the text."""
        if len(self.expressions) == 1 and self.literals == ("", ""):
            return self.expressions[0].value(scope)
        return self.render(scope)


@functools.lru_cache(maxsize=4096)
def parse_template(source: str) -> Template:
    """``source`` parsed into literals and expressions; ``ValueError`` for a bad or unclosed expression."""
    pieces = _EXPRESSION.split(source)
    literals = tuple(pieces[0::2])
    if any("{{" in literal for literal in literals):
        raise ValueError(f"{source!r} has a {{{{ without a closing }}}}")
    expressions = tuple(_expression(text.strip()) for text in pieces[1::2])
    return Template(source, literals, expressions)


# -- JSON bodies ------------------------------------------------------------------------------------


class _Body:
    """A JSON body with templates at some leaves; constant parts are shared, not copied."""

    __slots__ = ("tree",)

    def __init__(self, tree: Any) -> None:
        self.tree = tree


def compile_body(body: Any) -> Any:
    """``body`` with each templated string replaced by its ``Template``; the body itself when constant."""
    compiled, templated = _compile(body)
    return _Body(compiled) if templated else body


def _compile(node: Any) -> tuple[Any, bool]:
    if isinstance(node, str):
        template = parse_template(node)
        return (node, False) if template.constant else (template, True)
    if isinstance(node, dict):
        items = {key: _compile(value) for key, value in node.items()}
        return {key: value for key, (value, _) in items.items()}, any(flag for _, flag in items.values())
    if isinstance(node, list):
        nodes = [_compile(value) for value in node]
        return [value for value, _ in nodes], any(flag for _, flag in nodes)
    return node, False


def render_body(body: Any, scope: Mapping[str, Any]) -> Any:
    """The body to send: templates filled from ``scope`` (a constant body is returned as it is)."""
    return _fill(body.tree, scope) if isinstance(body, _Body) else body


def _fill(node: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(node, Template):
        return node.value(scope)
    if isinstance(node, dict):
        return {key: _fill(value, scope) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, scope) for value in node]
    return node


def variables_of_body(body: Any) -> list[str]:
    """The variables a body's templates read (for the check before load)."""
    if isinstance(body, str):
        return list(parse_template(body).variables)
    if isinstance(body, dict):
        return [name for value in body.values() for name in variables_of_body(value)]
    if isinstance(body, list):
        return [name for value in body for name in variables_of_body(value)]
    return []
