"""The collector: Locust's own statistics as Prometheus metrics, read when scraped.

``LocustCollector`` is a prometheus_client custom collector. It does no per-request work: at scrape
time it walks ``environment.runner.stats`` (on the master these are the workers' aggregated reports)
and renders request counters, a latency histogram built from Locust's rounded response-time
distribution, errors, users, workers, the runner's state, the scenario and the thresholds.

A scrape runs inside the gevent loop that also generates load, so it must be cheap. The collector
renders the text exposition itself: label strings are escaped once per request name, each name's
lines are rebuilt only when its counts changed, and a response time is mapped to its bucket through a
cache (Locust's rounding leaves a few hundred distinct values). ``collect()`` yields the same data as
prometheus_client metric families, for registries and the Pushgateway.
"""

from __future__ import annotations

import bisect
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from locust.runners import (
    STATE_CLEANUP,
    STATE_INIT,
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
    MasterRunner,
)
from locust.stats import CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW

from locust_scenarios._exemplars import EXEMPLARS, Exemplar
from locust_scenarios._metrics import REGISTRY
from locust_scenarios._trust import REASONS

from .buckets import DEFAULT_BUCKETS
from .custom import custom_families, render_custom
from .exposition import CONTENT_TYPE, FAMILIES, Family, format_float, header, render_labels
from .labels import OTHER, clean_label, error_label
from .openmetrics import OPENMETRICS_CONTENT_TYPE, to_openmetrics, wants_openmetrics

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.stats import StatsEntry
    from prometheus_client.metrics_core import Metric

    from locust_scenarios._thresholds.judging import Result
    from locust_scenarios._trust import Verdict as GeneratorVerdict

__all__ = ["QUANTILES", "LocustCollector", "new_run_id"]

logger = logging.getLogger("locust_scenarios.exporter")


QUANTILES: Final = (0.5, 0.9, 0.95, 0.99)
"""Quantiles exported exactly as Locust computes them (``locust_request_duration_quantile_seconds``)."""

AGGREGATED: Final = "Aggregated"
"""The ``name`` of the quantiles over every request (Locust's own name for its total row)."""

RUNNER_STATES: Final = (
    STATE_INIT,
    STATE_SPAWNING,
    STATE_RUNNING,
    STATE_CLEANUP,
    STATE_STOPPING,
    STATE_STOPPED,
)
WORKER_STATES: Final = (*RUNNER_STATES, STATE_MISSING)
_OTHER_ERROR: Final = ("", OTHER, OTHER)
"""The one error series that every combination beyond the cap is counted in."""


def new_run_id() -> str:
    """A run id that sorts by start time: ``20250101T120000Z-3f2a``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


@dataclass
class _Requests:
    """One request series (a method and an exported name): counts, buckets and the rendered lines."""

    labels: dict[str, str]
    text_labels: str
    version: tuple[Any, ...] = ()
    requests: int = 0
    failures: int = 0
    content_length: int = 0
    buckets: list[int] = field(default_factory=list)
    """Cumulative counts per bound, then the total (the ``+Inf`` bucket)."""
    seconds: float = 0.0
    lines: tuple[str, str, str, str] = ("", "", "", "")
    quantiles: tuple[tuple[float, float], ...] = ()
    """``(quantile, seconds)`` over the run so far, as Locust computes them."""
    quantile_lines: str = ""
    entry: Any = None
    """The Locust ``StatsEntry`` behind the series (``None`` for the folded ``(other)``)."""


class LocustCollector:
    """A prometheus_client collector over a Locust environment's statistics.

    Register it (``registry.register(collector)``) or serve ``render()`` directly. Request names
    beyond ``max_names`` (in the order Locust first saw them) fold into ``(other)``; so do errors beyond
    ``max_names`` combinations of method, name and message, into one series.
    """

    def __init__(
        self,
        environment: Environment,
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        max_names: int = 200,
        run_id: str | None = None,
        thresholds: Callable[[], Sequence[Result]] | None = None,
    ) -> None:
        self.environment = environment
        self.buckets = tuple(buckets)
        self.max_names = max_names
        self.run_id = run_id or new_run_id()
        self.thresholds = thresholds
        self.health: Callable[[], GeneratorVerdict | None] | None = None
        """The load generator's figures and verdict so far (set by the plugin)."""
        self.last_scrape_seconds = 0.0
        self.exemplars = False
        """Serve OpenMetrics with trace-id exemplars to scrapes that ask for it (the run traces requests)."""
        self._bounds_ms = [bound * 1000 for bound in self.buckets]
        self._le = [format_float(bound) for bound in self.buckets] + ["+Inf"]
        self._bucket_of: dict[int, int] = {}
        self._names: dict[str, str] = {}
        self._series: dict[tuple[str, str], _Requests] = {}
        self._series_entry: dict[tuple[str, str], StatsEntry] = {}
        self._errors: dict[str, tuple[str, str, str]] = {}
        self._total = self._new_series("", AGGREGATED)
        self._error_values: set[tuple[str, str, str]] = set()

    # -- the snapshot -------------------------------------------------------------------------------

    def _exported_name(self, name: str) -> str:
        exported = self._names.get(name)
        if exported is None:
            exported = name if len(self._names) < self.max_names else OTHER
            self._names[name] = exported
        return exported

    def _bucket_index(self, milliseconds: int) -> int:
        index = self._bucket_of.get(milliseconds)
        if index is None:
            index = bisect.bisect_left(self._bounds_ms, milliseconds)
            self._bucket_of[milliseconds] = index
        return index

    def _histogram(self, response_times: Iterable[tuple[int, int]]) -> list[int]:
        counts = [0] * (len(self.buckets) + 1)
        bucket_index = self._bucket_index
        for milliseconds, count in response_times:
            counts[bucket_index(milliseconds)] += count
        total = 0
        for index, count in enumerate(counts):
            total += count
            counts[index] = total
        return counts

    def _render_series(self, series: _Requests) -> None:
        labels = series.text_labels
        histogram = [
            f'locust_request_duration_seconds_bucket{{{labels},le="{le}"}} {count}\n'
            for le, count in zip(self._le, series.buckets, strict=True)
        ]
        histogram.append(f"locust_request_duration_seconds_sum{{{labels}}} {format_float(series.seconds)}\n")
        histogram.append(f"locust_request_duration_seconds_count{{{labels}}} {series.buckets[-1]}\n")
        series.quantile_lines = self._quantile_lines(labels, series.quantiles, "run")
        series.lines = (
            f"locust_requests_total{{{labels}}} {series.requests}\n",
            f"locust_request_failures_total{{{labels}}} {series.failures}\n",
            "".join(histogram),
            f"locust_response_size_bytes_total{{{labels}}} {series.content_length}\n",
        )

    @staticmethod
    def _quantile_lines(labels: str, quantiles: Iterable[tuple[float, float]], window: str) -> str:
        return "".join(
            f'locust_request_duration_quantile_seconds{{{labels},quantile="{format_float(q)}",window="{window}"}} '
            f"{format_float(value)}\n"
            for q, value in quantiles
        )

    def _new_series(self, method: str, name: str) -> _Requests:
        labels = {"method": clean_label(method), "name": clean_label(name)}
        return _Requests(labels=labels, text_labels=render_labels(labels))

    def _request_series(self) -> list[_Requests]:
        """One series per exported (method, name); folded names are summed into ``(other)``."""
        stats = self.environment.stats
        current: list[_Requests] = []
        folded: dict[str, list[StatsEntry]] = {}
        for (name, method), entry in list(stats.entries.items()):
            exported = self._exported_name(name)
            if exported == OTHER:
                folded.setdefault(method, []).append(entry)
                continue
            key = (name, method)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = self._new_series(method, name)
            version = (
                id(entry.response_times),
                entry.num_requests,
                entry.num_failures,
                entry.total_content_length,
                entry.num_none_requests,
            )
            if series.version != version or self._series_entry.get(key) is not entry:
                series.version = version
                series.entry = entry
                self._series_entry[key] = entry
                series.requests = entry.num_requests
                series.failures = entry.num_failures
                series.content_length = entry.total_content_length
                series.buckets = self._histogram(entry.response_times.items())
                series.seconds = entry.total_response_time / 1000
                series.quantiles = _quantiles(entry.response_times, entry.num_requests - entry.num_none_requests)
                self._render_series(series)
            current.append(series)
        for method, entries in folded.items():
            series = self._new_series(method, OTHER)
            merged: dict[int, int] = {}
            for entry in entries:
                series.requests += entry.num_requests
                series.failures += entry.num_failures
                series.content_length += entry.total_content_length
                series.seconds += entry.total_response_time / 1000
                for milliseconds, count in entry.response_times.items():
                    merged[milliseconds] = merged.get(milliseconds, 0) + count
            series.buckets = self._histogram(merged.items())
            series.quantiles = _quantiles(merged, sum(merged.values()))
            self._render_series(series)
            current.append(series)
        return current

    def _quantile_series(
        self, series: Sequence[_Requests]
    ) -> list[tuple[_Requests, str, tuple[tuple[float, float], ...]]]:
        """(series, window, quantiles) for each request series and the total, run and current window."""
        total = self.environment.stats.total
        version = (id(total.response_times), total.num_requests, total.num_none_requests)
        if self._total.version != version:
            self._total.version = version
            self._total.quantiles = _quantiles(total.response_times, total.num_requests - total.num_none_requests)
            self._total.quantile_lines = self._quantile_lines(self._total.text_labels, self._total.quantiles, "run")
        self._total.entry = total
        found = []
        for s in (*series, self._total):
            found.append((s, "run", s.quantiles))
            if s.entry is not None:
                found.append((s, "current", _current_quantiles(s.entry)))
        return found

    def _error_series(self) -> dict[tuple[str, str, str], int]:
        counts: dict[tuple[str, str, str], int] = {}
        for key, error in list(self.environment.stats.errors.items()):
            labels = self._errors.get(key)
            if labels is None:
                method = clean_label(error.method or "")
                labels = (method, clean_label(self._exported_name(error.name)), clean_label(error_label(error.error)))
                if labels not in self._error_values:
                    if len(self._error_values) >= self.max_names:
                        labels = _OTHER_ERROR  # the cap counts combinations of method, name and message
                    else:
                        self._error_values.add(labels)
                self._errors[key] = labels
            counts[labels] = counts.get(labels, 0) + error.occurrences
        return counts

    def _users(self) -> dict[str, int]:
        runner = self.environment.runner
        counts = {cls.__name__: 0 for cls in self.environment.user_classes}
        if isinstance(runner, MasterRunner):
            reported: Mapping[str, int] = runner.reported_user_classes_count
        elif runner is not None:
            reported = runner.user_classes_count
        else:
            reported = {}
        for name, count in reported.items():
            counts[name] = counts.get(name, 0) + count
        return counts

    def _plan(self) -> tuple[str, str, float, bool]:
        """Scenario name, current stage, planned level and whether that level is iterations/s.

        The plan comes from our profiles (``planned_level``, ``stage_name``); for any other shape, or
        none, the target is Locust's own target user count. Outside a run the target is zero.
        """
        shape = self.environment.shape_class
        runner = self.environment.runner
        active = runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING)
        fallback = float(runner.target_user_count) if runner is not None and active else 0.0
        if shape is None:
            return "", "", fallback, False
        scenario = str(
            getattr(shape, "selected_name", None) or getattr(shape, "scenario_name", None) or type(shape).__name__
        )
        planned_level = getattr(shape, "planned_level", None)
        if planned_level is None:
            return scenario, "", fallback, False
        if not active:
            return scenario, "", 0.0, bool(getattr(shape, "open_model", False))
        try:
            elapsed = shape.elapsed() if hasattr(shape, "elapsed") else shape.get_run_time()
            level = float(planned_level(elapsed))
            stage_name = getattr(shape, "stage_name", None)
            stage = str(stage_name(elapsed)) if stage_name is not None else ""
            open_model = bool(getattr(shape, "open_model", False))
        except Exception:  # a profile must never break a scrape
            logger.debug("could not read the profile's plan", exc_info=True)
            return scenario, "", fallback, False
        return scenario, stage, level, open_model

    def _workers(self) -> tuple[dict[str, int], int | None]:
        runner = self.environment.runner
        counts = dict.fromkeys(WORKER_STATES, 0)
        if isinstance(runner, MasterRunner):
            for worker in list(runner.clients.values()):
                counts[worker.state] = counts.get(worker.state, 0) + 1
            options = self.environment.parsed_options
            expected = getattr(options, "expect_workers", None) if options is not None else None
            return counts, int(expected) if expected else None
        return counts, None

    def _generator(self) -> GeneratorVerdict | None:
        if self.health is None:
            return None
        try:
            return self.health()
        except Exception:  # the generator's figures must never break a scrape
            logger.debug("could not read the generator's figures", exc_info=True)
            return None

    def _generator_families(self) -> Iterator[Family]:
        """The load generator's health: per process, the pacing counters, tracking errors, reasons."""
        verdict = self._generator()
        if verdict is None:
            return
        health = verdict.health
        cpu, users = Family("locust_generator_cpu_usage_ratio"), Family("locust_generator_users")
        state, heartbeat = Family("locust_generator_state"), Family("locust_generator_heartbeat_age_seconds")
        lag = Family("locust_generator_loop_lag_seconds")
        for process in list(health.processes.values()):
            labels = {"process": process.name}
            cpu.add(labels, process.cpu)
            users.add(labels, process.users)
            state.add({"process": process.name, "state": process.state}, 1)
            if process.heartbeat_age is not None:
                heartbeat.add(labels, process.heartbeat_age)
            if process.lag is not None:
                lag.add(labels, process.lag)
        yield from (cpu, users, state)
        yield from (family for family in (heartbeat, lag) if family.samples)
        for name, value in (
            ("locust_iterations", health.iterations),
            ("locust_iterations_late", health.late),
            ("locust_iterations_dropped", health.dropped),
            ("locust_users_tracking_error_ratio", health.users_tracking_error),
            ("locust_iterations_tracking_error_ratio", health.iterations_tracking_error or 0.0),
        ):
            family = Family(name)
            family.add({}, value)
            yield family
        reasons = {reason.reason for reason in verdict.reasons}
        family = Family("locust_generator_inconclusive")
        for reason in REASONS:
            family.add({"reason": reason}, 1 if reason in reasons else 0)
        yield family

    def _threshold_results(self) -> Sequence[Result]:
        if self.thresholds is None:
            return ()
        try:
            return self.thresholds()
        except Exception:  # a threshold must never break a scrape
            logger.debug("could not evaluate the thresholds", exc_info=True)
            return ()

    # -- the text exposition ----------------------------------------------------------------------

    def render_for(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition a scrape with this ``Accept`` header gets, and its content type."""
        if not self.exemplars or not wants_openmetrics(accept):
            return self.render(), CONTENT_TYPE
        by_labels: dict[str, list[Exemplar]] = {}
        for (method, name), found in EXEMPLARS.snapshot().items():
            labels = render_labels({"method": clean_label(method), "name": clean_label(self._exported_name(name))})
            by_labels.setdefault(labels, []).extend(found)
            by_labels.setdefault(self._total.text_labels, []).extend(found)
        return to_openmetrics(self.render(), by_labels), OPENMETRICS_CONTENT_TYPE

    def render(self) -> bytes:
        """The metrics in Prometheus text format (0.0.4)."""
        started = time.perf_counter()
        series = self._request_series()
        parts = [
            header("locust_requests"),
            *(s.lines[0] for s in series),
            header("locust_request_failures"),
            *(s.lines[1] for s in series),
            header("locust_request_duration_seconds"),
            *(s.lines[2] for s in series),
            header("locust_response_size_bytes"),
            *(s.lines[3] for s in series),
            header("locust_request_duration_quantile_seconds"),
        ]
        for s, window, quantiles in self._quantile_series(series):
            parts.append(
                s.quantile_lines if window == "run" else self._quantile_lines(s.text_labels, quantiles, window)
            )
        for family in self._small_families():
            parts.append(header(family.name))
            parts.extend(family.lines)
        parts.append(render_custom(REGISTRY))
        parts.append(header("locust_exporter_scrape_duration_seconds"))
        parts.append(f"locust_exporter_scrape_duration_seconds {format_float(self.last_scrape_seconds)}\n")
        body = "".join(parts).encode()
        self.last_scrape_seconds = time.perf_counter() - started
        return body

    def _small_families(self) -> Iterator[Family]:
        """Everything but the per-request families: few series, built on every scrape."""
        errors = Family("locust_errors")
        for (method, name, message), count in self._error_series().items():
            errors.add({"method": method, "name": name, "error": message}, count)
        yield errors

        users = Family("locust_users")
        for user_class, count in self._users().items():
            users.add({"user_class": user_class}, count)
        yield users

        scenario, stage, level, open_model = self._plan()
        target = Family("locust_iterations_target_per_second" if open_model else "locust_users_target")
        target.add({}, level)
        yield target

        workers, expected = self._workers()
        family = Family("locust_workers")
        for state, count in workers.items():
            family.add({"state": state}, count)
        yield family
        if expected is not None:
            family = Family("locust_workers_expected")
            family.add({}, expected)
            yield family

        runner = self.environment.runner
        state = runner.state if runner is not None else STATE_INIT
        family = Family("locust_runner_state")
        for name in RUNNER_STATES:
            family.add({"state": name}, 1 if name == state else 0)
        yield family

        family = Family("locust_scenario_info")
        family.add({"scenario": scenario, "stage": stage, "run_id": self.run_id}, 1)
        yield family

        yield from self._generator_families()

        results = self._threshold_results()
        if results:
            passing = Family("locust_threshold_passing")
            value = Family("locust_threshold_value")
            limit = Family("locust_threshold_limit")
            for result in results:
                labels = {"threshold": result.threshold.text}
                passing.add(labels, 1 if result.passed else 0)
                limit.add(labels, result.threshold.limit)
                if result.value is not None:
                    value.add(labels, result.value)
            yield from (passing, value, limit)

    # -- the prometheus_client protocol -----------------------------------------------------------

    def describe(self) -> Iterable[Metric]:
        """The families this collector may yield, without samples (for registry name checks)."""
        from prometheus_client.metrics_core import Metric  # noqa: PLC0415  (only registries need it)

        for name, (kind, text) in FAMILIES.items():
            yield Metric(name, text, kind)

    def collect(self) -> Iterable[Metric]:
        """The same data as ``render()``, as prometheus_client metric families."""
        from prometheus_client.metrics_core import (  # noqa: PLC0415  (only registries need it)
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
            Metric,
        )

        series = self._request_series()
        label_names = ["method", "name"]
        requests = CounterMetricFamily("locust_requests", FAMILIES["locust_requests"][1], labels=label_names)
        failures = CounterMetricFamily(
            "locust_request_failures", FAMILIES["locust_request_failures"][1], labels=label_names
        )
        durations = HistogramMetricFamily(
            "locust_request_duration_seconds", FAMILIES["locust_request_duration_seconds"][1], labels=label_names
        )
        sizes = CounterMetricFamily(
            "locust_response_size_bytes", FAMILIES["locust_response_size_bytes"][1], labels=label_names
        )
        for s in series:
            values = [s.labels["method"], s.labels["name"]]
            requests.add_metric(values, s.requests)
            failures.add_metric(values, s.failures)
            sizes.add_metric(values, s.content_length)
            durations.add_metric(
                values, list(zip(self._le, [float(c) for c in s.buckets], strict=True)), sum_value=s.seconds
            )
        yield from (requests, failures, durations, sizes)
        # A summary without _sum and _count: the quantiles alone (promtool refuses a quantile label elsewhere).
        name = "locust_request_duration_quantile_seconds"
        quantiles = Metric(name, FAMILIES[name][1], "summary")
        for s, window, measured in self._quantile_series(series):
            for q, value in measured:
                labels = {**s.labels, "quantile": format_float(q), "window": window}
                quantiles.add_sample(name, labels, value)
        yield quantiles
        for family in self._small_families():
            kind, text = FAMILIES[family.name]
            metric: Metric
            if kind == "counter":
                metric = CounterMetricFamily(family.name, text, labels=family.label_names)
            else:
                metric = GaugeMetricFamily(family.name, text, labels=family.label_names)
            for labels, value in family.samples:
                metric.add_metric([labels[n] for n in family.label_names], value)
            yield metric
        yield from custom_families(REGISTRY)
        scrape = GaugeMetricFamily(
            "locust_exporter_scrape_duration_seconds", FAMILIES["locust_exporter_scrape_duration_seconds"][1]
        )
        scrape.add_metric([], self.last_scrape_seconds)
        yield scrape


def _quantiles(distribution: Mapping[int, int], timed: int) -> tuple[tuple[float, float], ...]:
    """``QUANTILES`` of a rounded distribution in seconds (none without samples).

    The same rule as Locust's ``calculate_response_time_percentile`` (walk the response times from
    the slowest down until at most ``int(timed * q)`` requests remain), for every quantile in one
    pass over the sorted times instead of one sort per quantile.
    """
    if timed <= 0:
        return ()
    wanted = [(q, int(timed * q)) for q in QUANTILES]
    found: dict[float, int] = {}
    processed = 0
    for milliseconds in sorted(distribution, reverse=True):
        processed += distribution[milliseconds]
        while wanted and timed - processed <= wanted[-1][1]:
            found[wanted.pop()[0]] = milliseconds
        if not wanted:
            break
    return tuple((q, found.get(q, 0) / 1000) for q in QUANTILES)


def _current_quantiles(entry: StatsEntry) -> tuple[tuple[float, float], ...]:
    """``QUANTILES`` over Locust's current window (about the last ten seconds), exactly as its
    ``get_current_response_time_percentile`` picks the cached distribution, with one difference per
    entry instead of one per quantile. None while Locust has no cached distribution to compare with."""
    cache = entry.response_times_cache
    if not cache:
        return ()
    now = int(time.time())
    window = CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW
    preferred = [now - window] + [stamp for i in range(1, 9) for stamp in (now - window - i, now - window + i)]
    cached = next((cache[stamp] for stamp in preferred if stamp in cache), None)
    if cached is None:
        return ()
    old = cached.response_times
    recent = {ms: count - old.get(ms, 0) for ms, count in entry.response_times.items() if count - old.get(ms, 0)}
    timed = (entry.num_requests - entry.num_none_requests) - (cached.num_requests - cached.num_none_requests)
    return _quantiles(recent, timed)
