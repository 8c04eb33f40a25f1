//! The Athena engine through the real AWS SDK against a loopback fake Athena (JSON 1.1 protocol) that runs
//! each query on the embedded demo lake: discovery, typed paginated results, statistics and cost, failures,
//! queueing, throttling, timeouts with StopQueryExecution, the cost guard, EXPLAIN, and the pipeline on top.
#![cfg(all(feature = "athena", feature = "test-utils"))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use asklake::Error;
use asklake::arrow::datatypes::DataType as ArrowType;
use asklake::engine::athena::{AthenaConfig, AthenaEngine, table_info};
use asklake::engine::{QueryEngine, QueryOptions, format};
use asklake::llm::retry::RetryPolicy;
use asklake::pipeline::Text2Sql;
use asklake::schema::security_lake::{Source, SourceVersion};
use asklake::testing::athena::{FakeAthena, Faults};
use asklake::testing::scripted::Scripted;
use aws_sdk_athena::config::{BehaviorVersion, Credentials, Region};
use common::*;

fn config() -> AthenaConfig {
    AthenaConfig {
        first_poll: Duration::from_millis(5),
        max_poll: Duration::from_millis(20),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        output_location: Some("s3://asklake-results/test/".into()),
        ..AthenaConfig::default()
    }
}

async fn athena_with(faults: Faults, config: AthenaConfig) -> (FakeAthena, AthenaEngine) {
    let fake = FakeAthena::start(engine(), faults).await.unwrap();
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(fake.url())
        .credentials_provider(Credentials::new("AKIDFAKE", "secret", None, None, "test"))
        .retry_config(aws_sdk_athena::config::retry::RetryConfig::disabled())
        .build();
    let a = AthenaEngine::with_client(aws_sdk_athena::Client::from_conf(conf), config);
    (fake, a)
}

async fn athena(faults: Faults) -> (FakeAthena, AthenaEngine) {
    athena_with(faults, config()).await
}

const TOP: &str = "SELECT src_endpoint.ip, count(*) AS calls, max(time_dt) AS last_seen FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0 WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10";

#[tokio::test]
async fn discovers_security_lake_tables_like_the_local_engine() {
    let (fake, a) = athena(Faults::default()).await;
    let remote = a.catalog().await.unwrap();
    let local = engine().catalog().await.unwrap();
    assert_eq!(remote.tables.len(), local.tables.len());
    for t in &local.tables {
        let r = remote.find(&format!("{}.{}", t.database, t.name)).unwrap();
        assert_eq!(r.columns, t.columns, "{}", t.name);
        assert_eq!(r.security_lake, t.security_lake);
    }
    let ct = remote.find(CT2).unwrap().security_lake.clone().unwrap();
    assert_eq!(
        (ct.source, ct.version, ct.region.as_str()),
        (Source::CloudTrailMgmt, SourceVersion::V2, "us-east-1")
    );
    // 10 tables in pages of 4: ListTableMetadata was followed through NextToken.
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|(op, _)| op == "ListTableMetadata")
            .count(),
        3
    );
}

#[test]
fn every_reference_schema_parses_from_glue_type_strings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/security-lake");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let full = doc["table_name"].as_str().unwrap();
        let (db, name) = full.split_once('.').unwrap();
        let source = name
            .trim_start_matches("amazon_security_lake_table_us_east_1_")
            .trim_end_matches("_2_0");
        let cols =
            asklake::schema::security_lake_columns(source.parse().unwrap(), SourceVersion::V2)
                .unwrap();
        // Glue hands Athena the Hive type strings; discovery must parse them back to the same tree.
        let meta = aws_sdk_athena::types::TableMetadata::builder()
            .name(name)
            .set_columns(Some(
                cols.iter()
                    .map(|c| {
                        aws_sdk_athena::types::Column::builder()
                            .name(&c.name)
                            .r#type(c.data_type.hive_name())
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .build()
            .unwrap();
        let t = table_info(db, &meta).unwrap();
        assert_eq!(t.columns, cols, "{name}");
        assert_eq!(t.security_lake.unwrap().source.as_str(), source);
        n += 1;
    }
    assert_eq!(n, 8);
}

#[tokio::test]
async fn results_match_the_local_engine_typed() {
    let (fake, a) = athena(Faults::default()).await;
    let opts = QueryOptions {
        as_of: Some(as_of()),
        ..Default::default()
    };
    let r = a.execute(TOP, &opts).await.unwrap();
    let l = engine().execute(TOP, &opts).await.unwrap();
    assert_eq!(r.row_count, 10);
    assert_eq!(format::rows_json(&r), format::rows_json(&l));
    let types: Vec<&ArrowType> = r.schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(types[0], &ArrowType::Utf8);
    assert_eq!(types[1], &ArrowType::Int64);
    assert!(matches!(types[2], ArrowType::Timestamp(..)));
    // Statistics and cost (at least the 10 MB minimum at $5/TB).
    let s = &r.stats;
    assert!(s.bytes_scanned.unwrap() > 0);
    assert_eq!(s.engine_time, Some(Duration::from_millis(42)));
    assert_eq!(s.queue_time, Some(Duration::from_millis(8)));
    assert!(s.cost_usd.unwrap() >= 10.0 / 1_000_000.0 * 5.0);
    // EXPLAIN ran first; the query named the workgroup, catalog and output location.
    let starts: Vec<serde_json::Value> = fake
        .calls()
        .into_iter()
        .filter(|(op, _)| op == "StartQueryExecution")
        .map(|(_, b)| b)
        .collect();
    assert!(
        starts[0]["QueryString"]
            .as_str()
            .unwrap()
            .starts_with("EXPLAIN ")
    );
    assert_eq!(starts[1]["QueryString"], TOP);
    assert_eq!(starts[1]["WorkGroup"], "primary");
    assert_eq!(
        starts[1]["QueryExecutionContext"]["Catalog"],
        "AwsDataCatalog"
    );
    assert_eq!(
        starts[1]["ResultConfiguration"]["OutputLocation"],
        "s3://asklake-results/test/"
    );
}

#[tokio::test]
async fn pages_through_large_results_and_truncates() {
    let (fake, a) = athena(Faults::default()).await;
    let sql = format!(
        "SELECT time_dt, api.operation, src_endpoint.ip FROM {FLOW2} f, {CT2} c WHERE f.time_dt >= current_timestamp - INTERVAL '30' DAY AND c.time_dt >= current_timestamp - INTERVAL '1' DAY LIMIT 2500"
    );
    let sql = sql.replace(
        "SELECT time_dt, api.operation, src_endpoint.ip",
        "SELECT c.time_dt, c.api.operation, f.src_endpoint.ip",
    );
    let r = a
        .execute(
            &sql,
            &QueryOptions {
                max_rows: 5000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.row_count, 2500);
    assert!(!r.truncated);
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|(op, _)| op == "GetQueryResults")
            .count(),
        3
    );
    let r = a
        .execute(
            &sql,
            &QueryOptions {
                max_rows: 1200,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((r.row_count, r.truncated), (1200, true));
}

#[tokio::test]
async fn failures_carry_athenas_message_verbatim() {
    let msg = "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved or requester is not authorized to access requested resources";
    let (_f, a) = athena(Faults {
        fail_with: Some(msg.into()),
        ..Default::default()
    })
    .await;
    let e = a.execute(TOP, &QueryOptions::default()).await.unwrap_err();
    match &e {
        Error::Query {
            engine,
            kind,
            message,
        } => {
            assert_eq!(engine, "athena");
            assert_eq!(*kind, asklake::error::QueryErrorKind::Binder);
            assert_eq!(message, msg);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_repairable());
    // An engine error (here DuckDB's, dressed as Trino's) comes back through EXPLAIN without running the query.
    let (fake, a) = athena(Faults::default()).await;
    let e = a
        .execute(
            &format!("SELECT nope FROM {CT2} WHERE time_dt > current_timestamp - INTERVAL '1' DAY"),
            &QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("COLUMN_NOT_FOUND"), "{e}");
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|(op, _)| op == "StartQueryExecution")
            .count(),
        1,
        "only the EXPLAIN ran"
    );
}

#[tokio::test]
async fn waits_through_queueing_and_throttling() {
    let (fake, a) = athena(Faults {
        queued_polls: 4,
        throttle_first: 2,
        ..Default::default()
    })
    .await;
    let r = a.execute(TOP, &QueryOptions::default()).await.unwrap();
    assert_eq!(r.row_count, 10);
    assert!(
        fake.calls()
            .iter()
            .filter(|(op, _)| op == "GetQueryExecution")
            .count()
            >= 4
    );
}

#[tokio::test]
async fn timeouts_stop_the_query() {
    let (fake, a) = athena_with(
        Faults {
            never_finish: true,
            ..Default::default()
        },
        AthenaConfig {
            explain_check: false,
            ..config()
        },
    )
    .await;
    let t = std::time::Instant::now();
    let e = a
        .execute(
            TOP,
            &QueryOptions {
                timeout: Some(Duration::from_millis(300)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(
        fake.calls()
            .iter()
            .any(|(op, b)| op == "StopQueryExecution" && b["QueryExecutionId"].is_string())
    );
}

#[tokio::test]
async fn cost_guard_requires_a_time_filter_and_caps_bytes() {
    let (fake, a) = athena(Faults::default()).await;
    let e = a
        .execute(
            &format!("SELECT count(*) FROM {CT2}"),
            &QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Guard { code: asklake::error::GuardCode::Cost, reason } if reason.contains("time_dt")),
        "{e}"
    );
    assert!(e.is_repairable());
    assert!(
        fake.calls()
            .iter()
            .all(|(op, _)| op != "StartQueryExecution")
    );
    let e = a
        .execute(
            &format!("SELECT count(*) FROM {CT1}"),
            &QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("eventday"), "{e}");
    // Joins and UNION branches count; a filter on the other table does not cover this one.
    let e = a
        .execute(&format!("SELECT count(*) FROM {CT2} c JOIN {FLOW2} f ON c.src_endpoint.ip = f.src_endpoint.ip WHERE f.time_dt > current_timestamp - INTERVAL '1' DAY"), &QueryOptions::default())
        .await;
    assert!(
        e.is_ok(),
        "a time filter anywhere in the query is accepted: {e:?}"
    );

    let (_f, a) = athena_with(
        Faults::default(),
        AthenaConfig {
            allow_full_scan: true,
            ..config()
        },
    )
    .await;
    assert_eq!(
        a.execute(
            &format!("SELECT count(*) FROM {CT2}"),
            &QueryOptions::default()
        )
        .await
        .unwrap()
        .row_count,
        1
    );

    let (fake, a) = athena_with(
        Faults {
            never_finish: true,
            bytes_scanned: Some(50_000_000_000),
            ..Default::default()
        },
        AthenaConfig {
            explain_check: false,
            max_bytes_scanned: Some(10_000_000_000),
            ..config()
        },
    )
    .await;
    let e = a.execute(TOP, &QueryOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Guard {
                code: asklake::error::GuardCode::Cost,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        fake.calls()
            .iter()
            .any(|(op, _)| op == "StopQueryExecution")
    );
}

#[tokio::test]
async fn the_pipeline_repairs_a_full_scan_on_athena() {
    let (_f, a) = athena(Faults::default()).await;
    let no_filter = format!(
        "```sql\nSELECT src_endpoint.ip, count(*) AS calls FROM {CT2} GROUP BY 1 ORDER BY 2 DESC LIMIT 5\n```"
    );
    let fixed = format!(
        "```sql\nSELECT src_endpoint.ip, count(*) AS calls FROM {CT2} WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 5\n```"
    );
    let llm = Arc::new(Scripted::new([no_filter, fixed]));
    let t = Text2Sql::builder(Arc::new(a))
        .llm(llm.clone())
        .explain(false)
        .build();
    let ans = t.ask("top IPs by API calls").await.unwrap();
    assert_eq!(ans.attempts.len(), 2);
    assert!(
        ans.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("time filter")
    );
    assert_eq!(ans.result.unwrap().row_count, 5);
    // The prompt was built from Athena's catalog, with values and sample rows fetched through Athena.
    let system = &llm.requests()[0].system;
    assert!(system.contains("- api.operation: '") && system.contains("Sample rows"));
}

#[tokio::test]
async fn describe_and_samples_read_fresh_metadata_and_recent_rows() {
    let (fake, a) = athena(Faults::default()).await;
    let t = a.describe(CT2).await.unwrap();
    assert_eq!(t.security_lake.unwrap().source, Source::CloudTrailMgmt);
    assert!(fake.calls().iter().any(|(op, b)| op == "GetTableMetadata"
        && b["TableName"] == "amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"));
    let r = a.sample_rows(FLOW2, 3).await.unwrap();
    assert_eq!(r.row_count, 3);
}

/// Against real Athena: needs AWS credentials, a Security Lake in the region and `ASKLAKE_LIVE_REGION`
/// (and optionally `ASKLAKE_ATHENA_OUTPUT`). Run with `cargo test --test athena -- --ignored live`.
#[tokio::test]
#[ignore = "needs AWS credentials and a Security Lake"]
async fn live_athena_discovers_and_queries() {
    let region = std::env::var("ASKLAKE_LIVE_REGION").expect("set ASKLAKE_LIVE_REGION");
    let config = AthenaConfig {
        output_location: std::env::var("ASKLAKE_ATHENA_OUTPUT").ok(),
        ..AthenaConfig::default()
    };
    let a = AthenaEngine::from_env(Some(region), config).await.unwrap();
    let catalog = a.catalog().await.unwrap();
    let ct = catalog
        .tables
        .iter()
        .find(|t| {
            t.security_lake
                .as_ref()
                .is_some_and(|s| s.source == Source::CloudTrailMgmt)
        })
        .expect("a CloudTrail table");
    let r = a
        .execute(
            &format!(
                "SELECT count(*) FROM {} WHERE time_dt > current_timestamp - INTERVAL '1' HOUR",
                ct.qualified_name()
            ),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.row_count, 1);
    assert!(r.stats.bytes_scanned.is_some());
}
