//! The Security Lake User Guide's example queries for source version 2 run unchanged on the demo lake, and the
//! ones whose filters name values the demo plants return rows.

mod common;

use asklake::engine::QueryOptions;
use asklake::sql::run_guarded;
use common::*;

struct Example {
    name: String,
    expect_rows: bool,
    sql: String,
}

fn examples() -> Vec<Example> {
    let text = include_str!("data/aws_v2_examples.sql");
    let mut out: Vec<Example> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- name: ") {
            out.push(Example {
                name: name.to_string(),
                expect_rows: false,
                sql: String::new(),
            });
        } else if let Some(expect) = line.strip_prefix("-- expect: ") {
            let ex = out.last_mut().expect("expect before name");
            ex.expect_rows = match expect.trim() {
                "rows" => true,
                "runs" => false,
                other => panic!("unknown expectation {other}"),
            };
        } else if let Some(ex) = out.last_mut() {
            ex.sql.push_str(line);
            ex.sql.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn published_v2_examples_run_unchanged() {
    let examples = examples();
    assert!(examples.len() >= 20, "only {} examples", examples.len());
    let engine = engine();
    let mut failures = Vec::new();
    let mut with_rows = 0;
    for ex in &examples {
        match run_guarded(&engine, &ex.sql, &QueryOptions::default()).await {
            Ok((_, result)) => {
                if result.row_count > 0 {
                    with_rows += 1;
                } else if ex.expect_rows {
                    failures.push(format!("{}: no rows", ex.name));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", ex.name)),
        }
    }
    eprintln!("{with_rows}/{} examples returned rows", examples.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // "Mostly return rows": the only empty ones filter on AWS's documentation placeholders (192.0.2.1, …).
    assert!(
        with_rows * 4 >= examples.len() * 3,
        "{with_rows}/{} returned rows",
        examples.len()
    );
}
