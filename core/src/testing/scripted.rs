//! A scripted LLM for tests and notebooks in CI: replays responses (a list, or a
//! function of the request) and records every request it gets.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{Error, Result, ServiceError, ServiceErrorKind};
use crate::llm::{Capabilities, ChatRequest, ChatResponse, LlmBackend, Pricing, Usage};

type Responder = dyn Fn(&ChatRequest) -> Result<String> + Send + Sync;

enum Script {
    Queue(Mutex<VecDeque<Result<String>>>),
    Function(Box<Responder>),
}

/// Replays scripted responses. Usage is estimated at four characters a token so costs are non-zero.
pub struct Scripted {
    model: String,
    script: Script,
    requests: Arc<Mutex<Vec<ChatRequest>>>,
    pricing: Option<Pricing>,
}

impl std::fmt::Debug for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripted")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Scripted {
    /// Answers the calls in order with `responses`; a call beyond the end is an error.
    pub fn new<S: Into<String>>(responses: impl IntoIterator<Item = S>) -> Self {
        Self::from_results(responses.into_iter().map(|s| Ok(s.into())))
    }

    /// Like [`Scripted::new`] with errors in the script (throttling, timeouts…).
    pub fn from_results(responses: impl IntoIterator<Item = Result<String>>) -> Self {
        Scripted {
            model: "scripted".into(),
            script: Script::Queue(Mutex::new(responses.into_iter().collect())),
            requests: Arc::default(),
            pricing: None,
        }
    }

    /// Answers every call with `f(request)`.
    pub fn from_fn(f: impl Fn(&ChatRequest) -> Result<String> + Send + Sync + 'static) -> Self {
        Scripted {
            model: "scripted".into(),
            script: Script::Function(Box::new(f)),
            requests: Arc::default(),
            pricing: None,
        }
    }

    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    pub fn with_pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = Some(pricing);
        self
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn estimate_tokens(s: &str) -> u64 {
    (s.chars().count() as u64).div_ceil(4)
}

#[async_trait]
impl LlmBackend for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: false,
            prompt_caching: false,
            tool_use: false,
            max_context_tokens: 200_000,
        }
    }
    fn pricing(&self) -> Option<Pricing> {
        self.pricing
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        if let Ok(mut r) = self.requests.lock() {
            r.push(request.clone());
        }
        let text = match &self.script {
            Script::Queue(q) => q
                .lock()
                .map_err(|_| Error::Internal("scripted backend lock poisoned".into()))?
                .pop_front()
                .unwrap_or_else(|| {
                    Err(Error::Llm(ServiceError::new(
                        "scripted",
                        ServiceErrorKind::Protocol,
                        "the script has no more responses",
                    )))
                })?,
            Script::Function(f) => f(request)?,
        };
        Ok(ChatResponse {
            usage: Usage {
                input_tokens: estimate_tokens(&request.transcript()),
                output_tokens: estimate_tokens(&text),
                ..Usage::default()
            },
            text,
            stop_reason: Some("end_turn".into()),
        })
    }
}
