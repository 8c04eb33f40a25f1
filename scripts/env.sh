# Source this: sets up the prebuilt DuckDB and a build cache shared by every checkout.
#   . scripts/env.sh
_asklake_dir=$(bash "$(dirname "${BASH_SOURCE[0]}")/setup-duckdb.sh") || return 1
export DUCKDB_LIB_DIR="$_asklake_dir"
export LD_LIBRARY_PATH="$_asklake_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/asklake/target}"
unset _asklake_dir
