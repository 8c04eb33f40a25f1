//! `asklake mcp` with a real MCP client: the official Python SDK (`mcp` from PyPI) runs
//! tests/mcp/test_mcp.py against the binary, over stdio and streamable HTTP, with a loopback fake of
//! Bedrock for `ask`. The client's virtualenv is made by scripts/setup-mcp-client.sh (scripts/test.sh runs
//! it); ASKLAKE_MCP_PYTHON points elsewhere.

use asklake::testing::llm_server::{FakeLlm, Reply};

use crate::common::*;

fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("ASKLAKE_MCP_PYTHON") {
        return p.into();
    }
    let home = std::env::var_os("HOME").expect("HOME");
    let p = std::path::Path::new(&home).join(".cache/asklake/mcp-client/bin/python");
    assert!(
        p.exists(),
        "the MCP client's virtualenv is missing: run scripts/setup-mcp-client.sh (or set ASKLAKE_MCP_PYTHON)"
    );
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_python_client() {
    let sql = format!(
        "SELECT src_endpoint.ip, count(*) AS calls FROM {CT2} WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
    );
    let fake = FakeLlm::start([
        Reply::Text(format!("```sql\n{sql}\n```")),
        Reply::Text("The query counts API calls per source IP.".into()),
    ])
    .await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tokio::process::Command::new(python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("tests/mcp"))
        .env("ASKLAKE_BIN", assert_cmd::cargo::cargo_bin("asklake"))
        .env("ASKLAKE_TEST_LAKE", lake_dir())
        .env("ASKLAKE_CT2", CT2)
        .env("FAKE_BEDROCK_URL", fake.url())
        .output()
        .await
        .unwrap();
    let text = crate::client_output(&out);
    assert!(text.contains("3 passed"), "{text}");
    // The one `ask` reached the fake Bedrock through the real AWS SDK.
    let seen = fake.seen();
    assert!(
        seen.iter().any(|s| s.path.ends_with("/converse")),
        "{seen:?}"
    );
}
