#!/usr/bin/env bash
# The test suite: every Rust test of the workspace (unit, integration, doc tests), in debug with optimized
# dependencies, against the prebuilt DuckDB; then the Python package (scripts/test-python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
bash scripts/test-python.sh
