"""Exemplars: the trace ids of sampled requests, kept by request and latency, merged on the master.

Each sampled request leaves ``(seconds, trace id, time)`` under its method and name, at most one per
rounded latency (the latest) and at most ``PER_NAME`` latencies per name (the oldest go first), so the
store stays small whatever the load. A worker sends what it kept since its last report with each
report; the master keeps the latest of all. The exporter picks, for each histogram bucket, the latest
exemplar whose latency falls in it.

This module imports nothing of ours.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

__all__ = ["EXEMPLARS", "EXEMPLARS_KEY", "PER_NAME", "Exemplar", "Exemplars"]

PER_NAME: Final = 64
"""The most latencies one request name keeps an exemplar for."""

EXEMPLARS_KEY: Final = "locust_scenarios_exemplars"
"""Where a worker's report to the master carries its exemplars."""


class Exemplar(NamedTuple):
    """One sampled request: its response time in seconds, its trace id and when it ended (UNIX time)."""

    seconds: float
    trace_id: str
    timestamp: float


class Exemplars:
    """The process's exemplars by ``(method, name)`` and rounded latency (milliseconds)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], dict[int, Exemplar]] = {}
        self._new: dict[tuple[str, str], dict[int, Exemplar]] = {}
        self._lock = threading.Lock()

    def keep(self, method: str, name: str, exemplar: Exemplar) -> None:
        """Keep a sampled request's exemplar (replacing an older one of the same rounded latency)."""
        key = (method, name)
        milliseconds = round(exemplar.seconds * 1000)
        with self._lock:
            for store in (self.found, self._new):
                kept = store.setdefault(key, {})
                kept.pop(milliseconds, None)
                kept[milliseconds] = exemplar
                if len(kept) > PER_NAME:
                    del kept[next(iter(kept))]  # the oldest inserted

    def clear(self) -> None:
        """A run starts: nothing kept."""
        with self._lock:
            self.found, self._new = {}, {}

    def drain(self) -> list[list[Any]]:
        """A worker's report: the exemplars kept since the last report, as plain lists."""
        with self._lock:
            new, self._new = self._new, {}
        return [[method, name, *exemplar] for (method, name), kept in new.items() for exemplar in kept.values()]

    def absorb(self, report: Any) -> None:
        """The master keeps a worker's exemplars (``ValueError``/``TypeError`` for a malformed report)."""
        for method, name, seconds, trace_id, timestamp in report:
            self.keep(str(method), str(name), Exemplar(float(seconds), str(trace_id), float(timestamp)))

    def snapshot(self) -> Mapping[tuple[str, str], list[Exemplar]]:
        """Every kept exemplar by ``(method, name)``."""
        with self._lock:
            return {key: list(kept.values()) for key, kept in self.found.items()}


EXEMPLARS: Final = Exemplars()
"""This process's exemplars."""
