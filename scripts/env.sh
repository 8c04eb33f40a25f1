# Source this: sets up the prebuilt DuckDB, the default embedding model with ONNX Runtime, and a build cache
# shared by every checkout.
#   . scripts/env.sh
_asklake_scripts=$(dirname "${BASH_SOURCE[0]}")
_asklake_dir=$(bash "$_asklake_scripts/setup-duckdb.sh") || return 1
export DUCKDB_LIB_DIR="$_asklake_dir"
export LD_LIBRARY_PATH="$_asklake_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/asklake/target}"
_asklake_dir=$(bash "$_asklake_scripts/setup-embeddings.sh") || return 1
export ASKLAKE_EMBED_MODEL="${ASKLAKE_EMBED_MODEL:-$_asklake_dir}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$HOME"/.cache/asklake/ml/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | tail -1)}"
unset _asklake_dir _asklake_scripts
