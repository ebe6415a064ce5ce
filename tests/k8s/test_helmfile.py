"""The helmfile of a bundle, run offline with the real helmfile (helm 3 underneath, as it requires)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .conftest import K8sTools, by_kind, make_bundle

pytestmark = pytest.mark.e2e

ENVIRONMENTS = ["smoke", "load", "stress", "spike", "endurance", "breakpoint", "local"]
HOST = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def deploy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of this module's own, which the helmfile's prepare hook refreshes."""
    directory = tmp_path_factory.mktemp("helmfile") / "deploy"
    make_bundle(directory)
    return directory


def helmfile(
    tools: K8sTools,
    deploy: Path,
    cli_shim: Path,
    *args: str,
    host: str | None = HOST,
    run_id: str | None = None,
    run_started: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run helmfile in the bundle's helmfile/ folder, offline, with helm 3 and our CLI on PATH
    (``run_started``: RUN_STARTED, the apply time in seconds since the epoch)."""
    env = {k: v for k, v in os.environ.items() if k not in {"HOST", "RUN_ID", "RUN_STARTED"}}
    # helmfile finds its helm 3 on PATH as `helm`, the way tools/install-k8s-tools.sh leaves it.
    helm_dir = f"{tools.helm3.parent}{os.pathsep}" if tools.helm3.name == "helm" else ""
    env["PATH"] = f"{cli_shim}{os.pathsep}{helm_dir}{env.get('PATH', '')}"
    if host is not None:
        env["HOST"] = host
    if run_id is not None:
        env["RUN_ID"] = run_id
    if run_started is not None:
        env["RUN_STARTED"] = run_started
    return subprocess.run(
        [str(tools.helmfile), *([] if helm_dir else ["--helm-binary", str(tools.helm3)]), *args],
        cwd=deploy / "helmfile",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _objects(output: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(output) if doc]


def test_environments_and_releases_are_separate_documents(deploy: Path) -> None:
    """The state file declares environments in its first YAML document and releases in the next, and
    every test type has an environment file."""
    text = (deploy / "helmfile" / "helmfile.yaml.gotmpl").read_text()
    first, second = text.split("\n---\n", 1)
    assert "environments:" in first
    assert "releases:" not in first
    assert "releases:" in second
    assert "environments:" not in second
    for name in ENVIRONMENTS:
        assert (deploy / "helmfile" / "environments" / f"{name}.yaml").is_file()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_lint_template_build_per_environment(
    k8s_tools: K8sTools, deploy: Path, cli_shim: Path, environment: str
) -> None:
    """`helmfile lint`, `template` and `build` pass offline for every environment; the environment
    name (or the profile the file names) becomes LOCUST_SCENARIO, and every object validates."""
    for command in ("lint", "build"):
        result = helmfile(k8s_tools, deploy, cli_shim, "-e", environment, command)
        assert result.returncode == 0, f"{command}: {result.stderr}"
    result = helmfile(k8s_tools, deploy, cli_shim, "-e", environment, "template")
    assert result.returncode == 0, result.stderr
    objects = _objects(result.stdout)
    settings = next(o for o in by_kind(objects, "ConfigMap") if o["metadata"]["name"].endswith("-settings"))
    expected = "smoke" if environment == "local" else environment
    assert settings["data"]["LOCUST_SCENARIO"] == expected
    assert settings["data"]["LOCUST_HOST"] == HOST
    assert len(by_kind(objects, "Job")) == 2
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)


def test_local_environment_names_its_profile(deploy: Path) -> None:
    """The local environment is not a test type, so its file names the profile explicitly."""
    local = yaml.safe_load((deploy / "helmfile" / "environments" / "local.yaml").read_text())
    assert local["scenario"] == "smoke"


def test_stress_build_renders_with_host(k8s_tools: K8sTools, deploy: Path, cli_shim: Path) -> None:
    """`helmfile -e stress build` shows the stress profile; the host comes from HOST only when values
    are rendered (host.yaml.gotmpl), which `template` does."""
    result = helmfile(k8s_tools, deploy, cli_shim, "-e", "stress", "build", host="https://staging.example.com")
    assert result.returncode == 0, result.stderr
    assert "host.yaml.gotmpl" in result.stdout
    assert "name: stress" in result.stdout
    rendered = helmfile(k8s_tools, deploy, cli_shim, "-e", "stress", "template", host="https://staging.example.com")
    settings = next(
        o for o in by_kind(_objects(rendered.stdout), "ConfigMap") if o["metadata"]["name"].endswith("-settings")
    )
    assert settings["data"]["LOCUST_HOST"] == "https://staging.example.com"


@pytest.mark.parametrize("command", ["template", "lint", "write-values"])
def test_missing_host_fails_naming_it(k8s_tools: K8sTools, deploy: Path, cli_shim: Path, command: str) -> None:
    """Without HOST every command that renders the release fails before doing anything, naming HOST."""
    result = helmfile(k8s_tools, deploy, cli_shim, "-e", "stress", command, host=None)
    assert result.returncode != 0
    assert "HOST" in result.stderr


def test_each_apply_gets_a_new_run_id(k8s_tools: K8sTools, deploy: Path, cli_shim: Path) -> None:
    """The run id (part of the Job names) comes from RUN_ID, else from the clock, so a new apply is a
    new run."""
    clock = helmfile(k8s_tools, deploy, cli_shim, "-e", "smoke", "build")
    assert clock.returncode == 0, clock.stderr
    assert re.search(r"runId: \"?\d{4}-\d{6}", clock.stdout)
    result = helmfile(k8s_tools, deploy, cli_shim, "-e", "smoke", "template", run_id="nightly-7")
    assert result.returncode == 0, result.stderr
    names = {o["metadata"]["name"] for o in by_kind(_objects(result.stdout), "Job")}
    assert names == {"locust-scenarios-master-nightly-7", "locust-scenarios-worker-nightly-7"}


def test_monitoring_release_comes_first(k8s_tools: K8sTools, cli_shim: Path, tmp_path: Path) -> None:
    """With monitoring on, a release of its own carries the ServiceMonitor, PrometheusRule and
    dashboard, and the test release `needs` it, so helmfile installs it first; the bundle refresh is a
    prepare hook of the test release (which every apply changes), not of the monitoring release (which
    `apply` skips when unchanged, hooks and all)."""
    deploy = tmp_path / "deploy"
    make_bundle(deploy)
    built = helmfile(
        k8s_tools, deploy, cli_shim, "-e", "stress", "--state-values-set", "monitoring.enabled=true", "build"
    )
    assert built.returncode == 0, built.stderr
    state = list(yaml.safe_load_all(built.stdout))[-1]
    releases = {r["name"]: r for r in state["releases"]}
    assert "hooks" not in releases["locust-scenarios-monitoring"]
    (hook,) = releases["locust-scenarios"]["hooks"]
    assert hook["events"] == ["prepare"]
    assert hook["args"][-3:] == ["refresh-bundle", "auto", "{{ .HelmfileCommand }}"]
    args = ["-e", "stress", "--state-values-set", "monitoring.enabled=true,refreshBundle=false"]
    built = helmfile(k8s_tools, deploy, cli_shim, *args, "build")
    assert built.returncode == 0, built.stderr
    state = list(yaml.safe_load_all(built.stdout))[-1]
    releases = {r["name"]: r for r in state["releases"]}
    assert not any("hooks" in release for release in releases.values()), "refreshBundle=false: no hook"
    assert releases["locust-scenarios"]["needs"] == ["locust/locust-scenarios-monitoring"]
    dag = helmfile(k8s_tools, deploy, cli_shim, *args, "show-dag")
    assert dag.returncode == 0, dag.stderr
    rows = [line.split() for line in dag.stdout.splitlines()[1:] if line.strip()]
    assert [(row[0], row[1]) for row in rows] == [
        ("1", "locust/locust-scenarios-monitoring"),
        ("2", "locust/locust-scenarios"),
    ]
    rendered = helmfile(k8s_tools, deploy, cli_shim, *args, "--selector", "part=monitoring", "template")
    assert rendered.returncode == 0, rendered.stderr
    assert {o["kind"] for o in _objects(rendered.stdout)} == {"ServiceMonitor", "PrometheusRule", "ConfigMap"}


@pytest.mark.parametrize("command", ["template", "lint", "build"])
def test_no_environment_fails_listing_them(k8s_tools: K8sTools, deploy: Path, cli_shim: Path, command: str) -> None:
    """Without -e, helmfile stops with the list of environments instead of rendering a profile named
    'default' that would fail only once deployed."""
    result = helmfile(k8s_tools, deploy, cli_shim, command)
    assert result.returncode != 0
    assert "choose a test type with -e" in result.stderr
    for name in ENVIRONMENTS:
        assert name in result.stderr


@pytest.mark.parametrize("command", ["template", "build", "sync"])
def test_a_misspelt_environment_lists_the_valid_ones(
    k8s_tools: K8sTools, deploy: Path, cli_shim: Path, command: str
) -> None:
    """`-e strees` stops before anything is rendered or installed, naming the environment, the file it
    lacks and every valid environment (helmfile alone says only "no releases found")."""
    result = helmfile(k8s_tools, deploy, cli_shim, "-e", "strees", command)
    assert result.returncode != 0
    message = result.stderr.rsplit("error calling fail: ", 1)[-1].strip()
    assert message.startswith("-e strees: no such environment (no environments/strees.yaml); choose one of: ")
    assert message.split("choose one of: ")[1].split(", ") == sorted(ENVIRONMENTS)
    assert "no releases found" not in result.stderr


def test_installed_pair_works_without_flags(k8s_tools: K8sTools, deploy: Path, cli_shim: Path) -> None:
    """tools/install-k8s-tools.sh leaves helm 3 as `helm` beside helmfile, so helmfile's own helm check
    passes with that folder on PATH and no --helm-binary, and helm 4 stays available as `helm4`."""
    assert k8s_tools.helm3.name == "helm"
    assert k8s_tools.helm.name == "helm4"
    result = helmfile(k8s_tools, deploy, cli_shim, "-e", "smoke", "template")  # no --helm-binary: see helmfile()
    assert result.returncode == 0, result.stderr
    env = {**os.environ, "PATH": f"{k8s_tools.helm3.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    helm = subprocess.run(
        ["helm", "version", "--short"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert helm.stdout.startswith("v3."), helm.stdout
