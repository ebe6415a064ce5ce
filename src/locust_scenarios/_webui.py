"""The web UI as a way to run a scenario: the form, its check before a run starts, and the status.

- **The form**: the profile is a choice list (the ``scenario`` option's ``choices``); the scenario's
  fields come first and in groups (profile, load, users, verdict), each label says its group;
  the exporter's start-up options are not offered. Locust's own user count, spawn rate and run time
  fields are switched off for our profiles: their ``Scenario users``, ``Scenario spawn rate`` and
  ``Scenario duration`` fields say the same without changing the meaning of a profile's defaults.
- **The check**: a ``/swarm`` request is validated before Locust sees it (a Flask ``before_request``
  hook), exactly as a headless run validates its options at start. An invalid value answers
  ``{"success": false, "message": ...}``, is logged, and nothing starts. Once Locust has written the
  form into its options and started the profile, the run's settings (thresholds, stop criteria,
  summary) are read again from them, so the verdict judges what the form asked for.
- **The status**: ``/scenario`` answers the running profile, its current stage and planned level as
  JSON, and a *Scenario* tab shows the same next to Locust's statistics.

This module knows Locust's web UI only; the plugin hands it the two functions that check and apply
a run's settings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, jsonify, request
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from ._settings.errors import SettingsError
from ._settings.options import SCENARIO, field_names, format_duration, option_dest
from ._shapes.profile import ScenarioProfile
from ._shapes.selecting import ScenarioShape

__all__ = ["FORM_GROUPS", "attach", "form_values", "scenario_status"]

logger = logging.getLogger("locust_scenarios")

FORM_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("profile", ("scenario", "users", "duration", "rate", "stages")),
    (
        "load shape",
        ("ramp_up", "ramp_down", "hold", "spawn_rate", "steps", "baseline"),
    ),
    ("users", ("think_time", "pacing", "endpoints", "request_timeout", "auth_header", "auth_scheme", "auth_origins")),
    ("verdict", ("thresholds", "stop_on", "abort_on_fail", "abort_grace", "summary")),
)
"""The order and grouping of our fields in the web UI's form (field names of ``ScenarioSettings``)."""

_TAB = "scenario"

Check = Callable[[Mapping[str, Any]], None]
"""Validates the options a run would start with; raises ``SettingsError``."""
Apply = Callable[[], None]
"""Reads the run's settings again from the environment's parsed options."""


def form_values(form: Mapping[str, str]) -> dict[str, Any]:
    """Our settings among a ``/swarm`` form's fields, keyed by option destination."""
    ours = {option_dest(SCENARIO, field) for field in field_names(SCENARIO)}
    return {key: value for key, value in form.items() if key in ours}


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
    """Locust's extra options for the form: ours grouped and in order, the profile preselected."""
    ordered: dict[str, Any] = {}
    for group, fields in FORM_GROUPS:
        for field in fields:
            key = option_dest(SCENARIO, field)
            if key not in options:
                continue
            entry = dict(options[key])
            help_text = str(entry.get("help_text") or "").replace("%%", "%")  # argparse's escape, undone
            entry["help_text"] = f"{group}: {help_text}".rstrip(": ")
            if field == "scenario" and profile and not entry.get("default_value"):
                entry["default_value"] = profile
            ordered[key] = entry
    ordered.update({key: value for key, value in options.items() if key not in ordered})
    return ordered


def attach(web_ui: Any, environment: Environment, *, interactive: bool, check: Check, apply: Apply) -> None:
    """Add the form's check, the run's settings, the status route and tab to Locust's web UI.

    ``interactive``: someone starts runs from the form (not headless, no ``--autostart``).
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

    def check_swarm() -> Response | None:
        if request.path != "/swarm" or request.method != "POST":
            return None
        host = request.form.get("host", "")
        current = vars(environment.parsed_options) if environment.parsed_options is not None else {}
        candidate = {**current, **form_values(request.form)}
        if host:
            candidate["host"] = host
        try:
            check(candidate)
        except SettingsError as error:
            logger.error("the web UI's run was refused: %s", error)
            return jsonify({"success": False, "message": f"locust-scenarios: {error}", "host": environment.host})
        return None

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

    app.before_request(check_swarm)
    app.after_request(settle_swarm)
    app.add_url_rule("/scenario", "locust_scenarios_status", web_ui.auth_required_if_enabled(scenario))
