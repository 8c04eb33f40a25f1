//! `asklake ask` over the loopback fake Bedrock and OpenAI-compatible servers, and without an LLM.
#![cfg(all(feature = "bedrock", feature = "openai"))]

use asklake::testing::llm_server::{FakeLlm, Reply};

use crate::common::*;

fn good() -> String {
    format!(
        "SELECT src_endpoint.ip, count(*) AS calls FROM {CT2} WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
    )
}

/// The CLI with the standard AWS environment: credentials, region and `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
#[tokio::test]
async fn cli_ask_uses_the_aws_environment_and_prints_json() {
    let fake = FakeLlm::start([
        Reply::sql(&good()),
        Reply::Text("It lists the top five caller IPs.".into()),
    ])
    .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args([
            "--lake",
            lake_dir().to_str().unwrap(),
            "ask",
            "Which source IPs made the most API calls last week?",
            "--llm",
            "bedrock",
            "--model",
            "haiku",
            "--json",
        ])
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url())
        .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
        .env("AWS_SECRET_ACCESS_KEY", "cli-secret")
        .env("AWS_REGION", "us-east-1")
        .envs(ISOLATED_AWS)
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "question",
        "sql",
        "columns",
        "rows",
        "row_count",
        "attempts",
        "explanation",
        "source",
        "model",
        "usage",
        "timings_ms",
    ] {
        assert!(j.get(key).is_some(), "missing {key}: {j}");
    }
    assert_eq!(j["row_count"], 5);
    assert_eq!(j["model"], "anthropic.claude-3-haiku-20240307-v1:0");
    assert_eq!(j["explanation"], "It lists the top five caller IPs.");
    assert!(j["usage"]["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(
        fake.seen()[0].headers["authorization"]
            .to_str()
            .unwrap()
            .contains("AKIDCLI")
    );
    assert!(!stdout.contains("cli-secret"));
}

#[tokio::test]
async fn cli_ask_over_an_openai_compatible_server() {
    let fake = FakeLlm::start([
        Reply::sql(&good()),
        Reply::Text("Top five caller IPs.".into()),
    ])
    .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args([
            "--lake",
            lake_dir().to_str().unwrap(),
            "ask",
            "지난주 API 호출이 가장 많은 IP는?",
            "--llm",
            "openai",
            "--model",
            "qwen2.5",
            "--base-url",
            &format!("{}/v1", fake.url()),
        ])
        .env("OPENAI_API_KEY", "sk-cli")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("LIMIT 5"), "{stdout}");
    assert!(stdout.contains("Top five caller IPs."), "{stdout}");
    assert!(stdout.contains("(5 rows; 1 attempt"), "{stdout}");
    assert_eq!(fake.seen()[0].headers["authorization"], "Bearer sk-cli");
    assert_eq!(
        fake.seen()[1].body["stream"],
        true,
        "the explanation streams"
    );
}

#[tokio::test]
async fn cli_ask_without_an_llm_says_how_to_configure_one() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args(["--lake", lake_dir().to_str().unwrap(), "ask", "top IPs"])
        .env_remove("ASKLAKE_LLM")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--llm bedrock") && err.contains("--llm openai"),
        "{err}"
    );
}
