"""Makes docs/img/report.png: a real run against the embedded demo target, its HTML report, a screenshot.

    python docs/report_picture.py                 # about a minute; needs Debian's chromium
    python docs/report_picture.py --keep DIR      # also keep the record and the report in DIR

The run is the stress profile with thresholds (one of which fails on purpose, so the picture shows
both outcomes); everything stays on 127.0.0.1. Chromium comes from ``CHROMIUM`` or ``PATH``
(``tools/install-browser.sh`` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).parent
ENDPOINTS = [
    {"path": "/api/items", "weight": 5},
    {"path": "/api/items/7", "name": "/api/items/[id]", "weight": 3},
    {"path": "/slow?ms=40", "name": "/slow", "weight": 1},
    {"path": "/status/503", "name": "/flaky", "weight": 1, "status": [200]},
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(folder: Path) -> Path:
    """Run the profile against a demo target of its own; the path of the HTML report."""
    port = _free_port()
    target = subprocess.Popen([sys.executable, "-m", "locust_scenarios", "target", "--port", str(port)])
    try:
        time.sleep(1.0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST")}
        env.update(
            {
                "LOCUST_SCENARIO": "stress",
                "LOCUST_SCENARIO_USERS": "12",
                "LOCUST_SCENARIO_DURATION": "50s",
                "LOCUST_SCENARIO_STEPS": "3",
                "LOCUST_SCENARIO_THINK_TIME": "100ms-300ms",
                "LOCUST_SCENARIO_ENDPOINTS": json.dumps(ENDPOINTS),
                "LOCUST_SCENARIO_THRESHOLDS": "p95<100ms,[GET /slow]p99<45ms,fail_ratio<15%",
                "LOCUST_SCENARIO_TAGS": "environment=docs",
                "LOCUST_SCENARIO_RECORD": str(folder / "record.json"),
                "LOCUST_SCENARIO_REPORT": str(folder / "report.html"),
            }
        )
        command = [sys.executable, "-m", "locust_scenarios", "run", "--headless", "-H", f"http://127.0.0.1:{port}"]
        subprocess.run(command, env=env, timeout=180, check=False, stdout=subprocess.DEVNULL)
    finally:
        target.send_signal(signal.SIGTERM)
        target.wait(timeout=30)
    return folder / "report.html"


def _screenshot(page: Path, output: Path) -> None:
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not browser:
        sys.exit("chromium not found: run tools/install-browser.sh or set CHROMIUM")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={profile}",
                "--window-size=1000,1560",
                f"--screenshot={output}",
                page.resolve().as_uri(),
            ],
            timeout=120,
            check=True,
            capture_output=True,
        )


def main() -> int:
    """Run, render, screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="folder to keep the record and report in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep) if args.keep else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        page = _run(folder)
        _screenshot(page, DOCS / "img" / "report.png")
    print(f"wrote {DOCS / 'img' / 'report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
