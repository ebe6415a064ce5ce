"""Fixtures for the Kubernetes delivery: real helm/helmfile binaries, a bundle, rendered manifests."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import locust_scenarios
from locust_scenarios.assets import Assets, locate
from locust_scenarios.bundle import BundleReport, build_bundle

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = HERE / "fixtures"
TOOLS_BIN = REPO / ".tools" / "bin"
INSTALLER = REPO / "tools" / "install-k8s-tools.sh"
NAMESPACE = "load"
RELEASE = "perf"


@dataclass(frozen=True)
class K8sTools:
    """The binaries the tests run: helm 4, helm 3 (for helmfile) and helmfile."""

    helm: Path
    helm3: Path
    helmfile: Path


def _runs_as(binary: Path, args: Sequence[str], expected: str) -> bool:
    try:
        out = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    return expected in out.stdout


def _find(variable: str, name: str, version_args: Sequence[str], expected: str) -> Path | None:
    """The binary named by ``$variable``, else in .tools/bin, else on PATH, when it is the right major."""
    if os.environ.get(variable):
        return Path(os.environ[variable])
    local = TOOLS_BIN / name
    if local.is_file() and os.access(local, os.X_OK) and _runs_as(local, version_args, expected):
        return local
    found = shutil.which(name)
    if found and _runs_as(Path(found), version_args, expected):
        return Path(found)
    return None


def find_tools() -> K8sTools:
    """Locate the binaries; run tools/install-k8s-tools.sh (idempotent) when one is missing."""
    lookups = {
        # install-k8s-tools.sh leaves the pair helmfile drives as helm (3) + helmfile, helm 4 as helm4.
        "helm": ("HELM4", "helm4", ["version", "--short"], "v4."),
        "helm3": ("HELM3", "helm", ["version", "--short"], "v3."),
        "helmfile": ("HELMFILE", "helmfile", ["--version"], "helmfile version"),
    }
    found = {key: _find(*spec) for key, spec in lookups.items()}
    if any(path is None for path in found.values()):
        subprocess.run(["bash", str(INSTALLER)], env={**os.environ, "PYTHON": sys.executable}, check=True, timeout=600)
        found = {key: _find(*spec) for key, spec in lookups.items()}
    missing = [key for key, path in found.items() if path is None]
    assert not missing, f"could not install {missing} with {INSTALLER}"
    return K8sTools(**{key: path for key, path in found.items() if path is not None})


@pytest.fixture(scope="session")
def k8s_tools() -> K8sTools:
    """helm 4, helm 3 and helmfile, found or installed."""
    return find_tools()


def assets_for_tests() -> Assets:
    """The repository's chart and helmfile, with placeholder dashboards while dashboards/ is absent."""
    assets = locate()
    if assets.dashboards is None:
        return Assets(chart=assets.chart, helmfile=assets.helmfile, dashboards=FIXTURES / "dashboards")
    return assets


def make_bundle(directory: Path, **kwargs: Any) -> BundleReport:
    """Bundle the fixture locustfile and helper package into ``directory``."""
    kwargs.setdefault("assets", assets_for_tests())
    return build_bundle(
        directory,
        [FIXTURES / "locustfile.py"],
        [FIXTURES / "paths"],
        **kwargs,
    )


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BundleReport]:
    """A bundle folder made once per session (read-only for tests: copy it to change it)."""
    directory = tmp_path_factory.mktemp("bundle") / "deploy"
    return directory, make_bundle(directory)


@pytest.fixture(scope="session")
def chart(bundle: tuple[Path, BundleReport]) -> Path:
    """The chart the bundle step wrote."""
    return bundle[0] / "chart"


def ci_values(chart_dir: Path) -> list[Path]:
    """Every ci/*-values.yaml of a chart."""
    return sorted((chart_dir / "ci").glob("*-values.yaml"))


def helm(
    binary: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a helm command, bounded in time; with ``check`` a failure shows helm's own message."""
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=120, check=False, env=env)
    if check:
        assert result.returncode == 0, f"{binary.name} {' '.join(args)} failed:\n{result.stderr}"
    return result


def render(
    binary: Path, chart_dir: Path, values: Sequence[Path] = (), sets: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """``helm template`` of ``chart_dir`` as a list of objects."""
    args = ["template", RELEASE, str(chart_dir), "--namespace", NAMESPACE]
    for path in values:
        args += ["-f", str(path)]
    for item in sets:
        args += ["--set", item]
    out = helm(binary, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(objects: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [o for o in objects if o["kind"] == kind]


def named(objects: Sequence[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    """The one object of ``kind`` whose name ends with ``suffix``."""
    matches = [o for o in by_kind(objects, kind) if o["metadata"]["name"].endswith(suffix)]
    assert len(matches) == 1, f"expected one {kind} named *{suffix}, got {[m['metadata']['name'] for m in matches]}"
    return matches[0]


@pytest.fixture(scope="session")
def cli_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bin folder whose ``locust-scenarios`` (what the helmfile hook runs) is this interpreter's
    command line tool, so helmfile tests use the package under test whether or not it is installed."""
    folder = tmp_path_factory.mktemp("bin")
    shim = folder / "locust-scenarios"
    pythonpath = Path(locust_scenarios.__file__).resolve().parent.parent
    shim.write_text(f"#!/bin/sh\nPYTHONPATH='{pythonpath}' exec '{sys.executable}' -m locust_scenarios.cli \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return folder
