"""The helmfile where CI runs it: only helm and helmfile on PATH, the deploy folder copied elsewhere,
no HOST for tearing down, and a bundle refresh only on `apply`/`sync` (real helmfile and helm 3; with
no cluster here, `sync` and `destroy` fail only when helm reaches for the API server)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from locust_scenarios import parse_duration
from locust_scenarios._cli.bundle.compact import compact_module

from .conftest import K8sTools, by_kind, make_bundle

pytestmark = pytest.mark.e2e

TEST_TYPES = ["smoke", "load", "stress", "spike", "endurance", "breakpoint"]
CLUSTER_UNREACHABLE = "Kubernetes cluster unreachable"


@pytest.fixture(scope="module")
def tools_only(k8s_tools: K8sTools, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PATH folder holding nothing but `helm` (helm 3, as helmfile needs) and `helmfile`."""
    folder = tmp_path_factory.mktemp("tools-only")
    (folder / "helm").symlink_to(k8s_tools.helm3)
    (folder / "helmfile").symlink_to(k8s_tools.helmfile)
    return folder


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle copied to a new folder: the locustfile paths it recorded do not exist from there."""
    original = tmp_path_factory.mktemp("made-here") / "deploy"
    make_bundle(original)
    target = tmp_path_factory.mktemp("elsewhere") / "ci-checkout" / "deploy"
    shutil.copytree(original, target)
    shutil.rmtree(original)
    return target


def run(deploy: Path, path: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """helmfile in the bundle's helmfile/ folder with exactly ``path`` as PATH and ``env``."""
    return subprocess.run(
        ["helmfile", *args],
        cwd=deploy / "helmfile",
        env={"HOME": str(deploy.parent), "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _objects(output: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(output) if doc]


@pytest.mark.parametrize("command", ["template", "lint", "build", "list", "write-values"])
def test_reading_commands_with_only_helm_and_helmfile(moved: Path, tools_only: Path, command: str) -> None:
    """With the bundle moved and no locust-scenarios command, every reading command works and
    nothing tries to refresh the bundle: the refresh hook, which helmfile runs for every command, says
    nothing (its log line is empty) and leaves the bundle as it is."""
    before = {path: path.read_bytes() for path in (moved / "chart" / "files").rglob("*") if path.is_file()}
    result = run(moved, str(tools_only), "-e", "stress", command, HOST="http://127.0.0.1:1")
    assert result.returncode == 0, result.stderr
    hook_lines = [line for line in (result.stdout + result.stderr).splitlines() if "hook[" in line]
    assert all(line.strip() == "hook[prepare] logs |" for line in hook_lines), hook_lines
    assert "bundle refreshed" not in result.stderr
    assert "bundle not refreshed" not in result.stderr
    assert {path: path.read_bytes() for path in (moved / "chart" / "files").rglob("*") if path.is_file()} == before
    if command == "template":
        assert len(by_kind(_objects(result.stdout), "Job")) == 2


def test_destroy_needs_no_host(moved: Path, tools_only: Path) -> None:
    """`destroy` without HOST gets past rendering and fails only on reaching a cluster; `build` and
    `list` need no HOST either."""
    result = run(moved, str(tools_only), "-e", "stress", "destroy")
    assert result.returncode != 0
    assert CLUSTER_UNREACHABLE in result.stderr + result.stdout
    assert "HOST" not in result.stderr + result.stdout
    for command in ("build", "list"):
        assert run(moved, str(tools_only), "-e", "stress", command).returncode == 0


def _system_path(*folders: Path) -> str:
    return os.pathsep.join([*map(str, folders), "/usr/bin", "/bin"])


@pytest.mark.parametrize("monitoring", ["false", "true"])
def test_sync_refreshes_when_the_command_exists(
    k8s_tools: K8sTools, tools_only: Path, cli_shim: Path, tmp_path: Path, monitoring: str
) -> None:
    """`sync` runs the refresh before rendering any release (a stale package file is replaced, one line
    says so), with the monitoring release in front too; `template` before it left the stale file alone."""
    deploy = tmp_path / "deploy"
    make_bundle(deploy)
    stale = deploy / "chart" / "files" / "package" / "locust_scenarios" / "_settings" / "models.py"
    stale.write_text("# stale copy from an older install\n")
    path = _system_path(tools_only, cli_shim)
    sets = ("--state-values-set", f"monitoring.enabled={monitoring}")
    assert run(deploy, path, "-e", "smoke", *sets, "template", HOST="http://127.0.0.1:1").returncode == 0
    assert stale.read_text().startswith("# stale copy")
    result = run(deploy, path, "-e", "smoke", *sets, "sync", HOST="http://127.0.0.1:1")
    output = result.stdout + result.stderr
    assert "bundle refreshed: it ships the code installed now" in output
    assert CLUSTER_UNREACHABLE in output
    import locust_scenarios._settings.models  # noqa: PLC0415  # the installed module the bundle must ship

    installed = Path(locust_scenarios._settings.models.__file__).read_text()
    assert stale.read_text() == compact_module(installed)  # its code, without docstrings and comments


def test_sync_without_the_command_says_so_in_one_line(moved: Path, tools_only: Path, cli_shim: Path) -> None:
    """Without locust-scenarios on PATH, or with the recorded locustfiles gone, `sync` says in one line
    that the bundle was not refreshed and deploys it as it is; with refreshBundle=true it stops there."""
    for path, reason in (
        (_system_path(tools_only), "the locust-scenarios command is not on PATH"),
        (_system_path(tools_only, cli_shim), "does not exist"),
    ):
        result = run(moved, path, "-e", "smoke", "sync", HOST="http://127.0.0.1:1")
        output = result.stdout + result.stderr
        lines = [line for line in output.splitlines() if "bundle not refreshed" in line]
        assert len(lines) == 1, output
        assert reason in lines[0]
        assert lines[0].endswith("deploying the bundle as it is")
        assert "Upgrading release" in output
        strict = run(moved, path, "-e", "smoke", "sync", "--state-values-set", "refreshBundle=true", HOST="x")
        assert strict.returncode != 0
        assert "refreshBundle is true: stopping" in strict.stdout + strict.stderr
        assert "Upgrading release" not in strict.stdout + strict.stderr


@pytest.mark.parametrize("environment", TEST_TYPES)
def test_each_test_type_renders_a_cluster_ready_run(moved: Path, tools_only: Path, environment: str) -> None:
    """Each test-type environment renders: a master Job whose grace period exceeds its linger and whose
    container has resources, PDBs, a podFailurePolicy on the worker Job, deadlines on both Jobs, and a
    namespace on every object."""
    result = run(moved, str(tools_only), "-e", environment, "template", HOST="http://127.0.0.1:1")
    assert result.returncode == 0, result.stderr
    objects = _objects(result.stdout)
    jobs = {job["metadata"]["name"].split("-")[2]: job for job in by_kind(objects, "Job")}
    master = jobs["master"]["spec"]
    container = master["template"]["spec"]["containers"][0]
    linger = next(e["value"] for e in container["env"] if e["name"] == "LOCUST_PROMETHEUS_LINGER")
    assert master["template"]["spec"]["terminationGracePeriodSeconds"] > parse_duration(linger)
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["requests"]["memory"]
    assert {pdb["metadata"]["name"].rsplit("-", 1)[-1] for pdb in by_kind(objects, "PodDisruptionBudget")} == {
        "master",
        "worker",
    }
    assert jobs["worker"]["spec"]["podFailurePolicy"]["rules"]
    assert all(job["spec"]["activeDeadlineSeconds"] > 0 for job in jobs.values())
    assert {o["metadata"].get("namespace") for o in objects} == {"locust"}
