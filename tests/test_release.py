"""What a release ships: the licence, one version number, and distributions that install and describe themselves."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


def release_notes(*args: str) -> subprocess.CompletedProcess[str]:
    """``python tools/release_notes.py ARGS``."""
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "release_notes.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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


def test_the_changelog_is_well_formed_and_its_check_can_fail(tmp_path: Path) -> None:
    """CHANGELOG.md opens with ``## [Unreleased]`` and has only ``## [X.Y.Z] - YYYY-MM-DD`` sections below it;
    a heading of another form, or versions out of order, are refused with exit code 2 and one line."""
    assert release_notes("--check").returncode == 0
    for bad in ("## 0.2.0\n", "## [0.1.0] - 2026-01-01\n## [0.2.0] - 2026-02-01\n", "## [0.2.0]\n"):
        changelog = tmp_path / "CHANGELOG.md"
        changelog.write_text(f"# Changelog\n\n## [Unreleased]\n\n{bad}\n- something\n")
        refused = release_notes("--check", "--changelog", str(changelog))
        assert refused.returncode == 2, bad
        assert refused.stderr.startswith("invalid changelog CHANGELOG.md: "), refused.stderr
        assert len(refused.stderr.splitlines()) == 1


def test_the_release_step_checks_the_tag_and_takes_the_notes_from_the_changelog(tmp_path: Path) -> None:
    """The release workflow's check step (run as its job runs it) refuses a tag that is not ``v`` + the
    pyproject version, refuses a version the changelog has no section for (today's state: nothing is
    released), and writes that section as the release notes once the changelog has it."""
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())
    (step,) = [step for step in workflow["jobs"]["build"]["steps"] if "TAG" in step.get("env", {})]
    (tmp_path / "tools").mkdir()
    shutil.copy(REPO / "tools" / "release_notes.py", tmp_path / "tools")
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copy(REPO / "CHANGELOG.md", tmp_path)

    def run(tag: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=tmp_path,
            env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "TAG": tag},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    wrong = run("v9.9.9")
    assert wrong.returncode == 2
    assert f"::error::tag v9.9.9 does not name the version in pyproject.toml ({VERSION})" in wrong.stdout
    unreleased = run(f"v{VERSION}")
    assert unreleased.returncode == 2
    assert f"no section '## [{VERSION}] - YYYY-MM-DD'" in unreleased.stderr

    changelog = tmp_path / "CHANGELOG.md"
    released = f"\n## [Unreleased]\n\n## [{VERSION}] - 2026-12-02\n"
    changelog.write_text(changelog.read_text().replace("\n## [Unreleased]\n", released, 1))
    assert run(f"v{VERSION}").returncode == 0
    notes = (tmp_path / "notes" / "release-notes.md").read_text()
    assert notes.startswith("### Added\n")


@pytest.mark.e2e
def test_the_distributions_pass_twine_and_carry_what_users_need(distributions: dict[str, Path]) -> None:
    """``python -m build`` makes an sdist and a wheel that ``twine check --strict`` accepts; the wheel has the
    version of pyproject, the MIT licence expression and file, the console script, py.typed, the record's
    JSON Schema and the chart, helmfile and dashboards that ``bundle`` ships."""
    check = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, distributions.values())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("PASSED") == 2

    with zipfile.ZipFile(distributions["wheel"]) as wheel:
        names = set(wheel.namelist())
        info = f"locust_scenarios-{VERSION}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    for needed in (
        "locust_scenarios/py.typed",
        "locust_scenarios/schemas/run-record.schema.json",
        "locust_scenarios/_assets/chart/Chart.yaml",
        "locust_scenarios/_assets/chart/values.schema.json",
        "locust_scenarios/_assets/helmfile/helmfile.yaml.gotmpl",
        "locust_scenarios/_assets/dashboards/locust-scenarios.json",
        f"{info}/licenses/LICENSE",
    ):
        assert needed in names, needed
    assert f"\nVersion: {VERSION}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "locust-scenarios = locust_scenarios._cli.main:main" in entry_points

    with tarfile.open(distributions["sdist"]) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "mkdocs.yml", "CHANGELOG.md", "pyproject.toml", "docs/index.md"} <= members
