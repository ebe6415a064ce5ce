"""What rides in the ConfigMaps, and the Kubernetes and Helm limits it must fit.

ConfigMap keys must match ``[-._a-zA-Z0-9]+``, a ConfigMap holds at most 1 MiB, and Helm keeps the
whole release (chart files and rendered manifest, gzip-compressed and base64-encoded) in one Secret,
also limited to 1 MiB.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .compact import compact
from .errors import BundleError
from .requirements import PACKAGE

__all__ = [
    "CONFIGMAP_KEY",
    "IMPORT_NAME",
    "MAX_CONFIGMAP_BYTES",
    "MAX_RELEASE_BYTES",
    "PYTHONPATH_ZIP",
    "RELEASE_MARGIN",
    "Payload",
    "check_payload",
    "check_zip",
    "configmap_key",
    "manifest_estimate",
    "package_files",
    "pythonpath_zip",
    "read_text",
    "release_size",
    "user_files",
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
IMPORT_NAME = "locust_scenarios"
PYTHONPATH_ZIP = "pythonpath.zip"
"""With ``--zip``: the package and the helper modules as one zip, under the chart's ``files/``."""
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_COMPILED_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
_SKIPPED_PARTS = frozenset({"__pycache__", "_assets"})
_HOST_ONLY = frozenset({"_cli", "__main__.py", "_records/compare.py"})
"""What runs only where the bundle is made: the command-line package (the commands, the bundler, the
Kubernetes commands, the demo and its target), its ``python -m`` entry, and ``compare`` (a command only:
a run judges a baseline from the record's figures, not by comparing records). No pod imports them, and in
the pods they would only take room in the release that Helm stores in one Secret of at most 1 MiB."""


# --- what rides in the ConfigMaps ------------------------------------------------------------------


def configmap_key(relative_path: str) -> str:
    """The ConfigMap key of a file at ``relative_path``: ``/`` becomes ``.`` (items[].path restores it)."""
    return relative_path.replace("/", ".")


@dataclass(frozen=True)
class Payload:
    """One ConfigMap's worth of files: relative path -> text."""

    name: str
    files: dict[str, str]

    @property
    def size(self) -> int:
        return sum(len(configmap_key(p).encode()) + len(t.encode()) for p, t in self.files.items())


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{what} {path} is not UTF-8 text; only pure-Python code rides in ConfigMaps") from None


def package_files(package_dir: Path, version: str) -> dict[str, str]:
    """The installed package's files (no caches, no chart assets, no host-only modules) plus a minimal dist-info.

    Modules ride without docstrings and comments, every line at its number (``compact.py`` says why).
    """
    files: dict[str, str] = {}
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if path.is_dir() or _SKIPPED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        if relative.parts[0] in _HOST_ONLY or relative.as_posix() in _HOST_ONLY:
            continue
        if path.suffix in _COMPILED_SUFFIXES:
            raise BundleError(f"{path} is compiled code; only pure-Python code rides in ConfigMaps")
        text = read_text(path, "package file")
        files[f"{IMPORT_NAME}/{relative.as_posix()}"] = compact(text, path.suffix)
    # importlib.metadata.version("locust-scenarios") then works in the pods too.
    files[f"{IMPORT_NAME}-{version}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n"
    )
    return files


def user_files(locustfiles: Sequence[Path], modules: Sequence[Path]) -> tuple[dict[str, str], list[str]]:
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
    files[relative] = read_text(path, "file")


def check_payload(payload: Payload) -> None:
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
        # Data files of journeys ride here too; one too large for a ConfigMap belongs in the image.
        hint = "; a large data file belongs in the image, named by an absolute path (docs/users.md#in-kubernetes)"
        raise BundleError(
            f"the {payload.name} ConfigMap would hold {payload.size} bytes, above the Kubernetes limit "
            f"of 1 MiB ({MAX_CONFIGMAP_BYTES} bytes)" + (hint if payload.name == "locustfiles" else "")
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


def check_zip(data: bytes) -> None:
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


def manifest_estimate(chart_dir: Path, payloads: Sequence[Payload]) -> str:
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
