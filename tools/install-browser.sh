#!/bin/sh
# Headless Chromium (Debian's chromium package) for the tests that load the web UI in a browser.
# Idempotent: does nothing when chromium is on PATH. Needs root to install.
set -eu
command -v chromium || apt-get install -y chromium
