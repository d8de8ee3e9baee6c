#!/usr/bin/env bash
# Set up a virtualenv (.venv) with the project, then run the site in development mode.
# scripts/test.sh uses its own .venv-test, so the tests can run while this serves.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/flask --app app run --debug "$@"
