//! The demo lake on the embedded engine: schemas equal AWS's, scenarios are findable, the engine is locked
//! down, limits and clock behave.

mod common;

use asklake::Error;
use asklake::engine::{QueryEngine, QueryOptions, format};
use asklake::sql::run_guarded;
use common::*;
use serde_json::Value;

async fn rows(sql: &str) -> Vec<Vec<Value>> {
    let engine = engine();
    let (_, r) = run_guarded(&engine, sql, &QueryOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    format::rows_json(&r)
}

async fn scalar(sql: &str) -> Value {
    rows(sql).await.remove(0).remove(0)
}

fn facts() -> Value {
    let m = asklake::lake::Manifest::read(lake_dir()).unwrap();
    m.demo.unwrap()["scenarios"].clone()
}

#[tokio::test]
async fn lake_tables_have_the_reference_schemas() {
    let catalog = engine().catalog().await.unwrap();
    assert_eq!(catalog.tables.len(), 10);
    for t in &catalog.tables {
        let sl = t.security_lake.as_ref().unwrap();
        let expected = asklake::schema::security_lake_columns(sl.source, sl.version).unwrap();
        assert_eq!(t.columns, expected, "{}", t.name);
    }
}

#[tokio::test]
async fn planted_port_scan_is_visible() {
    let f = facts();
    let ip = f["port_scan"]["scanner_ip"].as_str().unwrap();
    let sql = format!(
        "SELECT count(DISTINCT dst_endpoint.port), count_if(action = 'Denied') FROM {FLOW2} WHERE src_endpoint.ip = '{ip}'"
    );
    let r = rows(&sql).await;
    assert_eq!(r[0][0], f["port_scan"]["distinct_ports"]);
    let denied = r[0][1].as_i64().unwrap();
    assert!(denied as f64 > 0.9 * f["port_scan"]["distinct_ports"].as_f64().unwrap());
    // v1 has the same records.
    let v1 = scalar(&format!("SELECT count(DISTINCT dst_endpoint.port) FROM {FLOW1} WHERE src_endpoint.ip = '{ip}' AND disposition = 'Blocked'")).await;
    assert_eq!(v1.as_i64().unwrap(), denied);
}

#[tokio::test]
async fn demo_user_logs_in_without_mfa() {
    let n = scalar(&format!(
        "SELECT count(*) FROM {CT2} WHERE api.operation = 'ConsoleLogin' AND actor.user.uid = 'arn:aws:iam::551508107696:user/DemoUser' AND is_mfa = false AND status = 'Success'"
    ))
    .await;
    assert!(n.as_i64().unwrap() >= 4, "{n}");
    let v1 = scalar(&format!(
        "SELECT count(*) FROM {CT1} WHERE api.operation = 'ConsoleLogin' AND actor.user.uuid = 'arn:aws:iam::551508107696:user/DemoUser' AND mfa = false"
    ))
    .await;
    assert!(v1.as_i64().unwrap() >= 4);
}

#[tokio::test]
async fn root_usage_and_credential_theft_are_findable() {
    let f = facts();
    let root = scalar(&format!(
        "SELECT count(*) FROM {CT2} WHERE actor.user.type = 'Root'"
    ))
    .await;
    assert_eq!(root, f["root_usage"]["events"]);
    let thief = f["credential_theft"]["attacker_ip"].as_str().unwrap();
    let failed = scalar(&format!(
        "SELECT count(*) FROM {CT2} WHERE api.operation = 'ConsoleLogin' AND status = 'Failure' AND src_endpoint.ip = '{thief}'"
    ))
    .await;
    assert_eq!(failed, f["credential_theft"]["failed_logins"]);
    let objects = scalar(&format!("SELECT count(*) FROM {S3_2} WHERE src_endpoint.ip = '{thief}' AND api.operation = 'GetObject'")).await;
    assert_eq!(objects, f["credential_theft"]["objects_read"]);
    let beacon = f["dns_beacon"]["domain"].as_str().unwrap();
    let q = scalar(&format!(
        "SELECT count(*) FROM {DNS2} WHERE query.hostname = '{beacon}'"
    ))
    .await;
    assert_eq!(q, f["dns_beacon"]["queries"]);
    // The planted GuardDuty findings are there, with the background's noise besides them.
    let planted: Vec<String> = f["guardduty_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap().to_string())
        .chain([f["instance_credential_exfiltration"]["finding_type"]
            .as_str()
            .unwrap()
            .to_string()])
        .collect();
    for ty in &planted {
        let n = scalar(&format!(
            "SELECT count(*) FROM {SH2} WHERE metadata.product.name = 'GuardDuty' AND contains(finding_info.types, '{ty}')"
        ))
        .await;
        assert!(n.as_i64().unwrap() >= 1, "{ty}");
    }
    let gd = scalar(&format!(
        "SELECT count(*) FROM {SH2} WHERE metadata.product.name = 'GuardDuty'"
    ))
    .await;
    assert!(gd.as_i64().unwrap() > planted.len() as i64, "{gd}");
    // The exfiltrated instance credentials: the finding's IP made the calls the facts list.
    let ex = &f["instance_credential_exfiltration"];
    let calls = scalar(&format!(
        "SELECT count(*) FROM {CT2} WHERE src_endpoint.ip = '{}' AND actor.session.issuer = '{}'",
        ex["ip"].as_str().unwrap(),
        ex["role"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        calls.as_u64().unwrap() as usize,
        ex["operations"].as_array().unwrap().len()
    );
    let cves = scalar(&format!(
        "SELECT count(*) FROM {SH2} CROSS JOIN UNNEST(vulnerabilities) AS t(v) WHERE v.cve.uid = 'CVE-2024-3094'"
    ))
    .await;
    assert!(cves.as_i64().unwrap() > 0);
}

#[tokio::test]
async fn pinned_clock_finds_last_week() {
    // The lake's as-of is 2026-11-28; "last 7 days" must find data whatever today is.
    let n = scalar(&format!(
        "SELECT count(*) FROM {CT2} WHERE time_dt > current_timestamp - INTERVAL '7' DAY"
    ))
    .await;
    assert!(n.as_i64().unwrap() > 1000, "{n}");
    let latest = scalar(&format!(
        "SELECT max(time_dt) < current_timestamp FROM {CT2}"
    ))
    .await;
    assert_eq!(latest, Value::Bool(true));
    let engine = engine();
    let later = QueryOptions {
        as_of: Some(as_of() + chrono::Duration::days(60)),
        ..Default::default()
    };
    let (_, r) = run_guarded(
        &engine,
        &format!("SELECT count(*) FROM {CT2} WHERE time_dt > current_timestamp - INTERVAL '7' DAY"),
        &later,
    )
    .await
    .unwrap();
    assert_eq!(format::rows_json(&r)[0][0], Value::from(0));
}

#[tokio::test]
async fn row_limit_truncates() {
    let engine = engine();
    let opts = QueryOptions {
        max_rows: 10,
        ..Default::default()
    };
    let (g, r) = run_guarded(&engine, &format!("SELECT time FROM {FLOW2}"), &opts)
        .await
        .unwrap();
    assert!(g.sql.ends_with("LIMIT 10"));
    assert_eq!(r.row_count, 10);
    assert!(r.truncated);
    let (_, r) = run_guarded(&engine, &format!("SELECT time FROM {FLOW2} LIMIT 3"), &opts)
        .await
        .unwrap();
    assert_eq!(r.row_count, 3);
    assert!(!r.truncated);
}

#[tokio::test]
async fn timeouts_cancel() {
    let engine = engine();
    let opts = QueryOptions {
        timeout: Some(std::time::Duration::from_millis(50)),
        ..Default::default()
    };
    let sql = format!("SELECT count(*) FROM {FLOW2} a CROSS JOIN {FLOW2} b CROSS JOIN {FLOW2} c");
    match engine.execute(&sql, &opts).await {
        Err(Error::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn engine_is_locked_down_even_without_the_guard() {
    let engine = engine();
    for sql in [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/asklake-should-not-exist.csv'",
        "ATTACH '/tmp/asklake-should-not-exist.db' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET threads = 1",
        "SELECT * FROM read_text('/etc/hostname')",
    ] {
        assert!(engine.execute_raw(sql).is_err(), "{sql} ran");
    }
    assert!(!std::path::Path::new("/tmp/asklake-should-not-exist.csv").exists());
    assert!(!std::path::Path::new("/tmp/asklake-should-not-exist.db").exists());
}

#[tokio::test]
async fn engine_errors_keep_duckdb_hints() {
    let engine = engine();
    let err = engine
        .execute(
            &format!("SELECT actor.user.nam FROM {CT2}"),
            &QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_repairable());
    assert!(err.to_string().to_lowercase().contains("nam"), "{err}");
}

#[test]
fn demo_is_deterministic_and_refuses_to_overwrite_other_folders() {
    let a = tempfile::tempdir().unwrap();
    let mut cfg = config(a.path().join("lake"));
    cfg.scale = 0.002;
    let first = asklake::demo::generate(&cfg).unwrap();
    let second = asklake::demo::generate(&cfg).unwrap();
    assert_eq!(
        serde_json::to_value(&first.manifest).unwrap(),
        serde_json::to_value(&second.manifest).unwrap()
    );
    let other = a.path().join("notes");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    cfg.dir = other.clone();
    assert!(matches!(
        asklake::demo::generate(&cfg),
        Err(Error::Config(_))
    ));
    assert_eq!(
        std::fs::read_to_string(other.join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn malformed_lakes_give_clear_errors() {
    use asklake::engine::LocalEngine;
    use asklake::engine::duckdb::LocalOptions;
    let d = tempfile::tempdir().unwrap();
    let e = LocalEngine::open(d.path().join("missing"), LocalOptions::default()).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    let e = LocalEngine::open(d.path(), LocalOptions::default()).unwrap_err();
    assert!(e.to_string().contains("asklake demo"), "{e}");
    std::fs::write(d.path().join("manifest.json"), "{not json").unwrap();
    let e = LocalEngine::open(d.path(), LocalOptions::default()).unwrap_err();
    assert!(e.to_string().contains("malformed"), "{e}");
    // A corrupt Parquet file makes its table unavailable when the lake is opened (the rest opens:
    // `a_corrupt_file_disables_its_table_only`).
    let mut cfg = config(d.path().join("lake"));
    cfg.scale = 0.002;
    asklake::demo::generate(&cfg).unwrap();
    let f = std::fs::read_dir(d.path().join("lake/sl2/waf"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&f, b"PAR1 garbage").unwrap();
    let lake = LocalEngine::open(d.path().join("lake"), LocalOptions::default()).unwrap();
    let u = lake.unavailable();
    assert_eq!(u.len(), 1, "{u:?}");
    assert!(
        u[0].table.ends_with("waf_2_0") && u[0].reason.contains(&*f.to_string_lossy()),
        "{u:?}"
    );
}

/// The system catalog is out of reach of query text, whoever skipped the guard; the lake folder's own files
/// (the manifest) and the engine's temporary folder are not readable either.
#[tokio::test]
async fn system_catalog_and_lake_files_are_unreachable_without_the_guard() {
    let engine = engine();
    let opts = QueryOptions::default();
    for sql in [
        "SELECT * FROM pg_settings".to_string(),
        "SELECT name, value FROM duckdb_settings()".to_string(),
        "SELECT * FROM duckdb_views()".to_string(),
        "SELECT * FROM duckdb_databases()".to_string(),
        "SELECT * FROM information_schema.tables".to_string(),
        "SELECT * FROM sqlite_master".to_string(),
        "SELECT * FROM pg_catalog.pg_proc".to_string(),
        "SELECT version()".to_string(),
        "SELECT current_setting('memory_limit')".to_string(),
        format!("SELECT current_query() FROM {CT2} LIMIT 1"),
        format!(
            "SELECT * FROM {CT2}, (WITH pg_settings AS (SELECT 1 AS x) SELECT x FROM pg_settings) q"
        ),
    ] {
        let e = engine.execute(&sql, &opts).await.unwrap_err();
        assert!(e.to_string().contains("system catalog"), "{sql}: {e}");
    }
    let manifest = lake_dir().join("manifest.json");
    for sql in [
        format!("SELECT * FROM read_json('{}')", manifest.display()),
        format!("SELECT * FROM '{}'", manifest.display()),
        format!("SELECT * FROM read_text('{}')", manifest.display()),
    ] {
        assert!(engine.execute_raw(&sql).is_err(), "{sql} was readable");
    }
    // The lake's own tables still read.
    let r = engine
        .execute(&format!("SELECT count(*) FROM {CT2}"), &opts)
        .await
        .unwrap();
    assert_eq!(r.row_count, 1);
}

/// A query over the memory limit fails with a clear error; the engine answers the next query.
#[tokio::test]
async fn the_memory_limit_holds_and_the_engine_survives() {
    use asklake::engine::LocalEngine;
    use asklake::engine::duckdb::LocalOptions;
    let engine = LocalEngine::open(
        lake_dir(),
        LocalOptions {
            memory_limit: "256MB".into(),
            max_temp_size: "64MB".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let opts = QueryOptions {
        timeout: Some(std::time::Duration::from_secs(60)),
        ..Default::default()
    };
    let heavy = format!("SELECT len(list(x)) FROM (SELECT range AS x FROM {CT2}, range(200000)) t");
    let e = engine.execute(&heavy, &opts).await.unwrap_err();
    let msg = e.to_string().to_lowercase();
    assert!(
        msg.contains("memory") || msg.contains("temporary") || msg.contains("space"),
        "{e}"
    );
    assert!(
        e.is_repairable(),
        "an engine error the model can act on: {e}"
    );
    let r = engine
        .execute(&format!("SELECT count(*) FROM {CT2}"), &opts)
        .await
        .unwrap();
    assert_eq!(r.row_count, 1);
}

/// `demo` touches a folder only when it is an asklake lake by its manifest's format, builds the new lake
/// aside and swaps it in, and finishes what an interrupted run left.
#[test]
fn demo_never_destroys_what_is_not_its_own() {
    let a = tempfile::tempdir().unwrap();
    let mut cfg = config(a.path().join("lake"));
    cfg.scale = 0.002;

    // Another tool's manifest.json with data beside it: refused, nothing removed.
    let other = a.path().join("app");
    std::fs::create_dir_all(other.join("sl2")).unwrap();
    std::fs::write(
        other.join("manifest.json"),
        r#"{"name": "my-app", "version": 3}"#,
    )
    .unwrap();
    std::fs::write(other.join("sl2/data.bin"), "precious").unwrap();
    cfg.dir = other.clone();
    let e = asklake::demo::generate(&cfg).unwrap_err();
    assert!(
        matches!(e, Error::Config(_)) && e.to_string().contains("not an asklake lake"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(other.join("sl2/data.bin")).unwrap(),
        "precious"
    );

    // A lake regenerated in place: no staging folder is left, the user's own files in it stay.
    let lake = a.path().join("lake");
    cfg.dir = lake.clone();
    asklake::demo::generate(&cfg).unwrap();
    std::fs::write(lake.join("NOTES.md"), "mine").unwrap();
    asklake::demo::generate(&cfg).unwrap();
    let names: Vec<String> = std::fs::read_dir(&lake)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".asklake")),
        "{names:?}"
    );
    assert_eq!(
        std::fs::read_to_string(lake.join("NOTES.md")).unwrap(),
        "mine"
    );

    // What a run killed mid-swap leaves (old parts aside, no manifest): recognized and finished.
    let killed = a.path().join("killed");
    std::fs::create_dir_all(killed.join(".asklake-staging/sl2/waf")).unwrap();
    std::fs::create_dir_all(killed.join(".asklake-old/sl2")).unwrap();
    std::fs::create_dir_all(killed.join("sl1")).unwrap();
    cfg.dir = killed.clone();
    asklake::demo::generate(&cfg).unwrap();
    assert!(killed.join("manifest.json").is_file());
    assert!(!killed.join(".asklake-staging").exists() && !killed.join(".asklake-old").exists());
    asklake::engine::LocalEngine::open(&killed, Default::default()).unwrap();
}

/// One corrupt Parquet file: the engine opens, names the table and the file, and the other tables answer.
#[tokio::test]
async fn a_corrupt_file_disables_its_table_only() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(lake_dir(), dir.path());
    let m = asklake::lake::Manifest::read(dir.path()).unwrap();
    let flow = m
        .tables
        .iter()
        .find(|t| {
            t.source == asklake::schema::Source::VpcFlow
                && t.version == asklake::schema::SourceVersion::V2
        })
        .unwrap();
    let bad = dir.path().join(&flow.path).join("zz-corrupt.parquet");
    std::fs::write(&bad, b"PAR1 this is not a parquet file at all PAR1").unwrap();
    let engine = asklake::engine::LocalEngine::open(
        dir.path(),
        asklake::engine::duckdb::LocalOptions::default(),
    )
    .unwrap();
    let catalog = engine.catalog().await.unwrap();
    assert_eq!(catalog.tables.len(), 9);
    assert_eq!(catalog.unavailable.len(), 1);
    let u = &catalog.unavailable[0];
    assert!(u.table.ends_with("vpc_flow_2_0"), "{u:?}");
    assert!(u.reason.contains("zz-corrupt.parquet"), "{u:?}");
    assert!(!u.reason.contains("CREATE VIEW"), "{u:?}");
    // The other tables answer; the broken one says why, before running anything.
    let (_, r) = run_guarded(
        &engine,
        &format!("SELECT count(*) FROM {CT2}"),
        &QueryOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.row_count, 1);
    let e = run_guarded(
        &engine,
        &format!("SELECT count(*) FROM {FLOW2}"),
        &QueryOptions::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("unavailable") && e.contains("zz-corrupt.parquet"),
        "{e}"
    );
}

/// Athena's catalog prefix is accepted by the guard and runs locally too.
#[tokio::test]
async fn awsdatacatalog_prefix_runs() {
    let n = scalar(&format!("SELECT count(*) FROM awsdatacatalog.{CT2}")).await;
    let quoted = CT2.replace('.', "\".\"");
    let m = scalar(&format!(
        "SELECT count(*) FROM \"AwsDataCatalog\".\"{quoted}\""
    ))
    .await;
    assert!(n.as_u64().unwrap() > 0);
    assert_eq!(n, m);
}
