"""Where the chart, the helmfile and the dashboards are: inside the installed package, or in a checkout.

A wheel carries them in ``locust_scenarios/_assets/{chart,helmfile,dashboards}`` (pyproject force-includes
them); a source checkout keeps them at the repository root. The installed copy wins, so a ``pip install``
always bundles the chart that matches the installed code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Assets", "AssetsNotFoundError", "locate"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


class AssetsNotFoundError(FileNotFoundError):
    """Neither the installed ``_assets`` folder nor a source checkout has the chart."""


@dataclass(frozen=True)
class Assets:
    """Folders that ``locust-scenarios bundle`` copies; ``dashboards`` is ``None`` when absent."""

    chart: Path
    helmfile: Path
    dashboards: Path | None


def _from(root: Path) -> Assets | None:
    chart, helmfile, dashboards = root / "chart", root / "helmfile", root / "dashboards"
    if not (chart / "Chart.yaml").is_file() or not helmfile.is_dir():
        return None
    return Assets(chart=chart, helmfile=helmfile, dashboards=dashboards if dashboards.is_dir() else None)


def locate(package_dir: Path = _PACKAGE_DIR) -> Assets:
    """The assets of the installed package, else those of the source checkout ``package_dir`` sits in."""
    for root in (package_dir / "_assets", package_dir.parent.parent):
        found = _from(root)
        if found is not None:
            return found
    raise AssetsNotFoundError(
        f"no chart found in {package_dir / '_assets'} nor in a source checkout around {package_dir}; "
        "reinstall locust-scenarios"
    )
