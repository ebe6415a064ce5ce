"""The exit-code contract: one definition, and the precedence when several codes apply."""

from __future__ import annotations

import pytest

from locust_scenarios import ExitCode
from locust_scenarios.exitcodes import PRECEDENCE, most_severe
from locust_scenarios.settings import SettingsError


def test_codes_are_the_documented_numbers() -> None:
    """Each meaning keeps the number the docs, the chart and other tools rely on."""
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 4, 5]
    assert SettingsError.exit_code == ExitCode.INVALID_CONFIG == 2
    assert all(code.meaning for code in ExitCode)


def test_precedence_lists_every_code_once_from_most_to_least_severe() -> None:
    """2 > 4 > 3 > 5 > 1 > 0."""
    assert [int(code) for code in PRECEDENCE] == [2, 4, 3, 5, 1, 0]


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((0, 1), 1),
        ((1, 5), 5),
        ((5, 3), 3),
        ((3, 4), 4),
        ((4, 2), 2),
        ((0, None), 0),
        ((), 0),
        ((0, 137), 137),
        ((2, 255), 255),
    ],
)
def test_most_severe_follows_the_precedence(codes: tuple[int | None, ...], expected: int) -> None:
    """The winner is the most severe; a code nobody defined (a crash) is never masked."""
    assert most_severe(*codes) == expected
