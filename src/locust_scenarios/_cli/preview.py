"""``locust-scenarios preview`` and ``list``: a profile's planned curve, and every profile and setting.

Both read the same options, environment variables and config files as a real run (Locust's own parser
with our options added), so what they show is what ``locust -f`` will do. ``-f`` imports a locustfile
first, as Locust would, so the profiles it registers are listed and its own profile is previewed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from locust.argument_parser import get_empty_argument_parser
from locust.util.timespan import parse_timespan

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.models import ExporterSettings, ScenarioSettings, describe
from locust_scenarios._settings.options import (
    add_options,
    format_duration,
    install_hint,
    shown,
    unknown_variable_warnings,
)
from locust_scenarios._shapes.plan import Plan
from locust_scenarios._shapes.profile import ScenarioProfile, iter_profiles
from locust_scenarios._shapes.selecting import ScenarioShape

from .arguments import one_line_errors
from .output import write_text

__all__ = ["add_list_parser", "grouped_table", "plan_for", "preview", "render_chart", "render_text", "save_png"]

_CHART_WIDTH = 64
_GROUPED_ABOVE = 40
"""Stage tables longer than this are shown with runs of same-named stages joined."""
_CHART_HEIGHT = 12


def _options_parser(*, add_help: bool = False) -> Any:
    """Locust's parser (config files, environment) with our options and ``-u/-r/-t``."""
    parser = get_empty_argument_parser(add_help=add_help)
    parser.add_argument("-u", "--users", dest="num_users", type=int, env_var="LOCUST_USERS")
    parser.add_argument("-r", "--spawn-rate", dest="spawn_rate", type=float, env_var="LOCUST_SPAWN_RATE")
    parser.add_argument("-t", "--run-time", dest="run_time", type=parse_timespan, env_var="LOCUST_RUN_TIME")
    add_options(parser)
    return parser


def _preview_parser() -> Any:
    """``preview``'s own options on top of every run option, so that any order of them parses."""
    parser = one_line_errors(_options_parser(add_help=True))
    parser.prog = "locust-scenarios preview"
    parser.description = (
        "Show the planned curve of a profile. Options such as --scenario-users 50 or -t 5m, "
        "LOCUST_SCENARIO_* variables and locust.conf apply exactly as in a real run."
    )
    parser.add_argument(
        "profile",
        nargs="?",
        help="profile name (default: the locustfile's profile, else LOCUST_SCENARIO, else load)",
    )
    parser.add_argument(
        "--format", choices=_FORMATS, help="text, json or png (default: from --output's extension, else text)"
    )
    parser.add_argument("-o", "--output", help="file to write instead of printing (needed for png)")
    return parser


_FORMATS = ("text", "json", "png")
_DEFAULT_LOCUSTFILE = "locustfile.py"
"""Locust's default for -f: used when it exists, as a run would."""


def _output_format(chosen: str | None, output: str | None) -> str:
    """``--format``, else the one ``--output``'s extension names, else text."""
    if chosen:
        return chosen
    suffix = os.path.splitext(output or "")[1].lower().lstrip(".")
    if suffix in ("png", "json"):
        return suffix
    if output and suffix not in ("txt", "text", ""):
        raise SettingsError(
            f"--output {output!r}: cannot tell the format from .{suffix}; add --format text, json or png"
        )
    return "text"


def _imported_shapes(locustfile: str | None) -> tuple[str, list[Any]]:
    """Import a locustfile as Locust would (its path and shapes); importing it registers its profiles."""
    if not locustfile:
        return "", []
    from locust.util.load_locustfile import load_locustfile  # noqa: PLC0415  (imports the user's code)

    path = locustfile.split(",")[0]
    if not os.path.isfile(path):
        if path == _DEFAULT_LOCUSTFILE:
            return path, []  # no -f, and no locustfile.py here: the built-in profiles
        raise SettingsError(f"locustfile {shown(path)} (-f) not found")
    _users, shapes = load_locustfile(path)
    return path, shapes


def _locustfile_shape(locustfile: str | None) -> type[ScenarioProfile] | None:
    """The profile a locustfile runs, as Locust would pick it."""
    path, shapes = _imported_shapes(locustfile)
    if not shapes:
        return None
    shape = type(shapes[0])
    if not issubclass(shape, ScenarioProfile):
        raise SettingsError(f"locustfile {shown(path)} (-f): its shape {shape.__name__} is not a scenario profile")
    return shape


def plan_for(scenario: str | None, args: Sequence[str], locustfile: str | None = None) -> tuple[ScenarioProfile, Plan]:
    """The selecting shape and plan for a profile name and run options (``["--scenario-users", "5"]``),
    or for the profile a ``locustfile`` runs."""
    options, unknown = _options_parser().parse_known_args(list(args))
    if unknown:
        raise SettingsError(f"unknown option {unknown[0]!r}: see `locust-scenarios list` for the known ones")
    return _configured(scenario, options, _locustfile_shape(locustfile) if locustfile else None)


def _configured(
    scenario: str | None, options: Any, profile: type[ScenarioProfile] | None = None
) -> tuple[ScenarioProfile, Plan]:
    """The profile a run with ``options`` would follow: the locustfile's, or the one named."""
    if scenario:
        options.scenario = scenario
    if profile is None or (scenario and not issubclass(profile, ScenarioShape)):
        profile = ScenarioShape
    shape = type(profile.__name__, (profile,), {"abstract": False})()
    shape.configure(options=options)
    return shape, shape.plan


def profile_label(shape: ScenarioProfile) -> str:
    """The name a preview shows: the selected profile, or the locustfile's class."""
    if isinstance(shape, ScenarioShape):
        return shape.selected_name
    return f"{type(shape).__name__} ({shape.scenario_name})"


def render_chart(plan: Plan, width: int = _CHART_WIDTH, height: int = _CHART_HEIGHT) -> str:
    """An ASCII chart of the planned level over time."""
    duration, peak = plan.duration, plan.peak or 1.0
    columns = [plan.level(duration * (i + 0.5) / width) for i in range(width)]
    rows = []
    for row in range(height, 0, -1):
        floor = peak * (row - 1) / height
        line = "".join(
            "█" if level > floor + peak / height / 2 else ("▄" if level > floor else " ") for level in columns
        )
        label = f"{peak * row / height:>8.4g} ┤" if row in (height, (height + 1) // 2) else "         │"
        rows.append(label + line)
    rows.append("       0 └" + "─" * width)
    end = format_duration(duration)
    rows.append("          0s" + end.rjust(width - 2))
    return "\n".join(rows)


def grouped_table(plan: Plan) -> list[dict[str, Any]]:
    """``plan.table()``; a long one with runs of stages of the same name joined into one row (a
    sampled curve's hundreds of short stages read as its rises and falls)."""
    table = plan.table()
    if len(table) <= _GROUPED_ABOVE:
        return table
    rows: list[dict[str, Any]] = []
    for row in table:
        if rows and rows[-1]["name"] == row["name"] and rows[-1]["end_s"] == row["start_s"]:
            rows[-1] = {**rows[-1], "end_s": row["end_s"], "to": row["to"]}
        else:
            rows.append(dict(row))
    return rows


def render_text(shape: ScenarioProfile, plan: Plan) -> str:
    """The stage table, the chart and the total duration."""
    lines = [f"profile {profile_label(shape)}: {plan.unit}, peak {plan.peak:g}, {format_duration(plan.duration)}", ""]
    lines.append(f"  {'stage':<18} {'from':>8} {'to':>8} {'start':>9} {'end':>9}")
    for row in grouped_table(plan):
        name = f"{row['name']} (dwell)" if row.get("dwell") else row["name"]
        lines.append(
            f"  {name:<18} {row['from']:>8.4g} {row['to']:>8.4g} "
            f"{format_duration(row['start_s']):>9} {format_duration(row['end_s']):>9}"
        )
    for population in _populations(shape):
        lines.append(
            f"  population {population['name']} ({', '.join(population['classes'])}): {population['profile']}, "
            f"peak {population['peak']:g} {population['unit']}, "
            f"{format_duration(population['start_s'])} to {format_duration(population['end_s'])}"
        )
    lines += ["", render_chart(plan), "", f"total duration: {format_duration(plan.duration)} ({plan.duration:g} s)"]
    if any(row.get("dwell") for row in plan.table()):
        lines.append("(dwell): held for its duration once the level is reached; later stages move back to match")
    if shape.settings and shape.settings.stop_on and shape.settings.scenario == "breakpoint":
        lines.append(f"stops early when any of these breaks: {shape.settings.stop_on}")
    return "\n".join(lines)


def _populations(shape: ScenarioProfile) -> list[dict[str, Any]]:
    """Each population's own plan on the run's clock (empty without populations)."""
    return [
        {
            "name": population.name,
            "classes": population.class_names(),
            "profile": population.profile.scenario_name,
            "unit": population.profile.plan.unit,
            "start_s": population.start,
            "end_s": population.end,
            "peak": population.profile.plan.peak,
            "points": [[population.start + t, level] for t, level in population.profile.plan.points()],
        }
        for population in getattr(shape, "population_plans", ())
    ]


def _preview_json(shape: ScenarioProfile, plan: Plan) -> str:
    found: dict[str, Any] = {
        "scenario": profile_label(shape),
        "unit": plan.unit,
        "duration_s": plan.duration,
        "peak": plan.peak,
        "points": [[t, level] for t, level in plan.points()],
        "stages": plan.table(),
    }
    populations = _populations(shape)
    if populations:
        found["populations"] = populations
    return json.dumps(found, indent=2)


def save_png(shape: ScenarioProfile, plan: Plan, output: str) -> None:
    """The planned curve as a PNG picture at ``output`` (needs the ``plot`` extra)."""
    try:
        import matplotlib  # noqa: PLC0415  (optional extra, loaded only for pictures)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise SettingsError(f"--format png needs matplotlib: {install_hint('plot')}") from None
    times, levels = zip(*plan.points(), strict=True)
    figure, axes = plt.subplots(figsize=(7, 2.6), dpi=110)
    axes.plot(times, levels, color="#1f6feb", linewidth=2, label="planned" if _populations(shape) else None)
    axes.fill_between(times, levels, alpha=0.15, color="#1f6feb")
    for population in _populations(shape):
        at, level = zip(*population["points"], strict=True)
        axes.plot(at, level, linestyle="--", linewidth=1, label=f"{population['name']} ({population['unit']})")
    if _populations(shape):
        axes.legend(loc="upper right", fontsize="small")
    for row in plan.table():
        axes.axvline(row["start_s"], color="#999", linewidth=0.5, linestyle=":")
    axes.set_xlabel("seconds")
    axes.set_ylabel(plan.unit)
    axes.set_title(f"{profile_label(shape)}: peak {plan.peak:g} {plan.unit}, {format_duration(plan.duration)}")
    axes.set_xlim(0, plan.duration)
    axes.set_ylim(0, plan.peak * 1.1 or 1)
    figure.tight_layout()
    picture = io.BytesIO()
    figure.savefig(picture, format="png")
    plt.close(figure)
    write_text(Path(output), picture.getvalue(), option="--output")


def _warn_unknown_variables() -> None:
    for warning in unknown_variable_warnings():
        print(f"locust-scenarios: warning: {warning}", file=sys.stderr)


def preview(arguments: Sequence[str]) -> int:
    """``locust-scenarios preview [PROFILE] [run options]``: the planned curve as text, JSON or PNG."""
    args = _preview_parser().parse_args(list(arguments))
    _warn_unknown_variables()
    chosen = _output_format(args.format, args.output)
    shape, plan = _configured(args.profile, args, _locustfile_shape(args.locustfile))
    if chosen == "png":
        if not args.output:
            raise SettingsError("--format png needs --output FILE")
        save_png(shape, plan, args.output)
        print(f"wrote {args.output}")
        return 0
    text = _preview_json(shape, plan) if chosen == "json" else render_text(shape, plan)
    if args.output:
        write_text(Path(args.output), text + "\n", option="--output")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    _warn_unknown_variables()
    _imported_shapes(args.locustfile)  # registers the locustfile's own profiles, as a run would
    for cls in iter_profiles():
        print(f"{cls.scenario_name:<11} {cls.description}")
        defaults = cls.class_defaults()
        for name in cls.parameters:
            default = defaults.get(name)
            share = getattr(cls, f"{name}_share", None)
            shown = default if default is not None else f"{share:.1%} of duration" if share is not None else "derived"
            print(f"    {name:<10} default {shown}")
    print("\nsettings (option, environment variable, default):")
    for model in (ScenarioSettings, ExporterSettings):
        for doc in describe(model):
            default = "" if doc.default is None else f" [{doc.default}]"
            print(f"  {doc.option:<28} {doc.env:<34} {doc.description}{default}")
    return 0


def add_list_parser(commands: Any) -> None:
    """Register ``list`` on the ``locust-scenarios`` command's subparsers."""
    listing = commands.add_parser("list", help="the profiles, their parameters and every setting")
    listing.add_argument(
        "-f",
        "--locustfile",
        help="a locustfile to import first, as Locust would: the profiles it registers are listed too",
    )
    listing.set_defaults(func=_cmd_list)
