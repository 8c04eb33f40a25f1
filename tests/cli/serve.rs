//! `asklake serve`'s HTTP API over real HTTP against the running binary: health, tables, SQL (guard 400,
//! validation and engine 422), ask as server-sent events over the loopback fake Bedrock, library answers
//! without an LLM, promote and search, history, the token rule, body and concurrency limits, security
//! headers, and a bounded load of concurrent queries.

use std::time::{Duration, Instant};

use asklake::testing::llm_server::{FakeLlm, Reply};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::*;

const TOKEN: &str = "serve-test-token-0123456789";

pub(crate) struct Server {
    child: tokio::process::Child,
    pub url: String,
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

pub(crate) async fn start(args: &[&str], env: &[(&str, String)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"));
    cmd.current_dir(dir.path())
        .args([
            "--lake",
            lake_dir().to_str().unwrap(),
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .args(args)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("ASKLAKE_AUDIT_LOG", dir.path().join("audit.jsonl"))
        .env("ASKLAKE_LIBRARY", dir.path().join("library"))
        .env("AWS_ACCESS_KEY_ID", "AKIDSERVE")
        .env("AWS_SECRET_ACCESS_KEY", "serve-secret")
        .env("AWS_REGION", "us-east-1")
        .envs(ISOLATED_AWS)
        .env_remove("ASKLAKE_TOKEN")
        .env_remove("ASKLAKE_CONFIG")
        .env_remove("ASKLAKE_LLM")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(rest) = l.split("listening on ").nth(1) {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .unwrap();
    // Keep draining stderr so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let path = dir.path().to_path_buf();
    Server {
        child,
        url,
        _dir: dir,
        dir: path,
    }
}

fn client() -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {TOKEN}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

/// GET a JSON body.
async fn get_json(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

/// `(event, data)` pairs of a server-sent event stream.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in body.split("\n\n") {
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event: ") {
                name = Some(n.to_string());
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            }
        }
        if let Some(n) = name {
            out.push((n, serde_json::from_str(&data).unwrap_or(Value::Null)));
        }
    }
    out
}

fn good_sql() -> String {
    format!(
        "SELECT src_endpoint.ip, count(*) AS calls FROM {CT2} WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_over_http_with_the_fake_bedrock() {
    let fake = FakeLlm::start([
        Reply::Text(format!("```sql\n{}\n```", good_sql())),
        Reply::Text("The query counts API calls per source IP.".into()),
    ])
    .await;
    let s = start(
        &[
            "--llm",
            "bedrock",
            "--model",
            "haiku",
            "--token",
            TOKEN,
            "--max-queries",
            "2",
        ],
        &[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url())],
    )
    .await;
    let c = client();
    let api = |p: &str| format!("{}/api{p}", s.url);

    // The token is required on every call, and compared exactly.
    let r = reqwest::get(api("/health")).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = reqwest::Client::new()
        .get(api("/health"))
        .bearer_auth("serve-test-token-0123456780")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c.get(api("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Security headers on every response.
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["status"], "ok");

    // The web app, embedded in the binary: the page needs no token (it reads it from the fragment), gets
    // a fresh style nonce each time, and loads only its own bundles.
    let page = |_: ()| reqwest::Client::new().get(format!("{}/", s.url)).send();
    let (r1, r2) = (page(()).await.unwrap(), page(()).await.unwrap());
    assert_eq!(r1.status(), 200);
    assert!(
        r1.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let nonce_of = |r: &reqwest::Response| {
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        csp.split("'nonce-")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap()
            .to_string()
    };
    let (n1, n2) = (nonce_of(&r1), nonce_of(&r2));
    assert_ne!(n1, n2);
    assert_eq!(n1.len(), 32);
    let html = r1.text().await.unwrap();
    assert!(html.contains(&format!("content=\"{n1}\"")), "{html}");
    assert!(
        !html.contains("<script>") && !html.contains("http"),
        "{html}"
    );
    let script = html
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        script.starts_with("/assets/") && script.ends_with(".js"),
        "{script}"
    );
    let js = reqwest::Client::new()
        .get(format!("{}{script}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(js.headers()["content-type"], "text/javascript");
    assert!(
        js.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let missing = reqwest::Client::new()
        .get(format!("{}/nope.js", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(h["engine"], "duckdb");
    assert_eq!(h["llm"], "bedrock");

    // Tables and one table's nested tree.
    let t: Value = get_json(&c, api("/tables")).await;
    assert_eq!(t["tables"].as_array().unwrap().len(), 10);
    let d: Value = get_json(&c, api(&format!("/tables/{CT2}"))).await;
    assert!(
        d["columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == "actor.user.name")
    );
    assert!(
        d["tree"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "actor")
    );
    assert_eq!(
        c.get(api("/tables/nope")).send().await.unwrap().status(),
        404
    );

    // SQL: a result; a guard rejection is 400; validation and engine errors are 422.
    let r = c
        .post(api("/sql"))
        .json(&json!({"sql": good_sql(), "max_rows": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["row_count"], 3);
    assert_eq!(j["columns"][0]["name"], "ip");
    for (sql, status, kind) in [
        (format!("DELETE FROM {CT2}"), 400, "guard"),
        (
            "SELECT * FROM read_csv('/etc/passwd')".to_string(),
            400,
            "guard",
        ),
        (
            format!("SELECT actor.user.nmae FROM {CT2}"),
            422,
            "validation",
        ),
        (
            format!("SELECT CAST(api.operation AS INTEGER) AS n FROM {CT2}"),
            422,
            "query",
        ),
    ] {
        let r = c
            .post(api("/sql"))
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{sql}");
        let j: Value = r.json().await.unwrap();
        assert_eq!(j["error"]["kind"], kind, "{sql}: {j}");
        assert!(!j["error"]["message"].as_str().unwrap().is_empty());
    }
    let j: Value = c
        .post(api("/sql"))
        .json(&json!({ "sql": format!("DELETE FROM {CT2}") }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(j["error"]["code"], "write", "{j}");

    // Ask: the stages as events, the explanation as it streams, then the Answer JSON.
    let r = c
        .post(api("/ask"))
        .json(&json!({"question": "Which source IPs made the most API calls last week?", "session": "s-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(&r.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..3], ["examples", "attempt", "result"], "{names:?}");
    assert!(names.contains(&"explanation"), "{names:?}");
    assert_eq!(*names.last().unwrap(), "done");
    let done = &events.last().unwrap().1;
    assert_eq!(done["source"], "llm");
    assert_eq!(done["row_count"], 5);
    assert_eq!(
        done["explanation"],
        "The query counts API calls per source IP."
    );
    let streamed: String = events
        .iter()
        .filter(|(n, _)| n == "explanation")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, "The query counts API calls per source IP.");

    // Promote the answer; the library search finds it.
    let r = c
        .post(api("/promote"))
        .json(&json!({"question": "Top caller IPs of the week", "sql": good_sql()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let hits: Value = get_json(&c, api("/examples?q=top%20caller%20IPs%20of%20the%20week")).await;
    assert!(
        hits["examples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["question"] == "Top caller IPs of the week"),
        "{hits}"
    );
    let r = c
        .post(api("/promote"))
        .json(&json!({"question": "writes", "sql": format!("DELETE FROM {CT2}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // History: the question, from the audit log, with who asked.
    let h: Value = get_json(&c, api("/history")).await;
    assert_eq!(
        h["history"][0]["question"],
        "Which source IPs made the most API calls last week?"
    );
    let audit = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"caller\":\"127.0.0.1:"), "{audit}");
    assert!(!audit.contains(TOKEN) && !audit.contains("serve-secret"));

    // Limits: a body too large is 413; a burst beyond the queries in flight gets 429, and every request
    // is answered.
    let big = "x".repeat(300 * 1024);
    let r = c
        .post(api("/sql"))
        .json(&json!({ "sql": big }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let slow =
        format!("SELECT count(*) AS n FROM {CT2} a, {CT2} b WHERE a.metadata.uid < b.metadata.uid");
    let burst: Vec<_> = (0..12)
        .map(|_| {
            let c = c.clone();
            let url = api("/sql");
            let body = json!({ "sql": slow });
            tokio::spawn(async move {
                c.post(url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut codes = Vec::new();
    for b in burst {
        codes.push(b.await.unwrap());
    }
    assert!(codes.iter().all(|c| *c == 200 || *c == 429), "{codes:?}");
    assert!(codes.contains(&429) && codes.contains(&200), "{codes:?}");
    assert_eq!(c.get(api("/health")).send().await.unwrap().status(), 200);
}

/// Without an LLM, library answers still work; other questions get an error event saying how to
/// configure one. A bounded load of concurrent queries is all answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_answers_without_an_llm_and_a_bounded_load() {
    let s = start(&[], &[]).await;
    let c = reqwest::Client::new();
    let api = |p: &str| format!("{}/api{p}", s.url);
    let r = c
        .post(api("/ask"))
        .json(&json!({"question": "Show rejected inbound SSH connections in the last week."}))
        .send()
        .await
        .unwrap();
    let events = sse_events(&r.text().await.unwrap());
    let done = &events.last().unwrap();
    assert_eq!(done.0, "done", "{events:?}");
    assert_eq!(done.1["source"], "library");
    let r = c
        .post(api("/ask"))
        .json(&json!({"question": "what is the meaning of life"}))
        .send()
        .await
        .unwrap();
    let events = sse_events(&r.text().await.unwrap());
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert!(
        data["error"]["message"].as_str().unwrap().contains("--llm"),
        "{data}"
    );

    // 50 concurrent queries: each answered (200, or 429 beyond the queries in flight).
    let sql = format!("SELECT api.operation, count(*) AS n FROM {CT2} GROUP BY 1 ORDER BY 2 DESC");
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = c.clone();
            let url = api("/sql");
            let body = json!({ "sql": sql });
            tokio::spawn(async move {
                let t = Instant::now();
                let code = c
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                (code, t.elapsed())
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(results.len(), 50);
    assert!(
        results.iter().all(|(c, _)| *c == 200 || *c == 429),
        "{results:?}"
    );
    let mut ok: Vec<Duration> = results
        .iter()
        .filter(|(c, _)| *c == 200)
        .map(|(_, d)| *d)
        .collect();
    ok.sort();
    assert!(!ok.is_empty());
    eprintln!(
        "50 concurrent /api/sql: {} ok, {} busy; p50 {:?}, p95 {:?}, all in {:?}",
        ok.len(),
        50 - ok.len(),
        ok[ok.len() / 2],
        ok[(ok.len() * 95 / 100).min(ok.len() - 1)],
        started.elapsed()
    );
    assert_eq!(c.get(api("/health")).send().await.unwrap().status(), 200);
}

#[test]
fn refuses_to_listen_off_loopback_without_a_token() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args([
            "--lake",
            lake_dir().to_str().unwrap(),
            "serve",
            "--bind",
            "0.0.0.0:0",
        ])
        .env_remove("ASKLAKE_TOKEN")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("without a token"));
}

/// 10 concurrent questions against the fake Bedrock (answering by request, so order does not matter): each
/// is answered (a `done` event, or 429 beyond the questions in flight), and the server stays healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_questions_are_answered_or_refused_not_lost() {
    let sql = good_sql();
    let fake = FakeLlm::start_with(move |body| {
        let system = body["system"][0]["text"].as_str().unwrap_or("");
        if system.starts_with("You explain") {
            Reply::Text("Counts API calls per source IP.".into())
        } else {
            Reply::Text(format!("```sql\n{sql}\n```"))
        }
    })
    .await;
    let s = start(
        &[
            "--llm",
            "bedrock",
            "--model",
            "haiku",
            "--max-questions",
            "4",
        ],
        &[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url())],
    )
    .await;
    let c = reqwest::Client::new();
    let url = format!("{}/api/ask", s.url);
    let started = Instant::now();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let c = c.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let r = c
                    .post(url)
                    .json(&json!({"question": format!("Which source IPs made the most API calls last week? ({i})")}))
                    .send()
                    .await
                    .unwrap();
                let code = r.status().as_u16();
                let last = if code == 200 {
                    sse_events(&r.text().await.unwrap()).pop().map(|(n, _)| n)
                } else {
                    None
                };
                (code, last, t.elapsed())
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    for (code, last, _) in &results {
        match code {
            200 => assert_eq!(last.as_deref(), Some("done"), "{results:?}"),
            429 => {}
            other => panic!("status {other}: {results:?}"),
        }
    }
    let mut ok: Vec<Duration> = results.iter().filter(|r| r.0 == 200).map(|r| r.2).collect();
    ok.sort();
    assert!(ok.len() >= 4, "{results:?}");
    eprintln!(
        "10 concurrent /api/ask: {} answered, {} busy; p50 {:?}, p95 {:?}, all in {:?}",
        ok.len(),
        10 - ok.len(),
        ok[ok.len() / 2],
        ok[(ok.len() * 95 / 100).min(ok.len() - 1)],
        started.elapsed()
    );
    let h = c.get(format!("{}/api/health", s.url)).send().await.unwrap();
    assert_eq!(h.status(), 200);
}
