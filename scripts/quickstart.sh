#!/usr/bin/env bash
# The main job on the embedded default: build asklake, write the demo lake, ask it a first question in SQL.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
cargo build --release -p asklake
ASKLAKE="$CARGO_TARGET_DIR/release/asklake"
"$ASKLAKE" demo --dir asklake-demo
"$ASKLAKE" --lake asklake-demo sql "SELECT src_endpoint.ip, count(*) AS api_calls
  FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0
  WHERE time_dt > current_timestamp - INTERVAL '7' DAY AND src_endpoint.ip IS NOT NULL
  GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
