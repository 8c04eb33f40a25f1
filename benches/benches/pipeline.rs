//! Pipeline overhead per question: everything except engine time (prompt assembly, the state machine,
//! extraction, guard, static validation, result handling), with a scripted LLM answering instantly.
//! Prints p50/p95 over 200 questions besides criterion's estimate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use asklake::demo::{DemoConfig, Versions, generate};
use asklake::engine::LocalEngine;
use asklake::engine::duckdb::LocalOptions;
use asklake::llm::LlmBackend;
use asklake::pipeline::{Options, Text2Sql};
use asklake::testing::scripted::Scripted;
use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

const SQL: &str = "```sql\nSELECT src_endpoint.ip, count(*) AS calls FROM \"amazon_security_lake_glue_db_us_east_1\".\"amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0\" WHERE time_dt >= current_timestamp - INTERVAL '7' DAY AND api.operation <> 'ConsoleLogin' GROUP BY 1 ORDER BY 2 DESC LIMIT 5\n```";

fn overhead(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let config = DemoConfig {
        dir: dir.path().join("lake"),
        scale: 0.01,
        as_of: DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        versions: Versions::V2,
        ..Default::default()
    };
    generate(&config).unwrap();
    let engine = Arc::new(LocalEngine::open(&config.dir, LocalOptions::default()).unwrap());
    let llm: Arc<dyn LlmBackend> = Arc::new(Scripted::from_fn(|_| Ok(SQL.to_string())));
    let t2s = Text2Sql::builder(engine)
        .llm(llm)
        .options(Options {
            explain: false,
            ..Options::default()
        })
        .build();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let q = "Which source IPs made the most API calls last week?";
    // Warm the per-table prompt sections (values and samples are read once per table, then cached).
    let first = rt.block_on(t2s.run(q, &[])).unwrap();
    assert_eq!(first.result.as_ref().map(|r| r.row_count), Some(5));
    eprintln!(
        "system prompt: {} chars (~{} tokens)",
        first.prompt_chars,
        first.prompt_chars.div_ceil(4)
    );

    let mut samples: Vec<Duration> = (0..200)
        .map(|_| {
            let a = rt.block_on(t2s.run(q, &[])).unwrap();
            a.timings.total.saturating_sub(a.timings.engine)
        })
        .collect();
    samples.sort();
    eprintln!(
        "pipeline overhead excluding engine time: p50 {:?}, p95 {:?} (200 questions)",
        samples[100], samples[190]
    );

    c.bench_function("pipeline/overhead_excluding_engine", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let a = rt.block_on(t2s.run(q, &[])).unwrap();
                total += t.elapsed().saturating_sub(a.timings.engine);
            }
            total
        })
    });
}

criterion_group!(benches, overhead);
criterion_main!(benches);
