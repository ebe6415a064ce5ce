"""The command line's parser: one-line errors, and the value types its options share.

argparse prints its usage block before an error; ``Parser`` prints one line naming the command, the
option, the value and what is allowed, and exits 2. Value types raise ``ArgumentTypeError`` with the
rule, so argparse's line reads ``argument --port: 99999 is not a port: ...``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.options import parse_duration, parse_ratio, shown

__all__ = [
    "Parser",
    "duration",
    "one_line_errors",
    "open_fraction",
    "port_number",
    "positive_duration",
    "positive_int",
    "ratio",
]


def _one_line_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    flat = " ".join(message.split())
    parser.exit(ExitCode.INVALID_CONFIG, f"{parser.prog}: error: {flat} (see {parser.prog} --help)\n")


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit code 2; its subcommands inherit it."""

    def error(self, message: str) -> NoReturn:
        _one_line_error(self, message)


def one_line_errors(parser: Any) -> Any:
    """Give a parser made elsewhere (Locust's, for ``preview``) the same one-line errors."""
    parser.error = lambda message: _one_line_error(parser, message)
    return parser


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (0: any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a port: give a whole number from 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: give a whole number from 0 to 65535")
    return port


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{shown(text)} must be a whole number of at least 1")
    return number


def _argument(parse: Callable[[object], float]) -> Callable[[str], float]:
    """An argparse type from a parser of ours: its ``ValueError`` becomes argparse's one-line error."""

    def checked(text: str) -> float:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{shown(text)} {error}") from None

    return checked


duration = _argument(parse_duration)
"""Seconds from ``500ms``, ``90s``, ``5m``, ``1h30m``."""
ratio = _argument(parse_ratio)
"""A fraction from ``5%`` or ``0.05``, 0 to 1 inclusive."""


def positive_duration(text: str) -> float:
    """A duration longer than zero (a poll interval)."""
    seconds = duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{shown(text)} must be a duration longer than 0, such as 10s")
    return seconds


def open_fraction(what: str) -> Callable[[str], float]:
    """A fraction strictly between 0 and 1 (a significance level cannot be 0 or 1)."""

    def parse(text: str) -> float:
        value = ratio(text)
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(f"{shown(text)}: {what} must be strictly between 0 and 1, e.g. 0.05")
        return value

    return parse
