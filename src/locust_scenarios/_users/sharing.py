"""``unique`` rows across a run: one process counts them out, a distributed run asks its master.

The master alone decides which worker gets which rows: a worker that runs out of rows asks for the
next block (Locust's custom messages), the master hands out a range nobody had, so the workers' shares
are disjoint and each row goes out at most once in the whole run. At the end of the file the master
answers by the file's ``on_exhausted``: ``recycle`` starts a new round, ``stop_user`` tells the
worker there is nothing left, ``stop_run`` also ends the run. Only row numbers travel; each process
reads the rows from its own copy of the file.
"""

from __future__ import annotations

import collections
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent
from gevent.event import AsyncResult
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from .feeders import DataSource, Feeder

__all__ = ["GRANT", "REQUEST", "Allocator", "DataPlan", "feeders_for"]

logger = logging.getLogger("locust_scenarios")

REQUEST = "locust_scenarios.rows"
"""Worker to master: ``{"name": data file, "count": rows wanted}``."""
GRANT = "locust_scenarios.rows_granted"
"""Master to worker: ``{"name", "start", "end", "exhausted"}`` (rows ``start`` to ``end - 1``)."""
_WAIT_SECONDS = 30.0
"""How long a user waits for its master's answer before it counts the data as exhausted."""


@dataclass(frozen=True)
class DataPlan:
    """One data file as the journeys use it: its rows, mode and end-of-data policy."""

    name: str
    source: DataSource
    mode: str
    on_exhausted: str


class Allocator:
    """The run's count of ``unique`` rows given out (local, or on the master for all workers)."""

    def __init__(self, rows: int, policy: str, stop_run: Callable[[], None]) -> None:
        self.rows = rows
        self.policy = policy
        self.given = 0
        self._stop_run = stop_run

    def grant(self, count: int) -> tuple[int, int] | None:
        """Rows ``[start, end)`` that nobody had in this round, or None at the end (by the policy)."""
        if self.given >= self.rows:
            if self.policy != "recycle":
                if self.policy == "stop_run":
                    self._stop_run()
                return None
            self.given = 0
        start = self.given
        self.given = min(self.rows, start + count)
        return start, self.given

    def restart(self) -> None:
        """A new run (a second start in the web UI): every row may go out once more."""
        self.given = 0

    def take(self) -> int | None:
        """One row number (the ``Share`` of a local run)."""
        granted = self.grant(1)
        return None if granted is None else granted[0]


class _WorkerShare:
    """A worker's block of unique rows, refilled from the master when it runs dry."""

    def __init__(self, runner: WorkerRunner, name: str, block: int) -> None:
        self._runner = runner
        self._name = name
        self._block_size = block
        self._rows: collections.deque[int] = collections.deque()
        self._pending: AsyncResult | None = None
        self._exhausted = False

    def take(self) -> int | None:
        while not self._rows:
            if self._exhausted:
                return None
            pending = self._pending
            if pending is None:
                pending = self._pending = AsyncResult()
                self._runner.send_message(REQUEST, {"name": self._name, "count": self._block_size})
            try:
                pending.get(timeout=_WAIT_SECONDS)
            except gevent.Timeout:
                logger.error("locust-scenarios: no rows of %s from the master within %ss", self._name, _WAIT_SECONDS)
                self._exhausted = True
                return None
        return self._rows.popleft()

    def restart(self) -> None:
        """A new run: rows left from the last run's blocks are dropped (the master counts from the start)."""
        self._rows.clear()
        self._exhausted = False

    def granted(self, start: int, end: int, exhausted: bool) -> None:
        self._rows.extend(range(start, end))
        self._exhausted = exhausted and not self._rows
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.set(True)


@dataclass
class _Shares:
    """The data files of one environment's run, by name."""

    allocators: dict[str, Allocator] = field(default_factory=dict)
    workers: dict[str, _WorkerShare] = field(default_factory=dict)


_SHARES: weakref.WeakKeyDictionary[Environment, _Shares] = weakref.WeakKeyDictionary()


def _restart(environment: Environment) -> None:
    """Each run (``test_start``) gives every row of a ``unique`` file out once: a second run started
    from the web UI in the same processes starts again from the first row, as a new process would."""
    shares = _SHARES.get(environment)
    if shares is None:
        return
    for allocator in shares.allocators.values():
        allocator.restart()
    for share in shares.workers.values():
        share.restart()
    environment.__dict__.pop("_scenario_data_stopped", None)


def _block_size(rows: int) -> int:
    """Rows per request to the master: small files go row by row, large ones in blocks of up to 64."""
    return max(1, min(64, rows // 200))


_STOP_GRACE_SECONDS = 10.0
"""After a ``stop_run`` data file ran out, how long the run waits for its users to stop by themselves."""


def _stopper(environment: Environment) -> Callable[[], None]:
    """``stop_run``: users stop as they find no row (their iterations in flight complete), then the run ends."""

    def wait_then_quit(runner: Any) -> None:
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        while runner.user_count > 0 and time.monotonic() < deadline:
            gevent.sleep(0.1)
        runner.quit()

    def stop() -> None:
        runner = environment.runner
        if runner is not None and not getattr(environment, "_scenario_data_stopped", False):
            environment._scenario_data_stopped = True  # type: ignore[attr-defined]
            logger.warning("locust-scenarios: a unique data file ran out (on_exhausted = stop_run): stopping the run")
            gevent.spawn(wait_then_quit, runner)

    return stop


def _on_request(environment: Environment, msg: Any, **_kwargs: Any) -> None:
    shares = _SHARES.get(environment)
    data = msg.data or {}
    name = str(data.get("name"))
    allocator = shares.allocators.get(name) if shares is not None else None
    granted = allocator.grant(int(data.get("count", 1))) if allocator is not None else None
    start, end = granted or (0, 0)
    reply = {"name": name, "start": start, "end": end, "exhausted": granted is None}
    if environment.runner is not None:
        environment.runner.send_message(GRANT, reply, client_id=msg.node_id)


def _on_grant(environment: Environment, msg: Any, **_kwargs: Any) -> None:
    shares = _SHARES.get(environment)
    data = msg.data or {}
    share = shares.workers.get(str(data.get("name"))) if shares is not None else None
    if share is not None:
        share.granted(int(data["start"]), int(data["end"]), bool(data["exhausted"]))


def feeders_for(environment: Environment, plans: Iterable[DataPlan]) -> dict[str, Feeder]:
    """A feeder per data file for this process; ``unique`` files share their rows across the run.

    On a master this registers the allocator that answers the workers (it runs no users, but its
    count is the run's); on a worker, a share that asks the master.
    """
    shares = _SHARES.get(environment)
    if shares is None:
        shares = _SHARES[environment] = _Shares()
        environment.events.test_start.add_listener(lambda **_kwargs: _restart(environment))
    runner = environment.runner
    result: dict[str, Feeder] = {}
    for plan in plans:
        if plan.mode != "unique":
            result[plan.name] = Feeder(plan.source, plan.mode)
            continue
        if isinstance(runner, WorkerRunner):
            if GRANT not in runner.custom_messages:
                runner.register_message(GRANT, _on_grant)
            share = shares.workers.get(plan.name)
            if share is None:
                share = shares.workers[plan.name] = _WorkerShare(runner, plan.name, _block_size(plan.source.rows))
            result[plan.name] = Feeder(plan.source, plan.mode, share)
            continue
        allocator = shares.allocators.get(plan.name)
        if allocator is None:
            stop = _stopper(environment)
            allocator = shares.allocators[plan.name] = Allocator(plan.source.rows, plan.on_exhausted, stop)
        if isinstance(runner, MasterRunner) and REQUEST not in runner.custom_messages:
            runner.register_message(REQUEST, _on_request)
        result[plan.name] = Feeder(plan.source, plan.mode, allocator)
    return result
