//! LLM backends: one chat call, a streaming variant, capabilities and prices as data.
//!
//! Backends are chosen at run time and passed to [`crate::pipeline::Text2Sql`] as `Arc<dyn LlmBackend>`:
//! [`bedrock::Bedrock`] (feature `bedrock`), [`openai::OpenAiCompatible`] (feature `openai`) and, for tests,
//! `asklake::testing::scripted::Scripted` (feature `test-utils`).

#[cfg(feature = "bedrock")]
pub mod bedrock;
pub mod models;
#[cfg(feature = "openai")]
pub mod openai;
pub mod retry;

use std::fmt;
use std::ops::AddAssign;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::error::Result;
pub use models::{ModelInfo, Pricing};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// One chat call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The system prompt. Its text is identical for questions over the same tables, so backends that support
    /// prompt caching put a cache point right after it when `cache_system` is set.
    pub system: String,
    pub cache_system: bool,
    /// Alternating user/assistant turns, ending with a user turn.
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub stop: Vec<String>,
    /// Which of several samples of the same prompt this is (self-consistency). Not sent to the model; it
    /// keeps caches from answering every sample with the first one's completion.
    pub sample: u32,
}

impl ChatRequest {
    pub fn new(system: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            system: system.into(),
            cache_system: false,
            messages,
            max_tokens: 1024,
            temperature: Some(0.0),
            stop: Vec::new(),
            sample: 0,
        }
    }

    /// The whole prompt as one string: what the scripted backend matches and the eval cache hashes.
    pub fn transcript(&self) -> String {
        let mut s = format!("[system]\n{}\n", self.system);
        for m in &self.messages {
            let who = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            s.push_str(&format!("[{who}]\n{}\n", m.content));
        }
        s
    }
}

/// Tokens used by one or more calls. Cache fields are zero where the backend does not report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
}

impl AddAssign for Usage {
    fn add_assign(&mut self, o: Usage) {
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.cache_write_tokens += o.cache_write_tokens;
    }
}

/// What a chat call returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    pub usage: Usage,
    /// The backend's stop reason (`end_turn`, `max_tokens`, `stop`, …) as reported.
    pub stop_reason: Option<String>,
}

/// An item of a streamed response.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More text.
    Delta(String),
    /// The end, with the usage of the whole call.
    Done {
        usage: Usage,
        stop_reason: Option<String>,
    },
}

pub type ChatStream = BoxStream<'static, Result<StreamEvent>>;

/// What a backend can do, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub streaming: bool,
    pub prompt_caching: bool,
    pub tool_use: bool,
    /// Context window in tokens.
    pub max_context_tokens: u32,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            streaming: false,
            prompt_caching: false,
            tool_use: false,
            max_context_tokens: 8192,
        }
    }
}

/// A chat model behind some API.
#[async_trait]
pub trait LlmBackend: fmt::Debug + Send + Sync {
    /// The backend kind: `bedrock`, `openai`, `scripted`.
    fn name(&self) -> &str;

    /// The model id as sent to the API.
    fn model(&self) -> &str;

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Prices per million tokens, when known; answers then report their dollar cost.
    fn pricing(&self) -> Option<Pricing> {
        None
    }

    /// One complete chat call.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse>;

    /// The same call, streamed as text deltas followed by one [`StreamEvent::Done`]. Backends without
    /// streaming get this default: the whole answer as one delta.
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let r = self.chat(request).await?;
        let events = vec![
            Ok(StreamEvent::Delta(r.text)),
            Ok(StreamEvent::Done {
                usage: r.usage,
                stop_reason: r.stop_reason,
            }),
        ];
        Ok(stream::iter(events).boxed())
    }
}

/// The backend named by `kind` (`bedrock`, `openai`, `none`), as the CLI and the Python package configure it:
/// Bedrock's model defaults to `sonnet`; the OpenAI-compatible backend needs a model and takes its base URL
/// from `base_url`, else `OPENAI_BASE_URL`, else OpenAI's.
pub async fn from_config(
    kind: &str,
    model: Option<&str>,
    base_url: Option<&str>,
) -> Result<Option<std::sync::Arc<dyn LlmBackend>>> {
    use crate::error::Error;
    let _ = (&model, &base_url);
    match kind {
        "none" | "" => Ok(None),
        #[cfg(feature = "bedrock")]
        "bedrock" => Ok(Some(std::sync::Arc::new(
            bedrock::Bedrock::from_env(model.unwrap_or("sonnet")).await?,
        ))),
        #[cfg(feature = "openai")]
        "openai" => {
            let model = model.ok_or_else(|| {
                Error::Config("the openai backend needs a model (the server's model name)".into())
            })?;
            let base = base_url
                .map(String::from)
                .unwrap_or_else(openai::OpenAiCompatible::default_base_url);
            Ok(Some(std::sync::Arc::new(openai::OpenAiCompatible::new(
                base, model,
            )?)))
        }
        other => Err(Error::Config(format!(
            "unknown LLM backend {other:?}; use bedrock, openai or none (this build has: {})",
            [
                #[cfg(feature = "bedrock")]
                "bedrock",
                #[cfg(feature = "openai")]
                "openai",
                "none",
            ]
            .join(", ")
        ))),
    }
}

/// Collects a stream into a response, calling `on_delta` for each piece of text as it arrives.
pub async fn collect_stream(
    mut stream: ChatStream,
    mut on_delta: impl FnMut(&str),
) -> Result<ChatResponse> {
    let mut out = ChatResponse::default();
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::Delta(t) => {
                on_delta(&t);
                out.text.push_str(&t);
            }
            StreamEvent::Done { usage, stop_reason } => {
                out.usage = usage;
                out.stop_reason = stop_reason;
            }
        }
    }
    Ok(out)
}

/// Dollar cost of `usage` at `pricing`.
pub fn cost_usd(pricing: &Pricing, usage: &Usage) -> f64 {
    let m = 1_000_000.0;
    (usage.input_tokens as f64 * pricing.input
        + usage.output_tokens as f64 * pricing.output
        + usage.cache_read_tokens as f64 * pricing.cache_read
        + usage.cache_write_tokens as f64 * pricing.cache_write)
        / m
}
