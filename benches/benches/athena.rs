//! The Athena client through the loopback fake: a 100k-row result paginated (1000 rows a page) into Arrow
//! (rows/s), the string→Arrow conversion alone, and a one-row query's round trips.

use std::time::Duration;

use asklake::demo::{DemoConfig, Versions, generate};
use asklake::engine::athena::{AthenaConfig, AthenaEngine};
use asklake::engine::duckdb::LocalOptions;
use asklake::engine::{LocalEngine, QueryEngine, QueryOptions};
use asklake::testing::athena::{FakeAthena, Faults};
use aws_sdk_athena::config::{BehaviorVersion, Credentials, Region};
use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn athena(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let config = DemoConfig {
        dir: dir.path().join("lake"),
        scale: if benching() { 0.25 } else { 0.01 },
        as_of: DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        versions: Versions::V2,
        ..Default::default()
    };
    generate(&config).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let local = LocalEngine::open(&config.dir, LocalOptions::default()).unwrap();
    let fake = rt
        .block_on(FakeAthena::start(local, Faults::default()))
        .unwrap();
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(fake.url())
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .build();
    let engine = AthenaEngine::with_client(
        aws_sdk_athena::Client::from_conf(conf),
        AthenaConfig {
            explain_check: false,
            first_poll: Duration::from_millis(1),
            max_poll: Duration::from_millis(5),
            ..AthenaConfig::default()
        },
    );
    let rows: u64 = if benching() { 100_000 } else { 1000 };
    let sql = format!(
        "SELECT time_dt, src_endpoint.ip, dst_endpoint.port, traffic.bytes, action FROM \
         amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0 \
         WHERE time_dt >= current_timestamp - INTERVAL '30' DAY LIMIT {rows}"
    );
    let opts = QueryOptions {
        max_rows: rows,
        ..Default::default()
    };
    let got = rt.block_on(engine.execute(&sql, &opts)).unwrap().row_count as u64;
    assert_eq!(
        got, rows,
        "the lake has fewer flow rows than the bench needs"
    );

    let mut g = c.benchmark_group("athena");
    g.sample_size(10).throughput(Throughput::Elements(rows));
    g.bench_function("paginated_result_to_arrow", |b| {
        b.iter(|| rt.block_on(engine.execute(&sql, &opts)).unwrap())
    });
    g.finish();

    let one = "SELECT count(*) FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_waf_2_0 WHERE time_dt >= current_timestamp - INTERVAL '1' DAY";
    c.bench_function("athena/one_row_query_round_trips", |b| {
        b.iter(|| {
            rt.block_on(engine.execute(one, &QueryOptions::default()))
                .unwrap()
        })
    });
}

criterion_group!(benches, athena);
criterion_main!(benches);
