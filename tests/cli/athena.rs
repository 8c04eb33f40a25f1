//! `asklake --engine athena` against the loopback fake Athena, through the real AWS SDK.
#![cfg(feature = "athena")]

use asklake::testing::athena::{FakeAthena, Faults};

use crate::common::*;

const TOP: &str = "SELECT src_endpoint.ip, count(*) AS calls, max(time_dt) AS last_seen FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0 WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10";

/// `--engine athena` with the standard AWS environment (`AWS_ENDPOINT_URL_ATHENA`).
#[tokio::test]
async fn cli_runs_on_athena() {
    let fake = FakeAthena::start(engine(), Faults::default())
        .await
        .unwrap();
    let run = |args: Vec<String>| {
        let url = fake.url();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
                .args([
                    "--engine",
                    "athena",
                    "--region",
                    "us-east-1",
                    "--output-location",
                    "s3://bucket/asklake/",
                ])
                .args(args)
                .env("AWS_ENDPOINT_URL_ATHENA", url)
                .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
                .env("AWS_SECRET_ACCESS_KEY", "secret")
                .envs(ISOLATED_AWS)
                .env_remove("AWS_PROFILE")
                .output()
                .await
                .unwrap()
        }
    };
    let out = run(vec!["tables".into(), "--format".into(), "json".into()]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(tables.as_array().unwrap().len(), 10, "{stdout}");
    let out = run(vec![
        "sql".into(),
        TOP.into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["row_count"], 10);
    assert_eq!(j["columns"][1]["type"], "bigint");
    // The cost guard answers with exit code 2 and a reason.
    let out = run(vec!["sql".into(), format!("SELECT count(*) FROM {CT2}")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("time filter"));
}
