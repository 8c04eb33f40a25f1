//! Demo-lake generation throughput and two typical queries on the embedded engine.
//!
//! `ASKLAKE_BENCH_SCALE` sets the size of the lake the queries run on (default 1.0: about 600k flow rows;
//! 16.7 gives the 10M-flow-row lake of the target). `ASKLAKE_BENCH_LAKE=DIR` keeps that lake in DIR
//! and reuses it on the next run (generating 10M flows takes minutes).

use std::time::Duration;

use asklake::demo::{DemoConfig, Versions, generate};
use asklake::engine::duckdb::LocalOptions;
use asklake::engine::{LocalEngine, QueryEngine, QueryOptions};
use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// `cargo test --all-targets` runs benches once without `--bench`: keep that run small.
fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn generation(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let config = DemoConfig {
        dir: dir.path().join("lake"),
        scale: if benching() { 0.1 } else { 0.002 },
        as_of: Some(as_of()),
        versions: Versions::V2,
        ..Default::default()
    };
    let rows = generate(&config).unwrap().rows;
    let mut g = c.benchmark_group("demo");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(rows));
    g.bench_function("generate_v2_scale_0.1", |b| {
        b.iter(|| generate(&config).unwrap())
    });
    g.finish();
}

fn queries(c: &mut Criterion) {
    let scale: f64 = std::env::var("ASKLAKE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching() { 1.0 } else { 0.002 });
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("ASKLAKE_BENCH_LAKE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("lake"));
    let config = DemoConfig {
        dir: dir.clone(),
        scale,
        as_of: Some(as_of()),
        versions: Versions::V2,
        ..Default::default()
    };
    let manifest = match asklake::lake::Manifest::read(&dir) {
        Ok(m) => m,
        Err(_) => generate(&config).unwrap().manifest,
    };
    let flows = manifest
        .tables
        .iter()
        .find(|t| t.source == asklake::schema::Source::VpcFlow)
        .map_or(0, |t| t.rows);
    eprintln!("query benches on {flows} vpc_flow rows (scale {scale})");
    let engine = LocalEngine::open(&config.dir, LocalOptions::default()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = QueryOptions::default();
    let top_talkers = "SELECT src_endpoint.ip, count(*) AS flows FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0 GROUP BY 1 ORDER BY 2 DESC LIMIT 10";
    let failures = "SELECT time_dt, actor.user.uid, src_endpoint.ip FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0 WHERE api.operation = 'ConsoleLogin' AND status = 'Failure' AND time_dt > current_timestamp - INTERVAL '30' DAY ORDER BY time_dt DESC";
    let mut g = c.benchmark_group("query");
    g.sample_size(20).throughput(Throughput::Elements(flows));
    g.bench_function("top10_source_ips_vpc_flow", |b| {
        b.iter(|| rt.block_on(engine.execute(top_talkers, &opts)).unwrap())
    });
    g.bench_function("console_login_failures", |b| {
        b.iter(|| rt.block_on(engine.execute(failures, &opts)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, generation, queries);
criterion_main!(benches);
