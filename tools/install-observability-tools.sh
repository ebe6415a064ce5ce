#!/bin/sh
# Install the binaries the observability tests and benchmarks use, from Debian's archive:
#   prometheus (+ promtool), prometheus-pushgateway, nginx-light (benchmark target).
# Idempotent: does nothing when every binary is already present. Needs root (or sudo) only to install.
set -eu

missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
command -v prometheus-pushgateway >/dev/null 2>&1 || missing="$missing prometheus-pushgateway"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"

if [ -z "$missing" ]; then
    echo "observability tools present: prometheus, promtool, prometheus-pushgateway, nginx"
    exit 0
fi

# de-duplicate the package list
packages=$(printf '%s\n' $missing | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "missing packages: $packages (run this script as root to install them)" >&2
        exit 1
    fi
else
    SUDO=""
fi

echo "installing: $packages"
# The packages' service units are never started: tests run each binary as a plain process with
# its own temporary configuration on 127.0.0.1.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages
