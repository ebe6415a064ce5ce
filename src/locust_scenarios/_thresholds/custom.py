"""``[metric=NAME]`` criteria: the locustfile's own metrics, judged on the run or a stage.

The tallies are the master's totals (every worker's observations added exactly). A stage's tally is
the difference between the totals when it ended and when it started (a stage name that occurs twice
pools both), recorded once a second like the requests' timeline. Tallies are kept per label set; a
criterion adds the label sets its ``{label="value"}`` selection matches (all of them without one).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from locust_scenarios._metrics import AGGREGATES_BY_KIND, LabelValues, Registry, Tally, measure, merged

from .grammar import Threshold, expression_error
from .judging import Result

__all__ = ["MetricJudge", "check_metrics"]


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


@dataclass
class MetricJudge:
    """Judges the ``[metric=NAME]`` criteria from ``registry``'s totals, by run or by stage."""

    thresholds: tuple[Threshold, ...]
    registry: Registry
    _stage: str | None = field(default=None, init=False)
    _base: dict[str, dict[LabelValues, Tally]] = field(default_factory=dict, init=False)
    _stages: dict[str, dict[str, dict[LabelValues, Tally]]] = field(default_factory=dict, init=False)

    def start(self) -> None:
        """A run starts: no stage recorded yet."""
        self._stage, self._base, self._stages = None, {}, {}

    def tick(self, stage: str) -> None:
        """One second of the run in ``stage``: at a stage change, close the last one and open this one."""
        if stage == self._stage:
            return
        now = self.registry.snapshot()
        self._close(now)
        self._stage, self._base = stage, now

    def _close(self, now: dict[str, dict[LabelValues, Tally]]) -> None:
        if self._stage is None:
            return
        pooled = self._stages.setdefault(self._stage, {})
        for name, series in now.items():
            base = self._base.get(name, {})
            for values, tally in series.items():
                part = tally.since(base.get(values, Tally()))
                pooled.setdefault(name, {}).setdefault(values, Tally()).add(part)

    def results(self, *, final: bool = False) -> tuple[Result, ...]:
        """Each criterion judged; at the end the current stage is closed first."""
        now = self.registry.snapshot()
        if final:
            self._close(now)
            self._stage = None
        return tuple(self._judge(threshold, now) for threshold in self.thresholds)

    def _judge(self, threshold: Threshold, now: dict[str, dict[LabelValues, Tally]]) -> Result:
        assert threshold.metric is not None
        definition = self.registry.definitions.get(threshold.metric)
        if threshold.stage is None:
            series, where = now.get(threshold.metric, {}), "run"
        else:
            series, where = self._stages.get(threshold.stage, {}).get(threshold.metric, {}), f"stage {threshold.stage}"
        labels = definition.labels if definition is not None else ()
        tally = merged(series, labels, dict(threshold.metric_labels))
        if definition is None or tally.count == 0:
            return Result(threshold, None, 0, passed=False, note=f"no observations of {threshold.metric}", where=where)
        value = measure(definition, tally, threshold.aggregate, threshold.quantile)
        if value is None:
            return Result(threshold, None, 0, passed=False, note="no value", where=where)
        return Result(threshold, value, tally.count, passed=threshold.holds(value), where=where)
