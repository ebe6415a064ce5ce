"""``[metric=NAME]`` and ``[population=NAME]`` criteria: the locustfile's own metrics and each
population's requests, judged on the run or a stage.

The tallies are the master's totals (every worker's observations added exactly). A stage's tally is
the difference between the totals when it ended and when it started (a stage name that occurs twice
pools both), recorded once a second like the requests' timeline. Tallies are kept per label set; a
criterion adds the label sets its ``{label="value"}`` selection matches (all of them without one). A
population's requests are a tally like a trend's (``_population_stats``): requests, failures and
response times in seconds.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from locust_scenarios._metrics import AGGREGATES_BY_KIND, LabelValues, Registry, Tally, measure, merged

from .grammar import Threshold, expression_error
from .judging import Result

__all__ = ["MetricJudge", "check_metrics", "check_populations"]


def check_metrics(thresholds: Iterable[Threshold], registry: Registry, text: str | None) -> None:
    """``SettingsError`` when a criterion names no declared metric, or an aggregate its kind lacks."""
    for threshold in thresholds:
        if threshold.metric is None:
            continue
        definition = registry.definitions.get(threshold.metric)
        if definition is None:
            known = ", ".join(sorted(registry.definitions)) or "none: declare them with metrics.trend(...) etc."
            close = difflib.get_close_matches(threshold.metric, list(registry.definitions), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            rule = f"{threshold.text!r}: no custom metric named {threshold.metric!r}{hint} (declared: {known})"
            raise expression_error("thresholds", text, rule)
        unknown = [label for label, _ in threshold.metric_labels if label not in definition.labels]
        if unknown:
            declared = ", ".join(definition.labels) or "none"
            rule = f"{threshold.text!r}: {threshold.metric} has no label {unknown[0]!r} (declared labels: {declared})"
            raise expression_error("thresholds", text, rule)
        allowed = AGGREGATES_BY_KIND[definition.kind]
        asked = "percentile" if threshold.quantile is not None else threshold.aggregate
        if asked not in allowed:
            names = ", ".join(sorted(name if name != "percentile" else "pNN" for name in allowed))
            rule = f"{threshold.text!r}: {threshold.metric} is a {definition.kind}, judged by {names}"
            raise expression_error("thresholds", text, rule)


def check_populations(thresholds: Iterable[Threshold], populations: Sequence[str], text: str | None) -> None:
    """``SettingsError`` when a ``[population=NAME]`` names no population of the running shape."""
    for threshold in thresholds:
        if threshold.population is None or threshold.population in populations:
            continue
        known = f"the shape's populations are {', '.join(populations)}" if populations else "the run has no populations"
        close = difflib.get_close_matches(threshold.population, list(populations), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        rule = f"{threshold.text!r}: no population named {threshold.population!r}{hint} ({known})"
        raise expression_error("thresholds", text, rule)


_POPULATION = "population:"
"""Prefix of a population's tally among the judge's snapshots (a metric may have the same name)."""


@dataclass
class MetricJudge:
    """Judges the ``[metric=NAME]`` criteria from ``registry``'s totals and the ``[population=NAME]``
    ones from ``populations``' totals, by run or by stage."""

    thresholds: tuple[Threshold, ...]
    registry: Registry
    populations: Registry | None = None
    clock: Callable[[], float] = time.monotonic
    _stage: str | None = field(default=None, init=False)
    _base: dict[str, dict[LabelValues, Tally]] = field(default_factory=dict, init=False)
    _stages: dict[str, dict[str, dict[LabelValues, Tally]]] = field(default_factory=dict, init=False)
    _started: float = field(default=0.0, init=False)
    _stage_started: float = field(default=0.0, init=False)
    _seconds: dict[str, float] = field(default_factory=dict, init=False)

    def start(self) -> None:
        """A run starts: no stage recorded yet."""
        self._stage, self._base, self._stages, self._seconds = None, {}, {}, {}
        self._started = self.clock()

    def _snapshot(self) -> dict[str, dict[LabelValues, Tally]]:
        now = self.registry.snapshot()
        if self.populations is not None:
            now.update({_POPULATION + name: series for name, series in self.populations.snapshot().items()})
        return now

    def tick(self, stage: str) -> None:
        """One second of the run in ``stage``: at a stage change, close the last one and open this one."""
        if stage == self._stage:
            return
        now = self._snapshot()
        self._close(now)
        self._stage, self._base, self._stage_started = stage, now, self.clock()

    def _close(self, now: dict[str, dict[LabelValues, Tally]]) -> None:
        if self._stage is None:
            return
        pooled = self._stages.setdefault(self._stage, {})
        for name, series in now.items():
            base = self._base.get(name, {})
            for values, tally in series.items():
                part = tally.since(base.get(values, Tally()))
                pooled.setdefault(name, {}).setdefault(values, Tally()).add(part)
        self._seconds[self._stage] = self._seconds.get(self._stage, 0.0) + self.clock() - self._stage_started

    def results(self, *, final: bool = False) -> tuple[Result, ...]:
        """Each criterion judged; at the end the current stage is closed first."""
        now = self._snapshot()
        if final:
            self._close(now)
            self._stage = None
        return tuple(self._judge(threshold, now) for threshold in self.thresholds)

    def _judge(self, threshold: Threshold, now: dict[str, dict[LabelValues, Tally]]) -> Result:
        if threshold.population is not None:
            return self._judge_population(threshold, now)
        assert threshold.metric is not None
        definition = self.registry.definitions.get(threshold.metric)
        series, where = self._series(threshold, threshold.metric, now)
        labels = definition.labels if definition is not None else ()
        tally = merged(series, labels, dict(threshold.metric_labels))
        if definition is None or tally.count == 0:
            return Result(threshold, None, 0, passed=False, note=f"no observations of {threshold.metric}", where=where)
        value = measure(definition, tally, threshold.aggregate, threshold.quantile)
        if value is None:
            return Result(threshold, None, 0, passed=False, note="no value", where=where)
        return Result(threshold, value, tally.count, passed=threshold.holds(value), where=where)

    def _series(
        self, threshold: Threshold, key: str, now: dict[str, dict[LabelValues, Tally]]
    ) -> tuple[dict[LabelValues, Tally], str]:
        """The tallies by label set a criterion is judged on (the run's, or its stage's) and where that is."""
        if threshold.stage is None:
            return now.get(key, {}), "run"
        return self._stages.get(threshold.stage, {}).get(key, {}), f"stage {threshold.stage}"

    def _judge_population(self, threshold: Threshold, now: dict[str, dict[LabelValues, Tally]]) -> Result:
        """A request aggregate over one population's requests."""
        assert threshold.population is not None
        series, _ = self._series(threshold, _POPULATION + threshold.population, now)
        tally = merged(series, (), {})
        where = threshold.where
        if threshold.stage is None:
            seconds = self.clock() - self._started
        else:
            seconds = self._seconds.get(threshold.stage, 0.0)
            if self._stage == threshold.stage:
                seconds += self.clock() - self._stage_started
        values = {
            "requests": float(tally.count),
            "failures": float(tally.trues),
            "rps": tally.count / seconds if seconds > 0 else None,
        }
        if threshold.aggregate in values:
            value = values[threshold.aggregate]
        elif tally.count == 0:
            note = f"no requests of population {threshold.population}"
            return Result(threshold, None, 0, passed=False, note=note, where=where)
        elif threshold.quantile is not None:
            value = tally.percentile(threshold.quantile)
        else:
            value = {
                "fail_ratio": tally.trues / tally.count,
                "avg": tally.total / tally.count,
                "min": tally.minimum,
                "max": tally.maximum,
            }.get(threshold.aggregate)
        if value is None:
            return Result(threshold, None, tally.count, passed=False, note="no value", where=where)
        return Result(threshold, value, tally.count, passed=threshold.holds(value), where=where)
