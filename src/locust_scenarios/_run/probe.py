"""The generator's own health figures, measured in every Locust process from the start of a run.

``Probe`` keeps a greenlet that sleeps ``LAG_INTERVAL`` again and again and notes how late it wakes:
the delay a ready greenlet waits for the event loop, which is the delay added to every response time
the process measures (a response is timed when its greenlet runs, not when it arrives). It also
reads the process's CPU with psutil, primed when the run starts (psutil's first reading is always 0,
and Locust's own worker figure is sampled every 10 s, so a short run would read 0% for 20 s).

``take()`` returns the figures since the previous ``take()``: the master or local runner takes them
once a second, a worker with each report to its master.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import gevent
import psutil  # type: ignore[import-untyped]

__all__ = ["LAG_INTERVAL", "Probe", "Reading"]

LAG_INTERVAL: Final = 0.1
"""Mean seconds between the loop-lag probe's wake-ups: ten samples a second, a negligible cost, and
fine enough to see a stall of a few tens of milliseconds. Each sleep is drawn at random between half
and one and a half of it: a fixed period would lock onto work that recurs at the same period (a
stall every 100 ms was invisible to a 100 ms probe), while random wake-ups see the loop as a
response arriving at a random moment sees it, so the mean lag is the mean delay added to a
response time."""


@dataclass(frozen=True)
class Reading:
    """A process's figures over one span: CPU, and how late its event loop woke the probe."""

    cpu: float
    """CPU usage as a fraction of one core over the span."""
    lag: float
    """Mean delay of the probe's wake-ups, seconds: what the loop adds to a response time on average."""
    lag_max: float
    """The longest delay seen in the span, seconds."""
    samples: int
    seconds: float = 0.0
    """The span's length: what the figures are weighed by (a worker's reading covers about 3 s)."""

    def to_list(self) -> list[float]:
        """Plain values for a worker's report (msgpack)."""
        return [self.cpu, self.lag, self.lag_max, self.samples, self.seconds]

    @classmethod
    def from_list(cls, values: Any) -> Reading | None:
        """The reading a worker sent (``None`` when the report has none or is malformed)."""
        if not isinstance(values, list | tuple) or len(values) != 5:
            return None
        try:
            return cls(float(values[0]), float(values[1]), float(values[2]), int(values[3]), float(values[4]))
        except (TypeError, ValueError):
            return None


@dataclass(eq=False)
class Probe:
    """Loop lag and CPU of this process, from ``reset()`` (a run's start) on."""

    process: psutil.Process = field(default_factory=psutil.Process, repr=False)
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)
    interval: float = LAG_INTERVAL
    _greenlet: gevent.Greenlet | None = field(default=None, repr=False)
    _lag_sum: float = 0.0
    _lag_max: float = 0.0
    _samples: int = 0
    _since: float = 0.0

    def reset(self) -> None:
        """Start measuring afresh (at a run's start): prime psutil, clear the lag, start the probe."""
        self.process.cpu_percent(None)
        self._lag_sum, self._lag_max, self._samples = 0.0, 0.0, 0
        self._since = self.clock()
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._watch)

    def stop(self) -> None:
        """Stop the probe's greenlet (idempotent)."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def take(self) -> Reading:
        """The figures since the previous ``take()`` (or ``reset()``), and start a new span."""
        samples, now = self._samples, self.clock()
        reading = Reading(
            cpu=self.process.cpu_percent(None) / 100,
            lag=self._lag_sum / samples if samples else 0.0,
            lag_max=self._lag_max,
            samples=samples,
            seconds=max(now - self._since, 0.0),
        )
        self._lag_sum, self._lag_max, self._samples, self._since = 0.0, 0.0, 0, now
        return reading

    def _watch(self) -> None:
        clock, uniform = self.clock, random.Random().uniform
        low, high = self.interval / 2, self.interval * 1.5
        while True:
            interval = uniform(low, high)
            asleep = clock()
            gevent.sleep(interval)
            late = max(clock() - asleep - interval, 0.0)
            self._lag_sum += late
            self._samples += 1
            self._lag_max = max(self._lag_max, late)
