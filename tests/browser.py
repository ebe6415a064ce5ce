"""Headless Chromium (Debian's ``chromium`` package) for tests that render pages the project writes.

The binary is found through ``CHROMIUM`` first, then ``PATH`` (``tools/install-browser.sh`` installs
it). A missing browser fails the test that needs it, with the way to get it: these tests never skip.
Pages are opened from ``file://`` with every host resolving nowhere, so a page that tried to load
anything from the network would render without it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["chromium", "dump_dom", "screenshot", "widths"]

_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests may run as root, where Chromium refuses its sandbox
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def chromium() -> str:
    """Path of the Chromium binary, or a failed test that says how to install it."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("chromium not found: set CHROMIUM or run tools/install-browser.sh (Debian package chromium)")
    return found


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium(), *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def screenshot(page: Path, output: Path, *, width: int = 1000, height: int = 1800, timeout: float = 120) -> Path:
    """Render ``page`` and save a PNG screenshot of the first ``width`` by ``height`` pixels."""
    done = _run([f"--window-size={width},{height}", f"--screenshot={output}", page.resolve().as_uri()], timeout=timeout)
    assert output.is_file(), f"no screenshot from chromium:\n{done.stderr[-3000:]}"
    return output


def dump_dom(page: Path, *, timeout: float = 120) -> str:
    """The DOM of ``page`` after Chromium rendered it, serialised as HTML."""
    done = _run(["--dump-dom", page.resolve().as_uri()], timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def widths(page: Path, *, width: int, height: int = 900, timeout: float = 120) -> tuple[int, int]:
    """``(document width, window width)`` in CSS pixels of ``page`` rendered in a ``width``-pixel window.

    A page that fits its window has a document no wider than the window: nothing sits off-screen to
    the right. Measured by a script added to a copy of the page (the page itself has none).
    """
    probe = page.with_name(f".{page.stem}-widths.html")
    script = (
        "<script>document.documentElement.setAttribute('data-widths',"
        " document.documentElement.scrollWidth + ' ' + window.innerWidth)</script>"
    )
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8")
    try:
        done = _run([f"--window-size={width},{height}", "--dump-dom", probe.resolve().as_uri()], timeout=timeout)
    finally:
        probe.unlink()
    found = re.search(r'data-widths="(\d+) (\d+)"', done.stdout)
    assert found, f"no widths from chromium:\n{done.stderr[-3000:]}"
    return int(found[1]), int(found[2])
