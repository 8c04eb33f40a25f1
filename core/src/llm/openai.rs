//! Any OpenAI-compatible chat-completions server: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio.
//! Non-streaming JSON and SSE streaming, a configurable base URL and key, retries on 429/5xx.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::retry::{RetryPolicy, retry};
use super::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, LlmBackend, Pricing, Role, StreamEvent,
    Usage,
};
use crate::error::{Error, Result, ServiceError, ServiceErrorKind};

const NAME: &str = "openai";

/// A chat-completions client. `base_url` ends before `/chat/completions` (e.g. `http://localhost:11434/v1`).
pub struct OpenAiCompatible {
    base_url: String,
    model: String,
    api_key: Option<SecretString>,
    client: reqwest::Client,
    timeout: Duration,
    retry: RetryPolicy,
    pricing: Option<Pricing>,
    max_context_tokens: u32,
}

impl std::fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// A client for `model` at `base_url`; the key comes from `OPENAI_API_KEY` when set (local servers
    /// usually need none).
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Result<Self> {
        let model = model.into();
        if model.trim().is_empty() {
            return Err(Error::Config(
                "the OpenAI-compatible backend needs a model name".into(),
            ));
        }
        let base_url = base_url.into().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base URL {base_url:?} must start with http:// or https://"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(OpenAiCompatible {
            base_url,
            model,
            api_key: std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.is_empty())
                .map(SecretString::from),
            client,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            pricing: None,
            max_context_tokens: 128_000,
        })
    }

    /// `OPENAI_BASE_URL` or OpenAI's own endpoint.
    pub fn default_base_url() -> String {
        std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.openai.com/v1".into())
    }

    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }
    /// Per-call timeout (the whole call, streaming included).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    pub fn with_pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = Some(pricing);
        self
    }
    pub fn with_max_context_tokens(mut self, n: u32) -> Self {
        self.max_context_tokens = n;
        self
    }

    fn body(&self, req: &ChatRequest, stream: bool) -> Value {
        let mut messages = vec![json!({"role": "system", "content": req.system})];
        for m in &req.messages {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(json!({"role": role, "content": m.content}));
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": req.max_tokens,
            "stream": stream,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if !req.stop.is_empty() {
            body["stop"] = json!(req.stop);
        }
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }

    async fn send(&self, req: &ChatRequest, stream: bool) -> Result<reqwest::Response> {
        let mut rb = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .json(&self.body(req, stream));
        if !stream {
            rb = rb.timeout(self.timeout);
        }
        if let Some(k) = &self.api_key {
            rb = rb.bearer_auth(k.expose_secret());
        }
        let resp = rb.send().await.map_err(transport_error)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(Error::Llm(http_error(resp).await))
    }
}

/// A transport failure (connect, timeout, unreadable body) of a call to the `service` named.
pub(crate) fn transport_error_of(service: &str, e: reqwest::Error) -> ServiceError {
    let kind = if e.is_timeout() {
        ServiceErrorKind::Timeout
    } else if e.is_decode() {
        ServiceErrorKind::Protocol
    } else {
        ServiceErrorKind::Transport
    };
    ServiceError::new(service, kind, e.to_string())
}

fn transport_error(e: reqwest::Error) -> Error {
    Error::Llm(transport_error_of(NAME, e))
}

async fn http_error(resp: reqwest::Response) -> ServiceError {
    http_error_of(NAME, resp).await
}

/// An OpenAI-style error response (`{"error": {"message", "code"}}`, `Retry-After`, `x-request-id`) of the
/// `service` named.
pub(crate) async fn http_error_of(service: &str, resp: reqwest::Response) -> ServiceError {
    let status = resp.status().as_u16();
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(super::retry::parse_retry_after);
    let text = resp.text().await.unwrap_or_default();
    let (code, message) = match serde_json::from_str::<Value>(&text) {
        Ok(v) => {
            let err = &v["error"];
            let code = err["code"]
                .as_str()
                .or(err["type"].as_str())
                .map(String::from);
            let msg = err["message"]
                .as_str()
                .or(err.as_str())
                .map(String::from)
                .unwrap_or_else(|| text.clone());
            (code, msg)
        }
        // Not JSON (a proxy's HTML error page): say so instead of quoting markup.
        Err(_) if text.trim_start().starts_with('<') => (
            None,
            format!("HTTP {status} with a non-JSON ({} bytes) body", text.len()),
        ),
        Err(_) => (None, text.chars().take(500).collect()),
    };
    ServiceError {
        request_id,
        retry_after_ms: retry_after,
        ..ServiceError::http(service, status, code, message)
    }
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<CachedDetails>,
}

#[derive(Deserialize)]
struct CachedDetails {
    #[serde(default)]
    cached_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        let cached = u.prompt_tokens_details.map_or(0, |d| d.cached_tokens);
        Usage {
            input_tokens: u.prompt_tokens.saturating_sub(cached),
            output_tokens: u.completion_tokens,
            cache_read_tokens: cached,
            cache_write_tokens: 0,
        }
    }
}

fn protocol(msg: impl Into<String>) -> Error {
    Error::Llm(ServiceError::new(NAME, ServiceErrorKind::Protocol, msg))
}

fn parse_completion(v: Value) -> Result<ChatResponse> {
    let choice = &v["choices"][0];
    let text = choice["message"]["content"]
        .as_str()
        .ok_or_else(|| protocol(format!("no choices[0].message.content in {v}")))?
        .to_string();
    let usage = serde_json::from_value::<WireUsage>(v["usage"].clone())
        .map(Usage::from)
        .unwrap_or_default();
    Ok(ChatResponse {
        text,
        usage,
        stop_reason: choice["finish_reason"].as_str().map(String::from),
    })
}

type SseEvents = futures_util::stream::BoxStream<
    'static,
    std::result::Result<
        eventsource_stream::Event,
        eventsource_stream::EventStreamError<reqwest::Error>,
    >,
>;

/// Server-sent events (framing by `eventsource-stream`): `data: {json}` chunks, ending with `data: [DONE]`.
struct SseState {
    events: SseEvents,
    usage: Usage,
    stop_reason: Option<String>,
    finished: bool,
    deadline: tokio::time::Instant,
}

impl SseState {
    fn done(&mut self) -> Option<Result<StreamEvent>> {
        self.finished = true;
        Some(Ok(StreamEvent::Done {
            usage: self.usage,
            stop_reason: self.stop_reason.take(),
        }))
    }

    /// The next event, or None at the end.
    async fn next_event(&mut self) -> Option<Result<StreamEvent>> {
        loop {
            if self.finished {
                return None;
            }
            let event = match tokio::time::timeout_at(self.deadline, self.events.next()).await {
                Err(_) => {
                    self.finished = true;
                    return Some(Err(Error::Llm(ServiceError::new(
                        NAME,
                        ServiceErrorKind::Timeout,
                        "the streamed response took longer than the call timeout",
                    ))));
                }
                // A server that closes without [DONE] (some do): finish with what we have.
                Ok(None) => return self.done(),
                Ok(Some(Err(e))) => {
                    self.finished = true;
                    return Some(Err(match e {
                        eventsource_stream::EventStreamError::Transport(e) => transport_error(e),
                        other => protocol(format!("bad event stream: {other}")),
                    }));
                }
                Ok(Some(Ok(event))) => event,
            };
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            if data == "[DONE]" {
                return self.done();
            }
            let v: Value = match serde_json::from_str(data) {
                Ok(v) => v,
                Err(e) => {
                    self.finished = true;
                    return Some(Err(protocol(format!("bad SSE chunk {data:?}: {e}"))));
                }
            };
            if v.get("error").is_some() {
                self.finished = true;
                return Some(Err(Error::Llm(ServiceError::new(
                    NAME,
                    ServiceErrorKind::Api,
                    v["error"]["message"]
                        .as_str()
                        .unwrap_or("stream error")
                        .to_string(),
                ))));
            }
            if let Ok(u) = serde_json::from_value::<WireUsage>(v["usage"].clone()) {
                self.usage = u.into();
            }
            let choice = &v["choices"][0];
            if let Some(r) = choice["finish_reason"].as_str() {
                self.stop_reason = Some(r.to_string());
            }
            if let Some(t) = choice["delta"]["content"].as_str()
                && !t.is_empty()
            {
                return Some(Ok(StreamEvent::Delta(t.to_string())));
            }
        }
    }
}

#[async_trait]
impl LlmBackend for OpenAiCompatible {
    fn name(&self) -> &str {
        NAME
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: true,
            prompt_caching: false,
            tool_use: false,
            max_context_tokens: self.max_context_tokens,
        }
    }
    fn pricing(&self) -> Option<Pricing> {
        self.pricing
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        retry(&self.retry, || async {
            let resp = self.send(request, false).await?;
            let v: Value = resp.json().await.map_err(transport_error)?;
            parse_completion(v)
        })
        .await
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let resp = retry(&self.retry, || self.send(request, true)).await?;
        use eventsource_stream::Eventsource;
        let state = SseState {
            events: resp.bytes_stream().eventsource().boxed(),
            usage: Usage::default(),
            stop_reason: None,
            finished: false,
            deadline: tokio::time::Instant::now() + self.timeout,
        };
        Ok(stream::unfold(state, |mut s| async move {
            s.next_event().await.map(|e| (e, s))
        })
        .boxed())
    }
}
