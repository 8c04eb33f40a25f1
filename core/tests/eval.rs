//! Honesty checks for the evaluation harness: an oracle that answers the gold SQL for a known subset and a
//! wrong but valid query for the rest must score exactly that accuracy, for every variant and over the wire.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use asklake::eval::runner::{BenchQuestion, Variant, load_benchmark, markdown, run, wilson};
use asklake::llm::LlmBackend;
use asklake::llm::fake_server::{FakeLlm, Reply};
use asklake::llm::scripted::Scripted;
use asklake::pipeline::Options;
use common::*;

fn questions(n: usize) -> Vec<BenchQuestion> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fewshot/eval/benchmark.jsonl");
    load_benchmark(&path).unwrap().into_iter().take(n).collect()
}

fn options() -> Options {
    Options {
        as_of: Some(as_of()),
        ..Options::default()
    }
}

const WRONG: &str = "```sql\nSELECT 1 AS wrong\n```";

#[tokio::test]
async fn oracle_accuracy_is_reported_exactly() {
    let qs = questions(12);
    // Gold for every third question, a valid wrong query for the others.
    let answers: HashMap<String, String> = qs
        .iter()
        .enumerate()
        .flat_map(|(i, q)| {
            let a = if i % 3 == 0 {
                format!("```sql\n{}\n```", q.sql)
            } else {
                WRONG.to_string()
            };
            [(q.question.clone(), a.clone()), (q.question_ko.clone(), a)]
        })
        .collect();
    let oracle = Scripted::from_fn(move |req| {
        let q = &req
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        Ok(answers.get(q).cloned().unwrap_or_else(|| WRONG.to_string()))
    })
    .with_model("oracle");
    let models: Vec<Arc<dyn LlmBackend>> = vec![Arc::new(oracle)];
    let variants = [
        Variant::ZeroShot,
        Variant::FewShot,
        Variant::Rag,
        Variant::RagRepair,
    ];
    let report = run(
        Arc::new(engine()),
        &models,
        &variants,
        &qs,
        &["en", "ko"],
        &options(),
    )
    .await
    .unwrap();
    assert_eq!(report.summary.len(), 4);
    for s in &report.summary {
        assert_eq!(s.n, 24, "{}", s.variant);
        assert!(
            (s.accuracy - 8.0 / 24.0).abs() < 1e-9,
            "{} {}",
            s.variant,
            s.accuracy
        );
        assert_eq!(s.accuracy_relaxed, s.accuracy);
        assert_eq!(s.mean_attempts, 1.0);
        assert_eq!(s.by_lang["en"], s.by_lang["ko"]);
    }
    for r in &report.results {
        assert!(r.parses && r.executes);
        let idx = qs.iter().position(|q| q.id == r.id).unwrap();
        assert_eq!(r.correct, idx % 3 == 0, "{}", r.id);
        assert_eq!(r.tables_match, idx % 3 == 0, "{}", r.id);
    }
    let md = markdown(&report);
    assert!(md.contains("| oracle | rag+repair | 24 | 33.3% ("), "{md}");
}

#[tokio::test]
async fn oracle_through_the_fake_bedrock_wire() {
    let qs = questions(6);
    let replies: Vec<Reply> = qs
        .iter()
        .enumerate()
        .map(|(i, q)| {
            Reply::Text(if i < 4 {
                format!("```sql\n{}\n```", q.sql)
            } else {
                WRONG.into()
            })
        })
        .collect();
    let fake = FakeLlm::start(replies).await;
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .endpoint_url(fake.url())
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "AKID", "s", None, None, "t",
        ))
        .timeout_config(asklake::llm::bedrock::default_timeouts(
            Duration::from_secs(10),
        ))
        .build();
    let bedrock = asklake::llm::bedrock::Bedrock::with_client(
        aws_sdk_bedrockruntime::Client::from_conf(conf),
        "haiku",
    )
    .unwrap();
    let models: Vec<Arc<dyn LlmBackend>> = vec![Arc::new(bedrock)];
    let report = run(
        Arc::new(engine()),
        &models,
        &[Variant::ZeroShot],
        &qs,
        &["en"],
        &options(),
    )
    .await
    .unwrap();
    let s = &report.summary[0];
    assert_eq!((s.n, s.accuracy), (6, 4.0 / 6.0));
    assert!(
        s.cost_usd.unwrap() > 0.0,
        "Claude 3 Haiku has catalog prices"
    );
    assert_eq!(s.model, "anthropic.claude-3-haiku-20240307-v1:0");
}

#[test]
fn wilson_interval() {
    let (lo, hi) = wilson(52, 100);
    assert!(
        (lo - 0.4231).abs() < 1e-3 && (hi - 0.6153).abs() < 1e-3,
        "{lo} {hi}"
    );
    assert_eq!(wilson(0, 0), (0.0, 0.0));
}

#[tokio::test]
async fn cli_eval_writes_reports() {
    let qs = questions(3);
    let replies = vec![
        Reply::Text(format!("```sql\n{}\n```", qs[0].sql)),
        Reply::Text(WRONG.into()),
        Reply::Text(format!("```sql\n{}\n```", qs[2].sql)),
    ];
    let fake = FakeLlm::start(replies).await;
    let out = tempfile::tempdir().unwrap();
    let dataset =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fewshot/eval/benchmark.jsonl");
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args([
            "--lake",
            lake_dir().to_str().unwrap(),
            "eval",
            "--dataset",
            dataset.to_str().unwrap(),
        ])
        .args([
            "--llm",
            "openai",
            "--model",
            "local-model",
            "--base-url",
            &format!("{}/v1", fake.url()),
        ])
        .args([
            "--variants",
            "zero-shot",
            "--limit",
            "3",
            "--concurrency",
            "1",
            "--out",
            out.path().to_str().unwrap(),
        ])
        .args(["--as-of", AS_OF])
        .output()
        .await
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    let s = &report["summary"][0];
    assert_eq!(
        (s["model"].as_str(), s["variant"].as_str(), s["n"].as_u64()),
        (Some("local-model"), Some("zero-shot"), Some(3))
    );
    assert!((s["accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(report["results"].as_array().unwrap().len(), 3);
    assert!(
        std::fs::read_to_string(out.path().join("report.md"))
            .unwrap()
            .contains("| local-model | zero-shot | 3 |")
    );
}

#[tokio::test]
async fn cli_eval_resumes_from_cached_completions() {
    let qs = questions(2);
    let fake = FakeLlm::start(vec![
        Reply::Text(format!("```sql\n{}\n```", qs[0].sql)),
        Reply::Text(format!("```sql\n{}\n```", qs[1].sql)),
    ])
    .await;
    let out = tempfile::tempdir().unwrap();
    let dataset =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fewshot/eval/benchmark.jsonl");
    let run = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
            .args([
                "--lake",
                lake_dir().to_str().unwrap(),
                "eval",
                "--dataset",
                dataset.to_str().unwrap(),
            ])
            .args([
                "--llm",
                "openai",
                "--model",
                "m",
                "--base-url",
                &format!("{}/v1", fake.url()),
            ])
            .args([
                "--variants",
                "zero-shot",
                "--limit",
                "2",
                "--concurrency",
                "1",
                "--out",
                out.path().to_str().unwrap(),
                "--as-of",
                AS_OF,
            ])
            .output()
    };
    let first = run().await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The fake has no replies left: the second run must come entirely from the cache, with the same result.
    let second = run().await.unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("2 completion(s) served from"));
    assert!(String::from_utf8_lossy(&second.stderr).contains("[2/2]"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"][0]["accuracy"], 1.0);
    assert_eq!(fake.seen().len(), 2);
}
