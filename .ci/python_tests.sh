#!/usr/bin/env bash
# The Python bindings' tests: build rmlx-python into a private venv (debug build, fast to
# compile) and run its pytest suite. Needs Python 3 with venv and pip (PyPI reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(pwd)/target/ci-python-venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "maturin>=1.7,<2" numpy pytest
(cd crates/rmlx-python && VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --quiet)
"$venv/bin/python" -m pytest -q crates/rmlx-python/tests
