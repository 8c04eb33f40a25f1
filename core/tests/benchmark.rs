//! The evaluation benchmark (`fewshot/eval/benchmark.jsonl`): every gold query runs on the demo lake and
//! returns rows when it says so, the set covers every source and difficulty, and no question is in (or
//! nearly in) the few-shot library.

mod common;

use std::collections::BTreeSet;

use asklake::engine::QueryOptions;
use asklake::fewshot::ScoredExample;
use asklake::fewshot::library::{LexicalRetriever, Library};
use asklake::pipeline::{Options, library_pick};
use asklake::sql::run_guarded;
use common::*;
use serde_json::Value;

fn benchmark() -> Vec<Value> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fewshot/eval/benchmark.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn benchmark_is_well_formed_and_disjoint_from_the_library() {
    let b = benchmark();
    assert!(b.len() >= 120, "{}", b.len());
    let ids: BTreeSet<&str> = b.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), b.len(), "duplicate ids");
    let difficulties: BTreeSet<&str> = b
        .iter()
        .map(|e| e["difficulty"].as_str().unwrap())
        .collect();
    for d in ["simple", "aggregate", "time-window", "join", "hunting"] {
        assert!(difficulties.contains(d), "no {d} question");
    }
    let tables: BTreeSet<String> = b
        .iter()
        .flat_map(|e| {
            e["tables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
        })
        .collect();
    for s in [
        "cloud_trail_mgmt",
        "vpc_flow",
        "route53",
        "sh_findings",
        "eks_audit",
        "waf",
        "s3_data",
        "lambda_execution",
    ] {
        assert!(
            tables.iter().any(|t| t.ends_with(&format!("_{s}_2_0"))),
            "no {s} question"
        );
    }
    assert!(
        b.iter()
            .all(|e| e["question_ko"].as_str().is_some_and(|q| !q.is_empty()))
    );

    let lib = Library::builtin().unwrap();
    let r = LexicalRetriever::from_library(&lib);
    let threshold = Options::default().library_threshold;
    for e in &b {
        assert!(
            lib.entries
                .iter()
                .all(|l| l.example.sql != e["sql"].as_str().unwrap()),
            "{} copies a library SQL",
            e["id"]
        );
        for q in [
            e["question"].as_str().unwrap(),
            e["question_ko"].as_str().unwrap(),
        ] {
            assert!(
                lib.entries.iter().all(|l| l.example.question != q),
                "{q:?} is in the library"
            );
            let hits: Vec<ScoredExample> = r
                .scores(q)
                .into_iter()
                .take(2)
                .map(|(i, score)| ScoredExample {
                    example: lib.entries[i].example.clone(),
                    score,
                })
                .collect();
            assert!(
                library_pick(&hits, threshold).is_none(),
                "{q:?} nearly duplicates {}",
                hits[0].example.id
            );
        }
    }
}

#[tokio::test]
async fn every_gold_query_runs() {
    let engine = engine();
    let opts = QueryOptions {
        as_of: Some(as_of()),
        ..Default::default()
    };
    let mut failures = Vec::new();
    let mut empty = 0;
    for e in benchmark() {
        let id = e["id"].as_str().unwrap();
        match run_guarded(&engine, e["sql"].as_str().unwrap(), &opts).await {
            Ok((_, r)) => {
                if r.row_count == 0 {
                    empty += 1;
                }
                if (r.row_count > 0) != e["expect_rows"].as_bool().unwrap() {
                    failures.push(format!("{id}: {} rows", r.row_count));
                }
            }
            Err(err) => failures.push(format!("{id}: {err}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(empty <= 6, "{empty} gold results are empty");
}

/// Gold answers as the evaluation computes them: for every top-N gold query whose result fills its LIMIT,
/// the ORDER BY keys resolve to output columns and the widened query runs (so ties at the boundary can be
/// recognized).
#[tokio::test]
async fn gold_answers_with_their_tie_information() {
    use asklake::eval::runner::{Gold, builtin_benchmark};
    let engine = engine();
    let opts = QueryOptions {
        as_of: Some(as_of()),
        ..Default::default()
    };
    let mut full_top_n = 0;
    let mut with_ties_info = 0;
    for q in builtin_benchmark().unwrap() {
        let g = Gold::compute(&engine, &q, &opts).await.unwrap();
        let sql = q.sql.to_uppercase();
        if sql.contains("ORDER BY")
            && sql.trim_end().rsplit("LIMIT").next().is_some_and(|n| {
                n.trim()
                    .parse::<usize>()
                    .is_ok_and(|n| n == g.result.row_count)
            })
        {
            full_top_n += 1;
        }
        if let Some(ext) = &g.extended {
            with_ties_info += 1;
            assert!(ext.row_count >= g.result.row_count, "{}", q.id);
            assert!(!g.order_keys.is_empty());
        }
    }
    eprintln!(
        "{full_top_n} top-N gold queries fill their LIMIT; {with_ties_info} carry tie information"
    );
    assert!(full_top_n > 0);
    assert_eq!(
        with_ties_info, full_top_n,
        "every full top-N gold query should resolve its ORDER BY keys"
    );
}
