"""Files written whole or not at all, in UTF-8 whatever the text holds.

A report, a record or a comparison is written to a temporary file beside its target and renamed over
it, so a reader never sees half a file: a write that fails removes its temporary file, and a process
killed while writing leaves the target as it was (the temporary file, named after the target, is
cleared by the next run that writes there). Characters UTF-8 cannot encode (a lone surrogate that
reached a request name) are written as U+FFFD instead of failing the write.

This module imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Final

__all__ = ["clear_leftovers", "encodable", "move_aside", "unwritable", "write_bytes", "write_text"]


_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


def encodable(text: str) -> str:
    """``text`` with every character UTF-8 cannot encode (the lone surrogates) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _prefix(path: Path) -> str:
    return f".{path.name}."


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (folders created); ``OSError`` when it cannot be written."""
    write_bytes(path, encodable(text).encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (folders created); ``OSError`` when it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _temporary(path)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _temporary(path: Path) -> tuple[int, Path]:
    """A new file beside ``path``, open for writing, with the permissions a plain new file gets (umask)."""
    while True:
        temporary = path.with_name(f"{_prefix(path)}{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
        except FileExistsError:
            continue


def clear_leftovers(path: Path) -> None:
    """Remove the temporary files a killed write to ``path`` left beside it."""
    with contextlib.suppress(OSError):
        for leftover in path.parent.glob(f"{_prefix(path)}*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def move_aside(path: Path) -> Path | None:
    """Rename an existing ``path`` to ``NAME.previous.EXT`` (replacing an older one); where it went, if it existed.

    A run that is about to write ``path`` calls this first: if the run is killed before it writes, the
    path holds nothing rather than an older run's file that looks like this run's.
    """
    if not path.is_file():
        return None
    previous = path.with_name(f"{path.stem}.previous{path.suffix}")
    os.replace(path, previous)
    return previous


def unwritable(path: Path) -> str | None:
    """Why a file could not be written at ``path`` at the end of a run (``None``: it can).

    Tried for real before any load: the folder is created (the end of the run would create it too) and
    a scratch file written and removed in it.
    """
    try:
        if path.is_dir():  # inside the try: a name too long for the system fails here
            return "is a folder; give a file path"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = _temporary(path)
        os.close(handle)
        os.unlink(temporary)
        if path.exists() and not os.access(path, os.W_OK):
            return "cannot write there (the file is read-only)"
    except OSError as error:
        return f"cannot write there ({error.strerror or error})"
    return None
