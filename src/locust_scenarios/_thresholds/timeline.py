"""Criteria by stage and by window (``[stage=NAME]``, ``over DURATION``), judged from a timeline.

``Timeline`` records the statistics once a second on the master, at stage and window boundaries only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from locust_scenarios._settings.options import format_duration

from .grammar import Threshold
from .judging import Result, evaluate
from .measure import Sample, merge, sample

if TYPE_CHECKING:
    from locust.stats import RequestStats

__all__ = ["Timeline"]


def _difference(now: Sample, base: Sample, seconds: float) -> Sample:
    """The requests of ``now`` (a whole-run sample) made since ``base`` was taken ``seconds`` before."""
    distribution = {
        key: count - base.response_times.get(key, 0)
        for key, count in now.response_times.items()
        if count - base.response_times.get(key, 0) > 0
    }
    keys = sorted(distribution)
    requests = now.requests - base.requests
    return Sample(
        requests=requests,
        failures=now.failures - base.failures,
        timed=now.timed - base.timed,
        response_times=distribution,
        total_response_time=now.total_response_time - base.total_response_time,
        min_response_time=float(keys[0]) if keys else None,
        max_response_time=float(keys[-1]) if keys else 0.0,
        rps=requests / seconds if seconds > 0 else 0.0,
    )


def _pool(first: Sample, second: Sample, seconds: float) -> Sample:
    """Two samples of one selector from different periods, as one (their rate over ``seconds`` in all)."""
    pooled = merge([first, second])
    return Sample(
        pooled.requests,
        pooled.failures,
        pooled.timed,
        pooled.response_times,
        pooled.total_response_time,
        pooled.min_response_time,
        pooled.max_response_time,
        pooled.requests / seconds if seconds > 0 else 0.0,
    )


def _worse(threshold: Threshold, value: float, than: float) -> bool:
    """Whether ``value`` is further on the failing side of the criterion than ``than``."""
    return value > than if threshold.operator in ("<", "<=") else value < than


@dataclass
class _Window:
    start: float
    stage: str
    base: dict[str | None, Sample]


@dataclass
class _WindowRecord:
    judged: int = 0
    failed: int = 0
    worst: Result | None = None


class Timeline:
    """Judges ``[stage=NAME]`` and ``over DURATION`` criteria from what it records once a second.

    ``tick`` is called about once a second during the run with the run time and the current stage.
    It keeps a copy of the statistics only at stage and window boundaries: the requests of a stage
    are the difference between the statistics at its end and at its start (a stage name that occurs
    twice pools both), and each window is judged when it closes, keeping only the worst result. Windows
    start with each stage; a window cut short by the end of its stage or of the run is judged when it
    lasted at least half its length. Criteria without stage or window are judged on the whole run.
    """

    def __init__(self, thresholds: Iterable[Threshold]) -> None:
        self.thresholds = tuple(thresholds)
        timed = [t for t in self.thresholds if t.timed]
        self._selectors = {t.selector for t in timed}
        self._lengths = sorted({t.window for t in timed if t.window is not None})
        self._records = {t: _WindowRecord() for t in timed if t.window is not None}
        self._stage: str | None = None
        self._stage_start = 0.0
        self._stage_base: dict[str | None, Sample] = {}
        self._stages: dict[tuple[str, str | None], tuple[Sample, float]] = {}
        self._closed: set[str] = set()
        self._open: dict[float, _Window] = {}

    def settled(self, threshold: Threshold) -> bool:
        """Whether the criterion's result so far is final enough to abort on: a failed window stays
        failed, but a stage's result can change until the stage is over."""
        if threshold.window is not None or threshold.stage is None:
            return True
        return threshold.stage in self._closed and threshold.stage != self._stage

    def _snapshot(self, stats: RequestStats) -> dict[str | None, Sample]:
        found = {}
        for selector in self._selectors:
            whole = sample(stats, selector)
            found[selector] = Sample(
                whole.requests,
                whole.failures,
                whole.timed,
                dict(whole.response_times),
                whole.total_response_time,
                whole.min_response_time,
                whole.max_response_time,
                whole.rps,
            )
        return found

    def tick(self, elapsed: float, stage: str, stats: RequestStats) -> None:
        """One second of the run: close the stage or the windows that ended."""
        if not self._selectors:
            return
        if stage != self._stage:
            self._close(elapsed, stats)
            self._stage, self._stage_start = stage, elapsed
            self._stage_base = self._snapshot(stats)
            self._open = {length: _Window(elapsed, stage, self._stage_base) for length in self._lengths}
            return
        for length, window in list(self._open.items()):
            if elapsed - window.start >= length:
                now = self._snapshot(stats)
                self._judge_window(length, window, elapsed, now)
                self._open[length] = _Window(elapsed, stage, now)

    def finish(self, elapsed: float, stats: RequestStats) -> None:
        """The run ended: close the current stage and windows."""
        self._close(elapsed, stats)
        self._stage = None
        self._open = {}

    def _close(self, elapsed: float, stats: RequestStats) -> None:
        if self._stage is None:
            return
        now = self._snapshot(stats)
        for key, part in self._stage_parts(now, elapsed).items():
            self._stages[key] = part
        self._closed.add(self._stage)
        for length, window in self._open.items():
            if elapsed - window.start >= length / 2:
                self._judge_window(length, window, elapsed, now)

    def _stage_parts(
        self, now: Mapping[str | None, Sample], elapsed: float
    ) -> dict[tuple[str, str | None], tuple[Sample, float]]:
        """The closed stages' samples with the current stage's so far added."""
        assert self._stage is not None
        seconds = elapsed - self._stage_start
        parts = {}
        for selector in self._selectors:
            part = _difference(now[selector], self._stage_base[selector], seconds)
            key = (self._stage, selector)
            earlier = self._stages.get(key)
            if earlier is not None:
                part, seconds_in_all = _pool(earlier[0], part, earlier[1] + seconds), earlier[1] + seconds
            else:
                seconds_in_all = seconds
            parts[key] = (part, seconds_in_all)
        return parts

    def _judge_window(self, length: float, window: _Window, elapsed: float, now: Mapping[str | None, Sample]) -> None:
        span = f"{format_duration(round(window.start))}-{format_duration(round(elapsed))}"
        for threshold, record in self._records.items():
            if threshold.window != length or threshold.stage not in (None, window.stage):
                continue
            part = _difference(now[threshold.selector], window.base[threshold.selector], elapsed - window.start)
            value, samples = part.measure(threshold)
            if value is None:
                continue  # no traffic in this window: nothing to judge
            record.judged += 1
            passed = threshold.holds(value)
            record.failed += not passed
            if record.worst is None or record.worst.value is None or _worse(threshold, value, record.worst.value):
                record.worst = Result(threshold, value, samples, passed, where=span)

    def results(self, stats: RequestStats, elapsed: float | None = None) -> tuple[Result, ...]:
        """Every criterion judged: timed ones from the record (and the current stage so far when
        ``elapsed`` is given), the others on the whole run."""
        stages = dict(self._stages)
        if elapsed is not None and self._stage is not None and self._selectors:
            stages.update(self._stage_parts(self._snapshot(stats), elapsed))
        results: list[Result] = []
        for threshold in self.thresholds:
            if not threshold.timed:
                results.extend(evaluate([threshold], stats))
            elif threshold.window is not None:
                results.append(self._window_result(threshold))
            else:
                results.append(self._stage_result(threshold, stages))
        return tuple(results)

    def _window_result(self, threshold: Threshold) -> Result:
        record = self._records[threshold]
        where = threshold.where
        if record.worst is None or record.worst.value is None:
            return Result(threshold, None, 0, passed=False, note=f"no {where} window with samples", where=where)
        worst = record.worst
        where = f"worst of {record.judged} windows of {format_duration(threshold.window or 0)} ({worst.where})"
        if threshold.stage is not None:
            where += f" in stage {threshold.stage}"
        if record.failed:
            where += f", {record.failed} failed"
        return Result(threshold, worst.value, worst.samples, passed=record.failed == 0, where=where)

    def _stage_result(
        self, threshold: Threshold, stages: Mapping[tuple[str, str | None], tuple[Sample, float]]
    ) -> Result:
        assert threshold.stage is not None
        found = stages.get((threshold.stage, threshold.selector))
        where = f"stage {threshold.stage}"
        if found is None:
            return Result(threshold, None, 0, passed=False, note=f"no samples in stage {threshold.stage}", where=where)
        part, seconds = found
        where = f"stage {threshold.stage} ({format_duration(round(seconds))})"
        value, samples = part.measure(threshold)
        if value is None:
            return Result(threshold, None, 0, passed=False, note=f"no samples in stage {threshold.stage}", where=where)
        return Result(threshold, value, samples, passed=threshold.holds(value), where=where)
