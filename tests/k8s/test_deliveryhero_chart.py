"""How the deliveryhero tests get deliveryhero/locust 0.35.0: the variable, the vendored folder, a verified
``helm pull`` kept once, and one line when none of them works. Real helm throughout; the repository a pull
reaches is either deliveryhero's (made unreachable through a closed proxy port, so the outcome is the same
on every machine) or a chart repository served on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from .conftest import REPO, K8sTools, helm
from .deliveryhero_chart import (
    CHART_VARIABLE,
    CONTENT_DIGEST,
    REPOSITORY,
    VERSION,
    ChartUnavailableError,
    content_digest,
    find_deliveryhero_chart,
)
from .podsim import free_port

pytestmark = pytest.mark.e2e

PULL = f"pull locust --repo {REPOSITORY} --version {VERSION} --destination"


def _logging_helm(real: Path, folder: Path) -> tuple[Path, Path]:
    """A helm that appends its arguments to a log, then runs the real one; returns (binary, log)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "helm-calls.log"
    log.touch()
    wrapper = folder / "helm"
    wrapper.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{log}'\nexec '{real}' \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper, log


def _unpacked(chart: Path, destination: Path) -> Path:
    """A writable folder copy of ``chart`` (a folder or a .tgz) at ``destination``."""
    if chart.is_dir():
        shutil.copytree(chart, destination)
    else:
        with tarfile.open(chart, "r:gz") as archive:
            archive.extractall(destination.parent / "unpacked", filter="data")
        shutil.move(destination.parent / "unpacked" / "locust", destination)
    for path in [destination, *destination.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return destination


def _package(tools: K8sTools, folder: Path, destination: Path) -> Path:
    """``helm package`` of ``folder`` into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    helm(tools.helm, "package", str(folder), "--destination", str(destination))
    return next(destination.glob("*.tgz"))


def _altered(folder: Path) -> Path:
    """``folder`` with one template line changed, as a fork or a tampered copy would be."""
    template = folder / "templates" / "master-service.yaml"
    template.write_text(template.read_text() + "# changed\n")
    return folder


def test_the_variable_names_the_chart_first(k8s_tools: K8sTools, deliveryhero_chart: Path, tmp_path: Path) -> None:
    """$DELIVERYHERO_CHART pointing at a copy of the chart, as a folder or as a .tgz, is the chart the tests
    use, ahead of a vendored folder beside the repository; nothing is pulled."""
    wrapper, log = _logging_helm(k8s_tools.helm, tmp_path / "bin")
    root = tmp_path / "clone"
    _unpacked(deliveryhero_chart, tmp_path / "shared" / "vendor" / f"deliveryhero-locust-{VERSION}")
    folder = _unpacked(deliveryhero_chart, tmp_path / "elsewhere" / "locust")
    package = _package(k8s_tools, folder, tmp_path / "packaged")
    for copy in (folder, package):
        assert find_deliveryhero_chart(wrapper, root, {CHART_VARIABLE: str(copy)}) == copy
    assert content_digest(package) == CONTENT_DIGEST
    assert "pull" not in log.read_text()


def test_the_vendored_folder_beside_the_repository_comes_next(
    k8s_tools: K8sTools, deliveryhero_chart: Path, tmp_path: Path
) -> None:
    """Without the variable, ../shared/vendor/deliveryhero-locust-0.35.0 beside the repository is used."""
    vendored = _unpacked(deliveryhero_chart, tmp_path / "shared" / "vendor" / f"deliveryhero-locust-{VERSION}")
    assert find_deliveryhero_chart(k8s_tools.helm, tmp_path / "clone", {}) == vendored


@pytest.mark.parametrize("change", ["template", "version"])
def test_a_chart_that_is_not_the_published_one_is_refused(
    k8s_tools: K8sTools, deliveryhero_chart: Path, tmp_path: Path, change: str
) -> None:
    """A copy with a changed template (digest mismatch) or another version, given by the variable, is
    refused in one line that names the variable and what differs, and is never used."""
    folder = _unpacked(deliveryhero_chart, tmp_path / "copy")
    if change == "template":
        _altered(folder)
        expected = f"its files' digest is {content_digest(_package(k8s_tools, folder, tmp_path / 'p'))}"
    else:
        meta = yaml.safe_load((folder / "Chart.yaml").read_text())
        (folder / "Chart.yaml").write_text(yaml.safe_dump({**meta, "version": "0.34.0"}))
        expected = "holds chart locust 0.34.0"
    with pytest.raises(ChartUnavailableError) as refused:
        find_deliveryhero_chart(k8s_tools.helm, tmp_path / "clone", {CHART_VARIABLE: str(folder)})
    message = str(refused.value)
    assert message.startswith(f"{CHART_VARIABLE}={folder} ")
    assert expected in message
    assert "\n" not in message


def test_without_a_chart_helm_pulls_the_pinned_version_then_fails_in_one_line(
    k8s_tools: K8sTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With neither the variable nor ../shared beside the repository, the real helm is asked to pull exactly
    deliveryhero/locust 0.35.0 from deliveryhero's repository; when that cannot work (no route: here a closed
    proxy port) the lookup fails with one line naming the variable, the repository and helm's own error, and
    leaves nothing in the cache."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    wrapper, log = _logging_helm(k8s_tools.helm, tmp_path / "bin")
    root = tmp_path / "clone"
    with pytest.raises(ChartUnavailableError) as unavailable:
        find_deliveryhero_chart(wrapper, root, {})
    message = str(unavailable.value)
    assert "\n" not in message
    assert f"set {CHART_VARIABLE} to its folder or .tgz, or give helm access to {REPOSITORY}" in message
    assert "failed: Error: " in message
    (call,) = log.read_text().splitlines()
    assert call.startswith(f"{PULL} {root / '.tools' / 'charts'}/")
    assert not list((root / ".tools" / "charts").rglob("*.tgz"))


def _serve_repository(httpserver: HTTPServer, tools: K8sTools, package: Path, workdir: Path) -> str:
    """A chart repository on 127.0.0.1 holding ``package``, its index made by ``helm repo index``."""
    folder = workdir / "repository"
    folder.mkdir()
    shutil.copy(package, folder)
    url = f"http://127.0.0.1:{httpserver.port}/charts"
    helm(tools.helm, "repo", "index", str(folder), "--url", url)
    httpserver.expect_request("/charts/index.yaml").respond_with_data((folder / "index.yaml").read_bytes())
    httpserver.expect_request(f"/charts/{package.name}").respond_with_data(package.read_bytes())
    return url


def test_a_pulled_chart_is_verified_and_kept_once(
    k8s_tools: K8sTools, deliveryhero_chart: Path, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A pull that brings the published files is kept in the repository's git-ignored .tools/charts and used
    from there afterwards: helm pulls once. A kept package that no longer matches is refused, not re-used."""
    package = _package(k8s_tools, _unpacked(deliveryhero_chart, tmp_path / "copy"), tmp_path / "packaged")
    repository = _serve_repository(httpserver, k8s_tools, package, tmp_path)
    wrapper, log = _logging_helm(k8s_tools.helm, tmp_path / "bin")
    root = tmp_path / "clone"
    kept = root / ".tools" / "charts" / f"locust-{VERSION}.tgz"
    for _ in range(2):
        assert find_deliveryhero_chart(wrapper, root, {}, repository=repository) == kept
    assert content_digest(kept) == CONTENT_DIGEST
    assert [line.split(" --destination")[0] for line in log.read_text().splitlines()] == [
        f"pull locust --repo {repository} --version {VERSION}"
    ]
    altered = _package(k8s_tools, _altered(_unpacked(deliveryhero_chart, tmp_path / "other")), tmp_path / "other-p")
    shutil.copy(altered, kept)
    with pytest.raises(ChartUnavailableError, match="pulled before; delete it to pull again"):
        find_deliveryhero_chart(wrapper, root, {}, repository=repository)


def test_a_pulled_chart_whose_digest_differs_is_refused(
    k8s_tools: K8sTools, deliveryhero_chart: Path, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A repository that serves a locust 0.35.0 whose files differ from the published ones: the real helm
    pulls it, the digest check refuses it in one line naming the repository, and nothing is kept."""
    altered = _package(k8s_tools, _altered(_unpacked(deliveryhero_chart, tmp_path / "copy")), tmp_path / "packaged")
    repository = _serve_repository(httpserver, k8s_tools, altered, tmp_path)
    root = tmp_path / "clone"
    with pytest.raises(ChartUnavailableError) as refused:
        find_deliveryhero_chart(k8s_tools.helm, root, {}, repository=repository)
    assert str(refused.value) == (
        f"the chart pulled from {repository} is not deliveryhero/locust {VERSION} as published: "
        f"its files' digest is {content_digest(altered)}, expected {CONTENT_DIGEST}"
    )
    assert not list((root / ".tools" / "charts").rglob("*.tgz"))


def test_a_fresh_clone_uses_the_variable_or_stops_in_one_line(
    k8s_tools: K8sTools, deliveryhero_chart: Path, tmp_path: Path
) -> None:
    """A copy of the repository with nothing beside it runs the deliveryhero tests with pytest itself: with
    $DELIVERYHERO_CHART set, a test that needs the chart passes without a pull; without it and without a route
    to deliveryhero's repository, helm is asked for 0.35.0 and the run stops before any test, on one line."""
    clone = tmp_path / "clone"
    shutil.copytree(
        REPO,
        clone,
        ignore=shutil.ignore_patterns(
            ".git", ".venv*", ".tools", "__pycache__", ".*_cache", ".hypothesis", "build", "dist", "deploy"
        ),
    )
    wrapper, log = _logging_helm(k8s_tools.helm, tmp_path / "bin")
    env = {k: v for k, v in os.environ.items() if k not in {CHART_VARIABLE, "NO_PROXY", "no_proxy"}}
    env |= {"HELM4": str(wrapper), "HELM3": str(k8s_tools.helm3), "HELMFILE": str(k8s_tools.helmfile)}
    env |= {"HTTPS_PROXY": f"http://127.0.0.1:{free_port()}", "PYTHONDONTWRITEBYTECODE": "1"}

    def run_pytest(extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/k8s/test_deliveryhero.py", *args]
        return subprocess.run(
            command, cwd=clone, env=env | extra, capture_output=True, text=True, timeout=600, check=False
        )

    given = run_pytest({CHART_VARIABLE: str(deliveryhero_chart)}, "-k", "test_default_engine_declares_no_repository")
    assert given.returncode == 0, given.stdout + given.stderr
    assert "1 passed" in given.stdout
    assert "pull" not in log.read_text()

    missing = run_pytest({})
    assert missing.returncode == pytest.ExitCode.USAGE_ERROR, missing.stdout + missing.stderr
    (stop,) = [line for line in missing.stdout.splitlines() if CHART_VARIABLE in line]
    assert f"give helm access to {REPOSITORY}" in stop
    assert "no tests ran" in missing.stdout
    (pull,) = [line for line in log.read_text().splitlines() if line.startswith("pull")]
    assert pull.startswith(PULL)
