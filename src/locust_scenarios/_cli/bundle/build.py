"""Writing the bundle folder: chart, helmfile, dashboards, the packed package and the locustfiles.

The stock ``locustio/locust`` image has Locust and its dependencies only. The bundle carries the rest:

- the pure-Python ``locust_scenarios`` package as it is installed here, for a ConfigMap whose keys are
  projected back into the package layout with ``items[].path`` (keys cannot contain ``/``);
- the user's locustfiles and helper modules, for a second ConfigMap;
- the pinned list of third-party distributions Locust lacks (our requirement closure minus Locust's,
  with markers evaluated for the image's Python), which an init container installs with
  ``pip install --no-deps --target``: without ``--no-deps`` pip would pull a second Locust and gevent;
- the chart, the helmfile and the dashboards, so that one folder deploys;
- with ``--zip``, the package and the helper modules once more as one zip (``files/pythonpath.zip``)
  for charts that mount ConfigMaps flat, without ``items[].path`` (deliveryhero/locust): a zip on
  ``PYTHONPATH`` keeps the package layout in a single key, and zipimport imports from it.

Kubernetes and Helm limits are checked before anything is written: ConfigMap keys must match
``[-._a-zA-Z0-9]+``, a ConfigMap holds at most 1 MiB, and Helm keeps the whole release (chart files and
rendered manifest, gzip-compressed and base64-encoded) in one Secret, also limited to 1 MiB. A refusal is
one line naming what and the limit, exit code 2, and leaves the target folder as it was.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from locust_scenarios._cli.assets import Assets, AssetsNotFoundError, locate
from locust_scenarios._settings.options import OPTIONS, SCENARIO, env_name

from .errors import BundleError
from .payload import (
    MAX_CONFIGMAP_BYTES,
    MAX_RELEASE_BYTES,
    PYTHONPATH_ZIP,
    RELEASE_MARGIN,
    Payload,
    check_payload,
    check_zip,
    manifest_estimate,
    package_files,
    pythonpath_zip,
    read_text,
    release_size,
    user_files,
)
from .requirements import (
    BASE,
    DEFAULT_IMAGE_PYTHON,
    PACKAGE,
    PACKAGE_DIR,
    checkout_of,
    installed_version,
    required_distributions,
)

__all__ = [
    "FILES",
    "MANIFEST_NAME",
    "BundleReport",
    "build_bundle",
    "planned_seconds",
    "refresh_bundle",
    "settings_env",
]


MANIFEST_NAME = "bundle.json"
FILES = "files"


# --- writing the folder ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleReport:
    """What was written and how close it came to each limit."""

    directory: Path
    package_files: int
    package_bytes: int
    user_files: int
    user_bytes: int
    requirements: list[str]
    release_bytes: int
    locust_version: str
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        return [
            f"bundle written to {self.directory}",
            f"package ConfigMap: {self.package_files} files, {self.package_bytes} bytes "
            f"({self.package_bytes / MAX_CONFIGMAP_BYTES:.1%} of 1 MiB)",
            f"locustfiles ConfigMap: {self.user_files} files, {self.user_bytes} bytes "
            f"({self.user_bytes / MAX_CONFIGMAP_BYTES:.1%} of 1 MiB)",
            f"Helm release (estimated): {self.release_bytes} bytes "
            f"({self.release_bytes / MAX_RELEASE_BYTES:.1%} of 1 MiB)",
            f"image: locustio/locust:{self.locust_version}",
            f"installed at pod start: {' '.join(self.requirements) or 'nothing'}",
            *self.notes,
        ]


def planned_seconds() -> dict[str, int]:
    """Each built-in profile's planned duration with its defaults, in whole seconds (rounded up).

    The chart derives its default Job deadline from it when the values name no duration or stages.
    """
    from locust_scenarios._settings.options import parse_duration  # noqa: PLC0415  (Locust and pydantic load only when bundling)
    from locust_scenarios._shapes.profile import iter_profiles  # noqa: PLC0415

    planned = {}
    for profile in iter_profiles():
        defaults = profile.class_defaults()
        stages = defaults.get("stages")
        if stages:
            seconds = sum(parse_duration(stage.split(":")[0]) for stage in str(stages).split(","))
        elif defaults.get("duration") is not None:
            seconds = parse_duration(defaults["duration"])
        else:
            continue
        planned[profile.scenario_name] = math.ceil(seconds)
    return planned


def settings_env() -> dict[str, str]:
    """The chart's ``scenario`` keys and the variables they become, from the option table.

    ``name`` is ``LOCUST_SCENARIO``, ``rampUp`` is ``LOCUST_SCENARIO_RAMP_UP``; the secret token has no
    key (it comes from a Secret). The chart and the helmfile's deliveryhero values read this map from
    bundle.json instead of spelling the variables themselves.
    """

    def key(field: str) -> str:
        first, *rest = field.split("_")
        return "name" if field == SCENARIO.bare else first + "".join(word.capitalize() for word in rest)

    return {
        key(option.field): env_name(SCENARIO, option.field)
        for option in OPTIONS
        if option.group is SCENARIO and not option.secret
    }


def _is_bundle(directory: Path) -> bool:
    return (directory / "chart" / FILES / MANIFEST_NAME).is_file()


def _write(root: Path, relative: str, text: str) -> None:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _set_chart_versions(chart_yaml: Path, version: str, locust_version: str) -> None:
    text = chart_yaml.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^version:.*$", f"version: {version}", text)
    text = re.sub(r"(?m)^appVersion:.*$", f'appVersion: "{locust_version}"', text)
    chart_yaml.write_text(text, encoding="utf-8")


def _relative_source(path: Path, directory: Path) -> str:
    return os.path.relpath(path.resolve(), directory.resolve())


def build_bundle(
    directory: Path,
    locustfiles: Sequence[Path],
    modules: Sequence[Path] = (),
    *,
    assets: Assets | None = None,
    image_python: str = DEFAULT_IMAGE_PYTHON,
    extra_packages: Sequence[str] = (),
    package_dir: Path | None = None,
    pythonpath_zip_too: bool = False,
) -> BundleReport:
    """Write chart, helmfile, dashboards, the packed package and the locustfiles into ``directory``.

    With ``pythonpath_zip_too`` the package and the helper modules are also written as one zip.

    Everything is written to a temporary sibling first and checked; ``directory`` (new, empty, or an
    earlier bundle) is replaced only when every check passed. Raises ``BundleError`` otherwise.
    """
    if not locustfiles:
        raise BundleError("at least one --locustfile is needed")
    directory = Path(os.path.abspath(directory))
    if directory.exists() and (not directory.is_dir() or (any(directory.iterdir()) and not _is_bundle(directory))):
        raise BundleError(f"{directory} exists and is not an earlier bundle: choose a new or empty folder")
    try:
        assets = assets or locate()
    except AssetsNotFoundError as error:
        raise BundleError(str(error)) from None
    package_dir = (package_dir or PACKAGE_DIR).resolve()
    checkout = checkout_of(package_dir)
    version = installed_version(PACKAGE, checkout)
    locust_version = installed_version(BASE, None)
    requirements = required_distributions(image_python, extra_packages, package_dir)

    package = Payload("package", package_files(package_dir, version))
    shipped, locustfile_names = user_files(locustfiles, modules)
    user = Payload("locustfiles", shipped)
    for payload in (package, user):
        check_payload(payload)
    helpers = {path: text for path, text in user.files.items() if path not in locustfile_names}
    archive = pythonpath_zip({**package.files, **helpers}) if pythonpath_zip_too else None
    if archive is not None:
        check_zip(archive)

    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        chart = staging / "chart"
        shutil.copytree(assets.chart, chart, ignore=shutil.ignore_patterns("__pycache__", FILES))
        shutil.copytree(assets.helmfile, staging / "helmfile", ignore=shutil.ignore_patterns("__pycache__"))
        if assets.dashboards is not None:
            shutil.copytree(assets.dashboards, staging / "dashboards")
            shutil.copytree(assets.dashboards, chart / FILES / "dashboards")
        _set_chart_versions(chart / "Chart.yaml", version, locust_version)
        for relative, text in package.files.items():
            _write(chart / FILES / "package", relative, text)
        for relative, text in user.files.items():
            _write(chart / FILES / "locustfiles", relative, text)
        if archive is not None:
            (chart / FILES / PYTHONPATH_ZIP).write_bytes(archive)
        manifest = {
            "bundleFormat": 1,
            "package": {"name": PACKAGE, "version": version},
            "locust": locust_version,
            "imagePython": image_python,
            "requirements": requirements,
            "extraPackages": list(extra_packages),
            "plannedSeconds": planned_seconds(),
            "settingsEnv": settings_env(),
            "locustfiles": locustfile_names,
            "pythonpathZip": archive is not None,
            "sources": {
                "locustfiles": [_relative_source(p, directory) for p in locustfiles],
                "modules": [_relative_source(p, directory) for p in modules],
            },
        }
        _write(chart / FILES, MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
        _write(
            staging,
            "requirements.txt",
            f"# What the init container installs (pip install --no-deps): locust-scenarios {version}'s\n"
            f"# dependencies that Locust {locust_version} lacks on Python {image_python}. For a custom image\n"
            "# see examples/Dockerfile.\n" + "".join(f"{line}\n" for line in requirements),
        )
        dashboards = Payload(
            "dashboard",
            {p.name: read_text(p, "dashboard") for p in sorted((chart / FILES / "dashboards").glob("*.json"))},
        )
        check_payload(dashboards)
        size = round(release_size(chart, manifest_estimate(chart, [package, user, dashboards])) * RELEASE_MARGIN)
        if size > MAX_RELEASE_BYTES:
            raise BundleError(
                f"the Helm release would take {size} bytes (chart files and manifest, gzip+base64), above "
                f"Helm's 1 MiB release Secret limit ({MAX_RELEASE_BYTES} bytes): ship fewer or smaller files"
            )
        _replace(directory, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BundleReport(
        directory=directory,
        package_files=len(package.files),
        package_bytes=package.size,
        user_files=len(user.files),
        user_bytes=user.size,
        requirements=requirements,
        release_bytes=size,
        locust_version=locust_version,
        notes=([] if assets.dashboards else ["no dashboards/ found: monitoring objects cannot be enabled"])
        + (
            [f"{PYTHONPATH_ZIP}: {len(archive)} bytes ({len(archive) / MAX_CONFIGMAP_BYTES:.1%} of 1 MiB)"]
            if archive
            else []
        ),
    )


def _replace(directory: Path, staging: Path) -> None:
    """Move the checked, staged tree into ``directory``.

    A new folder is one rename. An earlier bundle is updated file by file (each ``os.replace`` is
    atomic) and its stale files removed, keeping the folders themselves: helmfile runs the refresh
    from inside ``helmfile/`` and must not lose its working directory.
    """
    if not directory.exists():
        staging.rename(directory)
        return
    staged = {p.relative_to(staging) for p in staging.rglob("*")}
    for relative in sorted(staged):
        source, target = staging / relative, directory / relative
        if source.is_dir():
            if target.exists() and not target.is_dir():
                target.unlink()
            target.mkdir(parents=True, exist_ok=True)
        else:
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(source, target)
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.relative_to(directory) not in staged:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    shutil.rmtree(staging)


def refresh_bundle(directory: Path, *, assets: Assets | None = None, pythonpath_zip_too: bool = False) -> BundleReport:
    """Re-make an earlier bundle from the sources it recorded, with the code installed now.

    The zip of ``--zip`` is written when asked now or when the earlier bundle had it.
    """
    directory = Path(os.path.abspath(directory))
    manifest_path = directory / "chart" / FILES / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(f"{directory} is not a bundle (no chart/{FILES}/{MANIFEST_NAME}); bundle it first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    sources = manifest["sources"]
    return build_bundle(
        directory,
        [directory.resolve() / p for p in sources["locustfiles"]],
        [directory.resolve() / p for p in sources["modules"]],
        assets=assets,
        image_python=manifest.get("imagePython", DEFAULT_IMAGE_PYTHON),
        extra_packages=manifest.get("extraPackages", []),
        pythonpath_zip_too=pythonpath_zip_too or bool(manifest.get("pythonpathZip", False)),
    )
