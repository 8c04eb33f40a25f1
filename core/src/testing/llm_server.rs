//! A loopback fake of the Bedrock Runtime (Converse REST-JSON, ConverseStream with AWS event-stream framing)
//! and OpenAI chat-completions (JSON and SSE) and embeddings wire protocols, for the real SDK / HTTP clients (feature
//! `test-utils`: tests, notebooks in CI, benchmarks). Serves 127.0.0.1 only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// What the fake answers to the next call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A successful completion with this text.
    Text(String),
    /// An error status with the provider's error shape (`code`: AWS error type or OpenAI error code).
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// Wait, then answer with the text (for timeouts).
    Slow(Duration, String),
    /// 429 with `Retry-After: N` seconds, in the provider's throttling shape.
    Throttled(u64),
    /// A streamed answer that sends its first piece (this text) and then nothing, never ending (a hung
    /// stream); a non-streamed call gets headers and no body.
    Stall(String),
}

impl Reply {
    /// A completion answering with `sql` in a fenced SQL block, as a model does.
    pub fn sql(sql: &str) -> Self {
        Reply::Text(format!("```sql\n{sql}\n```"))
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// Picks a reply from the request body (for concurrent callers, whose requests arrive in any order).
pub type Responder = Box<dyn Fn(&Value) -> Reply + Send + Sync>;

#[derive(Default)]
struct State {
    replies: Mutex<VecDeque<Reply>>,
    responder: Option<Responder>,
    seen: Mutex<Vec<Seen>>,
}

pub struct FakeLlm {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl FakeLlm {
    /// Starts on 127.0.0.1 with a random port; runs until the test's runtime ends.
    pub async fn start(replies: impl IntoIterator<Item = Reply>) -> FakeLlm {
        Self::serve(State {
            replies: Mutex::new(replies.into_iter().collect()),
            ..State::default()
        })
        .await
    }

    /// Like [`FakeLlm::start`], answering every request with `responder(body)` instead of a queue.
    pub async fn start_with(
        responder: impl Fn(&Value) -> Reply + Send + Sync + 'static,
    ) -> FakeLlm {
        Self::serve(State {
            responder: Some(Box::new(responder)),
            ..State::default()
        })
        .await
    }

    async fn serve(state: State) -> FakeLlm {
        let state = Arc::new(state);
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move { handle(st, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeLlm { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

async fn handle(
    st: Arc<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    st.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: path.clone(),
        headers,
        body: body.clone(),
    });
    let reply = match &st.responder {
        Some(f) => Some(f(&body)),
        None => st.replies.lock().unwrap().pop_front(),
    };
    let Some(mut reply) = reply else {
        return response(
            500,
            "application/json",
            json!({"message": "fake: no more replies"})
                .to_string()
                .into(),
            &[],
        );
    };
    if let Reply::Slow(d, text) = reply {
        tokio::time::sleep(d).await;
        reply = Reply::Text(text);
    }
    // OpenAI-compatible embeddings: the same stand-in vectors (64 dimensions) for each `input`; errors and
    // throttling take the OpenAI shapes below.
    if path.ends_with("/embeddings") && matches!(reply, Reply::Text(_)) {
        let inputs: Vec<&str> = match &body["input"] {
            Value::String(s) => vec![s.as_str()],
            v => v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect(),
        };
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": bag_of_words(t, 64)}))
            .collect();
        let tokens: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
        return response(
            200,
            "application/json",
            json!({"object": "list", "data": data, "model": body["model"],
                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
            .to_string()
            .into(),
            &[],
        );
    }
    // InvokeModel of an embedding model: vectors made from the request's texts (a hashed bag of words, so
    // equal texts get equal vectors and shared words similar ones); the reply's text is not used.
    if path.ends_with("/invoke") {
        return match reply {
            Reply::Error {
                status,
                code,
                message,
            } => response(
                status,
                "application/json",
                json!({"message": message}).to_string().into(),
                &[
                    ("x-amzn-ErrorType", code.as_str()),
                    ("x-amzn-RequestId", "fake-invoke-1"),
                ],
            ),
            _ => {
                let dim = body["dimensions"].as_u64().unwrap_or(1024) as usize;
                let out = if let Some(t) = body["inputText"].as_str() {
                    json!({"embedding": bag_of_words(t, dim), "inputTextTokenCount": t.split_whitespace().count()})
                } else {
                    let texts: Vec<&str> = body["texts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    json!({"id": "fake", "response_type": "embeddings_floats", "texts": texts,
                           "embeddings": texts.iter().map(|t| bag_of_words(t, 1024)).collect::<Vec<_>>()})
                };
                response(
                    200,
                    "application/json",
                    out.to_string().into(),
                    &[("x-amzn-RequestId", "fake-invoke-2")],
                )
            }
        };
    }
    let bedrock = path.starts_with("/model/");
    let stream = path.ends_with("/converse-stream") || body["stream"] == json!(true);
    match (reply, bedrock) {
        (Reply::Throttled(secs), true) => response(
            429,
            "application/json",
            json!({"message": "Too many requests, please wait before trying again."})
                .to_string()
                .into(),
            &[
                ("x-amzn-ErrorType", "ThrottlingException"),
                ("x-amzn-RequestId", "fake-request-1"),
                ("retry-after", &secs.to_string()),
            ],
        ),
        (Reply::Throttled(secs), false) => response(
            429,
            "application/json",
            json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})
                .to_string()
                .into(),
            &[("x-request-id", "fake-request-2"), ("retry-after", &secs.to_string())],
        ),
        (Reply::Error { status, code, message }, true) => response(
            status,
            "application/json",
            json!({"message": message}).to_string().into(),
            &[("x-amzn-ErrorType", code.as_str()), ("x-amzn-RequestId", "fake-request-1")],
        ),
        (Reply::Error { status, code, message }, false) => response(
            status,
            "application/json",
            json!({"error": {"message": message, "type": "error", "code": code}}).to_string().into(),
            &[("x-request-id", "fake-request-2")],
        ),
        (Reply::Stall(text), bedrock) => {
            let first: Vec<u8> = if !stream {
                Vec::new()
            } else if bedrock {
                let mut out = frame("messageStart", &json!({"role": "assistant"}));
                out.extend(frame("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": text}})));
                out
            } else {
                format!(
                    "data: {}\n\n",
                    json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
                )
                .into_bytes()
            };
            let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) })
                .chain(futures_util::stream::pending());
            let content_type = match (stream, bedrock) {
                (true, true) => "application/vnd.amazon.eventstream",
                (true, false) => "text/event-stream",
                _ => "application/json",
            };
            response(200, content_type, Body::from_stream(body), &[])
        }
        (Reply::Text(text), true) if stream => {
            let mut out = Vec::new();
            out.extend(frame("messageStart", &json!({"role": "assistant"})));
            // Split the text into a few deltas, as a real stream does.
            let chars: Vec<char> = text.chars().collect();
            for chunk in chars.chunks(chars.len().div_ceil(3).max(1)) {
                let s: String = chunk.iter().collect();
                out.extend(frame("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": s}})));
            }
            out.extend(frame("contentBlockStop", &json!({"contentBlockIndex": 0})));
            out.extend(frame("messageStop", &json!({"stopReason": "end_turn"})));
            out.extend(frame(
                "metadata",
                &json!({"usage": {"inputTokens": 120, "outputTokens": 30, "totalTokens": 150}, "metrics": {"latencyMs": 5}}),
            ));
            response(200, "application/vnd.amazon.eventstream", out.into(), &[("x-amzn-RequestId", "fake-stream")])
        }
        (Reply::Text(text), true) => response(
            200,
            "application/json",
            json!({
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1000, "outputTokens": 50, "totalTokens": 1050, "cacheReadInputTokens": 800, "cacheWriteInputTokens": 0},
                "metrics": {"latencyMs": 5}
            })
            .to_string()
            .into(),
            &[("x-amzn-RequestId", "fake-request-3")],
        ),
        (Reply::Text(text), false) if stream => {
            let mut out = String::new();
            for piece in text.split_inclusive(' ') {
                out.push_str(&format!(
                    "data: {}\n\n",
                    json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]})
                ));
            }
            out.push_str(&format!(
                "data: {}\n\n",
                json!({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            ));
            out.push_str(&format!(
                "data: {}\n\n",
                json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 90, "completion_tokens": 20, "total_tokens": 110}})
            ));
            out.push_str("data: [DONE]\n\n");
            response(200, "text/event-stream", out.into(), &[])
        }
        (Reply::Text(text), false) => response(
            200,
            "application/json",
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940, "prompt_tokens_details": {"cached_tokens": 100}}
            })
            .to_string()
            .into(),
            &[],
        ),
        (Reply::Slow(..), _) => unreachable!(),
    }
}

/// A deterministic stand-in embedding: lower-cased words hashed into `dim` buckets (xxh3).
pub fn bag_of_words(text: &str, dim: usize) -> Vec<f32> {
    let mut v = vec![0f32; dim.max(1)];
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let h = xxhash_rust::xxh3::xxh3_64(w.to_lowercase().as_bytes());
        v[(h % dim.max(1) as u64) as usize] += 1.0;
    }
    v
}

fn response(status: u16, content_type: &str, body: Body, headers: &[(&str, &str)]) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body).unwrap()
}

/// One AWS event-stream message (string headers, JSON payload), framed by the AWS SDK's own encoder.
pub fn frame(event_type: &str, payload: &Value) -> Vec<u8> {
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    let header = |name: &'static str, value: &str| {
        Header::new(name, HeaderValue::String(value.to_string().into()))
    };
    let message = Message::new(payload.to_string().into_bytes())
        .add_header(header(":event-type", event_type))
        .add_header(header(":content-type", "application/json"))
        .add_header(header(":message-type", "event"));
    let mut out = Vec::new();
    // Only fails for headers or payloads over the protocol's limits, which these never reach.
    let _ = aws_smithy_eventstream::frame::write_message_to(&message, &mut out);
    out
}
