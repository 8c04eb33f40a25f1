#!/usr/bin/env bash
# Fetches the official prebuilt DuckDB 1.5.6 shared library (libduckdb.so, C API, with the parquet, json and
# icu extensions built in) from the npm registry package @duckdb/node-bindings-linux-x64, checks its SHA-256,
# and puts it in $ASKLAKE_DUCKDB_DIR (default ~/.cache/asklake/duckdb/1.5.6). Prints the directory.
#
# Why: the `duckdb` crate's `bundled` build compiles DuckDB's C++ from source, 45+ minutes on 2 cores.
# Linking this library instead (DUCKDB_LIB_DIR) builds asklake in a few minutes. `cargo build --features
# bundled` still works where no prebuilt library fits (other platforms).
set -euo pipefail
VERSION=1.5.6
PACKAGE="@duckdb/node-bindings-linux-x64@${VERSION}-r.1"
SHA256=3f4962cdd266eab2b479a5b5a4a6d063d279b2954ae814ed00385d553b747633
DIR="${ASKLAKE_DUCKDB_DIR:-$HOME/.cache/asklake/duckdb/$VERSION}"

if [ -f "$DIR/libduckdb.so" ] && echo "$SHA256  $DIR/libduckdb.so" | sha256sum -c --status; then
  echo "$DIR"
  exit 0
fi
if [ "$(uname -sm)" != "Linux x86_64" ]; then
  echo "setup-duckdb: no prebuilt library for $(uname -sm); build with: cargo build --features bundled" >&2
  exit 1
fi
command -v npm >/dev/null || { echo "setup-duckdb: npm is needed to fetch $PACKAGE (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/libduckdb.so
echo "$SHA256  $tmp/package/libduckdb.so" | sha256sum -c --status || {
  echo "setup-duckdb: checksum mismatch for libduckdb.so from $PACKAGE" >&2
  exit 1
}
mkdir -p "$DIR"
mv "$tmp/package/libduckdb.so" "$DIR/libduckdb.so"
echo "$DIR"
