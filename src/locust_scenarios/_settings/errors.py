"""Invalid configuration: ``SettingsError``, and the one sentence that says a setting is invalid.

Every refusal of a setting is built by ``SettingsError.invalid``: one line naming the variable (and
where it is set), the value (cut short when long, never shown for secrets) and the rule it breaks.
pydantic's validation errors are turned into rules by their error type and context, never by
rewriting pydantic's English. pydantic is not imported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from locust_scenarios._exitcodes import ExitCode

from .options import SCENARIO, OptionGroup, Setting, setting, shown

__all__ = ["HIDDEN", "SettingsError", "pydantic_rule", "setting_phrase"]

HIDDEN = "<hidden>"
"""What a message shows instead of a secret value."""


def setting_phrase(
    named: str | Setting, value: object = None, *, group: OptionGroup = SCENARIO, source: str | None = None
) -> str:
    """``LOCUST_SCENARIO_USERS=50 (--scenario-users)``: a setting with its value, for messages.

    ``named`` is a field of the option table (in ``group``) or a ``Setting`` outside it; ``value`` is
    left out when ``None`` (not given); ``source`` replaces the option where the value did not come
    from the user (``"not set; the smoke profile's default"``).
    """
    found = named if isinstance(named, Setting) else setting(named, group)
    text = found.name
    if value is not None:
        text += f"={HIDDEN if found.secret else shown(value)}"
    where = source or found.where
    return f"{text} ({where})" if where else text


class SettingsError(ValueError):
    """Invalid configuration; ``str()`` is one line naming the variable, the value and what is allowed."""

    exit_code: ClassVar[int] = ExitCode.INVALID_CONFIG

    @classmethod
    def invalid(
        cls,
        named: str | Setting,
        value: object,
        rule: str,
        *,
        group: OptionGroup = SCENARIO,
        source: str | None = None,
    ) -> SettingsError:
        """``invalid setting VAR=value (--option): rule``, the one way to say a setting is invalid.

        The names come from the option table (``named`` is its field in ``group``), or from a
        ``Setting`` for values outside it (Locust's host, a class attribute). See ``setting_phrase``.
        """
        return cls(f"invalid setting {setting_phrase(named, value, group=group, source=source)}: {rule}")

    @classmethod
    def joined(cls, errors: Iterable[SettingsError | str]) -> SettingsError:
        """Several refusals as one error, one line, each named once."""
        return cls("; ".join(dict.fromkeys(str(error) for error in errors)))


_RULES: Mapping[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false (also yes/no, on/off, 1/0)",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "dict_type": "must be a table of names and values",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be greater than or equal to {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be less than or equal to {le}",
    "literal_error": "must be one of {expected}",
}
"""Rules by pydantic error type; ``{...}`` are filled from the error's context."""


def pydantic_rule(details: Mapping[str, Any]) -> str:
    """The rule a pydantic error (one entry of ``ValidationError.errors()``) says was broken.

    Mapped by the error's ``type`` and ``ctx``; a validator's own message (``value_error``) is the rule
    as written; an unknown type keeps pydantic's message as it is.
    """
    kind = str(details.get("type", ""))
    context: Mapping[str, Any] = details.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])
    template = _RULES.get(kind)
    if template is None:
        return str(details.get("msg", kind))
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return str(details.get("msg", kind))
