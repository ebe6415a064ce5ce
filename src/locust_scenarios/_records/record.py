"""The run record: one versioned JSON document per run, from which every report is derived.

A record holds the run id and tags, the profile's plan and stages, per-request statistics with
Locust's full rounded response-time distribution (so any percentile can be recomputed exactly),
a per-second history (planned and running users, throughput, failures, p50/p95), the thresholds and
the verdict, the errors and the load generator's facts. Its JSON Schema ships in the package
(``schemas/run-record.schema.json``); each record names the schema version it follows.

``Recording`` is what a master or local run uses: ``configure`` checks the settings before any load
(an unwritable path or a bad baseline exits 2), ``start`` moves an earlier run's files aside and
samples the history once a second in a greenlet, ``build`` builds the record at quitting and ``write``
writes it and the HTML report (whole or not at all), which the metrics port serves during the linger.
``load_record`` reads a record and checks it (``validation``) before anything else sees it.
Everything else here is a pure function of statistics or of records.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import platform
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import gevent
from locust import __version__ as locust_version
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner
from locust.stats import StatsError

from locust_scenarios import _distributions as dist
from locust_scenarios._exporter.serving import MetricsServer
from locust_scenarios._files import clear_leftovers, move_aside, unwritable, write_text
from locust_scenarios._metrics import REGISTRY
from locust_scenarios._population_stats import POPULATIONS
from locust_scenarios._population_stats import figures as population_figures
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import SCENARIO, option_name, shown
from locust_scenarios._settings.redaction import redact
from locust_scenarios._shapes.profile import ScenarioProfile
from locust_scenarios._thresholds.measure import Sample

from .validation import (
    KIND,
    SCHEMA_VERSION,
    RecordError,
    check_record,
    describe_problem,
    parse_record,
    read_record,
    schema,
)

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.stats import StatsEntry

    from locust_scenarios._settings.models import ScenarioSettings

__all__ = [
    "SCHEMA_VERSION",
    "Recording",
    "baseline_samples",
    "build_record",
    "load_record",
    "log_line",
    "parse_tags",
    "record_from_log",
    "schema",
]

logger = logging.getLogger("locust_scenarios")

_PERCENTILES: Final = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
_CI_VARIABLES: Final = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "BUILDKITE_COMMIT", "CIRCLE_SHA1")


# ---------------------------------------------------------------------------------------------------
# Settings


def parse_tags(text: str | None) -> dict[str, str]:
    """``'environment=staging,team=shop'`` as a mapping; ``SettingsError`` for a part without ``=``."""
    tags: dict[str, str] = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise SettingsError.invalid(
                "tags", text, f"{shown(part)} is not key=value — tags such as 'environment=staging,team=shop'"
            )
        tags[key.strip()] = value.strip()
    return tags


def _git_sha() -> str | None:
    """The commit under test: a CI variable, else ``git rev-parse HEAD`` in the working directory."""
    for variable in _CI_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        found = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() or None if found.returncode == 0 else None


def _check_writable(path: str, setting: str) -> Path:
    """The path, once its folder exists (created if need be) and accepts a new file."""
    problem = unwritable(Path(path))
    if problem:
        raise SettingsError.invalid(setting, path, problem)
    return Path(path)


def load_record(path: str | Path, *, setting: str | None = None) -> dict[str, Any]:
    """The run record read from ``path``, checked (``validation.check_record``) before anything reads it.

    ``SettingsError`` (exit code 2), one line naming the file and the JSON path of the problem, when it
    is missing, not JSON, nested too deep, another version or not valid; ``setting`` names the setting
    that gave the path (``baseline_record``).
    """
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        problem = RecordError("", f"cannot read it ({error.strerror or error})")
        raise describe_problem(source, problem, setting) from None
    except UnicodeDecodeError as error:
        raise describe_problem(source, RecordError("", f"not UTF-8 text ({error.reason})"), setting) from None
    return read_record(text, source, setting=setting)


# ---------------------------------------------------------------------------------------------------
# Statistics as record entries


def _seconds(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000


def _entry(entry: StatsEntry, method: str | None) -> dict[str, Any]:
    timed = entry.num_requests - entry.num_none_requests
    distribution = dict(entry.response_times)
    figures: dict[str, Any] = {
        "method": method,
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "fail_ratio": entry.num_failures / entry.num_requests if entry.num_requests else None,
        "rps": float(entry.total_rps),
        "timed": timed,
        "avg_seconds": _seconds(entry.total_response_time / timed) if timed else None,
        "min_seconds": _seconds(entry.min_response_time) if timed else None,
        "max_seconds": _seconds(entry.max_response_time) if timed else None,
    }
    for name, quantile in _PERCENTILES.items():
        figures[f"{name}_seconds"] = _seconds(dist.percentile(distribution, quantile)) if timed else None
    figures["content_length_bytes"] = entry.total_content_length
    figures["total_response_time_ms"] = float(entry.total_response_time)
    figures["response_times"] = [[key, distribution[key]] for key in sorted(distribution)]
    return figures


def _errors(environment: Environment) -> list[dict[str, Any]]:
    found = []
    for error in environment.stats.errors.values():
        text = error.error if isinstance(error.error, str) else StatsError.parse_error(error.error)
        found.append({"method": error.method, "name": error.name, "error": text, "occurrences": error.occurrences})
    return sorted(found, key=lambda e: (-e["occurrences"], e["name"] or "", e["error"]))


def _generator(environment: Environment) -> dict[str, Any]:
    runner = environment.runner
    options = environment.parsed_options
    facts: dict[str, Any] = {
        "locust_version": locust_version,
        "python_version": platform.python_version(),
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "mode": "master" if isinstance(runner, MasterRunner) else "local",
        "workers": runner.worker_count if isinstance(runner, MasterRunner) else 0,
        "expected_workers": getattr(options, "expect_workers", None) if isinstance(runner, MasterRunner) else None,
        "user_classes": sorted(cls.__name__ for cls in environment.user_classes),
        "host": environment.host,
    }
    return facts


def _profile(environment: Environment) -> ScenarioProfile | None:
    shape = environment.shape_class
    return shape if isinstance(shape, ScenarioProfile) else None


def _plan(environment: Environment, started: float | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    profile = _profile(environment)
    if profile is None or profile.settings is None:
        return None, []
    plan = profile.plan
    name = str(getattr(profile, "selected_name", "") or profile.scenario_name)
    scenario = {
        "name": name,
        "unit": plan.unit,
        "peak": plan.peak,
        "duration_seconds": plan.duration,
        "points": [[t, level] for t, level in plan.points()],
    }
    stages = []
    for row in plan.table():
        stage = {
            "name": row["name"],
            "start_seconds": row["start_s"],
            "end_seconds": row["end_s"],
            "from": row["from"],
            "to": row["to"],
            "started": _iso(started + row["start_s"]) if started else None,
            "ended": _iso(started + row["end_s"]) if started else None,
        }
        stages.append(stage)
    return scenario, stages


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


def build_record(
    environment: Environment,
    summary: Mapping[str, Any],
    *,
    history: Sequence[Mapping[str, Any]] = (),
    tags: Mapping[str, str] | None = None,
    started: float | None = None,
) -> dict[str, Any]:
    """The run record of a finished run: Locust's statistics, the plan, the history and the summary.

    ``summary`` is the plugin's end-of-run summary (run id, exit code, thresholds, breach, ...);
    keys it may carry besides (``inconclusive`` reasons, ``generator`` health) are kept.
    """
    from locust_scenarios._users.journeys import step_order  # noqa: PLC0415  (journeys: at the end only)

    stats = environment.stats
    order = step_order(environment)  # a journey's steps in the order they run, the rest by name after them
    entries = sorted(stats.entries.values(), key=lambda e: (order.get(e.name, len(order)), e.name, e.method or ""))
    scenario, stages = _plan(environment, started)
    verdict = {
        "exit_code": summary.get("exit_code"),
        "passed": bool(summary.get("passed")),
        "interrupted": bool(summary.get("interrupted")),
        "aborted": summary.get("aborted"),
        "thresholds": list(summary.get("thresholds") or []),
        "inconclusive": list(summary.get("inconclusive") or []),
        "workers_lost": list(summary.get("workers_lost") or []),
        "breach": summary.get("breach"),
    }
    generator = _generator(environment)
    if history:
        generator["workers"] = max(int(point.get("workers") or 0) for point in history)  # most seen in the run
    extra = summary.get("generator")
    if isinstance(extra, Mapping):
        generator.update(extra)
    custom = REGISTRY.summary() if REGISTRY.definitions else None
    populations = population_figures(POPULATIONS, summary.get("duration_seconds")) if POPULATIONS.definitions else None
    return {
        **({"custom_metrics": custom} if custom is not None else {}),
        **({"populations": populations} if populations is not None else {}),
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "run_id": summary.get("run_id"),
        "tags": dict(tags or {}),
        "started": summary.get("started"),
        "ended": summary.get("ended"),
        "duration_seconds": summary.get("duration_seconds"),
        "scenario": scenario,
        "stages": stages,
        "requests": [_entry(entry, entry.method) for entry in entries],
        "total": _entry(stats.total, None),
        "history": list(history),
        "verdict": verdict,
        "errors": _errors(environment),
        "generator": generator,
    }


def baseline_samples(record: Mapping[str, Any]) -> Callable[[str | None], Sample | None]:
    """A lookup from a threshold's selector (``None`` for all requests) to the record's ``Sample``."""
    entries: list[Mapping[str, Any]] = list(record.get("requests") or [])

    def as_sample(parts: Sequence[Mapping[str, Any]]) -> Sample | None:
        if not parts:
            return None
        distribution = dist.merge({int(k): int(c) for k, c in p["response_times"]} for p in parts)
        minimums = [p["min_seconds"] for p in parts if p.get("min_seconds") is not None]
        return Sample(
            requests=sum(int(p["requests"]) for p in parts),
            failures=sum(int(p["failures"]) for p in parts),
            timed=sum(distribution.values()),
            response_times=distribution,
            total_response_time=sum(float(p.get("total_response_time_ms") or 0.0) for p in parts),
            min_response_time=min(minimums) * 1000 if minimums else None,
            max_response_time=max(float(p.get("max_seconds") or 0.0) for p in parts) * 1000,
            rps=sum(float(p.get("rps") or 0.0) for p in parts),
        )

    def lookup(selector: str | None) -> Sample | None:
        if selector is None:
            total = record.get("total")
            return as_sample([total]) if total else None
        return as_sample([e for e in entries if selector in (e["name"], f"{e['method']} {e['name']}")])

    return lookup


LOG_EVENT: Final = "locust_scenarios.record"


def log_line(record: Mapping[str, Any]) -> str:
    """The record as one JSON log line, gzip-compressed and base64-encoded (a ``kubectl logs`` survivor)."""
    packed = base64.b64encode(gzip.compress(json.dumps(record, default=str).encode(), mtime=0)).decode()
    return json.dumps({"event": LOG_EVENT, "encoding": "gzip+base64", "data": packed})


def record_from_log(text: str) -> dict[str, Any] | None:
    """The last record printed by ``log_line`` in a log (checked), or ``None`` when there is none;
    ``SettingsError`` when it is damaged."""
    found = None
    for line in text.splitlines():
        start = line.find('{"event": "' + LOG_EVENT + '"')
        if start >= 0:
            found = line[start:]
    if found is None:
        return None
    try:
        wrapped = json.loads(found)
        text = gzip.decompress(base64.b64decode(wrapped["data"])).decode("utf-8")
        return check_record(parse_record(text))
    except RecordError as problem:
        raise SettingsError(f"the run record in the log is damaged: {problem}") from None
    except (ValueError, KeyError, TypeError, OSError, EOFError) as error:
        raise SettingsError(f"the run record in the log is damaged: {shown(str(error))}") from None


# ---------------------------------------------------------------------------------------------------
# The history, sampled once a second


@dataclass
class _Snapshot:
    at: float
    requests: int
    failures: int
    response_times: dict[int, int]


def _window(environment: Environment) -> float:
    """Seconds behind each history point: a worker reports every 3 s, so the master looks back 5 s."""
    return 5.0 if isinstance(environment.runner, MasterRunner) else 1.0


def history_point(environment: Environment, snapshots: deque[_Snapshot], started: float) -> dict[str, Any]:
    """One history point now: planned and running users, and rates over the trailing window."""
    now = time.time()
    total = environment.stats.total
    current = _Snapshot(now, total.num_requests, total.num_failures, dict(total.response_times))
    snapshots.append(current)
    window = _window(environment)
    while len(snapshots) > 2 and snapshots[1].at <= now - window:
        snapshots.popleft()
    first = snapshots[0]
    span = max(now - first.at, 1e-9)
    recent = {
        key: count - first.response_times.get(key, 0)
        for key, count in current.response_times.items()
        if count - first.response_times.get(key, 0) > 0
    }
    runner = environment.runner
    profile = _profile(environment)
    planned, stage = None, None
    if profile is not None and profile.settings is not None:
        try:
            elapsed = profile.elapsed()
            planned, stage = profile.planned_level(elapsed), profile.stage_name(elapsed)
        except Exception:  # a profile must never break the recording
            logger.debug("could not read the profile's plan", exc_info=True)
    single = len(snapshots) == 1
    return {
        "t": round(now - started, 3),
        "planned": planned,
        "users": runner.user_count if runner is not None else 0,
        "workers": runner.worker_count if isinstance(runner, MasterRunner) else 0,
        "rps": 0.0 if single else (current.requests - first.requests) / span,
        "failures_per_second": 0.0 if single else (current.failures - first.failures) / span,
        "p50_seconds": _seconds(dist.percentile(recent, 0.5)) if recent else None,
        "p95_seconds": _seconds(dist.percentile(recent, 0.95)) if recent else None,
        "stage": stage,
    }


# ---------------------------------------------------------------------------------------------------
# The recording of one process


@dataclass
class Recording:
    """Where the record and the report go, the tags and the baseline, and the history being sampled."""

    record_path: Path | None = None
    report_path: Path | None = None
    tags: dict[str, str] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    log_record: bool = False
    """Print the record as one compressed log line, for ``locust-scenarios fetch``."""
    history: list[dict[str, Any]] = field(default_factory=list)
    started: float | None = None
    files: dict[str, Path] = field(default_factory=dict)
    """What has been written, by the name it is served under (``record.json``, ``report.html``)."""
    _sampler: gevent.Greenlet | None = field(default=None, repr=False)

    @classmethod
    def configure(cls, scenario: ScenarioSettings) -> Recording:
        """Check the record settings before any load: ``SettingsError`` (exit 2) for a bad one."""
        tags = parse_tags(scenario.tags)
        recording = cls(
            record_path=_check_writable(scenario.record, "record") if scenario.record else None,
            report_path=_check_writable(scenario.report, "report") if scenario.report else None,
            baseline=(
                load_record(scenario.baseline_record, setting="baseline_record") if scenario.baseline_record else None
            ),
            log_record=scenario.record_log,
        )
        if recording.active:
            sha = _git_sha()
            recording.tags = {**({"git_sha": sha} if sha else {}), **tags}
        else:
            recording.tags = tags
        return recording

    def baseline_lookup(self) -> Callable[[str | None], Sample | None] | None:
        """The baseline's samples by threshold selector, when a baseline was given."""
        return baseline_samples(self.baseline) if self.baseline is not None else None

    @property
    def active(self) -> bool:
        """Whether anything is written at the end (and so the history is sampled)."""
        return self.record_path is not None or self.report_path is not None or self.log_record

    def start(self, environment: Environment) -> None:
        """At test start: move an earlier run's record and report aside, then sample the history once a
        second until the run ends (no-op when inactive).

        Moved aside (``record.json`` to ``record.previous.json``), not left in place: a run killed before
        it writes must not leave an older record at its path that a pipeline would read as this run's.
        """
        if not self.active:
            return
        if self._sampler is not None:
            self._sampler.kill(block=False)
        self.files.clear()
        for path in (self.record_path, self.report_path):
            if path is not None:
                self._clear(path)
        self.history = []
        self.started = time.time()
        self._sampler = gevent.spawn(self._sample, environment)

    @staticmethod
    def _clear(path: Path) -> None:
        clear_leftovers(path)
        try:
            previous = move_aside(path)
        except OSError as error:
            logger.warning("could not move the earlier %s aside: %s", path, error)
            return
        if previous is not None:
            logger.info("moved the earlier run's %s to %s", path.name, previous)

    def _sample(self, environment: Environment) -> None:
        snapshots: deque[_Snapshot] = deque()
        started = self.started or time.time()
        while True:
            runner = environment.runner
            if runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING):
                try:
                    self.history.append(history_point(environment, snapshots, started))
                except Exception:  # the recording must never disturb the run
                    logger.debug("could not sample the history", exc_info=True)
            gevent.sleep(1.0)

    def build(self, environment: Environment, verdict: Mapping[str, Any]) -> dict[str, Any]:
        """At quitting: stop sampling and build the run's record (always: the summary is a view of it)."""
        if self._sampler is not None:
            self._sampler.kill(block=False)
            self._sampler = None
        built = build_record(environment, verdict, history=self.history, tags=self.tags, started=self.started)
        # Secret values (the auth token) never reach a file or the log, not even compressed.
        record: dict[str, Any] = json.loads(redact(json.dumps(built, default=str)))
        return record

    def write(self, record: Mapping[str, Any]) -> None:
        """Write the record and the report where asked (errors are logged: the verdict stands)."""
        if self.record_path is not None:
            text = json.dumps(record, indent=1, default=str) + "\n"
            self._write(self.record_path, text, "record.json", "record")
        if self.log_record:
            logging.getLogger("locust.stats_logger").info(log_line(record))
        if self.report_path is not None:
            from .report import render_html  # noqa: PLC0415  (the report module reads records, not runs)

            self._write(self.report_path, render_html(record), "report.html", "report")

    def serve(self, server: MetricsServer | None) -> None:
        """Serve what ``write`` writes at ``/results/<name>`` on the metrics port (during the linger)."""
        if server is not None:
            server.files = self.files

    def _write(self, path: Path, text: str, served_as: str, setting: str) -> None:
        try:
            write_text(path, text)
        except OSError as error:
            logger.error("could not write the %s to %s (%s): %s", setting, path, option_name(SCENARIO, setting), error)
            return
        self.files[served_as] = path
        logger.info("wrote the run %s to %s", setting, path)
