"""Which distributions the Locust image lacks: our requirement closure minus Locust's, pinned.

Markers are evaluated for the image's Python, not this machine's; versions are those installed here.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement

from .errors import BundleError

__all__ = [
    "BASE",
    "DEFAULT_IMAGE_PYTHON",
    "PACKAGE",
    "PACKAGE_DIR",
    "checkout_of",
    "evaluate_marker",
    "installed_version",
    "required_distributions",
]


PACKAGE = "locust-scenarios"
BASE = "locust"
DEFAULT_IMAGE_PYTHON = "3.13"
"""Python of the ``locustio/locust`` image; dependency markers are evaluated for it."""
PACKAGE_DIR = Path(__file__).resolve().parents[2]


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


def evaluate_marker(marker: str, environment: Mapping[str, str]) -> bool:
    """Evaluate a PEP 508 environment marker (``python_version < '3.12' and extra == 'x'``) with
    ``packaging``, for ``environment`` (the image's values) rather than this machine's."""
    try:
        return Marker(marker).evaluate(dict(environment))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as error:
        raise BundleError(f"cannot evaluate the dependency marker {marker!r}: {error}") from None


def _parse_requirement(text: str) -> tuple[str, frozenset[str], str]:
    """Name, extras and marker of a requirement string (``pydantic[email]>=2; python_version<'3.12'``)."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        raise BundleError(f"cannot read the requirement {text!r}") from None
    extras = frozenset(_normalise(extra) for extra in requirement.extras)
    return _normalise(requirement.name), extras, str(requirement.marker or "")


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


def installed_version(name: str, checkout: Path | None) -> str:
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
    checkout = checkout_of((package_dir or PACKAGE_DIR).resolve())
    ours = _closure([PACKAGE, *extra_packages], python_version, checkout)
    theirs = _closure([BASE], python_version, checkout)
    missing = sorted(ours - theirs - {PACKAGE})
    return [f"{name}=={installed_version(name, checkout)}" for name in missing]


def checkout_of(package_dir: Path) -> Path | None:
    """The source tree the package runs from, if it is not an installed copy."""
    root = package_dir.parent.parent
    return root if (root / "pyproject.toml").is_file() and package_dir.parent.name == "src" else None
