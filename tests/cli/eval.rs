//! `asklake eval`: reports, resumable runs from the completion cache, cost estimates.

use asklake::eval::runner::{BenchQuestion, load_benchmark};
use asklake::testing::llm_server::{FakeLlm, Reply};

use crate::common::*;

fn questions(n: usize) -> Vec<BenchQuestion> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fewshot/eval/benchmark.jsonl");
    load_benchmark(&path).unwrap().into_iter().take(n).collect()
}

const WRONG: &str = "```sql\nSELECT 1 AS wrong\n```";

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
    let png = std::fs::read(out.path().join("accuracy_vs_cost.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // 960 × 600 pixels (IHDR), and not a blank canvas: the local model has no price, so it is listed.
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 960);
    assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 600);
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

#[test]
fn cli_eval_estimate_prices_the_prompts_without_calling_a_model() {
    let dataset =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fewshot/eval/benchmark.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args(["--lake", lake_dir().to_str().unwrap(), "eval", "--estimate"])
        .args(["--dataset", dataset.to_str().unwrap()])
        .args(["--model", "haiku,opus", "--limit", "4", "--lang", "both"])
        .args(["--variants", "zero-shot,rag,self-consistency:3"])
        .args(["--retriever", "lexical", "--as-of", AS_OF])
        .env_remove("ASKLAKE_LLM")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with("| anthropic."))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 6, "{text}");
    let get = |model: &str, variant: &str| {
        rows.iter()
            .find(|r| r[1].contains(model) && r[2] == variant)
            .unwrap()
            .clone()
    };
    // 4 questions × 2 languages; self-consistency makes 3 calls each.
    assert_eq!(get("haiku", "zero-shot")[3], "8");
    assert_eq!(get("haiku", "self-consistency:3")[4], "24");
    let tokens = |r: &Vec<&str>| r[5].parse::<u64>().unwrap();
    assert!(
        tokens(&get("haiku", "rag")) > tokens(&get("haiku", "zero-shot")),
        "examples add tokens"
    );
    assert_eq!(
        tokens(&get("haiku", "self-consistency:3")),
        3 * tokens(&get("haiku", "rag"))
    );
    // Opus costs more than Haiku for the same prompts.
    let dollars = |r: &Vec<&str>| r[7].parse::<f64>().unwrap();
    assert!(dollars(&get("opus", "rag")) > 10.0 * dollars(&get("haiku", "rag")));
}
