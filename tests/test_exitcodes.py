"""The exit-code contract: one definition, and the precedence when several codes apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from locust_scenarios import ExitCode, SettingsError
from locust_scenarios._exitcodes import PRECEDENCE, most_severe


def test_codes_are_the_documented_numbers() -> None:
    """Each meaning keeps the number the docs, the chart and other tools rely on."""
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 4, 5, 6]
    assert SettingsError.exit_code == ExitCode.INVALID_CONFIG == 2
    assert all(code.meaning for code in ExitCode)


def test_precedence_lists_every_code_once_from_most_to_least_severe() -> None:
    """2 > 6 > 4 > 3 > 5 > 1 > 0."""
    assert [int(code) for code in PRECEDENCE] == [2, 6, 4, 3, 5, 1, 0]


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


DOCS_WITH_EXIT_CODES = ("README.md", "docs/concepts.md", "docs/thresholds.md", "docs/kubernetes.md")


def _exit_code_tables(text: str) -> list[list[list[str]]]:
    """The rows (cells) of every Markdown table whose first column is the exit code."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            current = None
        elif cells[0] in ("code", "exit code"):
            current = []
            tables.append(current)
        elif current is not None and not set(cells[0]) <= {"-"}:
            current.append(cells)
    return tables


def test_every_exit_code_table_in_the_docs_lists_each_code_once_in_order() -> None:
    """README, concepts, thresholds and Kubernetes docs: each exit-code table has exactly the codes of ExitCode."""
    root = Path(__file__).parent.parent
    for name in DOCS_WITH_EXIT_CODES:
        tables = _exit_code_tables((root / name).read_text())
        assert tables, name
        for table in tables:
            assert [row[0] for row in table] == [str(int(code)) for code in ExitCode], name


def test_the_readme_table_is_the_definition() -> None:
    """The README's table states each code's meaning exactly as ExitCode.meaning does."""
    (table,) = _exit_code_tables((Path(__file__).parent.parent / "README.md").read_text())
    assert [(row[0], row[1]) for row in table] == [(str(int(code)), code.meaning) for code in ExitCode]
