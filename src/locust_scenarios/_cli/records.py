"""``locust-scenarios report`` and ``compare``: run records in, a report or a comparison out.

Each command reads its records with the records' own loader (a damaged record is its one-line
``SettingsError``), calls one function of ``_records`` and writes what it returns.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .arguments import open_fraction, ratio
from .output import write_output

__all__ = ["add_parsers"]


def _report(args: argparse.Namespace) -> int:
    from locust_scenarios._records import report  # noqa: PLC0415  (loaded only for this command)
    from locust_scenarios._records.record import load_record  # noqa: PLC0415

    renderers = {"html": report.render_html, "markdown": report.render_markdown, "junit": report.render_junit}
    write_output(renderers[args.format](load_record(args.record)), args.output)
    return 0


def _compare(args: argparse.Namespace) -> int:
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
    if args.output or args.format != "html":
        write_output(text, args.output)
    print(comparison.summary(), file=sys.stderr)
    return comparison.exit_code


def add_parsers(commands: Any) -> None:
    """Register ``report`` and ``compare`` on the ``locust-scenarios`` command's subparsers."""
    report = commands.add_parser("report", help="a report from a run record: HTML (default), Markdown or JUnit XML")
    report.add_argument("record", help="the run record (--scenario-record of a run)")
    report.add_argument("--format", choices=("html", "markdown", "junit"), default="html")
    report.add_argument("-o", "--output", help="file to write (default: standard output)")
    report.set_defaults(func=_report)

    compare = commands.add_parser(
        "compare", help="compare two run records; exit 3 on a significant regression beyond the tolerance"
    )
    compare.add_argument("baseline", help="the baseline run record")
    compare.add_argument("current", help="the run record to judge")
    compare.add_argument("--tolerance", type=ratio, default=0.10, help="accepted rise of p50/p95/p99 (10%%)")
    compare.add_argument(
        "--fail-tolerance", type=ratio, default=0.01, help="accepted rise of the fail ratio in points (1%%)"
    )
    compare.add_argument(
        "--alpha",
        type=open_fraction("the false-positive rate"),
        default=0.05,
        help="false-positive rate of each test, strictly between 0 and 1 (0.05)",
    )
    compare.add_argument("--format", choices=("markdown", "html"), default="markdown")
    compare.add_argument("-o", "--output", help="file to write (default: Markdown on standard output)")
    compare.set_defaults(func=_compare)
