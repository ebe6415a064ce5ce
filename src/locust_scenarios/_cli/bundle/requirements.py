"""Which distributions the Locust image lacks: our requirement closure minus Locust's, pinned.

Markers are evaluated for the image's Python, not this machine's; versions are those installed here.
"""

from __future__ import annotations

import ast
import importlib.metadata
import operator
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

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
