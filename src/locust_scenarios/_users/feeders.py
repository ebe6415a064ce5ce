"""Data files of the journeys: CSV, JSON or JSON Lines rows, read by index, memory bounded.

A CSV or JSON Lines file is never loaded: one pass at load counts its rows and keeps the byte offset
of every n-th row (at most ``_MAX_MARKS`` offsets, so a 1 GB file costs the same half megabyte as a
small one); a row is read by seeking to the nearest mark and reading forward, and the next row in
order is read from where the last one ended. A ``.json`` file (one array of objects) has to be parsed
whole, so it is limited to ``MAX_JSON_BYTES``; larger data belongs in ``.jsonl``.

Which row a user gets is the ``Feeder``'s job: ``sequential`` (one cursor for the process, circular),
``random``, or ``unique`` (each row at most once in the whole run). ``unique`` rows come from a
``Share``: local in one process, and in a distributed run handed out by the master in disjoint ranges
(see ``sharing``).
"""

from __future__ import annotations

import csv
import io
import json as jsonlib
import random
import threading
import weakref
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

__all__ = ["MAX_JSON_BYTES", "DataExhaustedError", "DataSource", "Feeder", "Share", "open_source"]

MAX_JSON_BYTES = 64 * 1024 * 1024
"""A ``.json`` data file is parsed whole: above this size it is refused (use ``.jsonl``)."""
_MAX_MARKS = 65_536
"""Most row offsets kept per file (8 bytes each); the stride between marks doubles to stay below."""
_IN_MEMORY_BYTES = 1024 * 1024
"""A CSV or JSON Lines file up to this size is parsed once at start and kept (rows read from memory)."""
_KINDS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class DataExhaustedError(Exception):
    """A ``unique`` data file has no row left for this user (its ``on_exhausted`` says what follows)."""


class DataSource:
    """The rows of one data file, read by index without loading the file."""

    def __init__(self, path: Path, kind: str, columns: tuple[str, ...], rows: int) -> None:
        self.path = path
        self.kind = kind
        self.columns = columns
        self.rows = rows
        self._marks = array("q")
        self._stride = 1
        self._file: IO[bytes] | None = None
        self._next = (-1, 0)  # (row index, byte offset) of the row after the last one read
        self._loaded: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    # -- indexing ----------------------------------------------------------------------------------

    def _mark(self, index: int, offset: int) -> None:
        if index % self._stride:
            return
        if len(self._marks) >= _MAX_MARKS:
            self._marks = self._marks[::2]
            self._stride *= 2
            if index % self._stride:
                return
        self._marks.append(offset)

    def row(self, index: int) -> dict[str, Any]:
        """Row ``index`` (0-based) as column -> value; ``ValueError`` naming the file and line if malformed."""
        if self._loaded is not None:
            return self._loaded[index]
        with self._lock:  # threads only: greenlets never switch inside file reads
            handle = self._file
            if handle is None:
                handle = self._file = self.path.open("rb")
                weakref.finalize(self, handle.close)  # open for the run, closed with the source
            following, offset = self._next
            if following != index:
                current = (index // self._stride) * self._stride
                offset = self._marks[index // self._stride]
                handle.seek(offset)
                while current < index:
                    _record(handle, self.kind)
                    current += 1
            else:
                handle.seek(offset)
            raw = _record(handle, self.kind)
            self._next = (index + 1, handle.tell())
        return self._parse(raw, index)

    def _parse(self, raw: bytes, index: int) -> dict[str, Any]:
        text = raw.decode("utf-8")
        if self.kind == "csv":
            fields = next(csv.reader(io.StringIO(text)), [])
            if len(fields) != len(self.columns):
                raise ValueError(
                    f"{self.path.name} row {index + 1}: {len(fields)} fields, the header has {len(self.columns)}"
                )
            return dict(zip(self.columns, fields, strict=True))
        try:
            value = jsonlib.loads(text)
        except ValueError:
            raise ValueError(f"{self.path.name} row {index + 1} is not JSON") from None
        if not isinstance(value, dict):
            raise ValueError(f"{self.path.name} row {index + 1} is not a JSON object")
        return value


def _record(handle: IO[bytes], kind: str) -> bytes:
    """The next record from ``handle``: a line, or CSV lines up to an even number of quotes."""
    line = handle.readline()
    if kind == "jsonl":
        while line and not line.strip():
            line = handle.readline()
        return line
    while line.count(b'"') % 2:
        more = handle.readline()
        if not more:
            break
        line += more
    return line


def open_source(path: Path) -> DataSource:
    """Index ``path`` (one pass, bounded memory); ``ValueError`` with one line when it cannot be used."""
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path.name}: unknown data file type {path.suffix or '(none)'!r}; use .csv, .json or .jsonl")
    if not path.is_file():
        raise ValueError(f"no such data file {str(path)!r}")
    if kind == "json":
        return _json_source(path)
    with path.open("rb") as handle:
        if kind == "csv":
            header = _record(handle, "csv").decode("utf-8-sig")
            columns = tuple(next(csv.reader(io.StringIO(header)), []))
            if not columns or any(not name for name in columns):
                raise ValueError(f"{path.name}: the first line must name every column (a CSV header row)")
            source = DataSource(path, kind, columns, 0)
        else:
            source = DataSource(path, kind, (), 0)
        rows = 0
        while True:
            offset = handle.tell()
            raw = _record(handle, kind)
            if not raw.strip():
                if not raw:
                    break
                continue  # a blank line (the end of the file, or between JSON Lines)
            source._mark(rows, offset)
            if rows == 0 and kind == "jsonl":
                source.columns = tuple(source._parse(raw, 0))
            rows += 1
    if rows == 0:
        raise ValueError(f"{path.name} has no rows")
    source.rows = rows
    if path.stat().st_size <= _IN_MEMORY_BYTES:  # small: parsed once, shared by every user of the process
        source._loaded = [source.row(index) for index in range(rows)]
    return source


def _json_source(path: Path) -> DataSource:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_JSON_BYTES >> 20} MiB: write it as JSON Lines (.jsonl)")
    try:
        document = jsonlib.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name} is not valid JSON: {error}") from None
    if not isinstance(document, list) or not document or not all(isinstance(row, dict) for row in document):
        raise ValueError(f"{path.name} must be a non-empty JSON array of objects")
    columns = tuple(document[0])
    for number, row in enumerate(document, 1):
        missing = [name for name in columns if name not in row]
        if missing:
            raise ValueError(f"{path.name} row {number} has no {missing[0]!r} (the first row has it)")
    source = DataSource(path, "json", columns, len(document))
    source._loaded = document
    return source


class Share(Protocol):
    """Where ``unique`` row numbers come from: the next one never given before in this run, or None."""

    def take(self) -> int | None: ...


class Feeder:
    """Rows of one data file for the users of one process, by its mode."""

    def __init__(self, source: DataSource, mode: str, share: Share | None = None) -> None:
        self.source = source
        self.mode = mode
        self._cursor = 0
        self._share = share
        self._next_row: Callable[[], dict[str, Any]] = {
            "sequential": self._sequential,
            "random": self._random,
            "unique": self._unique,
        }[mode]

    def next_row(self) -> dict[str, Any]:
        """The row for the next user or iteration; ``DataExhaustedError`` when a unique file has run out."""
        return self._next_row()

    def _sequential(self) -> dict[str, Any]:
        index = self._cursor
        self._cursor = (index + 1) % self.source.rows
        return self.source.row(index)

    def _random(self) -> dict[str, Any]:
        return self.source.row(random.randrange(self.source.rows))

    def _unique(self) -> dict[str, Any]:
        assert self._share is not None  # a unique feeder is always made with its share
        index = self._share.take()
        if index is None:
            raise DataExhaustedError(self.source.path.name)
        return self.source.row(index)
