"""Label values that stay bounded and valid: error messages normalised, text made valid UTF-8."""

from __future__ import annotations

import re
from typing import Final

from locust.exception import CatchResponseError
from locust.stats import StatsError

__all__ = ["OTHER", "clean_label", "error_label"]


OTHER: Final = "(other)"
"""Label value that request names and error messages beyond the cardinality cap fold into."""

_ERROR_MAX_LENGTH: Final = 120


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_LONG_NUMBER = re.compile(r"\d{4,}")
_SPACE = re.compile(r"\s+")


def error_label(error: object) -> str:
    """An error as a bounded label value.

    The same message as Locust's error report, with the varying parts that would multiply series
    replaced: object addresses, UUIDs and numbers of four digits or more (ports, ids, timestamps)
    become ``N``. Cut to 120 characters.
    """
    if isinstance(error, CatchResponseError) and error.args:
        text = str(error.args[0])
    elif isinstance(error, str) and error.startswith("CatchResponseError(") and error.endswith(")"):
        # distributed mode: the worker sent repr(CatchResponseError('message'))
        text = error[len("CatchResponseError(") : -1]
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            text = text[1:-1]
    elif isinstance(error, str):
        text = error
    else:
        text = StatsError.parse_error(error if isinstance(error, Exception) else str(error))
    text = _UUID.sub("N", text)
    text = _ADDRESS.sub("0xN", text)
    text = _LONG_NUMBER.sub("N", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > _ERROR_MAX_LENGTH:
        text = text[: _ERROR_MAX_LENGTH - 1] + "…"
    return text


def clean_label(value: str) -> str:
    """``value`` as valid UTF-8: a lone surrogate (possible in a Python string) becomes ``?``."""
    if value.isascii():
        return value
    return value.encode("utf-8", "replace").decode("utf-8")
