"""The start of a run: everything it will read, checked before any user spawns, and its run object.

``begin`` (Locust's ``init``) warns about unknown ``LOCUST_SCENARIO_*`` variables, then validates
everything a run will read (settings, thresholds, the breakpoint's stop criteria, histogram buckets,
the user templates' endpoints, what only this process can judge) and names every refused setting at
once. Invalid configuration exits with code 2 and one line, before any user spawns (a run embedded
in a caller's process raises ``SettingsError`` instead). On the master or local runner (never a
worker) it also serves the exporter on ``--prometheus-port`` and at ``/metrics`` on the web UI, and
handles SIGTERM and SIGINT (``signals``).

The web UI's form is checked here as a run start would check it (``check_form``, on copies) and,
once Locust has started the run it asked for, applied to the run (``apply_form``).
"""

from __future__ import annotations

import errno
import functools
import logging
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from locust.env import Environment

from locust_scenarios import _webui as webui
from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._exporter.buckets import parse_buckets
from locust_scenarios._exporter.collector import LocustCollector, new_run_id
from locust_scenarios._exporter.serving import MetricsServer, mount
from locust_scenarios._files import unwritable
from locust_scenarios._metrics import REGISTRY
from locust_scenarios._population_stats import POPULATIONS
from locust_scenarios._records.record import Recording
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import (
    EXPORTER,
    MAX_LOCAL_USERS,
    SCENARIO,
    SECRET_FIELDS,
    option_dest,
    unknown_variable_warnings,
)
from locust_scenarios._settings.redaction import install_redaction
from locust_scenarios._shapes.populations import check_classes
from locust_scenarios._shapes.profile import ScenarioProfile
from locust_scenarios._thresholds.custom import MetricJudge, check_metrics, check_populations
from locust_scenarios._thresholds.grammar import Threshold, check_stages, expression_error
from locust_scenarios._thresholds.grammar import parse as parse_thresholds
from locust_scenarios._thresholds.judging import stop_condition
from locust_scenarios._thresholds.measure import with_baseline
from locust_scenarios._thresholds.promql import Prometheus, PrometheusError, SystemJudge, expand
from locust_scenarios._users.pacing import paces_open_model
from locust_scenarios._users.validation import check_host, check_user_classes, validate_user_settings

from . import signals
from .state import Run, own

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ExporterSettings, ScenarioSettings

__all__ = ["apply_form", "begin", "check_form"]

logger = logging.getLogger("locust_scenarios")
_T = TypeVar("_T")

_MESSAGE_LIMIT = 600
"""The longest error line: a pasted 100 KB value is named, not echoed."""


def _default_options_once() -> None:
    """On a worker: Locust's default options computed once, not once per option of every spawn message.

    Locust's worker (2.47) sorts the options the master sends by calling
    ``argument_parser.default_args_dict()`` for each of them, and each call builds and runs Locust's
    whole argument parser: measured here, 0.3 to 1.6 s with the event loop held on every change of
    the user count, which every response in flight then carries. The defaults cannot change within a
    process (config files are not read there), so the first result serves every later call.
    """
    from locust import argument_parser  # noqa: PLC0415  (a worker only)

    current = argument_parser.default_args_dict
    if not hasattr(current, "cache_info"):
        argument_parser.default_args_dict = functools.cache(current)


def begin(environment: Environment, web_ui: Any = None, *, embedded: bool = False) -> Run:
    """Check everything the run will read, then create and bind its run object (Locust's ``init``).

    pydantic loads here, once per process and before any user spawns, not at import: a run pays for
    it where it validates, and a missing or broken install fails now, not mid-run.
    """
    for warning in unknown_variable_warnings():
        logger.warning(warning)
    shape = environment.shape_class
    run = own(Run(environment, shape if isinstance(shape, ScenarioProfile) else None, embedded=embedded))
    try:
        checked = _checked(run)
    except SettingsError as error:
        if embedded:
            raise
        fail(str(error), environment)
    install_redaction(checked.settings)
    run.recording = checked.recording
    run.exporter = checked.exporter
    if run.on_worker:
        _default_options_once()
        return run  # workers export nothing: their statistics reach the master in their reports
    run.thresholds = checked.thresholds
    run.system = system_judge(checked.thresholds, checked.settings)
    run.metrics = metric_judge(checked.thresholds)
    if checked.stop_criteria:
        run.stop = stop_condition(checked.stop_criteria, environment)
        if run.profile is not None:
            run.profile.inject_stop_condition(run.stop)
    _keep_secrets_home(run)
    if checked.exporter.pushgateway:
        import prometheus_client  # noqa: F401, PLC0415  (the push at the end needs it: fail now if missing)
    _observe_with_exporter(run, checked, web_ui)
    if not embedded:
        signals.install(run)
    return run


@dataclass(frozen=True)
class _Checked:
    """What a run reads, each part checked."""

    settings: ScenarioSettings
    thresholds: tuple[Threshold, ...]
    stop_criteria: tuple[Threshold, ...]
    exporter: ExporterSettings
    buckets: Any
    recording: Recording


def _checked(run: Run) -> _Checked:
    """Everything a run reads, checked; one ``SettingsError`` naming every refused setting at once."""
    from locust_scenarios._settings.models import ExporterSettings, load_settings  # noqa: PLC0415  (at init)

    environment = run.environment
    options = environment.parsed_options
    problems: list[str] = []
    settings = _collect(problems, lambda: run.read_settings(options))
    if settings is not None:  # first: a journeys file declares its flows' duration metrics
        _collect(problems, lambda: validate_user_settings(environment))
    judged = _collect(problems, lambda: _criteria(environment, settings, run.profile)) if settings else None
    exporter = _collect(problems, lambda: load_settings(ExporterSettings, options))
    buckets = _collect(problems, lambda: parse_buckets(exporter.buckets)) if exporter is not None else None
    if settings is not None and exporter is not None:
        _collect(problems, lambda: _check_process_limits(run, settings, exporter))
    if not run.on_worker and run.unattended():
        _collect(problems, lambda: check_host(environment, environment.host))
    recording = (
        Recording() if run.on_worker or settings is None else _collect(problems, lambda: Recording.configure(settings))
    )
    if problems or settings is None or judged is None or exporter is None or buckets is None or recording is None:
        raise SettingsError.joined(problems)
    thresholds, stop_criteria = judged
    if not run.on_worker:  # relative limits (p95<baseline+10%) made absolute from the baseline record
        thresholds = with_baseline(thresholds, recording.baseline_lookup(), settings.baseline_record)
        check_promql(thresholds, settings, run.profile.plan.duration if run.profile is not None else None)
    return _Checked(settings, thresholds, stop_criteria, exporter, buckets, recording)


def _collect(problems: list[str], check: Callable[[], _T]) -> _T | None:
    """``check()``, or ``None`` with its ``SettingsError`` added to ``problems``."""
    try:
        return check()
    except SettingsError as error:
        problems.append(str(error))
        return None


def _criteria(
    environment: Environment, settings: ScenarioSettings, profile: ScenarioProfile | None
) -> tuple[tuple[Threshold, ...], tuple[Threshold, ...]]:
    """The thresholds and the stop criteria of ``settings``, checked against the profile's stages."""
    judged = parse_thresholds(settings.thresholds)
    stage_names = [row["name"] for row in profile.plan.table()] if profile is not None else None
    check_stages(judged, stage_names, settings.thresholds)
    check_metrics(judged, REGISTRY, settings.thresholds)
    check_populations(judged, [plan.name for plan in getattr(profile, "population_plans", ())], settings.thresholds)
    stop_criteria = parse_thresholds(settings.stop_on, setting="stop_on")
    check_user_classes(environment.user_classes, settings)
    return judged, stop_criteria


def metric_judge(thresholds: tuple[Threshold, ...]) -> MetricJudge | None:
    """The judge of the ``[metric=NAME]`` and ``[population=NAME]`` thresholds (``None``: there are none)."""
    custom = tuple(t for t in thresholds if t.metric is not None or t.population is not None)
    return MetricJudge(custom, REGISTRY, POPULATIONS) if custom else None


def system_judge(thresholds: tuple[Threshold, ...], settings: ScenarioSettings) -> SystemJudge | None:
    """The judge of the ``promql:`` thresholds (``None``: there are none)."""
    system = tuple(threshold for threshold in thresholds if threshold.promql is not None)
    if not system or settings.prometheus_url is None:
        return None
    token, password = settings.prometheus_token, settings.prometheus_password
    prometheus = Prometheus(
        settings.prometheus_url,
        token=token.get_secret_value() if token is not None else None,
        user=settings.prometheus_user,
        password=password.get_secret_value() if password is not None else None,
        ca_bundle=settings.prometheus_ca_bundle,
        timeout=settings.prometheus_timeout,
    )
    return SystemJudge(system, prometheus)


def check_promql(thresholds: tuple[Threshold, ...], settings: ScenarioSettings, planned: float | None) -> None:
    """Each ``promql:`` expression through Prometheus' own parser, before any load (``SettingsError``).

    Without a Prometheus URL they are refused; an unreachable Prometheus only warns here (the run is
    then inconclusive at the end, unless it answers by then).
    """
    judge = system_judge(thresholds, settings)
    if judge is None:
        first = next((t for t in thresholds if t.promql is not None), None)
        if first is not None:
            rule = f"{first.text!r} is judged by Prometheus: set LOCUST_SCENARIO_PROMETHEUS_URL"
            rule += " (--scenario-prometheus-url)"
            raise expression_error("thresholds", settings.thresholds, rule)
        return
    for threshold in judge.thresholds:
        assert threshold.promql is not None
        try:
            judge.prometheus.check(expand(threshold.promql, planned or 60.0))
        except PrometheusError as error:
            if not error.unavailable:
                raise expression_error("thresholds", settings.thresholds, f"{threshold.text!r}: {error}") from None
            logger.warning("could not check %r before the run: %s", threshold.text, error)


def fail(message: str, environment: Environment | None = None) -> NoReturn:
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


def _check_process_limits(run: Run, scenario: ScenarioSettings, exporter: ExporterSettings) -> None:
    """What only this process can judge: its user count, its ports, the summary path (``SettingsError``)."""
    options = run.environment.parsed_options
    profile = run.profile
    if not run.on_master and not run.on_worker and not getattr(options, "processes", None):
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
    _check_growing_pool(run, scenario)
    plans = getattr(profile, "population_plans", ())
    if plans:
        check_classes(plans, run.environment.user_classes)
        _check_paced_populations(plans, run.environment.user_classes)
    POPULATIONS.configure_from(profile)
    web_port = getattr(options, "web_port", None)
    headless = getattr(options, "headless", False) or run.on_worker
    if exporter.port is not None and exporter.port != 0 and not headless and exporter.port == web_port:
        raise SettingsError.invalid(
            "port",
            exporter.port,
            "it is also the web UI's port (--web-port); the web UI serves /metrics itself, "
            "so leave the setting out or pick another port",
            group=EXPORTER,
        )
    if scenario.summary and not run.on_worker:
        problem = unwritable(Path(scenario.summary))
        if problem:
            raise SettingsError.invalid("summary", scenario.summary, problem)


def _check_paced_populations(plans: Any, user_classes: Any) -> None:
    """An open-model population's classes must pace by its planned rate, as a run's with ``rate`` must."""
    for plan in plans:
        if not plan.open_model:
            continue
        names = plan.class_names()
        unpaced = sorted(cls.__name__ for cls in user_classes if cls.__name__ in names and not paces_open_model(cls))
        if unpaced:
            raise SettingsError(
                f"population {plan.name!r}: the open model paces iterations, and {', '.join(unpaced)} cannot "
                "(its wait_time does not follow the planned rate); subclass RestUser or EndpointsUser, "
                "or set wait_time = open_model_pacing()"
            )


def _check_growing_pool(run: Run, scenario: ScenarioSettings) -> None:
    """``max_users`` grows the open model's pool in one process: refused where it cannot apply."""
    cap = scenario.max_users
    if cap is None:
        return
    profile = run.profile
    if profile is not None and profile.settings is not None and not profile.open_model:
        raise SettingsError.invalid("max_users", cap, "applies to the open model only: set rate as well")
    if run.on_master or run.on_worker:
        raise SettingsError.invalid(
            "max_users", cap, "grows the pool of a run without workers; size a distributed run with users"
        )
    if scenario.users is not None and cap < scenario.users:
        raise SettingsError.invalid("max_users", cap, f"must be at least users ({scenario.users})")


def _keep_secrets_home(run: Run) -> None:
    """A master sends all its options to every worker: drop the secret ones from them.

    Workers read the token from their own environment (the chart gives them the same Secret); the
    master itself sends no requests.
    """
    options = run.environment.parsed_options
    if not run.on_master or options is None:
        return
    for secret in SECRET_FIELDS:
        dest = option_dest(SCENARIO, secret)
        if hasattr(options, dest):
            delattr(options, dest)


def _observe_with_exporter(run: Run, checked: _Checked, web_ui: Any) -> None:
    """The master's (or local runner's) collector, its metrics port, and the web UI's form and status."""
    environment, exporter = run.environment, checked.exporter
    run.collector = LocustCollector(
        environment, buckets=checked.buckets, max_names=exporter.max_names, run_id=exporter.run_id or new_run_id()
    )
    if run.thresholds:
        run.collector.thresholds = run.current_results
    run.collector.health = run.current_generator
    run.collector.exemplars = checked.settings.trace > 0
    if exporter.port is not None:
        run.server = MetricsServer(run.collector, exporter.host, exporter.port)
        try:
            run.server.start()
        except OSError as error:
            # A port in use (or below 1024) is the port's fault; an address this host lacks is the host's.
            in_use = error.errno in (errno.EADDRINUSE, errno.EACCES)
            field, value = ("port", exporter.port) if in_use else ("host", exporter.host)
            where = f"cannot serve metrics on {exporter.host}:{exporter.port} ({error})"
            refused = SettingsError.invalid(field, value, where, group=EXPORTER)
            if run.embedded:
                raise refused from None
            fail(str(refused), environment)
    if web_ui is not None:
        mount(web_ui, run.collector)
        scope = webui.TokenScope.at_start(
            checked.settings.auth_token is not None,
            [environment.host, *(getattr(user, "host", None) for user in environment.user_classes)],
            checked.settings.auth_origins,
        )
        webui.attach(
            web_ui,
            environment,
            interactive=not run.unattended(),
            check=lambda form: check_form(run, form),
            apply=lambda: apply_form(run),
            token_scope=scope,
        )
    run.recording.serve(run.server)


def check_form(run: Run, options: Mapping[str, Any]) -> None:
    """What the web UI's form asks for, checked as a run would check it at start, bounds included, on
    copies (nothing changes)."""
    environment = run.environment
    copy = type(run.profile)() if run.profile is not None else None
    trial = Run(environment, copy)
    scenario = trial.read_settings({**options, **_common_options(run.profile)})
    thresholds, _ = _criteria(environment, scenario, copy)
    with_baseline(thresholds, run.recording.baseline_lookup(), scenario.baseline_record)
    validate_user_settings(environment, scenario)
    if run.exporter is not None:
        _check_process_limits(trial, scenario, run.exporter)
    check_host(environment, options.get("host") or environment.host)


def _common_options(profile: ScenarioProfile | None) -> dict[str, Any]:
    """Locust's -u/-r/-t as the running profile first saw them (they stand in for unset settings)."""
    return profile.common_options() if profile is not None else {}


def apply_form(run: Run) -> None:
    """After Locust wrote the form into its options and started the run: judge what it asked for."""
    try:
        scenario = run.read_settings(run.environment.parsed_options)
        judged = parse_thresholds(scenario.thresholds)
        criteria = parse_thresholds(scenario.stop_on, setting="stop_on")
    except SettingsError as error:  # checked before the run started; kept as it was otherwise
        logger.error("keeping the previous settings: %s", error)
        return
    if run.collector is None:
        return
    # A baseline is read once at start (its record file does not change with the form).
    run.thresholds = with_baseline(judged, run.recording.baseline_lookup(), scenario.baseline_record)
    run.system = system_judge(run.thresholds, scenario)
    run.metrics = metric_judge(run.thresholds)
    run.stop = stop_condition(criteria, run.environment) if criteria else None
    run.collector.thresholds = run.current_results if run.thresholds else None
    if run.profile is not None:
        run.profile.inject_stop_condition(run.stop)
