"""Keep secret setting values (the auth token) out of logs and failure messages.

The token is validated before any load (printable ASCII, no spaces), so a header built from it never
makes an HTTP library raise an error that quotes it. This module is the second line: any text that
could carry a header passes through ``redact`` before it is logged or reported as a failure.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from .options import SECRET_FIELDS

if TYPE_CHECKING:
    from .models import ScenarioSettings

__all__ = ["REDACTED", "install_redaction", "redact"]

REDACTED: Final = "<redacted>"

_SECRETS: set[str] = set()


def redact(text: str) -> str:
    """``text`` with every known secret value replaced by ``<redacted>``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class _RedactingFilter(logging.Filter):
    """Rewrites a log record whose rendered message holds a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            message = record.getMessage()
            cleaned = redact(message)
            if record.exc_info and record.exc_info[1] is not None:
                trace = logging.Formatter().formatException(record.exc_info)
                if redact(trace) != trace:
                    cleaned = cleaned + "\n" + redact(trace)
                    record.exc_info = None
                    record.exc_text = None
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_FILTER: Final = _RedactingFilter()


def install_redaction(settings: ScenarioSettings) -> None:
    """Remember the secret values of ``settings`` and filter them from every handler of the root logger."""
    for field in SECRET_FIELDS:
        value = getattr(settings, field, None)
        secret = value.get_secret_value() if value is not None else ""
        if len(secret) >= 4:  # shorter values would blank out ordinary words
            _SECRETS.add(secret)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
