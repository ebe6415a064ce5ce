"""The locust-scenarios command: preview, list, demo, run, init, target, bundle, wait, report, compare and fetch.

Each subcommand lives in its own module of this package and registers itself with ``add_parser``;
``main`` maps what they raise to one line and an exit code: ``SettingsError`` (bad input) 2,
``ToolError`` (kubectl) 6. No option value ends in a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.metadata import version

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.errors import SettingsError

from . import demo, fetch, init, preview, records, target, wait
from .arguments import Parser
from .bundle import command as bundle
from .kubectl import ToolError

__all__ = ["build_parser", "main"]


def _run(arguments: Sequence[str]) -> int:
    """``locust-scenarios run ...``: Locust with the built-in locustfile; it exits with Locust's code."""
    from locust.main import main as locust_main  # noqa: PLC0415  (loads Locust's whole runtime)

    locustfile = os.path.join(os.path.dirname(os.path.dirname(__file__)), "locustfile.py")
    sys.argv = ["locust", "-f", locustfile, *arguments]
    locust_main()  # exits with Locust's (and our plugin's) exit code
    return 0


# Commands whose arguments go on to another parser untouched: argparse cannot hand a sub-command
# everything after its name when that starts with an option (``run --headless``).
_PASS_THROUGH = {"preview": preview.preview, "run": _run}


def build_parser() -> Parser:
    """The ``locust-scenarios`` argument parser with every subcommand."""
    parser = Parser(prog="locust-scenarios", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('locust-scenarios')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "preview", help="show a profile's planned curve (text, JSON or PNG); preview --help for its options"
    )
    preview.add_list_parser(commands)
    demo.add_parser(commands)
    commands.add_parser(
        "run",
        help="Locust with the built-in locustfile (config-driven user + selecting shape); "
        "everything after 'run' goes to Locust",
    )
    init.add_parser(commands)
    records.add_parsers(commands)
    target.add_parser(commands)
    bundle.add_parser(commands)
    wait.add_parser(commands)
    fetch.add_parser(commands)
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
