"""``locust-scenarios bundle``: its options, and the command that builds or refreshes a bundle."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .build import build_bundle, refresh_bundle
from .errors import BundleError
from .payload import PYTHONPATH_ZIP
from .requirements import DEFAULT_IMAGE_PYTHON

__all__ = ["add_parser", "main", "run"]


# --- command line ----------------------------------------------------------------------------------


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="folder to write (new, empty, or an earlier bundle)")
    parser.add_argument(
        "--locustfile",
        "-f",
        dest="locustfiles",
        type=Path,
        action="append",
        default=[],
        help="a locustfile to ship (repeatable)",
    )
    parser.add_argument(
        "--module",
        dest="modules",
        type=Path,
        action="append",
        default=[],
        help="a helper module or package folder the locustfiles import (repeatable)",
    )
    parser.add_argument(
        "--with",
        dest="extra_packages",
        action="append",
        default=[],
        metavar="DISTRIBUTION",
        help="also install this installed distribution and what it needs, e.g. locust-plugins (repeatable)",
    )
    parser.add_argument(
        "--image-python",
        default=DEFAULT_IMAGE_PYTHON,
        help=f"Python version of the Locust image, for dependency markers (default {DEFAULT_IMAGE_PYTHON})",
    )
    parser.add_argument(
        "--zip",
        dest="pythonpath_zip",
        action="store_true",
        help=f"also write the package and the helper modules as one zip (chart/files/{PYTHONPATH_ZIP}) for "
        "charts that mount ConfigMaps flat: the helmfile's engine deliveryhero; kept by later refreshes",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="re-make an earlier bundle from the files it recorded, with the code installed now",
    )


def run(namespace: argparse.Namespace) -> int:
    """Run the bundle command; returns the process exit code (0, or 2 on refusal)."""
    try:
        if namespace.refresh:
            if namespace.locustfiles or namespace.modules:
                raise BundleError("--refresh reuses the recorded files: give no --locustfile or --module")
            report = refresh_bundle(namespace.directory, pythonpath_zip_too=namespace.pythonpath_zip)
        else:
            report = build_bundle(
                namespace.directory,
                namespace.locustfiles,
                namespace.modules,
                image_python=namespace.image_python,
                extra_packages=namespace.extra_packages,
                pythonpath_zip_too=namespace.pythonpath_zip,
            )
    except BundleError as error:
        print(f"locust-scenarios bundle: error: {error}", file=sys.stderr)
        return BundleError.exit_code
    for line in report.lines():
        print(line)
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``bundle`` on the ``locust-scenarios`` command's subparsers."""
    parser = subparsers.add_parser(
        "bundle",
        help="write the Helm chart, helmfile and packed code for Kubernetes into a folder",
        description=(__doc__ or "").split("\n\n", 1)[0],
    )
    _configure(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m locust_scenarios.bundle DIR --locustfile FILE``, as ``locust-scenarios bundle``."""
    parser = argparse.ArgumentParser(prog="locust-scenarios bundle")
    _configure(parser)
    return run(parser.parse_args(argv))
