//! The Bedrock and OpenAI-compatible backends against loopback fakes of their real wire protocols, through
//! the real AWS SDK (endpoint override) and HTTP client; then the whole pipeline and the CLI over them.
#![cfg(all(feature = "bedrock", feature = "openai"))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use asklake::Error;
use asklake::error::ServiceErrorKind;
use asklake::llm::bedrock::{Bedrock, default_timeouts};
use asklake::llm::openai::OpenAiCompatible;
use asklake::llm::retry::RetryPolicy;
use asklake::llm::{ChatRequest, LlmBackend, Message, collect_stream};
use asklake::pipeline::{EmptyResultPolicy, Text2Sql};
use asklake::testing::llm_server::{FakeLlm, Reply};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use common::*;

fn fast_retry(n: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: n,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

fn bedrock(fake: &FakeLlm, model: &str, timeout: Duration) -> Bedrock {
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(fake.url())
        .credentials_provider(Credentials::new(
            "AKIDFAKE",
            "fake-secret",
            None,
            None,
            "test",
        ))
        .retry_config(RetryConfig::disabled())
        .timeout_config(default_timeouts(timeout))
        .build();
    Bedrock::with_client(aws_sdk_bedrockruntime::Client::from_conf(conf), model)
        .unwrap()
        .with_retry(fast_retry(3))
}

fn openai(fake: &FakeLlm, timeout: Duration) -> OpenAiCompatible {
    OpenAiCompatible::new(format!("{}/v1", fake.url()), "llama3.1")
        .unwrap()
        .with_api_key("sk-test-key")
        .with_timeout(timeout)
        .with_retry(fast_retry(3))
}

fn request() -> ChatRequest {
    let mut r = ChatRequest::new("You write SQL.", vec![Message::user("count rows")]);
    r.cache_system = true;
    r
}

#[tokio::test]
async fn bedrock_converse_speaks_the_wire_protocol() {
    let fake = FakeLlm::start([Reply::Text("SELECT 1".into())]).await;
    let llm = bedrock(&fake, "sonnet-4", Duration::from_secs(5));
    let r = llm.chat(&request()).await.unwrap();
    assert_eq!(r.text, "SELECT 1");
    assert_eq!(r.usage.input_tokens, 1000);
    assert_eq!(r.usage.cache_read_tokens, 800);
    assert_eq!(r.stop_reason.as_deref(), Some("end_turn"));
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].path,
        "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse"
    );
    let auth = seen[0].headers["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDFAKE/"),
        "{auth}"
    );
    let body = &seen[0].body;
    assert_eq!(body["system"][0]["text"], "You write SQL.");
    assert_eq!(
        body["system"][1]["cachePoint"]["type"], "default",
        "prompt caching for Sonnet 4"
    );
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["messages"][0]["content"][0]["text"], "count rows");
    assert_eq!(body["inferenceConfig"]["maxTokens"], 1024);
    // Claude 3 Haiku has no prompt caching: no cache point.
    let fake = FakeLlm::start([Reply::Text("x".into())]).await;
    bedrock(&fake, "haiku", Duration::from_secs(5))
        .chat(&request())
        .await
        .unwrap();
    assert!(fake.seen()[0].body["system"].get(1).is_none());
}

#[tokio::test]
async fn bedrock_converse_stream_decodes_event_stream_frames() {
    let fake = FakeLlm::start([Reply::Text("The query counts rows per IP.".into())]).await;
    let llm = bedrock(&fake, "haiku", Duration::from_secs(5));
    let mut deltas = Vec::new();
    let r = collect_stream(llm.chat_stream(&request()).await.unwrap(), |d| {
        deltas.push(d.to_string())
    })
    .await
    .unwrap();
    assert_eq!(r.text, "The query counts rows per IP.");
    assert!(deltas.len() >= 2, "{deltas:?}");
    assert_eq!(r.usage.input_tokens, 120);
    assert_eq!(r.usage.output_tokens, 30);
    assert_eq!(r.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        fake.seen()[0].path,
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
    );
}

#[tokio::test]
async fn bedrock_retries_throttling_and_keeps_error_details() {
    let throttle = Reply::Error {
        status: 429,
        code: "ThrottlingException".into(),
        message: "Too many requests, please wait before trying again.".into(),
    };
    let fake = FakeLlm::start([throttle.clone(), throttle, Reply::Text("SELECT 2".into())]).await;
    let r = bedrock(&fake, "haiku", Duration::from_secs(5))
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(r.text, "SELECT 2");
    assert_eq!(fake.seen().len(), 3);

    let fake = FakeLlm::start([Reply::Error {
        status: 403,
        code: "AccessDeniedException".into(),
        message: "You don't have access to the model with the specified model ID.".into(),
    }])
    .await;
    let e = bedrock(&fake, "opus", Duration::from_secs(5))
        .chat(&request())
        .await
        .unwrap_err();
    let Error::Llm(e) = e else { panic!("{e:?}") };
    assert_eq!(e.status, Some(403));
    assert_eq!(e.code.as_deref(), Some("AccessDeniedException"));
    assert_eq!(e.request_id.as_deref(), Some("fake-request-1"));
    assert!(e.message.contains("don't have access"));
    assert!(!e.retryable);
    assert_eq!(fake.seen().len(), 1, "4xx errors are not retried");
}

#[tokio::test]
async fn bedrock_times_out() {
    let fake = FakeLlm::start([Reply::Slow(Duration::from_secs(3), "late".into())]).await;
    let llm = bedrock(&fake, "haiku", Duration::from_millis(300)).with_retry(fast_retry(1));
    let t = std::time::Instant::now();
    let e = llm.chat(&request()).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2));
    let Error::Llm(e) = e else { panic!("{e:?}") };
    assert_eq!(e.kind, ServiceErrorKind::Timeout, "{e}");
}

/// A stream that sends its first piece and then stalls ends with a timeout error after the first delta,
/// promptly, over both wires (the SDK's attempt timeout stops at the stream's headers).
#[tokio::test]
async fn stalled_streams_time_out() {
    use futures_util::StreamExt;
    let fake = FakeLlm::start([Reply::Stall("The query ".into())]).await;
    let llm = bedrock(&fake, "haiku", Duration::from_secs(5))
        .with_retry(fast_retry(1))
        .with_stream_timeout(Duration::from_millis(600));
    let fake2 = FakeLlm::start([Reply::Stall("The query ".into())]).await;
    let llm2 = openai(&fake2, Duration::from_millis(600)).with_retry(fast_retry(1));
    for backend in [&llm as &dyn LlmBackend, &llm2] {
        let t = std::time::Instant::now();
        let mut s = backend.chat_stream(&request()).await.unwrap();
        let mut deltas = String::new();
        let err = loop {
            match s.next().await {
                Some(Ok(asklake::llm::StreamEvent::Delta(d))) => deltas.push_str(&d),
                Some(Ok(other)) => panic!("{} finished: {other:?}", backend.name()),
                Some(Err(e)) => break e,
                None => panic!("{} ended without an error", backend.name()),
            }
        };
        assert_eq!(deltas, "The query ", "{}", backend.name());
        let Error::Llm(e) = err else {
            panic!("{err:?}")
        };
        assert_eq!(e.kind, ServiceErrorKind::Timeout, "{}: {e}", backend.name());
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{}: {:?}",
            backend.name(),
            t.elapsed()
        );
    }
}

#[tokio::test]
async fn openai_json_and_sse() {
    let fake = FakeLlm::start([
        Reply::Text("SELECT 3".into()),
        Reply::Text("Counts the rows per IP.".into()),
    ])
    .await;
    let llm = openai(&fake, Duration::from_secs(5));
    let r = llm.chat(&request()).await.unwrap();
    assert_eq!(r.text, "SELECT 3");
    assert_eq!(
        (
            r.usage.input_tokens,
            r.usage.cache_read_tokens,
            r.usage.output_tokens
        ),
        (800, 100, 40)
    );
    let mut deltas = 0;
    let s = collect_stream(llm.chat_stream(&request()).await.unwrap(), |_| deltas += 1)
        .await
        .unwrap();
    assert_eq!(s.text, "Counts the rows per IP.");
    assert!(deltas >= 3);
    assert_eq!((s.usage.input_tokens, s.usage.output_tokens), (90, 20));
    assert_eq!(s.stop_reason.as_deref(), Some("stop"));
    let seen = fake.seen();
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-test-key");
    assert_eq!(seen[0].body["model"], "llama3.1");
    assert_eq!(seen[0].body["messages"][0]["role"], "system");
    assert_eq!(seen[0].body["messages"][1]["content"], "count rows");
    assert_eq!(seen[1].body["stream"], true);
    assert!(
        !format!("{llm:?}").contains("sk-test-key"),
        "the key must not leak through Debug"
    );
}

#[tokio::test]
async fn openai_errors_retries_and_timeouts() {
    let fake = FakeLlm::start([
        Reply::Error {
            status: 429,
            code: "rate_limit_exceeded".into(),
            message: "Rate limit reached".into(),
        },
        Reply::Error {
            status: 503,
            code: "overloaded".into(),
            message: "try later".into(),
        },
        Reply::Text("SELECT 4".into()),
    ])
    .await;
    assert_eq!(
        openai(&fake, Duration::from_secs(5))
            .chat(&request())
            .await
            .unwrap()
            .text,
        "SELECT 4"
    );
    assert_eq!(fake.seen().len(), 3);

    let fake = FakeLlm::start([Reply::Error {
        status: 401,
        code: "invalid_api_key".into(),
        message: "Incorrect API key provided".into(),
    }])
    .await;
    let Error::Llm(e) = openai(&fake, Duration::from_secs(5))
        .chat(&request())
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(
        (e.status, e.code.as_deref(), e.request_id.as_deref()),
        (Some(401), Some("invalid_api_key"), Some("fake-request-2"))
    );
    assert_eq!(fake.seen().len(), 1);

    let fake = FakeLlm::start([Reply::Slow(Duration::from_secs(3), "late".into())]).await;
    let llm = openai(&fake, Duration::from_millis(300)).with_retry(fast_retry(1));
    let Error::Llm(e) = llm.chat(&request()).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(e.kind, ServiceErrorKind::Timeout);
}

fn good() -> String {
    format!(
        "SELECT src_endpoint.ip, count(*) AS calls FROM {CT2} WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
    )
}

/// The pipeline scenarios, each through both real backends.
#[tokio::test]
async fn pipeline_scenarios_over_both_wires() {
    let throttle = Reply::Error {
        status: 429,
        code: "ThrottlingException".into(),
        message: "slow down".into(),
    };
    let scenarios: Vec<(&str, Vec<Reply>, EmptyResultPolicy, usize, bool)> = vec![
        (
            "malformed then fix",
            vec![
                Reply::sql(&format!("SELEC ip FROM {CT2}")),
                Reply::sql(&good()),
            ],
            EmptyResultPolicy::Accept,
            2,
            true,
        ),
        (
            "guard then fix",
            vec![
                Reply::sql(&format!("DROP TABLE {CT2}")),
                Reply::sql(&good()),
            ],
            EmptyResultPolicy::Accept,
            2,
            true,
        ),
        (
            "engine error then fix",
            vec![
                Reply::sql(&format!(
                    "SELECT src_endpoint.ip FROM {CT2} WHERE time_dt > 'x'"
                )),
                Reply::sql(&good()),
            ],
            EmptyResultPolicy::Accept,
            2,
            true,
        ),
        (
            "empty then fix",
            vec![
                Reply::sql(&format!(
                    "SELECT time_dt FROM {CT2} WHERE api.operation = 'consolelogin'"
                )),
                Reply::sql(&good()),
            ],
            EmptyResultPolicy::RetryOnce,
            2,
            true,
        ),
        (
            "throttled then success",
            vec![throttle, Reply::sql(&good())],
            EmptyResultPolicy::Accept,
            1,
            true,
        ),
        (
            "refusal",
            vec![Reply::Text("CANNOT_ANSWER: not in the logs".into())],
            EmptyResultPolicy::Accept,
            1,
            false,
        ),
    ];
    for (name, replies, policy, attempts, rows) in scenarios {
        for wire in ["bedrock", "openai"] {
            let fake = FakeLlm::start(replies.clone()).await;
            let llm: Arc<dyn LlmBackend> = if wire == "bedrock" {
                Arc::new(bedrock(&fake, "haiku", Duration::from_secs(5)))
            } else {
                Arc::new(openai(&fake, Duration::from_secs(5)))
            };
            let t = Text2Sql::builder(Arc::new(engine()))
                .llm(llm)
                .explain(false)
                .empty_result(policy)
                .build();
            let a = t.run("top IPs by API calls last week", &[]).await.unwrap();
            assert!(a.error.is_none(), "{name} over {wire}: {:?}", a.error);
            assert_eq!(
                a.attempts.len(),
                attempts,
                "{name} over {wire}: {:?}",
                a.attempts
            );
            assert_eq!(
                a.result.as_ref().is_some_and(|r| r.row_count > 0),
                rows,
                "{name} over {wire}"
            );
            if wire == "bedrock" && rows {
                assert!(
                    a.cost_usd.unwrap() > 0.0,
                    "Claude 3 Haiku has catalog prices"
                );
            }
        }
    }
}

#[tokio::test]
async fn pipeline_reports_timeouts() {
    let fake = FakeLlm::start([Reply::Slow(Duration::from_secs(3), "late".into())]).await;
    let llm =
        Arc::new(bedrock(&fake, "haiku", Duration::from_millis(300)).with_retry(fast_retry(1)));
    let t = Text2Sql::builder(Arc::new(engine()))
        .llm(llm)
        .explain(false)
        .build();
    let e = t.ask("API calls last week").await.unwrap_err();
    assert!(
        matches!(&e, Error::Llm(l) if l.kind == ServiceErrorKind::Timeout),
        "{e}"
    );
}

/// A 429 with `Retry-After` is retried after the wait the server asked for (not the much shorter backoff),
/// through the real AWS SDK and the real HTTP client; a wait past the call's deadline is not taken.
#[tokio::test]
async fn retry_after_is_honoured_on_both_wires() {
    let fake = FakeLlm::start([Reply::Throttled(1), Reply::Text("SELECT 1".into())]).await;
    let start = std::time::Instant::now();
    let r = bedrock(&fake, "haiku", Duration::from_secs(5))
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(r.text, "SELECT 1");
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );

    let fake = FakeLlm::start([Reply::Throttled(1), Reply::Text("SELECT 2".into())]).await;
    let start = std::time::Instant::now();
    let r = openai(&fake, Duration::from_secs(5))
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(r.text, "SELECT 2");
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );

    // Asked to wait longer than the deadline allows: the throttling error comes back at once, details kept.
    let fake = FakeLlm::start([Reply::Throttled(120), Reply::Text("never".into())]).await;
    let start = std::time::Instant::now();
    let e = openai(&fake, Duration::from_secs(5))
        .with_retry(RetryPolicy {
            deadline: Some(Duration::from_secs(10)),
            max_retry_after: Duration::from_secs(300),
            ..fast_retry(5)
        })
        .chat(&request())
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let Error::Llm(e) = e else { panic!("{e:?}") };
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(429), Some("rate_limit_exceeded"))
    );
    assert_eq!(e.retry_after_ms, Some(120_000));
    assert_eq!(fake.seen().len(), 1);
}
