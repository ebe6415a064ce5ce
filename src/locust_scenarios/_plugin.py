"""The one place that touches Locust's events.

- ``init_command_line_parser``: registers every ``--scenario-*`` and ``--prometheus-*`` option.
- ``init``: warns about unknown ``LOCUST_SCENARIO_*`` variables, then validates everything a run will
  read (settings, thresholds, the breakpoint's stop criteria, histogram buckets, the user templates'
  endpoints) and configures the running profile. Invalid configuration exits with code 2 and one
  line, before any user spawns. On the master or local runner (never a worker) it also serves the
  exporter on ``--prometheus-port`` and at ``/metrics`` on the web UI, and handles SIGTERM and SIGINT
  in every state: Locust installs its own SIGTERM handler only after a headless shape has finished,
  and its wait for workers never checks ``runner.quit()``, so without ours a ``kubectl delete`` or a
  CI timeout would leave the process waiting, or kill it with no summary and no exit code.
- ``test_start``: a worker rebuilds the profile from the options the master sent (so open-model
  pacing follows the same plan from the same clock origin); the master starts the abort watcher.
- ``quitting``: the verdict table, one JSON summary line, ``--scenario-summary``, the exit code (3 for
  a failed threshold, 4 for a run interrupted before it completed, 5 for an inconclusive run such as
  one in which no request completed), the Pushgateway push and the linger that lets Prometheus scrape
  the final state. Done once, however often Locust fires the event.

Importing this module registers the listeners; they do nothing until Locust fires its events.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import gevent
import gevent.event
import psutil  # type: ignore[import-untyped]
from locust import events, runners
from locust.env import Environment
from locust.runners import (
    STATE_CLEANUP,
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
    MasterRunner,
    WorkerRunner,
)

from . import _webui as webui
from ._exitcodes import ExitCode, most_severe
from ._exporter.buckets import parse_buckets
from ._exporter.collector import LocustCollector, new_run_id
from ._exporter.serving import MetricsServer, mount, push
from ._records.record import Recording
from ._settings.errors import SettingsError
from ._settings.options import (
    EXPORTER,
    MAX_LOCAL_USERS,
    SCENARIO,
    SECRET_FIELDS,
    Setting,
    add_options,
    format_duration,
    option_dest,
    parse_duration,
    unknown_variable_warnings,
)
from ._settings.redaction import install_redaction
from ._shapes.profile import ScenarioProfile, profile_names
from ._thresholds.grammar import Threshold, check_stages
from ._thresholds.grammar import parse as parse_thresholds
from ._thresholds.judging import Result, StopCondition, Verdict, abort_reason, evaluate, stop_condition
from ._thresholds.measure import run_totals, with_baseline
from ._thresholds.timeline import Timeline
from ._trust import Monitor, Observation, ProcessObservation, judge
from ._trust import Verdict as GeneratorVerdict
from ._users.pacing import PacingStats, pacing_stats
from ._users.validation import check_host, check_user_classes, validate_user_settings

if TYPE_CHECKING:
    from ._settings.models import ExporterSettings, ScenarioSettings

__all__ = ["running_profile"]

logger = logging.getLogger("locust_scenarios")
_T = TypeVar("_T")


def running_profile(environment: Environment) -> ScenarioProfile | None:
    """The environment's shape when it is one of our profiles."""
    shape = environment.shape_class
    return shape if isinstance(shape, ScenarioProfile) else None


_MESSAGE_LIMIT = 600
"""The longest error line: a pasted 100 KB value is named, not echoed."""


def _fail(message: str, environment: Environment | None = None) -> None:
    """Report invalid configuration on one line and exit 2 (nothing has spawned yet).

    The runner is told to quit first, so that connected workers (or the master a worker reports to)
    hear of it instead of waiting for a heartbeat that never comes.
    """
    message = " ".join(message.splitlines())
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1] + "…"
    sys.stderr.write(f"locust-scenarios: {message}\n")
    sys.stderr.flush()
    if environment is not None and environment.runner is not None:
        environment.runner.quit()
    raise SystemExit(ExitCode.INVALID_CONFIG)


MASTER_WAIT_VARIABLE = "LOCUST_SCENARIO_MASTER_WAIT"
MASTER_RETRY_VARIABLE = "LOCUST_SCENARIO_MASTER_RETRY_INTERVAL"
_LOCUST_CONNECT_TIMEOUT = runners.CONNECT_TIMEOUT


class _MasterPatience(argparse.Action):
    """``--scenario-master-wait`` / ``--scenario-master-retry-interval``, applied while parsing.

    A worker connects to its master, and gives up after Locust's ``CONNECT_RETRY_COUNT`` attempts
    ``CONNECT_TIMEOUT`` seconds apart (about 305 s), while its runner is created: before ``init``
    fires. So the value is applied to those two module constants as soon as it is parsed (from the
    command line, the environment or a config file). Only a worker ever reads them.
    """

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        try:
            seconds = parse_duration(values)
            if self.dest.endswith("interval") and seconds <= 0:
                raise ValueError("must be above zero")
        except ValueError as error:
            named = Setting(getattr(self, "env_var", None) or str(option_string), "/".join(self.option_strings))
            sys.stderr.write(f"locust-scenarios: {SettingsError.invalid(named, values, str(error))}\n")
            raise SystemExit(ExitCode.INVALID_CONFIG) from None
        setattr(namespace, self.dest, seconds)
        interval = getattr(namespace, "scenario_master_retry_interval", None) or _LOCUST_CONNECT_TIMEOUT
        runners.CONNECT_TIMEOUT = interval
        wait = getattr(namespace, "scenario_master_wait", None)
        if wait is not None:
            # Locust gives up once the attempt number exceeds the count: count + 1 attempts in all.
            runners.CONNECT_RETRY_COUNT = max(0, math.ceil(wait / interval) - 1)


def _check_process_limits(
    environment: Environment, scenario: ScenarioSettings, exporter: ExporterSettings, profile: ScenarioProfile | None
) -> None:
    """What only this process can judge: its user count, its ports, the summary path (``SettingsError``)."""
    distributed = isinstance(environment.runner, MasterRunner | WorkerRunner)
    options = environment.parsed_options
    if not distributed and not getattr(options, "processes", None):
        peak = scenario.users
        if profile is not None and profile.settings is not None and not profile.open_model:
            peak = max(peak or 0, math.ceil(profile.plan.peak))
        if peak is not None and peak > MAX_LOCAL_USERS:
            given = peak == scenario.users and "users" in scenario.model_fields_set
            raise SettingsError.invalid(
                "users",
                peak,
                f"one Locust process runs at most {MAX_LOCAL_USERS} users; "
                "run workers (--master/--worker or --processes) for more",
                source=None if given else "not set; the profile's peak",
            )
    web_port = getattr(options, "web_port", None)
    headless = getattr(options, "headless", False) or isinstance(environment.runner, WorkerRunner)
    if exporter.port is not None and exporter.port != 0 and not headless and exporter.port == web_port:
        raise SettingsError.invalid(
            "port",
            exporter.port,
            "it is also the web UI's port (--web-port); the web UI serves /metrics itself, "
            "so leave the setting out or pick another port",
            group=EXPORTER,
        )
    if scenario.summary and not isinstance(environment.runner, WorkerRunner):
        problem = _unwritable(Path(scenario.summary))
        if problem:
            raise SettingsError.invalid("summary", scenario.summary, problem)


def _unwritable(path: Path) -> str | None:
    """Why the summary could not be written to ``path`` at the end of the run (``None``: it can).

    Tried for real: the folder is created (the end of the run would create it too) and a scratch
    file written and removed in it.
    """
    if path.is_dir():
        return "is a directory; give a file path"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".locust-scenarios-", delete=True):
            pass
        if path.exists() and not os.access(path, os.W_OK):
            return "cannot be written: the file is read-only"
    except OSError as error:
        return f"cannot be written: {error.strerror or error}"
    return None


def _keep_secrets_home(environment: Environment) -> None:
    """A master sends all its options to every worker: drop the secret ones from them.

    Workers read the token from their own environment (the chart gives them the same Secret); the
    master itself sends no requests.
    """
    if not isinstance(environment.runner, MasterRunner) or environment.parsed_options is None:
        return
    for secret in SECRET_FIELDS:
        dest = option_dest(SCENARIO, secret)
        if hasattr(environment.parsed_options, dest):
            delattr(environment.parsed_options, dest)


def _register_options(parser: Any) -> None:
    add_options(parser, scenario_choices=profile_names())
    parser.add_argument(
        "--scenario-master-wait",
        env_var=MASTER_WAIT_VARIABLE,
        action=_MasterPatience,
        default=None,
        include_in_web_ui=False,
        help="worker: how long to wait for the master before giving up (Locust's own limit is about 305 s)",
    )
    parser.add_argument(
        "--scenario-master-retry-interval",
        env_var=MASTER_RETRY_VARIABLE,
        action=_MasterPatience,
        default=None,
        include_in_web_ui=False,
        help="worker: time between attempts to reach the master (Locust's default 5 s)",
    )


def _run_settings(
    environment: Environment, options: Any, profile: ScenarioProfile | None
) -> tuple[ScenarioSettings, tuple[Threshold, ...], tuple[Threshold, ...]]:
    """The settings a run with ``options`` reads, with its thresholds and stop criteria, all checked.

    ``profile`` (when given) is configured with them. Raises ``SettingsError``.
    """
    from ._settings.models import ScenarioSettings, load_settings  # noqa: PLC0415  (pydantic loads at init)

    scenario = load_settings(ScenarioSettings, options)
    if profile is not None:
        profile.configure(options=options)  # the profile's class attributes join the settings
        scenario = profile.settings or scenario
    judged = parse_thresholds(scenario.thresholds)
    stage_names = [row["name"] for row in profile.plan.table()] if profile is not None else None
    check_stages(judged, stage_names, scenario.thresholds)
    stop_criteria = parse_thresholds(scenario.stop_on, setting="stop_on")
    check_user_classes(environment.user_classes, scenario)
    return scenario, judged, stop_criteria


def _check_form(environment: Environment, options: Mapping[str, Any]) -> None:
    """What the web UI's form asks for, checked as a run would check it, on copies (nothing changes)."""
    profile = running_profile(environment)
    copy = type(profile)() if profile is not None else None
    common = profile.common_options() if profile is not None else {}
    scenario, _, _ = _run_settings(environment, {**options, **common}, copy)
    validate_user_settings(environment, scenario)
    check_host(environment, options.get("host") or environment.host)


def _apply_form(environment: Environment) -> None:
    """After Locust wrote the form into its options and started the profile: judge what it asked for."""
    from ._settings.models import ScenarioSettings, load_settings  # noqa: PLC0415  (pydantic loads at init)

    observed = _observability(environment)
    profile = running_profile(environment)
    try:
        scenario = profile.settings if profile is not None and profile.settings else None
        scenario = scenario or load_settings(ScenarioSettings, environment.parsed_options)
        judged = parse_thresholds(scenario.thresholds)
        criteria = parse_thresholds(scenario.stop_on, setting="stop_on")
    except SettingsError as error:  # checked before the run started; kept as it was otherwise
        logger.error("keeping the previous settings: %s", error)
        return
    environment.scenario_settings = scenario  # type: ignore[attr-defined]
    if observed is None:
        return
    # A baseline is read once at start (its record file does not change with the form).
    judged = with_baseline(judged, observed.recording.baseline_lookup(), scenario.baseline_record)
    observed.scenario = scenario
    observed.thresholds = judged
    observed.stop = stop_condition(criteria, environment) if criteria else None
    observed.collector.thresholds = observed.current_results if judged else None
    if profile is not None:
        profile.inject_stop_condition(observed.stop)


def _collect(problems: list[str], check: Callable[[], _T]) -> _T | None:
    """``check()``, or ``None`` with its ``SettingsError`` added to ``problems``."""
    try:
        return check()
    except SettingsError as error:
        problems.append(str(error))
        return None


def _start_settings(
    environment: Environment, profile: ScenarioProfile | None, on_worker: bool
) -> tuple[tuple[ScenarioSettings, tuple[Threshold, ...], tuple[Threshold, ...]], ExporterSettings, Any, Recording]:
    """Everything a run reads, checked; one ``SettingsError`` naming every refused setting at once."""
    from ._settings.models import ExporterSettings, load_settings  # noqa: PLC0415  (pydantic loads at init)

    options = environment.parsed_options
    problems: list[str] = []
    checked = _collect(problems, lambda: _run_settings(environment, options, profile))
    exporter = _collect(problems, lambda: load_settings(ExporterSettings, options))
    buckets = _collect(problems, lambda: parse_buckets(exporter.buckets)) if exporter is not None else None
    if checked is not None:
        environment.scenario_settings = checked[0]  # type: ignore[attr-defined]
        _collect(problems, lambda: validate_user_settings(environment))
    if checked is not None and exporter is not None:
        _collect(problems, lambda: _check_process_limits(environment, checked[0], exporter, profile))
    if not on_worker and _unattended(environment):
        _collect(problems, lambda: check_host(environment, environment.host))
    recording = (
        Recording() if on_worker or checked is None else _collect(problems, lambda: Recording.configure(checked[0]))
    )
    if problems or checked is None or exporter is None or buckets is None or recording is None:
        raise SettingsError.joined(problems)
    return checked, exporter, buckets, recording


def _on_init(environment: Environment, web_ui: Any = None, **_kwargs: Any) -> None:
    # pydantic loads here, once per process and before any user spawns, not at import: a run pays
    # for it where it validates, and a missing or broken install fails now, not mid-run.

    ours = {MASTER_WAIT_VARIABLE, MASTER_RETRY_VARIABLE}  # options of this module, not of the settings
    for warning in unknown_variable_warnings({k: v for k, v in os.environ.items() if k not in ours}):
        logger.warning(warning)
    on_worker = isinstance(environment.runner, WorkerRunner)
    profile = running_profile(environment)
    try:
        checked, exporter, buckets, recording = _start_settings(environment, profile, on_worker)
        scenario, judged, stop_criteria = checked
        if not on_worker:
            judged = with_baseline(judged, recording.baseline_lookup(), scenario.baseline_record)
    except SettingsError as error:
        _fail(str(error), environment)
        return
    install_redaction(scenario)
    stop = stop_condition(stop_criteria, environment) if stop_criteria and not on_worker else None
    if profile is not None and stop is not None:
        profile.inject_stop_condition(stop)
    if on_worker:
        _report_pacing(environment)
        return  # workers export nothing: their statistics reach the master in their reports
    _keep_secrets_home(environment)
    if exporter.pushgateway:
        import prometheus_client  # noqa: F401, PLC0415  (the push at the end needs it: fail now if missing)
    observed = _Observability(
        environment=environment,
        scenario=scenario,
        exporter=exporter,
        thresholds=judged,
        stop=stop,
        recording=recording,
        collector=LocustCollector(
            environment,
            buckets=buckets,
            max_names=exporter.max_names,
            run_id=exporter.run_id or new_run_id(),
        ),
    )
    if judged:
        observed.collector.thresholds = observed.current_results
    observed.collector.health = observed.current_generator
    if exporter.port is not None:
        observed.server = MetricsServer(observed.collector, exporter.host, exporter.port)
        try:
            observed.server.start()
        except OSError as error:
            # A port in use (or below 1024) is the port's fault; an address this host lacks is the host's.
            field, value = (
                ("port", exporter.port) if error.errno in (errno.EADDRINUSE, errno.EACCES) else ("host", exporter.host)
            )
            where = f"cannot serve metrics on {exporter.host}:{exporter.port} ({error})"
            _fail(str(SettingsError.invalid(field, value, where, group=EXPORTER)), environment)
    if web_ui is not None:
        mount(web_ui, observed.collector)
        webui.attach(
            web_ui,
            environment,
            interactive=not _unattended(environment),
            check=lambda form: _check_form(environment, form),
            apply=lambda: _apply_form(environment),
        )
    recording.serve(observed.server)
    environment.locust_scenarios_observability = observed  # type: ignore[attr-defined]
    # Locust fires ``quit`` after printing its final tables: the verdict comes last on the console.
    environment.events.quit.add_listener(lambda **_kwargs: _print_verdict_tables(observed))
    for signum in _SIGNALS:
        gevent.signal_handler(signum, _on_signal, environment, signal.Signals(signum).name)
    if isinstance(environment.runner, MasterRunner):
        _collect_worker_figures(environment, observed)


_PACING_KEY = "locust_scenarios_pacing"


def _report_pacing(environment: Environment) -> None:
    """A worker adds its open-model pacing counters to each report it sends the master."""

    def add(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
        paced = pacing_stats(environment)
        data[_PACING_KEY] = [paced.iterations, paced.late, paced.dropped]

    environment.events.report_to_master.add_listener(add)


def _collect_worker_figures(environment: Environment, observed: _Observability) -> None:
    """The master keeps each worker's latest pacing counters and the time of its last heartbeat."""

    def report(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
        reported = data.get(_PACING_KEY)
        if isinstance(reported, list | tuple) and len(reported) == 3:
            observed.pacing[client_id] = PacingStats(*(int(value) for value in reported))

    def heartbeat(client_id: str, **_kwargs: Any) -> None:
        observed.heartbeats[client_id] = time.monotonic()

    environment.events.worker_report.add_listener(report)
    environment.events.heartbeat_sent.add_listener(heartbeat)


# -- signals ----------------------------------------------------------------------------------------

_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_QUIT_GRACE = 4.0
"""Seconds Locust's own shutdown gets after a signal before the process quits by itself."""

_FORCED_EXIT_AFTER = 3.0
"""Seconds the work at quitting gets after a second signal before the process ends regardless."""


def _on_signal(environment: Environment, name: str) -> None:
    """SIGTERM or SIGINT, in any state: end the process, with one summary and the right exit code.

    Before any run (a master waiting for its workers) the process quits at once with code 4. During
    a run the users stop and Locust shuts down as usual (summary, code 4); after a run, the process
    quits with that run's verdict. Once quitting has begun, the first signal lets a linger run its
    capped course and the second ends it at once.
    """
    observed = _observability(environment)
    if observed is None:
        return
    observed.signals += 1
    if observed.quitting:
        if observed.signals >= 2:
            logger.warning("received %s again: ending now", name)
            observed.linger_cut.set()
            gevent.spawn_later(_FORCED_EXIT_AFTER, _exit_regardless, environment)
        else:
            logger.info("received %s while quitting: a second signal ends the linger", name)
        return
    runner = environment.runner
    if observed.started_at is None:
        logger.warning("received %s before any run: exit code %d", name, ExitCode.INTERRUPTED)
        observed.interrupted = True
        _quit_now(environment)
        return
    if _run_in_progress(environment):
        observed.interrupted = True
        logger.warning("received %s: stopping the run (exit code %d)", name, ExitCode.INTERRUPTED)
        environment.stop_timeout = min(environment.stop_timeout or 0.0, _QUIT_GRACE / 2)
    else:
        logger.info("received %s after the run: exiting with its verdict", name)
    if runner is not None:
        runner.quit()
    if environment.web_ui is not None:
        environment.web_ui.stop()
    gevent.spawn_later(_QUIT_GRACE, _quit_if_still_running, environment)


def _on_worker_quitting(environment: Environment, **_kwargs: Any) -> None:
    """A worker that quits before its run is over exits 4 instead of Locust's 0.

    That is SIGTERM from a node drain, a preemption or a spot reclaim (Locust's own handler shuts the
    worker down), Ctrl-C, or a master gone silent. With 0 a Job counts the pod as a completion and never
    replaces it, and the run goes on one worker short; with 4 the pod failed, and the worker Job
    replaces it (the replacement rejoins; the lost-worker rule decides the verdict). A worker its master
    stopped or told to quit (the run is over) keeps Locust's code.
    """
    runner = environment.runner
    if not isinstance(runner, WorkerRunner) or runner.state in (STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP):
        return
    logger.warning(
        "this worker quits before the run was over (%s): exit code %d, so that it is replaced",
        runner.state,
        ExitCode.INTERRUPTED,
    )
    environment.process_exit_code = most_severe(ExitCode.INTERRUPTED, environment.process_exit_code)


def _run_in_progress(environment: Environment) -> bool:
    runner = environment.runner
    return runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING)


def _print_verdict_tables(observed: _Observability) -> None:
    """Print the verdict tables once (at Locust's ``quit``, or when the process ends without it)."""
    stats_logger = logging.getLogger("locust.stats_logger")
    while observed.verdict_tables:
        stats_logger.info("\n%s\n", observed.verdict_tables.pop(0))


def _quit_now(environment: Environment) -> NoReturn:
    """Do the work of quitting here and end the process (Locust's own shutdown is not coming)."""
    environment.events.quitting.fire(environment=environment, reverse=True)
    observed = _observability(environment)
    if observed is not None:
        _print_verdict_tables(observed)
    code = environment.process_exit_code
    sys.stdout.flush()
    sys.stderr.flush()
    # Raised in a greenlet, SystemExit reaches the main greenlet through gevent's hub and ends Python.
    raise SystemExit(ExitCode.INTERRUPTED if code is None else code)


def _quit_if_still_running(environment: Environment) -> None:
    observed = _observability(environment)
    if observed is not None and not observed.quitting:
        logger.warning("Locust did not shut down within %gs of the signal: quitting now", _QUIT_GRACE)
        _quit_now(environment)


def _exit_regardless(environment: Environment) -> None:
    """The last resort after a second signal: the work of quitting is stuck, end the process."""
    code = environment.process_exit_code
    logger.error("still quitting %gs after a second signal: exiting", _FORCED_EXIT_AFTER)
    observed = _observability(environment)
    if observed is not None:
        _print_verdict_tables(observed)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(ExitCode.INTERRUPTED if code is None else code)


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        profile = running_profile(environment)
        _start_watching(environment)
        return
    # A worker: the master's options have replaced the worker's own in parsed_options.
    profile = running_profile(environment)
    if profile is not None:
        profile.reset_time()  # re-reads the options and starts the clock the open model paces by
        environment.scenario_settings = profile.settings  # type: ignore[attr-defined]
        return
    try:
        from ._settings.models import ScenarioSettings, load_settings  # noqa: PLC0415  (loaded at init)

        environment.scenario_settings = load_settings(  # type: ignore[attr-defined]
            ScenarioSettings, environment.parsed_options
        )
    except SettingsError as error:
        logger.error("ignoring the master's settings on this worker: %s", error)


@dataclass
class _Observability:
    """What one Locust process (master or local) observes and judges."""

    environment: Environment
    scenario: ScenarioSettings
    exporter: ExporterSettings
    thresholds: tuple[Threshold, ...]
    collector: LocustCollector
    recording: Recording
    stop: StopCondition | None = None
    server: MetricsServer | None = None
    started_at: float | None = None
    aborted: str | None = None
    verdict: Verdict | None = None
    watcher: gevent.Greenlet | None = field(default=None, repr=False)
    monitor: Monitor | None = None
    timeline: Timeline | None = None
    generator: GeneratorVerdict | None = None
    sampler: gevent.Greenlet | None = field(default=None, repr=False)
    pacing: dict[str, PacingStats] = field(default_factory=dict)
    """The latest open-model pacing counters each worker reported (kept after a worker is lost)."""
    heartbeats: dict[str, float] = field(default_factory=dict)
    """When the master last heard each worker's heartbeat (``time.monotonic()``)."""
    process: psutil.Process = field(default_factory=psutil.Process, repr=False)
    signals: int = 0
    """SIGTERM and SIGINT received so far."""
    interrupted: bool = False
    """A signal ended the process before the run completed (or before any run)."""
    quitting: bool = False
    """The work of quitting has begun; it is done once even when Locust fires ``quitting`` again."""
    linger_cut: gevent.event.Event = field(default_factory=gevent.event.Event, repr=False)
    verdict_tables: list[str] = field(default_factory=list, repr=False)
    """The verdict tables, printed after Locust's own final tables so that they do not scroll away."""
    workers_at_start: frozenset[str] = frozenset()
    workers_lost: tuple[str, ...] = ()
    """Workers present when the run started and gone (missing or removed) when it stopped."""

    def current_results(self) -> Sequence[Result]:
        """The final verdict's results once judged, else the run so far (read by the exporter)."""
        if self.verdict is not None:
            return self.verdict.results
        if self.timeline is not None:
            return self.timeline.results(self.environment.stats, _elapsed(self))
        return evaluate(self.thresholds, self.environment.stats)

    def current_generator(self) -> GeneratorVerdict | None:
        """The generator's verdict once judged, else its figures and reasons so far (for the exporter)."""
        if self.generator is not None:
            return self.generator
        if self.monitor is None:
            return None
        return GeneratorVerdict(self.monitor.health, judge(self.monitor.health, self.scenario))

    def pacing_totals(self) -> PacingStats:
        """Open-model pacing counters of the whole test: the workers' reports summed, or this process's."""
        if not isinstance(self.environment.runner, MasterRunner):
            return pacing_stats(self.environment)
        reports = list(self.pacing.values())
        return PacingStats(
            sum(r.iterations for r in reports), sum(r.late for r in reports), sum(r.dropped for r in reports)
        )


def _observability(environment: Environment) -> _Observability | None:
    found = getattr(environment, "locust_scenarios_observability", None)
    return found if isinstance(found, _Observability) else None


def _start_watching(environment: Environment) -> None:
    """Master or local runner, at test start: reset the run's judgement and start the abort watcher."""
    observed = _observability(environment)
    if observed is None:
        return
    observed.started_at = time.monotonic()
    observed.aborted = None
    observed.verdict = None
    observed.generator = None
    observed.pacing.clear()
    observed.monitor = Monitor(_settings(environment, observed))
    observed.timeline = Timeline(observed.thresholds) if observed.thresholds else None
    if observed.sampler is None:
        observed.sampler = gevent.spawn(_sample_each_second, observed)
    observed.workers_at_start = frozenset(_live_workers(environment))
    observed.workers_lost = ()
    observed.recording.start(environment)
    if observed.scenario.abort_on_fail and observed.thresholds and observed.watcher is None:
        observed.watcher = gevent.spawn(_watch_thresholds, observed)


def _settings(environment: Environment, observed: _Observability) -> ScenarioSettings:
    """The run's settings: the profile's (re-read at run start) or those validated at init."""
    profile = running_profile(environment)
    return profile.settings if profile is not None and profile.settings is not None else observed.scenario


def _elapsed(observed: _Observability) -> float:
    """Seconds since the run started, by the profile's clock when one runs."""
    profile = running_profile(observed.environment)
    return profile.elapsed() if profile is not None else time.monotonic() - (observed.started_at or 0.0)


def _stage(observed: _Observability, elapsed: float) -> str:
    profile = running_profile(observed.environment)
    return profile.stage_name(elapsed) if profile is not None else ""


def _sample_each_second(observed: _Observability) -> None:
    """Once a second while a run spawns or runs: observe the generator and record the thresholds' timeline."""
    observed.process.cpu_percent(None)  # the first call only starts psutil's measurement
    while True:
        asleep = time.monotonic()
        gevent.sleep(1.0)
        lag = max(time.monotonic() - asleep - 1.0, 0.0)
        runner = observed.environment.runner
        if runner is None or observed.monitor is None or runner.state not in (STATE_SPAWNING, STATE_RUNNING):
            continue
        try:
            observed.monitor.observe(_observe(observed, lag))
            if observed.timeline is not None:
                elapsed = _elapsed(observed)
                observed.timeline.tick(elapsed, _stage(observed, elapsed), observed.environment.stats)
        except Exception:  # observing must never break the run
            logger.debug("could not observe the generator", exc_info=True)


_TRACKING_ALLOWANCE = 2.0
"""Seconds a closed-model plan and the running users may be apart: Locust's one-second tick, spawning,
and the offset between the shape's clock and the observer's."""


def _steps(low: float, high: float, step: float) -> list[float]:
    """``low, low + step, ... high``."""
    return [low + i * step for i in range(round((high - low) / step) + 1)]


def _observe(observed: _Observability, lag: float) -> Observation:
    """The generator as the master (or the local runner) sees it now, as plain values."""
    environment = observed.environment
    runner = environment.runner
    assert runner is not None
    own_cpu = observed.process.cpu_percent(None) / 100
    profile = running_profile(environment)
    elapsed = _elapsed(observed)
    open_model = profile is not None and profile.open_model
    if profile is not None and not open_model:
        # What Locust can follow: a shape is asked once a second and users then spawn or stop, and
        # this clock and the shape's may differ by a tick, so the generator is judged against the
        # lowest planned level within the allowance either side, not a step it could not make yet.
        users_planned = min(
            profile.planned_level(max(0.0, elapsed + shift))
            for shift in _steps(-_TRACKING_ALLOWANCE, _TRACKING_ALLOWANCE, 0.25)
        )
    else:
        users_planned = float(runner.target_user_count or 0)
    now = time.monotonic()
    if isinstance(runner, MasterRunner):
        workers = list(runner.clients.values())
        processes = [ProcessObservation("master", own_cpu, 0, runner.state, lag=lag)]
        processes += [
            ProcessObservation(
                worker.id,
                worker.cpu_usage / 100,
                worker.user_count,
                worker.state,
                now - observed.heartbeats.get(worker.id, observed.started_at or now),
            )
            for worker in workers
        ]
        active = sum(1 for worker in workers if worker.state != STATE_MISSING)
    else:
        processes = [ProcessObservation("local", own_cpu, runner.user_count, runner.state, lag=lag)]
        active = 0
    paced = observed.pacing_totals()
    return Observation(
        elapsed=elapsed,
        processes=processes,
        users_planned=users_planned,
        users_actual=float(runner.user_count),
        iterations_rate_planned=profile.planned_level(elapsed) if profile is not None and open_model else None,
        iterations=paced.iterations,
        late=paced.late,
        dropped=paced.dropped,
        workers_active=active,
        requests=environment.stats.total.num_requests,
    )


def _live_workers(environment: Environment) -> set[str]:
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return set()
    return {worker.id for worker in runner.clients.all if worker.state != STATE_MISSING}


def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    """Master: note the workers the run lost (before quitting, when workers leave on purpose).
    A worker: log its own open-model pacing counters (the master sums them in its summary)."""
    if isinstance(environment.runner, WorkerRunner):
        paced = pacing_stats(environment)
        if paced.iterations or paced.dropped:
            logger.info(
                "open-model pacing on this worker: %d iterations started, %d late, %d dropped",
                paced.iterations,
                paced.late,
                paced.dropped,
            )
        return
    observed = _observability(environment)
    if observed is not None and observed.workers_at_start:
        observed.workers_lost = tuple(sorted(observed.workers_at_start - _live_workers(environment)))


def _watch_thresholds(observed: _Observability) -> None:
    """Once a second after the grace period: stop the run when a threshold fails for good."""
    environment = observed.environment
    grace = observed.scenario.abort_grace
    try:
        while True:
            gevent.sleep(1.0)
            runner = environment.runner
            if runner is None or observed.started_at is None or runner.state not in (STATE_SPAWNING, STATE_RUNNING):
                continue
            if time.monotonic() - observed.started_at < grace:
                continue
            results = observed.current_results()
            if observed.timeline is not None:
                results = [r for r in results if observed.timeline.settled(r.threshold)]
            reason = abort_reason(results)
            if reason is None:
                continue
            observed.aborted = reason
            logger.error("threshold failed, stopping the run (--scenario-abort-on-fail): %s", reason)
            profile = running_profile(environment)
            if profile is not None:
                profile.completed = True  # ended by the verdict, not interrupted
            _end_run(environment)
            return
    finally:
        observed.watcher = None


def _unattended(environment: Environment) -> bool:
    """No one at a web UI starts the run: headless, or ``--autostart``."""
    options = environment.parsed_options
    return bool(getattr(options, "headless", False) or getattr(options, "autostart", False))


def _end_run(environment: Environment) -> None:
    """Stop the run the way its mode ends one: quit when unattended, stop in an interactive web UI."""
    runner = environment.runner
    if runner is None:
        return
    options = environment.parsed_options
    web_ui = environment.web_ui
    unattended = web_ui is None or (getattr(options, "autostart", False) and getattr(options, "autoquit", -1) != -1)
    if not unattended:
        runner.stop()
        return
    runner.quit()
    if web_ui is not None:
        web_ui.stop()


def _interrupted(environment: Environment, observed: _Observability) -> bool:
    """Whether the run ended before its plan did: by a signal, or with the profile still going."""
    if observed.interrupted or observed.started_at is None or _run_in_progress(environment):
        return True
    profile = running_profile(environment)
    return profile is not None and profile.started and not profile.completed


@dataclass(frozen=True)
class _Outcome:
    """What quitting reports: the exit code (``None``: Locust's own rule) and the summary."""

    exit_code: int | None
    summary: dict[str, Any]


def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    """The verdict, its exit code, the summary, the push and the linger (master or local runner).

    Each step runs once per process, even when Locust fires ``quitting`` twice (its SIGTERM handler
    shuts down again while the first shutdown lingers); a failing step never stops the next.
    """
    observed = _observability(environment)
    if observed is None or observed.quitting:
        return
    observed.quitting = True
    if observed.watcher is not None:
        observed.watcher.kill(block=False)
    outcome = _judge(environment, observed)
    if outcome.exit_code is not None:
        environment.process_exit_code = outcome.exit_code
    for step in (_report, _write_summary_file, _write_record, _push):
        try:
            step(observed, outcome)
        except Exception:  # one failing step must not lose the others or the exit code
            logger.exception("quitting: %s failed", step.__name__.strip("_").replace("_", " "))
    if observed.server is not None:
        _linger(observed, outcome)


def _judge(environment: Environment, observed: _Observability) -> _Outcome:
    """The run's verdict and exit code, combined with any code another listener already set."""
    interrupted = _interrupted(environment, observed)
    if interrupted:
        profile = running_profile(environment)
        name = profile.settings.scenario if profile is not None and profile.settings else "?"
        what = f"the {name} profile" if profile is not None else "the run"
        if observed.started_at is None:
            logger.warning("interrupted before any run started: exit code %d", ExitCode.INTERRUPTED)
        else:
            logger.warning("%s was interrupted before it completed: exit code %d", what, ExitCode.INTERRUPTED)
    if observed.thresholds:
        _judge_thresholds(environment, observed)
    _judge_generator(environment, observed)
    inconclusive = _inconclusive(environment, observed)
    exit_code = _exit_code(observed, interrupted, inconclusive)
    if exit_code is not None:
        # Never mask a more severe code another listener set (locust-plugins' checks set 3 on failure).
        exit_code = most_severe(exit_code, environment.process_exit_code)
    summary = _summary(environment, observed, interrupted, exit_code, inconclusive)
    return _Outcome(exit_code, summary)


def _inconclusive(environment: Environment, observed: _Observability) -> list[dict[str, Any]]:
    """Why the run's measurements cannot be trusted, one entry per reason (empty: none, or no run).

    The generator's verdict (``trust.judge``: CPU, tracking, late iterations, workers not replaced in
    time, no request), then a worker lost without ``--enable-rebalancing``: its users are never
    started elsewhere, so the plan cannot be met.
    """
    reasons = [reason.to_dict() for reason in observed.generator.reasons] if observed.generator else []
    options = environment.parsed_options
    lost_named = any(reason["reason"] == "workers" for reason in reasons)
    if observed.workers_lost and not getattr(options, "enable_rebalancing", False) and not lost_named:
        reasons.append(
            {
                "reason": "workers_lost",
                "detail": f"{len(observed.workers_lost)} worker(s) lost during the run; without "
                "--enable-rebalancing their users were not started elsewhere",
                "workers": list(observed.workers_lost),
            }
        )
    return reasons


def _exit_code(observed: _Observability, interrupted: bool, inconclusive: Sequence[Mapping[str, Any]]) -> int | None:
    """The verdict's code, or ``None`` to leave Locust's own rule (no criteria, nothing to report)."""
    codes: list[int] = []
    if interrupted:
        codes.append(ExitCode.INTERRUPTED)
    if observed.verdict is not None:
        codes.append(observed.verdict.exit_code)
    elif observed.stop is not None:
        codes.append(ExitCode.PASSED)  # a breakpoint run is judged by where it broke, not by the failures
    if inconclusive:
        codes.append(ExitCode.INCONCLUSIVE)  # below a failed threshold (3), above Locust's own rule (1)
    return most_severe(*codes) if codes else None


def _report(observed: _Observability, outcome: _Outcome) -> None:
    """The breakpoint's breach and the one JSON summary line in the log; the verdict tables for later."""
    stats_logger = logging.getLogger("locust.stats_logger")
    if observed.verdict is not None:
        observed.verdict_tables.append(observed.verdict.table(outcome.exit_code))
    if observed.generator is not None:
        observed.verdict_tables.append(observed.generator.table())
    for reason in outcome.summary["inconclusive"]:
        logger.warning("inconclusive (%s): %s", reason["reason"], reason["detail"])
    breach = outcome.summary.get("breach")
    if breach:
        logger.info(
            "breakpoint reached: %s (%s users, %.4g requests/s)",
            breach["description"],
            breach.get("users"),
            breach.get("rps") or 0.0,
        )
    stats_logger.info(json.dumps({"event": "locust_scenarios.summary", **outcome.summary}, default=str))


def _judge_thresholds(environment: Environment, observed: _Observability) -> None:
    """The thresholds' verdict: by stage and window from the timeline, the rest on the whole run."""
    if observed.timeline is not None:
        observed.timeline.finish(_elapsed(observed), environment.stats)
        results = observed.timeline.results(environment.stats)
    else:
        results = evaluate(observed.thresholds, environment.stats)
    observed.verdict = Verdict(results, aborted=observed.aborted)


def _judge_generator(environment: Environment, observed: _Observability) -> None:
    """Stop observing the generator and judge whether the run's load can be trusted."""
    if observed.sampler is not None:
        observed.sampler.kill(block=False)
        observed.sampler = None
    if observed.monitor is not None:
        paced = observed.pacing_totals()
        observed.monitor.record_totals(
            environment.stats.total.num_requests, paced.iterations, paced.late, paced.dropped
        )
        health = observed.monitor.health
        observed.generator = GeneratorVerdict(health, judge(health, _settings(environment, observed)))


def _write_record(observed: _Observability, outcome: _Outcome) -> None:
    observed.recording.finish(observed.environment, outcome.summary)


def _push(observed: _Observability, _outcome: _Outcome) -> None:
    url = observed.exporter.pushgateway
    if not url:
        return
    try:
        push(observed.collector, url)
        logger.info("pushed the final metrics to %s (run_id %s)", url, observed.collector.run_id)
    except Exception as error:  # a push failure must not change the verdict
        logger.error("could not push the metrics to %s: %s", url, error)


def _summary(
    environment: Environment,
    observed: _Observability,
    interrupted: bool,
    exit_code: int | None,
    inconclusive: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    stats = environment.stats
    runner = environment.runner
    if exit_code is None:
        failed = bool(runner is not None and (runner.errors or runner.exceptions))
        options = environment.parsed_options
        exit_code = environment.process_exit_code
        if exit_code is None:
            exit_code = getattr(options, "exit_code_on_error", 1) if failed else 0
    profile = running_profile(environment)
    breach = observed.stop.breach if observed.stop is not None else None
    if breach is None and profile is not None and profile.breach:
        breach = {"description": profile.breach}
    elif breach is not None and profile is not None and profile.breach:
        breach = {**breach, "description": profile.breach}
    started = stats.start_time
    ended = stats.last_request_timestamp or time.time()
    return {
        "run_id": observed.collector.run_id,
        "scenario": observed.scenario.scenario if profile is not None else None,
        "exit_code": exit_code,
        "passed": exit_code == 0,
        "interrupted": interrupted,
        "aborted": observed.aborted,
        "inconclusive": list(inconclusive),
        "workers_lost": list(observed.workers_lost),
        "thresholds": [r.to_dict() for r in observed.verdict.results] if observed.verdict else [],
        "generator": observed.generator.health.to_dict() if observed.generator is not None else None,
        "breach": breach,
        "totals": run_totals(stats),
        "started": _iso(started),
        "ended": _iso(ended),
        "duration_seconds": max(0.0, ended - started) if started else None,
    }


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


def _write_summary_file(observed: _Observability, outcome: _Outcome) -> None:
    path = observed.scenario.summary
    if not path:
        return
    try:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(outcome.summary, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as error:
        logger.error("could not write the summary to %s (--scenario-summary): %s", path, error)


def _linger(observed: _Observability, outcome: _Outcome) -> None:
    """Keep serving the final state for ``--prometheus-linger`` so that Prometheus scrapes it.

    Only after a run that produced requests (there is nothing else to scrape). The first signal lets
    the linger run its capped course; a second one ends it at once. Locust's own SIGTERM handler
    shuts down a second time meanwhile and raises ``SystemExit`` here: that ends the linger only
    once two signals have arrived, and the first shutdown then ends the process as usual.
    """
    server = observed.server
    assert server is not None
    seconds = observed.exporter.linger
    if seconds > 0 and outcome.summary["totals"]["requests"] > 0 and observed.signals < 2:
        logger.info("serving the final metrics for %s more (--prometheus-linger)", format_duration(seconds))
        deadline = time.monotonic() + seconds
        while not observed.linger_cut.is_set() and observed.signals < 2:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                observed.linger_cut.wait(remaining)
            except (SystemExit, KeyboardInterrupt):
                continue  # a second shutdown or Ctrl-C: the signal count decides
        if observed.linger_cut.is_set() or observed.signals >= 2:
            logger.info("linger cut short")
    server.stop()


events.init_command_line_parser.add_listener(_register_options)
events.init.add_listener(_on_init)
events.test_start.add_listener(_on_test_start)
events.test_stop.add_listener(_on_test_stop)
events.quitting.add_listener(_on_quitting)
events.quitting.add_listener(_on_worker_quitting)
