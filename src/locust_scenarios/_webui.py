"""The web UI as a way to run a scenario: the form, its check before a run starts, and the status.

- **The form**: the profile is a choice list (the ``scenario`` option's ``choices``); the scenario's
  fields come first and in groups (profile, load, users, verdict), each label says its group;
  the exporter's start-up options are not offered. Locust's own user count, spawn rate and run time
  fields are switched off for our profiles: their ``Scenario users``, ``Scenario spawn rate`` and
  ``Scenario duration`` fields say the same without changing the meaning of a profile's defaults.
- **The check**: a ``/swarm`` request is validated before Locust sees it (a Flask ``before_request``
  hook), exactly as a headless run validates its options at start, bounds included. The form is a
  control surface, not a way to reconfigure the process: a field the form does not offer (a secret,
  the token's origins, a path the run reads or writes, one of Locust's own start-up options, or any
  unknown name) is refused, and so is a host the auth token may not go to (its origins are fixed at
  start-up: the start-up host, the user classes' hosts and ``LOCUST_SCENARIO_AUTH_ORIGINS``). A
  refusal answers ``{"success": false, "message": ...}``, is logged, and nothing starts. Once Locust
  has written the form into its options and started the profile, the run's settings (thresholds,
  stop criteria) are read again from them, so the verdict judges what the form asked for.
- **The status**: ``/scenario`` answers the running profile, its current stage and planned level as
  JSON, and a *Scenario* tab shows the same next to Locust's statistics.

This module knows Locust's web UI only; the plugin hands it the two functions that check and apply
a run's settings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, jsonify, request
from locust import argument_parser
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from ._settings.errors import SettingsError
from ._settings.options import FORM_FIELDS, OPTIONS, SCENARIO, format_duration, option_dest, setting, shown
from ._shapes.profile import ScenarioProfile
from ._shapes.selecting import ScenarioShape
from ._users.url import Origin, origin_of

__all__ = [
    "FORM_GROUPS",
    "LOCUST_FORM_FIELDS",
    "TokenScope",
    "attach",
    "form_values",
    "refused_fields",
    "scenario_status",
]

logger = logging.getLogger("locust_scenarios")

FORM_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("profile", ("scenario", "users", "duration", "rate", "stages")),
    ("load shape", ("ramp_up", "ramp_down", "hold", "spawn_rate", "steps", "baseline")),
    ("traffic", ("trough", "period", "phase", "harmonics", "replay_query", "replay_range")),
    (
        "users",
        (
            "think_time",
            "pacing",
            "arrivals",
            "seed",
            "max_users",
            "request_timeout",
            "auth_header",
            "auth_scheme",
            "trace",
        ),
    ),
    ("verdict", ("thresholds", "stop_on", "abort_on_fail", "abort_grace")),
    (
        "trust",
        ("trust", "trust_cpu", "trust_lag", "trust_cpu_share", "trust_tracking", "trust_late", "trust_worker_grace"),
    ),
)
"""The order and grouping of our fields in the web UI's form (field names of ``ScenarioSettings``): every
field the form offers (``FORM_FIELDS``), each once."""

LOCUST_FORM_FIELDS = frozenset(
    {"user_count", "spawn_rate", "host", "run_time", "profile", "user_classes", "shape_class"}
)
"""The fields of Locust's own start form (its page posts them in snake case)."""

_TAB = "scenario"

Check = Callable[[Mapping[str, Any]], None]
"""Validates the options a run would start with; raises ``SettingsError``."""
Apply = Callable[[], None]
"""Reads the run's settings again from the environment's parsed options."""


def form_values(form: Mapping[str, str]) -> dict[str, Any]:
    """Our settings among a ``/swarm`` form's fields, keyed by option destination."""
    ours = {option_dest(SCENARIO, field) for field in FORM_FIELDS}
    return {key: value for key, value in form.items() if key in ours}


def _start_up_only() -> dict[str, str]:
    """Option destinations of our settings that only the start-up sets, with the variable that sets them."""
    return {
        option_dest(option.group, option.field): setting(option.field, option.group).name
        for option in OPTIONS
        if option.field not in FORM_FIELDS or option.group is not SCENARIO
    }


def refused_fields(names: Iterable[str], offered: Iterable[str]) -> str | None:
    """Why a form with the fields ``names`` is refused, or ``None``: each field must be ``offered``.

    ``offered`` are the extra fields of the page (ours and other plugins'); Locust's own are added.
    Our start-up settings are named with the variable that sets them; other names are quoted, cut short.
    """
    allowed = LOCUST_FORM_FIELDS | set(offered) | {option_dest(SCENARIO, field) for field in FORM_FIELDS}
    start_up = _start_up_only()
    refused = []
    for name in dict.fromkeys(names):
        if name in allowed:
            continue
        if name in start_up:
            refused.append(f"{name} ({start_up[name]} is set where Locust starts, not in the form)")
        else:
            refused.append(f"{shown(name, 40)} (not a field of the form)")
    if not refused:
        return None
    return "the web UI refuses the form's fields " + ", ".join(refused[:5]) + (", …" if len(refused) > 5 else "")


@dataclass(frozen=True)
class TokenScope:
    """The origins the auth token may go to, fixed when the process starts.

    The start-up host, the user classes' own hosts and ``LOCUST_SCENARIO_AUTH_ORIGINS``: a host typed
    into the form cannot take the token elsewhere. ``token`` says whether this process was given one
    (on a master, the token its workers are given too, as the chart gives both).
    """

    token: bool
    origins: frozenset[Origin]
    named: tuple[str, ...]

    @classmethod
    def at_start(cls, token: bool, hosts: Iterable[str | None], auth_origins: str | None) -> TokenScope:
        """The scope of a process started with ``hosts`` (``-H`` and class attributes) and ``auth_origins``."""
        named = [host for host in hosts if host] + [item.strip() for item in (auth_origins or "").split(",")]
        named = [item for item in dict.fromkeys(named) if item]
        found = {origin_of(item) for item in named}
        return cls(token, frozenset(item for item in found if item is not None), tuple(named))

    def refusal(self, host: str) -> str | None:
        """Why a run against ``host`` is refused (the token would follow it there), or ``None``."""
        if not self.token or not host or ("*", "", None) in self.origins or origin_of(host) in self.origins:
            return None
        allowed = ", ".join(self.named) if self.named else "none"
        return (
            f"the form's host {shown(host)} is not an origin the auth token may go to (fixed at start-up: "
            f"{allowed}), so this run is refused: start Locust with -H for that host, or add its origin to "
            f"{setting('auth_origins').name} at start-up"
        )


def scenario_status(environment: Environment) -> dict[str, Any]:
    """The running profile, its stage and planned level now (``profile`` is None without a profile)."""
    shape = environment.shape_class
    if not isinstance(shape, ScenarioProfile) or shape.settings is None:
        return {"profile": None, "stage": None}
    runner = environment.runner
    running = runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING)
    elapsed = shape.elapsed() if running and shape.started else 0.0
    plan = shape.plan
    name = shape.selected_name if isinstance(shape, ScenarioShape) else shape.settings.scenario
    return {
        "profile": name,
        "state": runner.state if runner is not None else None,
        "stage": plan.stage_name(elapsed) if running else "not running",
        "elapsed_seconds": round(elapsed, 1),
        "planned": round(plan.level(elapsed), 2),
        "unit": plan.unit,
        "duration_seconds": plan.duration,
        "peak": plan.peak,
    }


def _status_rows(status: Mapping[str, Any]) -> list[dict[str, str]]:
    if status.get("profile") is None:
        return [{"field": "profile", "value": "none (the locustfile has no scenario profile)"}]
    return [
        {"field": "profile", "value": str(status["profile"])},
        {"field": "stage", "value": str(status["stage"])},
        {"field": "planned", "value": f"{status['planned']:g} {status['unit']} (peak {status['peak']:g})"},
        {
            "field": "time",
            "value": f"{format_duration(status['elapsed_seconds'])} of {format_duration(status['duration_seconds'])}",
        },
    ]


def _ordered_options(options: Mapping[str, Any], profile: str | None) -> dict[str, Any]:
    """Locust's extra options for the form: ours grouped and in order, the profile preselected, each help
    text ending with the default (a field left empty keeps the profile's own value, which the form does
    not fill in: a filled-in value would stay when another profile is chosen)."""
    defaults = _defaults()
    ordered: dict[str, Any] = {}
    for group, fields in FORM_GROUPS:
        for field in fields:
            key = option_dest(SCENARIO, field)
            if key not in options:
                continue
            entry = dict(options[key])
            help_text = str(entry.get("help_text") or "").replace("%%", "%")  # argparse's escape, undone
            entry["help_text"] = f"{group}: {help_text} (default: {defaults.get(field, 'the profile decides')})"
            if field == "scenario" and profile and not entry.get("default_value"):
                entry["default_value"] = profile
            ordered[key] = entry
    ordered.update({key: value for key, value in options.items() if key not in ordered})
    return ordered


def _defaults() -> dict[str, str]:
    """The settings' own defaults as the form shows them (a field without one: the profile decides)."""
    from ._settings.models import ScenarioSettings  # noqa: PLC0415  (pydantic: loaded by then, at init)

    shown_defaults = {}
    for field, info in ScenarioSettings.model_fields.items():
        value = info.default
        if value is None:
            continue
        if isinstance(value, bool):
            shown_defaults[field] = "true" if value else "false"
        elif (
            isinstance(value, float) and field.startswith("trust_") and field not in ("trust_lag", "trust_worker_grace")
        ):
            shown_defaults[field] = f"{value:.0%}"
        elif isinstance(value, float):
            shown_defaults[field] = format_duration(value)
        else:
            shown_defaults[field] = str(value)
    return shown_defaults


def _offered_fields() -> frozenset[str]:
    """The extra fields Locust's page offers (ours and other plugins'), as Locust lists them."""
    try:
        return frozenset(argument_parser.ui_extra_args_dict())
    except SystemExit:  # a parser that cannot read this process's arguments: only ours are offered
        return frozenset()


def _refuse(environment: Environment, message: str) -> Response:
    """The answer to a refused ``/swarm``: success false, the reason on one line (also logged)."""
    message = " ".join(message.splitlines())
    logger.error("the web UI's run was refused: %s", message)
    return jsonify({"success": False, "message": f"locust-scenarios: {message}", "host": environment.host})


def _swarm_check(
    environment: Environment, check: Check, token_scope: TokenScope | None
) -> Callable[[], Response | None]:
    """The check of a ``/swarm`` request before Locust sees it: fields, host, then the settings."""
    offered: list[frozenset[str]] = []

    def check_swarm() -> Response | None:
        if request.path != "/swarm" or request.method != "POST":
            return None
        if not offered:
            offered.append(_offered_fields())
        fields = refused_fields(request.form.keys(), offered[0])
        if fields:
            return _refuse(environment, fields)
        host = request.form.get("host", "").replace("<", "").replace(">", "")  # as Locust stores it
        outside = token_scope.refusal(host) if token_scope is not None else None
        if outside:
            return _refuse(environment, outside)
        current = vars(environment.parsed_options) if environment.parsed_options is not None else {}
        candidate = {**current, **form_values(request.form)}
        if host:
            candidate["host"] = host
        try:
            check(candidate)
        except SettingsError as error:
            return _refuse(environment, str(error))
        return None

    return check_swarm


def attach(
    web_ui: Any,
    environment: Environment,
    *,
    interactive: bool,
    check: Check,
    apply: Apply,
    token_scope: TokenScope | None = None,
) -> None:
    """Add the form's check, the run's settings, the status route and tab to Locust's web UI.

    ``interactive``: someone starts runs from the form (not headless, no ``--autostart``).
    ``token_scope``: where the auth token may go (``None``: no token, any host).
    """
    app = web_ui.app
    # The form lists the fields in the order of the page's JSON: keep the order given here.
    app.json.sort_keys = False
    app.jinja_env.policies["json.dumps_kwargs"] = {"sort_keys": False}
    shape = environment.shape_class
    if shape is not None and interactive:
        # Our profiles read -u/-r/-t from the command line; in the form their own fields say it.
        setattr(shape, "use_common_options", False)  # noqa: B010  (a ClassVar, changed for this instance)
    original_update = web_ui.update_template_args

    def update_template_args() -> None:
        original_update()
        status = scenario_status(environment)
        args = web_ui.template_args
        args["extra_options"] = _ordered_options(args.get("extra_options") or {}, status.get("profile"))
        args["extended_tabs"] = [{"title": "Scenario", "key": _TAB}]
        args["extended_tables"] = [
            {"key": _TAB, "structure": [{"key": "field", "title": "Scenario"}, {"key": "value", "title": "Now"}]}
        ]

    web_ui.update_template_args = update_template_args

    def settle_swarm(response: Response) -> Response:
        if request.path == "/swarm" and request.method == "POST" and response.is_json:
            answer = response.get_json(silent=True) or {}
            if answer.get("success"):
                apply()
        elif request.path == "/stats/requests" and response.is_json:
            report = response.get_json(silent=True)
            if isinstance(report, dict):
                rows = _status_rows(scenario_status(environment))
                report["extended_stats"] = [{"key": _TAB, "data": rows}]
                response.set_data(json.dumps(report))
        return response

    def scenario() -> Response:
        return jsonify(scenario_status(environment))

    app.before_request(_swarm_check(environment, check, token_scope))
    app.after_request(settle_swarm)
    app.add_url_rule("/scenario", "locust_scenarios_status", web_ui.auth_required_if_enabled(scenario))
