"""Fixtures for the Kubernetes delivery: real helm/helmfile binaries, a bundle, rendered manifests."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

import locust_scenarios
from locust_scenarios._cli.assets import Assets, locate
from locust_scenarios._cli.bundle.build import BundleReport, build_bundle

from .deliveryhero_chart import ChartUnavailableError, find_deliveryhero_chart
from .podsim import PodSimulation, free_port

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


DELIVERYHERO_CHART = pytest.StashKey[Path]()


def deliveryhero_chart_of(config: pytest.Config) -> Path:
    """The verified deliveryhero/locust 0.35.0 chart of this session, looked up (or pulled) once."""
    if DELIVERYHERO_CHART not in config.stash:
        config.stash[DELIVERYHERO_CHART] = find_deliveryhero_chart(find_tools().helm, REPO, os.environ)
    return config.stash[DELIVERYHERO_CHART]


def pytest_collection_finish(session: pytest.Session) -> None:
    """When a selected test needs the deliveryhero chart and it cannot be had, stop before any test runs,
    with the one line that says how to provide it (instead of the same error in every such test)."""
    if session.config.option.collectonly:
        return
    if any("deliveryhero_chart" in getattr(item, "fixturenames", ()) for item in session.items):
        try:
            deliveryhero_chart_of(session.config)
        except ChartUnavailableError as error:
            pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def deliveryhero_chart(request: pytest.FixtureRequest) -> Path:
    """The real deliveryhero/locust 0.35.0 chart (a folder or a .tgz), verified; see deliveryhero_chart.py."""
    return deliveryhero_chart_of(request.config)


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
    """A bundle folder made once per session (read-only for tests: copy it to change it), with the
    zip of ``--zip`` so that config-only mode renders too."""
    directory = tmp_path_factory.mktemp("bundle") / "deploy"
    return directory, make_bundle(directory, pythonpath_zip_too=True)


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
    shim.write_text(f"#!/bin/sh\nPYTHONPATH='{pythonpath}' exec '{sys.executable}' -m locust_scenarios \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return folder


LOCUST_VERSION = __import__("importlib.metadata").metadata.version("locust")
SIM_VENV = REPO / ".venv-podsim"


def python_of(venv: Path) -> Path:
    """The interpreter of a venv."""
    return venv / "bin" / "python"


def _has_only_locust(venv: Path) -> bool:
    probe = "import locust, sys; sys.exit(0 if locust.__version__ == sys.argv[1] else 1)"
    python = python_of(venv)
    return python.is_file() and subprocess.run([python, "-c", probe, LOCUST_VERSION], check=False).returncode == 0


@pytest.fixture(scope="session")
def locust_only_venv() -> Path:
    """A venv with nothing but locust==<the installed version>: the local stand-in for the stock image."""
    if not _has_only_locust(SIM_VENV):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(SIM_VENV)], check=True, timeout=300)
        subprocess.run(
            [
                python_of(SIM_VENV),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"locust=={LOCUST_VERSION}",
            ],
            check=True,
            timeout=600,
        )
    return SIM_VENV


@dataclass
class RenderedRun:
    """A run-mode release rendered by helm, with the local stand-ins a node would provide: Service
    names resolving to 127.0.0.1, free local ports for the container ports, the stand-in image."""

    master_spec: dict[str, Any]
    worker_spec: dict[str, Any]
    parallelism: int
    ports: dict[int, int]
    common: dict[str, Any]

    def pod(self, name: str, root: Path, **overrides: Any) -> PodSimulation:
        """One pod of the master Job (``name`` "master") or of the worker Job."""
        spec = self.master_spec if name == "master" else self.worker_spec
        return PodSimulation(name, spec, root, **{**self.common, **overrides})

    def url(self, port: int, path: str) -> str:
        """A URL of the master's container ``port`` (8089 web, 9646 metrics) on its local stand-in."""
        return f"http://127.0.0.1:{self.ports[port]}{path}"


def render_run(k8s_tools: K8sTools, chart: Path, venv: Path, values: dict[str, Any], workdir: Path) -> RenderedRun:
    """``helm template`` of the chart with ``values``, ready to start its pods as local processes."""
    values_file = workdir / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    manifest = helm(
        k8s_tools.helm, "template", RELEASE, str(chart), "--namespace", NAMESPACE, "-f", str(values_file)
    ).stdout
    objects = [o for o in yaml.safe_load_all(manifest) if o]
    configmaps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    jobs = {o["metadata"]["name"].rsplit("-", 2)[-2]: o for o in by_kind(objects, "Job")}
    service = next(
        o["metadata"]["name"] for o in by_kind(objects, "Service") if o["metadata"]["name"].endswith("-master")
    )
    ports = {5557: free_port(), 8089: free_port(), 9646: free_port()}
    common = {
        "configmaps": configmaps,
        "secrets": {},
        "base_env": {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"},
        "binaries": {
            "locust": str(venv / "bin" / "locust"),
            "python": str(python_of(venv)),
            "/usr/local/bin/python3": str(python_of(venv)),
        },
        "hosts": {service: "127.0.0.1"},
        "ports": ports,
    }
    return RenderedRun(
        master_spec=jobs["master"]["spec"]["template"]["spec"],
        worker_spec=jobs["worker"]["spec"]["template"]["spec"],
        parallelism=jobs["worker"]["spec"]["parallelism"],
        ports=ports,
        common=common,
    )


@pytest.fixture
def fast_target(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """A local target answering 200 on / at once."""
    httpserver.expect_request("/").respond_with_data("ok")
    yield httpserver
    httpserver.clear()


def http_get(url: str) -> str | None:
    """The body at ``url`` (127.0.0.1 only), or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, OSError):
        return None
