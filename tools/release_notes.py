"""The changelog's section for one version, as the notes of its GitHub release; or a check of the changelog.

    python tools/release_notes.py 0.2.0     # prints the body of "## [0.2.0] - YYYY-MM-DD"
    python tools/release_notes.py --check   # "## [Unreleased]" first, then "## [X.Y.Z] - YYYY-MM-DD", newest first

Exits 2 with one line when the section is missing or a heading is malformed (docs/support.md says how a
release turns [Unreleased] into a version section).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"
UNRELEASED = "Unreleased"
_HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")


def sections(text: str) -> list[tuple[str, str | None, str]]:
    """``(name, date, body)`` of each ``## ...`` section in file order; a heading of another form is refused."""
    parts = re.split(r"^(## .*)$", text, flags=re.MULTILINE)
    found = []
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        match = _HEADING.match(heading)
        if match is None:
            raise ValueError(f"heading {heading!r} is not '## [Unreleased]' or '## [X.Y.Z] - YYYY-MM-DD'")
        entries = re.split(r"^\[[^\]]+\]: ", body, flags=re.MULTILINE)[0]  # link definitions close the file
        found.append((match["name"], match["date"], entries.strip()))
    return found


def check(text: str) -> list[str]:
    """Problems with the changelog's structure (none when it is well-formed)."""
    try:
        found = sections(text)
    except ValueError as error:
        return [str(error)]
    problems = []
    if not found or found[0][0] != UNRELEASED:
        problems.append("the first section must be '## [Unreleased]'")
    versions = []
    for name, date, _ in found[1:]:
        if re.fullmatch(r"\d+\.\d+\.\d+", name) and date:
            versions.append(tuple(int(part) for part in name.split(".")))
        else:
            problems.append(f"section [{name}] must read '## [X.Y.Z] - YYYY-MM-DD', below '## [Unreleased]'")
    if versions != sorted(set(versions), reverse=True):
        problems.append("version sections must be unique and newest first")
    return problems


def notes(text: str, version: str) -> str:
    """The body of ``version``'s section."""
    for name, _, body in sections(text):
        if name == version:
            return body
    raise LookupError(f"CHANGELOG.md has no section '## [{version}] - YYYY-MM-DD': move the Unreleased entries there")


def main(argv: list[str] | None = None) -> int:
    """Print one version's notes, or check the changelog's structure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", help="the version whose notes to print (X.Y.Z)")
    parser.add_argument("--check", action="store_true", help="only check the changelog's structure")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    text = args.changelog.read_text(encoding="utf-8")
    problems = check(text)
    if problems:
        print(f"invalid changelog {args.changelog.name}: {'; '.join(problems)}", file=sys.stderr)
        return 2
    if args.check:
        return 0
    if not args.version:
        parser.error("give a version, or --check")
    try:
        print(notes(text, args.version))
    except LookupError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
