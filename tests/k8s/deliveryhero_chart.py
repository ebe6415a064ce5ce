"""Where the tests find the real deliveryhero/locust 0.35.0 chart, and how they know it is that chart.

The chart is not ours and is never copied into the project. In order: ``$DELIVERYHERO_CHART`` (a chart
folder or a packaged ``.tgz``); ``../shared/vendor/deliveryhero-locust-0.35.0`` beside the repository
(where this project's CI keeps it, having no route to chart repositories); the copy a previous run pulled
into ``.tools/charts/``; and otherwise ``helm pull`` of exactly 0.35.0 from deliveryhero's repository into
that cache, once. Whatever the source, the chart must be deliveryhero/locust 0.35.0 as published: its
``Chart.yaml`` names it, and the digest of its files is :data:`CONTENT_DIGEST`.

Why a digest of the files and not of the package: deliveryhero's publishing workflow packages every chart
again on each push to its repository and overwrites the tag, so the index's digest of the same 0.35.0
changes with unrelated releases (eight different values between April and July 2026). The files inside do
not change; ``helm package`` rewrites ``Chart.yaml``, so that file is checked by its fields instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

__all__ = [
    "CHART_VARIABLE",
    "CONTENT_DIGEST",
    "REPOSITORY",
    "VERSION",
    "ChartUnavailableError",
    "content_digest",
    "find_deliveryhero_chart",
]

CHART_VARIABLE = "DELIVERYHERO_CHART"
NAME = "locust"
VERSION = "0.35.0"
APP_VERSION = "2.32.2"
REPOSITORY = "https://charts.deliveryhero.io"
VENDORED = Path("shared") / "vendor" / f"deliveryhero-{NAME}-{VERSION}"
"""Where this project's CI keeps the chart, relative to the folder that holds the repository."""
CACHE = Path(".tools") / "charts"
"""Where a pulled chart is kept, relative to the repository (git-ignored, like the helm binaries)."""

CONTENT_DIGEST = "5853d08c2aa1915410bb230a30a0f17719d20119239565bfccaa3a9824366b2e"
"""sha256 of ``sha256sum`` lines (``<digest>  <path>``, sorted by path) over every file of the chart
except ``Chart.yaml`` and ``LICENSE`` (a folder's own licence file, absent from the published package),
computed from deliveryhero/helm-charts ``stable/locust`` at commit 17aac330c35a61a0cde2052aa6fe5ab18e9a036f."""
UNPINNED = frozenset({"Chart.yaml", "LICENSE"})
PULL_SECONDS = 120


class ChartUnavailableError(Exception):
    """The chart could not be found, pulled or verified; the message is one line saying why."""


def content_digest(package: Path) -> str:
    """The digest :data:`CONTENT_DIGEST` pins, of a packaged chart (``.tgz``)."""
    lines = []
    with tarfile.open(package, "r:gz") as archive:
        for member in archive.getmembers():
            relative = member.name.partition("/")[2]
            extracted = archive.extractfile(member) if member.isfile() else None
            if extracted is not None and relative not in UNPINNED:
                lines.append((relative, hashlib.sha256(extracted.read()).hexdigest()))
    listing = "".join(f"{digest}  {relative}\n" for relative, digest in sorted(lines))
    return hashlib.sha256(listing.encode()).hexdigest()


def _chart_yaml(package: Path) -> dict[str, object]:
    with tarfile.open(package, "r:gz") as archive:
        member = next((m for m in archive.getmembers() if m.name.partition("/")[2] == "Chart.yaml"), None)
        extracted = archive.extractfile(member) if member is not None else None
        return dict(yaml.safe_load(extracted.read())) if extracted is not None else {}


def _verify(package: Path, source: str) -> None:
    """Refuse a package that is not deliveryhero/locust 0.35.0 as published, naming ``source``."""
    try:
        meta = _chart_yaml(package)
        digest = content_digest(package)
    except (OSError, tarfile.TarError, yaml.YAMLError, TypeError, ValueError) as error:
        raise ChartUnavailableError(f"{source} is not a readable chart package: {error}") from error
    found = (meta.get("name"), meta.get("version"), meta.get("appVersion"))
    if found != (NAME, VERSION, APP_VERSION):
        raise ChartUnavailableError(
            f"{source} holds chart {found[0]} {found[1]} (app {found[2]}), not {NAME} {VERSION} (app {APP_VERSION})"
        )
    if digest != CONTENT_DIGEST:
        raise ChartUnavailableError(
            f"{source} is not deliveryhero/{NAME} {VERSION} as published: its files' digest is {digest}, "
            f"expected {CONTENT_DIGEST}"
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _verify_folder(helm: Path, folder: Path, source: str) -> None:
    """Package ``folder`` with helm (which applies the chart's .helmignore) and verify the package."""
    with tempfile.TemporaryDirectory(prefix="deliveryhero-chart-") as scratch:
        packaged = subprocess.run(
            [str(helm), "package", str(folder), "--destination", scratch],
            capture_output=True,
            text=True,
            timeout=PULL_SECONDS,
            check=False,
        )
        if packaged.returncode != 0:
            raise ChartUnavailableError(f"{source} is not a chart helm can package: {_one_line(packaged.stderr)}")
        _verify(next(Path(scratch).glob("*.tgz")), source)


def _verified(helm: Path, path: Path, source: str) -> Path:
    """``path`` (a chart folder or ``.tgz``) once verified."""
    if path.is_dir():
        _verify_folder(helm, path, source)
    elif path.is_file():
        _verify(path, source)
    else:
        raise ChartUnavailableError(f"{source} does not exist: give a chart folder or a .tgz")
    return path


def _pull(helm: Path, repository: str, cache: Path) -> Path:
    """``helm pull`` of exactly 0.35.0 into ``cache``; the package takes its place only once verified."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pull-", dir=cache) as scratch:
        destination = Path(scratch) / "chart"
        destination.mkdir()
        # helm 4: the repository's index points at oci:// packages, which helm 3.15 cannot follow.
        command = [str(helm), "pull", NAME, "--repo", repository, "--version", VERSION]
        try:
            pulled = subprocess.run(
                [*command, "--destination", str(destination)],
                capture_output=True,
                text=True,
                timeout=PULL_SECONDS,
                check=False,
                env={**os.environ, "HELM_CACHE_HOME": str(Path(scratch) / "helm-cache")},
            )
            failure = _one_line(pulled.stderr) if pulled.returncode != 0 else ""
        except subprocess.TimeoutExpired:
            failure = f"no answer within {PULL_SECONDS} s"
        if failure:
            raise ChartUnavailableError(
                f"the deliveryhero tests need deliveryhero/{NAME} {VERSION}: set {CHART_VARIABLE} to its folder "
                f"or .tgz, or give helm access to {repository} (helm pull {NAME} --repo {repository} "
                f"--version {VERSION} failed: {failure})"
            )
        package = next(destination.glob("*.tgz"))
        _verify(package, f"the chart pulled from {repository}")
        kept = cache / f"{NAME}-{VERSION}.tgz"
        shutil.move(package, kept)
        return kept


def find_deliveryhero_chart(helm: Path, root: Path, environ: Mapping[str, str], repository: str = REPOSITORY) -> Path:
    """The verified chart (a folder or a ``.tgz``) for the repository at ``root``, found or pulled as the
    module says; :class:`ChartUnavailableError` when none works. ``helm`` is helm 4."""
    if environ.get(CHART_VARIABLE):
        path = Path(environ[CHART_VARIABLE])
        return _verified(helm, path, f"{CHART_VARIABLE}={path}")
    vendored = root.parent / VENDORED
    if vendored.exists():
        return _verified(helm, vendored, str(vendored))
    cached = root / CACHE / f"{NAME}-{VERSION}.tgz"
    if cached.exists():
        return _verified(helm, cached, f"{cached} (pulled before; delete it to pull again)")
    return _pull(helm, repository, root / CACHE)
