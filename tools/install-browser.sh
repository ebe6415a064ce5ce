#!/bin/sh
# Install headless Chromium from Debian's archive (package `chromium`): the tests render the HTML
# report (and any other page the project produces) in it and save screenshots.
# Idempotent: does nothing when a chromium binary is already present (CHROMIUM, then PATH).
# Needs root (or sudo) only to install.
set -eu

if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
    echo "browser present: $CHROMIUM"
    exit 0
fi
if command -v chromium >/dev/null 2>&1; then
    echo "browser present: $(command -v chromium)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "missing package: chromium (run this script as root to install it)" >&2
        exit 1
    fi
else
    SUDO=""
fi

echo "installing: chromium"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
