#!/usr/bin/env bash
# The main job on the embedded default: build asklake, write the demo lake, ask it a question.
# With an LLM configured (ASKLAKE_LLM=bedrock with AWS credentials, or ASKLAKE_LLM=openai with ASKLAKE_MODEL and
# OPENAI_BASE_URL / OPENAI_API_KEY), `asklake ask` answers with SQL, the result and an explanation. Without one,
# it answers a question from the verified library, shows the prompt it would send for the main question, and
# runs that question's SQL directly.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo build --release -p asklake-cli
ASKLAKE="$CARGO_TARGET_DIR/release/asklake"
[ -f asklake-demo/manifest.json ] || "$ASKLAKE" demo --dir asklake-demo
QUESTION="Which source IPs made the most API calls last week?"
if [ -n "${ASKLAKE_LLM:-}" ] && [ "${ASKLAKE_LLM}" != none ]; then
  "$ASKLAKE" --lake asklake-demo ask "$QUESTION"
else
  echo "No LLM configured (set ASKLAKE_LLM=bedrock or openai): questions close to the verified library are"
  echo "answered from it:"
  "$ASKLAKE" --lake asklake-demo ask "Are there logs of root account usage?"
  echo
  echo "Other questions need a model; the prompt asklake would send for \"$QUESTION\" begins:"
  PROMPT=$(mktemp)
  "$ASKLAKE" --lake asklake-demo ask "$QUESTION" --show-prompt > "$PROMPT"
  sed -n '1,30p' "$PROMPT"
  echo "… ($(wc -c < "$PROMPT") characters in all)"
  rm -f "$PROMPT"
  "$ASKLAKE" --lake asklake-demo sql "SELECT src_endpoint.ip, count(*) AS api_calls
    FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0
    WHERE time_dt > current_timestamp - INTERVAL '7' DAY AND src_endpoint.ip IS NOT NULL
    GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
fi
