//! The web app in a real headless Chromium (Debian's `chromium`, driven by `playwright-core` from npm):
//! tests/browser/app.test.mjs runs against `asklake serve` with a token and the loopback fake Bedrock
//! (answering by request). It asks and sees the SQL, the table and a chart, follows up in the session,
//! edits and re-runs SQL, opens deep links, promotes an answer, browses the schema and library, and checks
//! that an XSS payload in result data and in the explanation is shown as text and never runs. Screenshots
//! go to `$CARGO_TARGET_TMPDIR/browser-screenshots`. scripts/setup-browser-tests.sh installs what it needs.

use asklake::testing::llm_server::{FakeLlm, Reply};

use crate::common::*;
use crate::serve::start;

const TOKEN: &str = "browser-test-token-0123456789";

/// The planted payload: markup and a script end tag that would run if any of it became HTML.
pub const XSS_CELL: &str = "<img src=x onerror=\"window.__xss=1\">";
pub const XSS_CELL2: &str = "</script><script>window.__xss=2</script>";
pub const XSS_EXPLANATION: &str = "Look: <img src=x onerror=\"window.__xss=3\"> <b>bold?</b>";

fn responder(body: &serde_json::Value) -> Reply {
    let system = body["system"][0]["text"].as_str().unwrap_or("");
    let question = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .map(|m| m["content"].to_string())
        .unwrap_or_default();
    let all = body.to_string();
    if system.starts_with("You explain") {
        return Reply::Text(if all.contains("payload") {
            XSS_EXPLANATION.to_string()
        } else {
            "The busiest source IPs by API calls over the last seven days.".to_string()
        });
    }
    let sql = if question.contains("planted payload") {
        format!(
            "SELECT '{}' AS payload, '{}' AS payload2, 1 AS n",
            XSS_CELL.replace('\'', "''"),
            XSS_CELL2.replace('\'', "''")
        )
    } else if question.contains("top 2") {
        // A follow-up: the prior question must have reached the model through the session.
        if !all.contains("API calls") {
            return Reply::Text("CANNOT_ANSWER: no earlier question in this session".into());
        }
        format!(
            "SELECT src_endpoint.ip, count(*) AS calls FROM {CT2} WHERE src_endpoint.ip IS NOT NULL AND time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 2"
        )
    } else {
        format!(
            "SELECT src_endpoint.ip, count(*) AS calls FROM {CT2} WHERE src_endpoint.ip IS NOT NULL AND time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
        )
    };
    Reply::Text(format!("```sql\n{sql}\n```"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_app_in_headless_chromium() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    let chromium = std::env::var("ASKLAKE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is missing ({chromium}): run scripts/setup-browser-tests.sh (Debian packages chromium and chromium-driver)"
    );
    assert!(
        root.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/setup-browser-tests.sh"
    );
    let fake = FakeLlm::start_with(responder).await;
    let s = start(
        &["--llm", "bedrock", "--model", "haiku", "--token", TOKEN],
        &[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url())],
    )
    .await;
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = tokio::process::Command::new("node")
        .args(["--test", "--test-concurrency=1", "app.test.mjs"])
        .current_dir(&root)
        .env("ASKLAKE_URL", &s.url)
        .env("ASKLAKE_TOKEN", TOKEN)
        .env("ASKLAKE_CT2", CT2)
        .env("ASKLAKE_CHROMIUM", &chromium)
        .env("ASKLAKE_SCREENSHOTS", &shots)
        .env("XSS_CELL", XSS_CELL)
        .env("XSS_CELL2", XSS_CELL2)
        .env("XSS_EXPLANATION", XSS_EXPLANATION)
        .output()
        .await
        .unwrap();
    let text = crate::client_output(&out);
    assert!(text.contains("# fail 0"), "{text}");
    assert!(!text.contains("# pass 0"), "{text}");
    eprintln!("screenshots in {}", shots.display());
    // The questions reached the fake Bedrock through the real AWS SDK.
    assert!(
        fake.seen()
            .iter()
            .any(|r| r.path.ends_with("/converse") || r.path.ends_with("/converse-stream"))
    );
}
