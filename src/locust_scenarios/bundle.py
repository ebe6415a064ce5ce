"""``locust-scenarios bundle``: pack the installed package and the locustfiles for the Helm chart.

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

Only the standard library is used here, so bundling never imports Locust or the plugin.
"""

from __future__ import annotations

import argparse
import ast
import base64
import gzip
import importlib.metadata
import io
import json
import math
import operator
import os
import re
import shutil
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locust_scenarios.assets import Assets, AssetsNotFoundError, locate
from locust_scenarios.exitcodes import ExitCode

__all__ = [
    "CONFIGMAP_KEY",
    "MAX_CONFIGMAP_BYTES",
    "MAX_RELEASE_BYTES",
    "BundleError",
    "BundleReport",
    "add_parser",
    "build_bundle",
    "configmap_key",
    "evaluate_marker",
    "main",
    "pythonpath_zip",
    "refresh_bundle",
    "release_size",
    "required_distributions",
    "run",
]

MAX_CONFIGMAP_BYTES = 1024 * 1024
"""Kubernetes rejects a ConfigMap whose data exceeds 1 MiB."""

MAX_RELEASE_BYTES = 1024 * 1024
"""Helm stores a release in one Secret; Kubernetes rejects Secrets above 1 MiB."""

RELEASE_MARGIN = 1.10
"""The release estimate is raised by 10%: the manifest is approximated, and Go's gzip (Helm's) packs
a little less tightly than zlib at level 9."""

CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")
"""What Kubernetes accepts as a ConfigMap key."""

PACKAGE = "locust-scenarios"
IMPORT_NAME = "locust_scenarios"
BASE = "locust"
DEFAULT_IMAGE_PYTHON = "3.13"
"""Python of the ``locustio/locust`` image; dependency markers are evaluated for it."""

MANIFEST_NAME = "bundle.json"
PYTHONPATH_ZIP = "pythonpath.zip"
"""With ``--zip``: the package and the helper modules as one zip, under the chart's ``files/``."""
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_PACKAGE_DIR = Path(__file__).resolve().parent
FILES = "files"
_COMPILED_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
_SKIPPED_PARTS = frozenset({"__pycache__", "_assets"})
_HOST_ONLY_MODULES = frozenset(
    {
        "__main__.py",
        "cli.py",
        "bundle.py",
        "assets.py",
        "_kube.py",
        "fetch.py",
        "compare.py",
        "_demo.py",
        "_demo_target.py",
    }
)
"""Modules that run only where the bundle is made (the command line, the bundler, the Kubernetes and
comparison commands, the demo). No pod imports them, and in the pods they would only take room in the
release that Helm stores in one Secret of at most 1 MiB."""


class BundleError(Exception):
    """The bundle cannot be made; ``str()`` is one line naming what and the limit."""

    exit_code = ExitCode.INVALID_CONFIG


# --- which distributions the image lacks -------------------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _marker_environment(python_version: str) -> dict[str, str]:
    """PEP 508 marker values of the Linux image (CPython ``python_version``), not of this machine."""
    return {
        "python_version": python_version,
        "python_full_version": python_version + ".0",
        "implementation_name": "cpython",
        "implementation_version": python_version + ".0",
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "sys_platform": "linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def _version_key(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


_ORDERINGS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _compare(op: ast.cmpop, left: str, right: str) -> bool:
    """One marker comparison: versions compare numerically when both sides are versions."""
    if isinstance(op, ast.In | ast.NotIn):
        return (left in right) == isinstance(op, ast.In)
    compare = _ORDERINGS.get(type(op))
    if compare is None:
        raise ValueError(f"unsupported marker operator {type(op).__name__}")
    lkey, rkey = _version_key(left), _version_key(right)
    if lkey is None or rkey is None:
        return compare(left, right)
    width = max(len(lkey), len(rkey))
    return compare(lkey + (0,) * (width - len(lkey)), rkey + (0,) * (width - len(rkey)))


def evaluate_marker(marker: str, environment: Mapping[str, str]) -> bool:
    """Evaluate a PEP 508 environment marker (``python_version < '3.12' and extra == 'x'``).

    Markers are Python comparison syntax, so the standard ``ast`` parses them; ``~=`` is read as
    ``>=`` and ``===`` as ``==``, which is close enough for choosing dependencies.
    """
    text = marker.replace("===", "==").replace("~=", ">=")

    def value(node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in environment:
            return environment[node.id]
        raise ValueError(f"unsupported marker term in {marker!r}")

    def truth(node: ast.expr) -> bool:
        if isinstance(node, ast.BoolOp):
            results = [truth(v) for v in node.values]
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.Compare):
            left = value(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = value(comparator)
                if not _compare(op, left, right):
                    return False
                left = right
            return True
        raise ValueError(f"unsupported marker {marker!r}")

    return truth(ast.parse(text.strip(), mode="eval").body)


_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _parse_requirement(text: str) -> tuple[str, frozenset[str], str]:
    """Name, extras and marker of a requirement string (``pydantic[email]>=2; python_version<'3.12'``)."""
    spec, _, marker = text.partition(";")
    match = _REQUIREMENT.match(spec)
    if match is None:
        raise BundleError(f"cannot read the requirement {text!r}")
    extras = frozenset(_normalise(e) for e in (match.group(2) or "").split(",") if e.strip())
    return _normalise(match.group(1)), extras, marker.strip()


def _requirements_of(name: str, checkout: Path | None) -> list[str]:
    if name == PACKAGE and checkout is not None:
        project = tomllib.loads((checkout / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        return list(project.get("dependencies", []))
    try:
        return importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        raise BundleError(
            f"{name} is required on the image's Python but is not installed here: install it, then bundle"
        ) from None


def _installed_version(name: str, checkout: Path | None) -> str:
    if name == PACKAGE and checkout is not None:
        project = tomllib.loads((checkout / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        return str(project["version"])
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        raise BundleError(
            f"{name} is required on the image's Python but is not installed here: install it, then bundle"
        ) from None


def _closure(roots: Iterable[str], python_version: str, checkout: Path | None) -> set[str]:
    """Every distribution the roots need on the image, following extras and markers."""
    environment = _marker_environment(python_version)
    visited: set[tuple[str, str]] = set()  # (distribution, extra); "" stands for its base requirements
    pending = [(_normalise(root), "") for root in roots]
    while pending:
        name, extra = pending.pop()
        if (name, extra) in visited:
            continue
        visited.add((name, extra))
        for requirement in _requirements_of(name, checkout):
            dep, dep_extras, marker = _parse_requirement(requirement)
            if marker and not evaluate_marker(marker, {**environment, "extra": extra}):
                continue
            pending.append((dep, ""))
            pending.extend((dep, e) for e in dep_extras)
    return {name for name, _ in visited}


def required_distributions(
    python_version: str = DEFAULT_IMAGE_PYTHON,
    extra_packages: Sequence[str] = (),
    package_dir: Path | None = None,
) -> list[str]:
    """Pinned ``name==version`` of what locust-scenarios (and ``extra_packages``) need beyond Locust.

    Versions are those installed here, so the pods run what was tested here. When the package runs
    from a source checkout (``package_dir``, default this package), its ``pyproject.toml`` describes it.
    """
    checkout = _checkout_of((package_dir or _PACKAGE_DIR).resolve())
    ours = _closure([PACKAGE, *extra_packages], python_version, checkout)
    theirs = _closure([BASE], python_version, checkout)
    missing = sorted(ours - theirs - {PACKAGE})
    return [f"{name}=={_installed_version(name, checkout)}" for name in missing]


# --- what rides in the ConfigMaps ------------------------------------------------------------------


def configmap_key(relative_path: str) -> str:
    """The ConfigMap key of a file at ``relative_path``: ``/`` becomes ``.`` (items[].path restores it)."""
    return relative_path.replace("/", ".")


@dataclass(frozen=True)
class _Payload:
    """One ConfigMap's worth of files: relative path -> text."""

    name: str
    files: dict[str, str]

    @property
    def size(self) -> int:
        return sum(len(configmap_key(p).encode()) + len(t.encode()) for p, t in self.files.items())


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{what} {path} is not UTF-8 text; only pure-Python code rides in ConfigMaps") from None


def _package_files(package_dir: Path, version: str) -> dict[str, str]:
    """The installed package's files (no caches, no chart assets, no host-only modules) plus a minimal dist-info."""
    files: dict[str, str] = {}
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if path.is_dir() or _SKIPPED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        if relative.as_posix() in _HOST_ONLY_MODULES:
            continue
        if path.suffix in _COMPILED_SUFFIXES:
            raise BundleError(f"{path} is compiled code; only pure-Python code rides in ConfigMaps")
        files[f"{IMPORT_NAME}/{relative.as_posix()}"] = _read_text(path, "package file")
    # importlib.metadata.version("locust-scenarios") then works in the pods too.
    files[f"{IMPORT_NAME}-{version}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n"
    )
    return files


def _user_files(locustfiles: Sequence[Path], modules: Sequence[Path]) -> tuple[dict[str, str], list[str]]:
    files: dict[str, str] = {}
    names: list[str] = []
    for path in locustfiles:
        if not path.is_file():
            raise BundleError(f"locustfile {path} does not exist")
        names.append(path.name)
        _add_user_file(files, path.name, path)
    for path in modules:
        if path.is_dir():
            for item in sorted(path.rglob("*.py")):
                if "__pycache__" not in item.parts:
                    _add_user_file(files, f"{path.name}/{item.relative_to(path).as_posix()}", item)
        elif path.is_file():
            _add_user_file(files, path.name, path)
        else:
            raise BundleError(f"module {path} does not exist")
    return files, names


def _add_user_file(files: dict[str, str], relative: str, path: Path) -> None:
    if relative in files:
        raise BundleError(f"two files would both be {relative} in the locustfiles ConfigMap")
    files[relative] = _read_text(path, "file")


def _check_payload(payload: _Payload) -> None:
    keys: dict[str, str] = {}
    for relative in payload.files:
        key = configmap_key(relative)
        if not CONFIGMAP_KEY.fullmatch(key):
            raise BundleError(
                f"{relative} cannot be a key of the {payload.name} ConfigMap: "
                f"{key!r} does not match [-._a-zA-Z0-9]+ (rename the file)"
            )
        if key in keys:
            raise BundleError(f"{relative} and {keys[key]} map to the same {payload.name} ConfigMap key {key!r}")
        keys[key] = relative
    if payload.size > MAX_CONFIGMAP_BYTES:
        raise BundleError(
            f"the {payload.name} ConfigMap would hold {payload.size} bytes, above the Kubernetes limit "
            f"of 1 MiB ({MAX_CONFIGMAP_BYTES} bytes)"
        )


def pythonpath_zip(files: Mapping[str, str]) -> bytes:
    """The files (relative path -> text) as a zip for ``PYTHONPATH``, byte-identical for the same input.

    Fixed timestamps and modes, sorted entries: a refresh with unchanged code rewrites the same bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for relative in sorted(files):
            info = zipfile.ZipInfo(relative, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[relative].encode("utf-8"))
    return buffer.getvalue()


def _check_zip(data: bytes) -> None:
    if len(data) > MAX_CONFIGMAP_BYTES:
        raise BundleError(
            f"the {PYTHONPATH_ZIP} of --zip would be {len(data)} bytes, above the Kubernetes ConfigMap "
            f"limit of 1 MiB ({MAX_CONFIGMAP_BYTES} bytes)"
        )


# --- how big the Helm release gets ----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def release_size(chart_dir: Path, manifest: str) -> int:
    """Bytes Helm stores for a release of ``chart_dir`` rendering ``manifest``.

    Helm serialises the release (chart metadata, templates, values, schema and every other chart
    file, each as base64 in JSON, plus the rendered manifest) as JSON, gzips it and base64-encodes
    the result into its release Secret, whose data Kubernetes limits to 1 MiB.
    """
    templates, files = [], []
    for path in sorted(chart_dir.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(chart_dir).as_posix()
        entry = {"name": relative, "data": _b64(path.read_bytes())}
        if relative.startswith("templates/"):
            templates.append(entry)
        elif relative not in {"Chart.yaml", "values.yaml", "values.schema.json", "Chart.lock"}:
            files.append(entry)
    schema = chart_dir / "values.schema.json"
    release = {
        "name": "locust-scenarios",
        "info": {"status": "deployed", "notes": ""},
        "chart": {
            "metadata": {"name": chart_dir.name},
            "lock": None,
            "templates": templates,
            "values": {"raw": (chart_dir / "values.yaml").read_text(encoding="utf-8")},
            "schema": _b64(schema.read_bytes()) if schema.is_file() else None,
            "files": files,
        },
        "manifest": manifest,
        "version": 1,
        "namespace": "default",
    }
    packed = gzip.compress(json.dumps(release).encode(), compresslevel=9, mtime=0)
    return len(base64.b64encode(packed))


def _manifest_estimate(chart_dir: Path, payloads: Sequence[_Payload]) -> str:
    """A stand-in for the rendered manifest: every payload as the ConfigMaps carry it, plus templates.

    Templates are counted whole although conditionals drop parts of them, so this errs high.
    """
    parts = [path.read_text(encoding="utf-8") for path in sorted((chart_dir / "templates").glob("*.yaml"))]
    for payload in payloads:
        for relative, text in payload.files.items():
            indented = "\n".join("    " + line for line in text.splitlines())
            parts.append(f"  {configmap_key(relative)}: |-\n{indented}\n")
            parts.append(f"      - key: {configmap_key(relative)}\n        path: {relative}\n" * 2)
    return "---\n".join(parts)


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
    from .settings import parse_duration  # noqa: PLC0415  (Locust and pydantic load only when bundling)
    from .shapes import iter_profiles  # noqa: PLC0415

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
    from ._options import OPTIONS, SCENARIO, env_name  # noqa: PLC0415  (Locust loads only when bundling)

    def key(field: str) -> str:
        first, *rest = field.split("_")
        return "name" if field == SCENARIO.bare else first + "".join(word.capitalize() for word in rest)

    return {
        key(option.field): env_name(SCENARIO, option.field)
        for option in OPTIONS
        if option.group is SCENARIO and not option.secret
    }


def _checkout_of(package_dir: Path) -> Path | None:
    """The source tree the package runs from, if it is not an installed copy."""
    root = package_dir.parent.parent
    return root if (root / "pyproject.toml").is_file() and package_dir.parent.name == "src" else None


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
    package_dir = (package_dir or _PACKAGE_DIR).resolve()
    checkout = _checkout_of(package_dir)
    version = _installed_version(PACKAGE, checkout)
    locust_version = _installed_version(BASE, None)
    requirements = required_distributions(image_python, extra_packages, package_dir)

    package = _Payload("package", _package_files(package_dir, version))
    user_files, locustfile_names = _user_files(locustfiles, modules)
    user = _Payload("locustfiles", user_files)
    for payload in (package, user):
        _check_payload(payload)
    helpers = {path: text for path, text in user.files.items() if path not in locustfile_names}
    archive = pythonpath_zip({**package.files, **helpers}) if pythonpath_zip_too else None
    if archive is not None:
        _check_zip(archive)

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
        dashboards = _Payload(
            "dashboard",
            {p.name: _read_text(p, "dashboard") for p in sorted((chart / FILES / "dashboards").glob("*.json"))},
        )
        _check_payload(dashboards)
        size = round(release_size(chart, _manifest_estimate(chart, [package, user, dashboards])) * RELEASE_MARGIN)
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


# --- command line ----------------------------------------------------------------------------------


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="folder to write (new, empty, or an earlier bundle)")
    parser.add_argument(
        "--locustfile",
        "-f",
        dest="locustfiles",
        type=Path,
        action="append",
        default=[],
        help="a locustfile to ship (repeatable)",
    )
    parser.add_argument(
        "--module",
        dest="modules",
        type=Path,
        action="append",
        default=[],
        help="a helper module or package folder the locustfiles import (repeatable)",
    )
    parser.add_argument(
        "--with",
        dest="extra_packages",
        action="append",
        default=[],
        metavar="DISTRIBUTION",
        help="also install this installed distribution and what it needs, e.g. locust-plugins (repeatable)",
    )
    parser.add_argument(
        "--image-python",
        default=DEFAULT_IMAGE_PYTHON,
        help=f"Python version of the Locust image, for dependency markers (default {DEFAULT_IMAGE_PYTHON})",
    )
    parser.add_argument(
        "--zip",
        dest="pythonpath_zip",
        action="store_true",
        help=f"also write the package and the helper modules as one zip (chart/files/{PYTHONPATH_ZIP}) for "
        "charts that mount ConfigMaps flat: the helmfile's engine deliveryhero; kept by later refreshes",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="re-make an earlier bundle from the files it recorded, with the code installed now",
    )


def run(namespace: argparse.Namespace) -> int:
    """Run the bundle command; returns the process exit code (0, or 2 on refusal)."""
    try:
        if namespace.refresh:
            if namespace.locustfiles or namespace.modules:
                raise BundleError("--refresh reuses the recorded files: give no --locustfile or --module")
            report = refresh_bundle(namespace.directory, pythonpath_zip_too=namespace.pythonpath_zip)
        else:
            report = build_bundle(
                namespace.directory,
                namespace.locustfiles,
                namespace.modules,
                image_python=namespace.image_python,
                extra_packages=namespace.extra_packages,
                pythonpath_zip_too=namespace.pythonpath_zip,
            )
    except BundleError as error:
        print(f"locust-scenarios bundle: error: {error}", file=sys.stderr)
        return BundleError.exit_code
    for line in report.lines():
        print(line)
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``bundle`` on the ``locust-scenarios`` command's subparsers."""
    parser = subparsers.add_parser(
        "bundle",
        help="write the Helm chart, helmfile and packed code for Kubernetes into a folder",
        description=(__doc__ or "").split("\n\n", 1)[0],
    )
    _configure(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m locust_scenarios.bundle DIR --locustfile FILE``, as ``locust-scenarios bundle``."""
    parser = argparse.ArgumentParser(prog="locust-scenarios bundle")
    _configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
