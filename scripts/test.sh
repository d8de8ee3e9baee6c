#!/usr/bin/env bash
# Set up everything the tests need (a virtualenv with the test extras, Debian's
# chromium for the browser tests), lint, then run the test suite.
#
# The virtualenv is .venv-test, not scripts/run.sh's .venv: reinstalling into the
# virtualenv a development server runs from kills its reloader, so the two can run
# side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (browser tests)..." >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
command -v node >/dev/null || { echo "node is required: the minifier tests run minified JS with it" >&2; exit 1; }

python3 -m venv .venv-test
.venv-test/bin/python -m pip install -q --upgrade pip
.venv-test/bin/python -m pip install -q -e ".[test]"
.venv-test/bin/ruff check .
.venv-test/bin/ruff format --check .
.venv-test/bin/mypy  # app/, per [tool.mypy] in pyproject.toml
.venv-test/bin/python -m pytest -q "$@"
