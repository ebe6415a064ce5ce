"""URLs of the user templates: ``/items/{id}`` filled from keyword arguments, URL-quoted; origins."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

__all__ = ["Origin", "expand_path", "origin_of"]

Origin = tuple[str, str, int | None]
"""``(scheme, host, port)``; ``("*", "", None)`` stands for any origin."""


def origin_of(url: str) -> Origin | None:
    """``(scheme, host, port)`` of a URL, with the scheme's default port made explicit (``None``: no URL)."""
    if url == "*":
        return ("*", "", None)
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@functools.lru_cache(maxsize=1024)
def _template(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``/items/{id}/tags`` → literal parts ``("/items/", "/tags")`` and keys ``("id",)``, cached."""
    pieces = _PLACEHOLDER.split(path)
    return tuple(pieces[0::2]), tuple(pieces[1::2])


def expand_path(path: str, values: Mapping[str, object]) -> str:
    """``/items/{id}`` with ``id=3`` → ``/items/3`` (values URL-quoted); every placeholder needs a value."""
    if not values:
        return path
    literals, keys = _template(path)
    missing = [key for key in keys if key not in values]
    if missing:
        raise ValueError(f"no value for {{{missing[0]}}} in {path!r}")
    unused = sorted(set(values) - set(keys))
    if unused:
        raise ValueError(f"{path!r} has no placeholder {{{unused[0]}}}")
    parts = [literals[0]]
    for key, literal in zip(keys, literals[1:], strict=True):
        parts += [quote(str(values[key]), safe=""), literal]
    return "".join(parts)
