"""The end of a run (Locust's ``quitting``, master or local runner): verdict, exit code, summary, files, push, linger.

``finish`` gathers the run's facts (the thresholds judged by stage and window, the generator's
verdict, the workers lost, the breach), hands them to ``decision.decide`` for the exit code, builds
the run record from the decision and reads the summary from the record: the JSON summary line,
``--scenario-summary`` and the record say the same because the summary is a view of the record.
Then the verdict tables, the Pushgateway push, and the linger that lets Prometheus scrape the final
state. Each step runs once per process, even when Locust fires ``quitting`` twice (its SIGTERM
handler shuts down again while the first shutdown lingers); a failing step never stops the next.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from locust_scenarios._exporter.serving import push
from locust_scenarios._files import write_text
from locust_scenarios._metrics import table as metrics_table
from locust_scenarios._population_stats import table as population_table
from locust_scenarios._settings.options import format_duration
from locust_scenarios._thresholds.judging import Verdict
from locust_scenarios._trust import GeneratorHealth, verdict
from locust_scenarios._trust import Verdict as GeneratorVerdict

from .decision import Decision, Facts, decide
from .state import Run

__all__ = ["SUMMARY_EVENT", "facts", "finish", "summary_of"]

logger = logging.getLogger("locust_scenarios")

SUMMARY_EVENT: Final = "locust_scenarios.summary"
"""The ``event`` of the one JSON summary line in the log."""

_TOTALS: Final = (
    "requests",
    "failures",
    "fail_ratio",
    "rps",
    "avg_seconds",
    "min_seconds",
    "p50_seconds",
    "p90_seconds",
    "p95_seconds",
    "p99_seconds",
    "max_seconds",
)
"""The whole-run figures of the summary, as the record's ``total`` entry holds them."""

_HEALTH: Final = (*GeneratorHealth().to_dict(), "warnings")
"""The generator's figures among the record's ``generator`` facts (the summary's ``generator``)."""


def finish(run: Run) -> Decision | None:
    """The work of quitting, once: the decision, the exit code, the summary, the files, the push, the linger."""
    if run.quitting or run.on_worker or run.collector is None:
        return None
    run.quitting = True
    if run.watcher is not None:
        run.watcher.kill(block=False)
    decision = decide(facts(run))
    environment = run.environment
    if decision.exit_code is not None:
        environment.process_exit_code = decision.exit_code
    for warning in decision.warnings:
        logger.warning(warning)
    record = _step("build the run record", lambda: run.recording.build(environment, decision.verdict))
    summary = run.summary = summary_of(record) if record is not None else {**decision.verdict, "totals": None}
    _step("report", lambda: _report(run, decision, summary))
    _step("write the summary file", lambda: _write_summary_file(run, summary))
    if record is not None:
        _step("write the run record", lambda: run.recording.write(record))
    _step("push", lambda: _push(run))
    if run.embedded:
        run.flush_tables()  # no Locust ``quit`` event follows in a caller's process
    if run.server is not None:
        _linger(run, summary)
    return decision


def _step(name: str, work: Any) -> Any:
    """``work()``; its failure is logged and must not lose the other steps or the exit code."""
    try:
        return work()
    except Exception:
        logger.exception("quitting: %s failed", name)
        return None


def facts(run: Run) -> Facts:
    """The run's facts at quitting: the thresholds and the generator are judged for good here."""
    environment = run.environment
    if run.sampler is not None:
        run.sampler.kill(block=False)
        run.sampler = None
    run.probe.stop()
    if run.thresholds:
        run.verdict = _judge_thresholds(run)
    if run.monitor is not None:
        run.generator = _judge_generator(run)
    profile = run.profile
    runner = environment.runner
    options = environment.parsed_options
    stats = environment.stats
    assert run.collector is not None
    return Facts(
        run_id=run.collector.run_id,
        scenario=(getattr(profile, "selected_name", "") or run.settings.scenario) if profile is not None else None,
        started=run.started_at is not None,
        signalled=run.interrupted,
        running=run.in_progress(),
        profile_unfinished=profile is not None and profile.started and not profile.completed,
        thresholds=run.verdict,
        generator=run.generator,
        stop_criteria=run.stop is not None,
        breach=_breach(run),
        workers_lost=run.workers_lost,
        workers_left=run.workers_left,
        rebalancing=bool(getattr(options, "enable_rebalancing", False)),
        other_code=environment.process_exit_code,
        requests=stats.total.num_requests,
        failed_requests=bool(runner is not None and (runner.errors or runner.exceptions)),
        exit_code_on_error=getattr(options, "exit_code_on_error", 1),
        first_request=stats.start_time,
        last_request=stats.last_request_timestamp or time.time(),
    )


def _judge_thresholds(run: Run) -> Verdict:
    """The thresholds' verdict: by stage and window from the timeline, the rest on the whole run."""
    return Verdict(run.judge(final=True), aborted=run.aborted)


def _judge_generator(run: Run) -> GeneratorVerdict:
    """Whether the run's load can be trusted: the monitor's figures with the workers' final counts."""
    assert run.monitor is not None
    paced = run.pacing_totals()
    run.monitor.record_totals(run.environment.stats.total.num_requests, paced.iterations, paced.late, paced.dropped)
    health = run.monitor.health
    return verdict(health, run.settings)


def _breach(run: Run) -> dict[str, Any] | None:
    """Where a breakpoint run broke: the stop condition's figures, described as the profile put it."""
    breach = run.stop.breach if run.stop is not None else None
    described = run.profile.breach if run.profile is not None else None
    if breach is None:
        return {"description": described} if described else None
    return {**breach, "description": described} if described else breach


def summary_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The summary (the JSON line and ``--scenario-summary``) as a view of the run record."""
    verdict = record["verdict"]
    generator = record.get("generator") or {}
    scenario = record.get("scenario")
    total = record.get("total") or {}
    return {
        "run_id": record.get("run_id"),
        "scenario": scenario["name"] if scenario else None,
        "exit_code": verdict["exit_code"],
        "passed": verdict["passed"],
        "interrupted": verdict["interrupted"],
        "aborted": verdict["aborted"],
        "inconclusive": verdict["inconclusive"],
        "workers_lost": verdict.get("workers_lost", []),
        "thresholds": verdict["thresholds"],
        "generator": {key: generator[key] for key in _HEALTH if key in generator} or None,
        "breach": verdict["breach"],
        "totals": {name: total.get(name) for name in _TOTALS},
        "started": record.get("started"),
        "ended": record.get("ended"),
        "duration_seconds": record.get("duration_seconds"),
        **_custom_metrics(record),
        **({"populations": record["populations"]} if record.get("populations") else {}),
    }


def _custom_metrics(record: Mapping[str, Any]) -> dict[str, Any]:
    """The custom metrics' figures for the summary (their distributions stay in the record)."""
    found = record.get("custom_metrics")
    if found is None:
        return {}
    return {"custom_metrics": [_without_distribution(m) for m in found]}


def _without_distribution(metric: Mapping[str, Any]) -> dict[str, Any]:
    """A metric's figures without its distribution, nor its label sets' distributions."""
    figures = {k: v for k, v in metric.items() if k != "distribution"}
    if "label_sets" in figures:
        figures["label_sets"] = [{k: v for k, v in s.items() if k != "distribution"} for s in figures["label_sets"]]
    return figures


def _report(run: Run, decision: Decision, summary: Mapping[str, Any]) -> None:
    """The breakpoint's breach and the one JSON summary line in the log; the verdict tables for later."""
    if run.verdict is not None:
        run.verdict_tables.append(run.verdict.table(decision.exit_code))
    if run.generator is not None:
        run.verdict_tables.append(run.generator.table())
    if summary.get("populations"):
        run.verdict_tables.append(population_table(summary["populations"]))
    if summary.get("custom_metrics"):
        run.verdict_tables.append(metrics_table(summary["custom_metrics"]))
    for reason in summary["inconclusive"]:
        logger.warning("inconclusive (%s): %s", reason["reason"], reason["detail"])
    breach = summary.get("breach")
    if breach:
        logger.info(
            "breakpoint reached: %s (%s users, %.4g requests/s)",
            breach["description"],
            breach.get("users"),
            breach.get("rps") or 0.0,
        )
    line = json.dumps({"event": SUMMARY_EVENT, **summary}, default=str)
    logging.getLogger("locust.stats_logger").info(line)


def _write_summary_file(run: Run, summary: Mapping[str, Any]) -> None:
    path = run.settings.summary
    if not path:
        return
    try:
        write_text(Path(path), json.dumps(summary, indent=2, default=str) + "\n")  # whole or not at all
    except OSError as error:
        logger.error("could not write the summary to %s (--scenario-summary): %s", path, error)


def _push(run: Run) -> None:
    url = run.exporter.pushgateway if run.exporter is not None else None
    if not url or run.collector is None:
        return
    try:
        push(run.collector, url)
        logger.info("pushed the final metrics to %s (run_id %s)", url, run.collector.run_id)
    except Exception as error:  # a push failure must not change the verdict
        logger.error("could not push the metrics to %s: %s", url, error)


def _linger(run: Run, summary: Mapping[str, Any]) -> None:
    """Keep serving the final state for ``--prometheus-linger`` so that Prometheus scrapes it.

    Only after a run that produced requests (there is nothing else to scrape). The first signal lets
    the linger run its capped course; a second one ends it at once. Locust's own SIGTERM handler
    shuts down a second time meanwhile and raises ``SystemExit`` here: that ends the linger only
    once two signals have arrived, and the first shutdown then ends the process as usual.
    """
    server = run.server
    assert server is not None
    assert run.exporter is not None
    seconds = run.exporter.linger
    requests = (summary.get("totals") or {}).get("requests") or 0
    if seconds > 0 and requests > 0 and run.signals < 2:
        logger.info("serving the final metrics for %s more (--prometheus-linger)", format_duration(seconds))
        deadline = time.monotonic() + seconds
        while not run.linger_cut.is_set() and run.signals < 2:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                run.linger_cut.wait(remaining)
            except (SystemExit, KeyboardInterrupt):
                continue  # a second shutdown or Ctrl-C: the signal count decides
        if run.linger_cut.is_set() or run.signals >= 2:
            logger.info("linger cut short")
    server.stop()
