"""The generated docs match what the code says today."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO


def test_generated_docs_are_current() -> None:
    """docs/profiles.md and docs/settings.md equal what docs/generate.py writes now."""
    run = subprocess.run(
        [sys.executable, str(REPO / "docs" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_public_names_are_sorted_and_complete() -> None:
    """__all__ is sorted and lists exactly the package's public attributes (those loaded on use too)."""
    import types  # noqa: PLC0415

    import locust_scenarios  # noqa: PLC0415

    public = {name for name in dir(locust_scenarios) if not name.startswith("_")}
    modules = {name for name in public if isinstance(getattr(locust_scenarios, name), types.ModuleType)}
    assert list(locust_scenarios.__all__) == sorted(locust_scenarios.__all__)
    assert public - modules == set(locust_scenarios.__all__)


PAGES_WITH_SNIPPETS = ("README.md", "docs/index.md", "docs/concepts.md")
"""Pages whose Python blocks are self-contained snippets (the guides' locustfiles run in test_examples.py)."""


@pytest.mark.parametrize("page", PAGES_WITH_SNIPPETS)
def test_python_snippets_define_what_they_show(page: str) -> None:
    """Every Python block of the README and of the site's own pages runs: its imports exist, its classes
    can be defined and its asserts hold."""
    import re  # noqa: PLC0415

    text = (REPO / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, page
    for block in blocks:
        namespace: dict[str, object] = {"__name__": "docs_snippet"}
        exec(compile(block, page, "exec"), namespace)  # noqa: S102  (our own docs)
