"""The locust-scenarios command: preview, list, demo, run, target, bundle, wait, report, compare and fetch.

``preview`` and ``list`` read the same options, environment variables and config files as a real run
(Locust's own parser with our options added), so what they show is what ``locust -f`` will do.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from locust.argument_parser import get_empty_argument_parser
from locust.util.timespan import parse_timespan

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.models import ExporterSettings, ScenarioSettings, describe
from locust_scenarios._settings.options import (
    add_options,
    format_duration,
    install_hint,
    parse_ratio,
    unknown_variable_warnings,
)
from locust_scenarios._shapes.plan import Plan
from locust_scenarios._shapes.profile import ScenarioProfile, iter_profiles
from locust_scenarios._shapes.selecting import ScenarioShape

from .kube import ToolError

__all__ = ["build_parser", "main", "plan_for", "render_chart", "render_text", "save_png"]

_CHART_WIDTH = 64
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
    parser = _options_parser(add_help=True)
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
    parser.add_argument("--output", help="file to write instead of printing (needed for png)")
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


def _locustfile_shape(locustfile: str | None) -> type[ScenarioProfile] | None:
    """The profile a locustfile runs, as Locust would pick it; importing it registers its names too."""
    if not locustfile:
        return None
    from locust.util.load_locustfile import load_locustfile  # noqa: PLC0415  (imports the user's code)

    path = locustfile.split(",")[0]
    if not os.path.isfile(path):
        if path == _DEFAULT_LOCUSTFILE:
            return None  # no -f, and no locustfile.py here: the built-in profiles
        raise SettingsError(f"locustfile {path!r} (-f) not found")
    _users, shapes = load_locustfile(path)
    if not shapes:
        return None
    shape = type(shapes[0])
    if not issubclass(shape, ScenarioProfile):
        raise SettingsError(f"locustfile {path!r} (-f): its shape {shape.__name__} is not a scenario profile")
    return shape


def plan_for(scenario: str | None, args: Sequence[str]) -> tuple[ScenarioProfile, Plan]:
    """The selecting shape and plan for a profile name and run options (``["--scenario-users", "5"]``)."""
    options, unknown = _options_parser().parse_known_args(list(args))
    if unknown:
        raise SettingsError(f"unknown option {unknown[0]!r}: see `locust-scenarios list` for the known ones")
    return _configured(scenario, options)


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


def render_text(shape: ScenarioProfile, plan: Plan) -> str:
    """The stage table, the chart and the total duration."""
    lines = [f"profile {profile_label(shape)}: {plan.unit}, peak {plan.peak:g}, {format_duration(plan.duration)}", ""]
    lines.append(f"  {'stage':<18} {'from':>8} {'to':>8} {'start':>9} {'end':>9}")
    for row in plan.table():
        lines.append(
            f"  {row['name']:<18} {row['from']:>8.4g} {row['to']:>8.4g} "
            f"{format_duration(row['start_s']):>9} {format_duration(row['end_s']):>9}"
        )
    lines += ["", render_chart(plan), "", f"total duration: {format_duration(plan.duration)} ({plan.duration:g} s)"]
    if shape.settings and shape.settings.stop_on and shape.settings.scenario == "breakpoint":
        lines.append(f"stops early when any of these breaks: {shape.settings.stop_on}")
    return "\n".join(lines)


def _preview_json(shape: ScenarioProfile, plan: Plan) -> str:
    return json.dumps(
        {
            "scenario": profile_label(shape),
            "unit": plan.unit,
            "duration_s": plan.duration,
            "peak": plan.peak,
            "points": [[t, level] for t, level in plan.points()],
            "stages": plan.table(),
        },
        indent=2,
    )


def save_png(shape: ScenarioProfile, plan: Plan, output: str) -> None:
    try:
        import matplotlib  # noqa: PLC0415  (optional extra, loaded only for pictures)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise SettingsError(f"--format png needs matplotlib: {install_hint('plot')}") from None
    times, levels = zip(*plan.points(), strict=True)
    figure, axes = plt.subplots(figsize=(7, 2.6), dpi=110)
    axes.plot(times, levels, color="#1f6feb", linewidth=2)
    axes.fill_between(times, levels, alpha=0.15, color="#1f6feb")
    for row in plan.table():
        axes.axvline(row["start_s"], color="#999", linewidth=0.5, linestyle=":")
    axes.set_xlabel("seconds")
    axes.set_ylabel(plan.unit)
    axes.set_title(f"{profile_label(shape)}: peak {plan.peak:g} {plan.unit}, {format_duration(plan.duration)}")
    axes.set_xlim(0, plan.duration)
    axes.set_ylim(0, plan.peak * 1.1 or 1)
    figure.tight_layout()
    figure.savefig(output)
    plt.close(figure)


def _warn_unknown_variables() -> None:
    for warning in unknown_variable_warnings():
        print(f"locust-scenarios: warning: {warning}", file=sys.stderr)


def _cmd_preview(arguments: Sequence[str]) -> int:
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
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def _cmd_list(_args: argparse.Namespace) -> int:
    _warn_unknown_variables()
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


def _cmd_run(arguments: Sequence[str]) -> int:
    from locust.main import main as locust_main  # noqa: PLC0415  (loads Locust's whole runtime)

    locustfile = os.path.join(os.path.dirname(os.path.dirname(__file__)), "locustfile.py")
    sys.argv = ["locust", "-f", locustfile, *arguments]
    locust_main()  # exits with Locust's (and our plugin's) exit code
    return 0


# Commands whose arguments go on to another parser untouched: argparse cannot hand a sub-command
# everything after its name when that starts with an option (``run --headless``).
_PASS_THROUGH = {"preview": _cmd_preview, "run": _cmd_run}


def _cmd_demo(args: argparse.Namespace) -> int:
    demo = importlib.import_module("locust_scenarios._cli.demo")
    result: int = demo.run_demo(duration=args.duration, users=args.users, scenario=args.scenario)
    return result


def _write_or_print(text: str, output: str | None) -> None:
    if output:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _cmd_report(args: argparse.Namespace) -> int:
    from locust_scenarios._records import report  # noqa: PLC0415  (loaded only for this command)
    from locust_scenarios._records.record import load_record  # noqa: PLC0415

    record = load_record(args.record)
    renderers = {"html": report.render_html, "markdown": report.render_markdown, "junit": report.render_junit}
    _write_or_print(renderers[args.format](record), args.output)
    return 0


def _ratio_argument(name: str) -> Any:
    def parse(text: str) -> float:
        try:
            return parse_ratio(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{name} {text!r} {error}") from None

    return parse


def _cmd_compare(args: argparse.Namespace) -> int:
    from locust_scenarios._records.compare import compare  # noqa: PLC0415  (loaded only for this command)
    from locust_scenarios._records.record import load_record  # noqa: PLC0415

    comparison = compare(
        load_record(args.baseline),
        load_record(args.current),
        tolerance=args.tolerance,
        fail_tolerance=args.fail_tolerance,
        alpha=args.alpha,
    )
    text = comparison.html() if args.format == "html" else comparison.markdown()
    if args.output:
        _write_or_print(text, args.output)
    elif args.format != "html":
        sys.stdout.write(text)
    print(comparison.summary(), file=sys.stderr)
    return comparison.exit_code


def _add_report_parsers(commands: Any) -> None:
    report = commands.add_parser("report", help="a report from a run record: HTML (default), Markdown or JUnit XML")
    report.add_argument("record", help="the run record (--scenario-record of a run)")
    report.add_argument("--format", choices=("html", "markdown", "junit"), default="html")
    report.add_argument("-o", "--output", help="file to write (default: standard output)")
    report.set_defaults(func=_cmd_report)

    compare = commands.add_parser(
        "compare", help="compare two run records; exit 3 on a significant regression beyond the tolerance"
    )
    compare.add_argument("baseline", help="the baseline run record")
    compare.add_argument("current", help="the run record to judge")
    compare.add_argument(
        "--tolerance", type=_ratio_argument("--tolerance"), default=0.10, help="accepted rise of p50/p95/p99 (10%%)"
    )
    compare.add_argument(
        "--fail-tolerance",
        type=_ratio_argument("--fail-tolerance"),
        default=0.01,
        help="accepted rise of the fail ratio in points (1%%)",
    )
    compare.add_argument(
        "--alpha", type=_ratio_argument("--alpha"), default=0.05, help="false-positive rate of each test (0.05)"
    )
    compare.add_argument("--format", choices=("markdown", "html"), default="markdown")
    compare.add_argument("-o", "--output", help="file to write (default: Markdown on standard output)")
    compare.set_defaults(func=_cmd_compare)


def build_parser() -> argparse.ArgumentParser:
    """The ``locust-scenarios`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="locust-scenarios", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('locust-scenarios')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "preview", help="show a profile's planned curve (text, JSON or PNG); preview --help for its options"
    )

    listing = commands.add_parser("list", help="the profiles, their parameters and every setting")
    listing.set_defaults(func=_cmd_list)

    demo = commands.add_parser("demo", help="run a short profile against an embedded local target")
    demo.add_argument("--duration", default="25s", help="length of the demo run (default 25s)")
    demo.add_argument("--users", type=int, default=10, help="peak users (default 10)")
    demo.add_argument("--scenario", default="load", help="profile to run (default load)")
    demo.set_defaults(func=_cmd_demo)

    commands.add_parser(
        "run",
        help="Locust with the built-in locustfile (config-driven user + selecting shape); "
        "everything after 'run' goes to Locust",
    )

    _add_report_parsers(commands)
    for module in ("_demo_target", "_cli.bundle.command", "_cli.kube", "_cli.fetch"):
        importlib.import_module(f"locust_scenarios.{module}").add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``locust-scenarios`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in _PASS_THROUGH:
            return _PASS_THROUGH[arguments[0]](arguments[1:])
        args = build_parser().parse_args(arguments)
        return int(args.func(args))
    except SettingsError as error:
        print(f"locust-scenarios: {error}", file=sys.stderr)
        return ExitCode.INVALID_CONFIG
    except ToolError as error:
        print(f"locust-scenarios: {error}", file=sys.stderr)
        return ToolError.exit_code
    except BrokenPipeError:
        # The reader went away (``preview stress | head``): nothing more to say, and no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.PASSED


if __name__ == "__main__":
    sys.exit(main())
