"""The documentation site: a strict MkDocs build with an API reference generated from the docstrings."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import locust_scenarios
import locust_scenarios.metrics
import locust_scenarios.testing

from .conftest import REPO

PUBLIC_MODULES = (locust_scenarios, locust_scenarios.testing, locust_scenarios.metrics)


def mkdocs_build(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``project`` (a folder with mkdocs.yml) into ``site``."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        env={"PATH": str(Path(sys.executable).parent), "NO_MKDOCS_2_WARNING": "1", "HOME": str(site.parent)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_of_the_docs(tmp_path: Path) -> Path:
    """The files the site is built from, copied into ``tmp_path/project``."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "mkdocs.yml", project)
    shutil.copy(REPO / "CHANGELOG.md", project)
    shutil.copytree(REPO / "docs", project / "docs")
    shutil.copytree(REPO / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return project


def public_names() -> list[str]:
    """Every public name, as the API reference anchors it: ``locust_scenarios.Plan``, ..."""
    return [f"{module.__name__}.{name}" for module in PUBLIC_MODULES for name in module.__all__]


@pytest.mark.e2e
def test_the_site_builds_strictly_and_its_reference_names_every_public_name(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds; the API reference page documents every name of both public
    ``__all__`` lists (ScenarioShape, Plan and run_profile among them) and no internal module."""
    build = mkdocs_build(REPO, tmp_path / "site")
    assert build.returncode == 0, build.stderr[-4000:]
    page = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="(locust_scenarios[\w.]*)"', page))
    for name in ("locust_scenarios.ScenarioShape", "locust_scenarios.Plan", "locust_scenarios.testing.run_profile"):
        assert name in anchors, name
    assert set(public_names()) <= anchors, sorted(set(public_names()) - anchors)
    documented_modules = {anchor for anchor in anchors if anchor.count(".") <= 1 and anchor not in public_names()}
    assert documented_modules == {"locust_scenarios", "locust_scenarios.testing", "locust_scenarios.metrics"}
    for page in ("concepts", "ci", "support", "changelog"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page
    assert "Try it: the two commands" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


@pytest.mark.e2e
def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    """A link to a page that does not exist, or to a heading a page does not have, fails the strict build
    and the message names it."""
    project = copy_of_the_docs(tmp_path)
    concepts = project / "docs" / "concepts.md"
    broken = "\nSee [gone](no-such-page.md) and [nowhere](profiles.md#no-such-heading).\n"
    concepts.write_text(concepts.read_text(encoding="utf-8") + broken, encoding="utf-8")
    build = mkdocs_build(project, tmp_path / "site")
    assert build.returncode != 0
    assert "no-such-page.md" in build.stderr
    assert "no-such-heading" in build.stderr


def test_every_public_name_has_its_own_docstring() -> None:
    """Each name in the public ``__all__`` lists has a docstring of its own (not one inherited from a base
    class), and so does each public method and property those classes define: the reference is made
    from them."""
    missing = []
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if not _own_doc(obj):
                missing.append(f"{module.__name__}.{name}")
            if inspect.isclass(obj):
                missing.extend(f"{module.__name__}.{name}.{member}" for member in _undocumented_members(obj))
    assert not missing, missing


def _own_doc(obj: object) -> bool:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    bases = getattr(obj, "__mro__", (None,))[1:]
    return bool(doc) and all(doc != (getattr(base, "__doc__", None) or "").strip() for base in bases)


def _undocumented_members(cls: type) -> list[str]:
    """Public methods and properties defined in ``cls``'s own body (overrides may inherit the docstring)."""
    missing = []
    for name, member in vars(cls).items():
        function = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
        defined_here = getattr(function, "__qualname__", "").startswith(f"{cls.__qualname__}.")
        if not name.startswith("_") and callable(function) and defined_here and not inspect.getdoc(getattr(cls, name)):
            missing.append(name)
    return missing


def test_the_new_pages_import_public_names_from_one_path() -> None:
    """The pages written for the site import every library name from the package or ``locust_scenarios.testing``."""
    imported = []
    for page in ("index.md", "concepts.md", "ci.md", "support.md", "reference.md"):
        text = (REPO / "docs" / page).read_text(encoding="utf-8")
        imported += [(page, module) for module in re.findall(r"from (locust_scenarios[\w.]*) import", text)]
    assert imported
    assert all(module in {"locust_scenarios", "locust_scenarios.testing"} for _, module in imported), imported
