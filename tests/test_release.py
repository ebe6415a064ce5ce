"""What a release ships: the licence, one version number, and distributions that install and describe themselves."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from .conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


def test_the_licence_file_is_the_licence_pyproject_declares() -> None:
    """LICENSE holds the MIT licence text that pyproject's ``license = "MIT"`` names, with its holder."""
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert PYPROJECT["project"]["license"] == "MIT"
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 locust-scenarios developers" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_no_placeholder_project_url() -> None:
    """pyproject names no made-up address: project URLs are real or absent."""
    for url in PYPROJECT["project"].get("urls", {}).values():
        assert "example." not in url, url


def test_version_option_prints_the_pyproject_version() -> None:
    """``locust-scenarios --version`` (the installed console script) prints the version pyproject.toml declares."""
    script = Path(sys.executable).parent / "locust-scenarios"
    run = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"locust-scenarios {VERSION}"
