//! `asklake fewshot` and `ask --promote`: the verified library from the command line.

use crate::common::*;

fn cache_dir() -> &'static std::path::Path {
    static D: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    D.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args(["--lake", lake_dir().to_str().unwrap()])
        .args(args)
        .env_remove("ASKLAKE_LLM")
        .env_remove("ASKLAKE_LIBRARY")
        .env("ASKLAKE_CACHE_DIR", cache_dir())
        .output()
        .unwrap()
}

#[test]
fn cli_library_commands() {
    let out = cli(&[
        "fewshot",
        "search",
        "루트 계정 사용 기록",
        "--k",
        "3",
        "--json",
    ]);
    assert!(out.status.success());
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["id"], "ct-root-usage");
    assert!(hits[0]["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());
    let list: serde_json::Value =
        serde_json::from_slice(&cli(&["fewshot", "list", "--format", "json"]).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 80);
    let eval = String::from_utf8(cli(&["fewshot", "eval"]).stdout).unwrap();
    assert!(
        eval.contains("lexical    en")
            && eval.contains("lexical    ko")
            && eval.contains("dense      en")
            && eval.contains("hybrid     ko"),
        "{eval}"
    );

    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().to_str().unwrap();
    let sql = format!("SELECT count(*) AS n FROM {CT2} WHERE api.operation = 'GetObject'");
    let out = cli(&[
        "fewshot",
        "--library",
        lib,
        "add",
        "--question",
        "How many GetObject calls?",
        "--sql",
        &sql,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = cli(&[
        "fewshot",
        "--library",
        lib,
        "add",
        "--question",
        "drop it",
        "--sql",
        &format!("DROP TABLE {CT2}"),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let text = std::fs::read_to_string(dir.path().join("custom.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1, "the rejected SQL was not added");
    assert!(text.contains("\"user-how-many-getobject-calls\""));
    let out = cli(&["fewshot", "--library", lib, "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("user-how-many-getobject-calls"));

    // ask without an LLM answers from the library.
    let out = cli(&["ask", "Are there logs of root account usage?", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (j["source"].as_str(), j["model"].as_str()),
        (Some("library"), Some("library:ct-root-usage"))
    );
}

/// The feedback loop: an answer the analyst checked is promoted with `ask --promote`, verified again, stored
/// in the library folder, and from then on the same question is answered from the library without an LLM.
#[tokio::test]
async fn ask_promote_feeds_the_library() {
    use asklake::testing::llm_server::{FakeLlm, Reply};
    let sql = format!("SELECT count(*) AS calls FROM {CT2} WHERE api.operation = 'GetObject'");
    let fake = FakeLlm::start([Reply::Text(format!("```sql\n{sql}\n```"))]).await;
    let lib = tempfile::tempdir().unwrap();
    let question = "How many GetObject API calls were recorded in CloudTrail?";
    let run = |args: Vec<String>| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
            .args(["--lake", lake_dir().to_str().unwrap()])
            .args(args)
            .env_remove("ASKLAKE_LLM")
            .env("ASKLAKE_CACHE_DIR", cache_dir())
            .output()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let out = run(s(&[
        "ask",
        question,
        "--llm",
        "openai",
        "--model",
        "m",
        "--base-url",
        &format!("{}/v1", fake.url()),
        "--no-explain",
        "--promote",
        "--question-ko",
        "CloudTrail에 기록된 GetObject API 호출은 몇 번인가요?",
        "--library",
        lib.path().to_str().unwrap(),
        "--retriever",
        "lexical",
    ]))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("promoted to the library as user-how-many-getobject-api-calls-were")
    );
    let stored = std::fs::read_to_string(lib.path().join("custom.jsonl")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(stored.lines().next().unwrap()).unwrap();
    assert_eq!(entry["origin"], "ask");
    assert_eq!(entry["question"], question);
    assert!(entry["question_ko"].as_str().unwrap().contains("GetObject"));
    // Without an LLM, the same question is now answered from the promoted example.
    let out = run(s(&[
        "ask",
        question,
        "--json",
        "--library",
        lib.path().to_str().unwrap(),
        "--retriever",
        "lexical",
    ]))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["source"], "library");
    assert!(
        j["model"]
            .as_str()
            .unwrap()
            .starts_with("library:user-how-many-getobject"),
        "{j}"
    );
}
