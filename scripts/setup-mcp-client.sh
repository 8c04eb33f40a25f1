#!/usr/bin/env bash
# The real MCP client the `asklake mcp` tests drive: the official Python SDK from PyPI, in a virtualenv under
# ~/.cache/asklake/mcp-client (tests/cli/mcp.rs runs tests/mcp/ with it). Idempotent.
set -euo pipefail
PY=${PYTHON:-python3}
VENV="$HOME/.cache/asklake/mcp-client"
WANT="mcp==2.3.0 pytest==8.4.2"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.asklake-pins" 2>/dev/null)" != "$WANT" ]; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q $WANT
  echo "$WANT" > "$VENV/.asklake-pins"
fi
