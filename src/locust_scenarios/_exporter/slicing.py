"""A scrape's work in slices, so that it never holds the gevent loop that also runs the users for long."""

from __future__ import annotations

import time
from typing import Final

import gevent

__all__ = ["SLICE", "Slicer"]

SLICE: Final = 0.002
"""Seconds a scrape works before it gives the event loop back (checked after each request name's
work): a scrape then delays the users and the other greenlets by about that much at a time, however
many names there are (benchmarks/scrape_cost.py measures the loop lag a scrape causes)."""

_PAUSE: Final = 0.0001
"""The pause between two slices, seconds. Not ``sleep(0)``: that only runs the greenlets already
waiting to switch in, and (measured) a loop busy with a scrape then never ran its timers or read its
sockets until the scrape ended; a timer, however short, lets the loop take a whole turn."""


class Slicer:
    """Counts a scrape's working time and gives the loop back for a turn once a slice is spent."""

    def __init__(self, seconds: float = SLICE) -> None:
        self.seconds = seconds
        """The slice, seconds (0: never give the loop back)."""
        self._started = time.perf_counter()

    def start(self) -> None:
        """A scrape begins: a fresh slice."""
        self._started = time.perf_counter()

    def step(self) -> None:
        """One piece of work done (a request name's, a family's): pause if the slice is spent."""
        if self.seconds and time.perf_counter() - self._started >= self.seconds:
            gevent.sleep(_PAUSE)
            self._started = time.perf_counter()
