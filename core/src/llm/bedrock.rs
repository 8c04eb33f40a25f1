//! Amazon Bedrock through the AWS SDK's Converse and ConverseStream APIs: one code path for Claude, Nova,
//! Llama, Mistral and the rest. Credentials and region come from the standard AWS chain (`AWS_PROFILE`,
//! `AWS_REGION`, SSO, instance roles…); `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` overrides the endpoint.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, ContentBlockDelta, ConversationRole,
    ConverseOutput, ConverseStreamOutput, InferenceConfiguration, Message as BedrockMessage,
    SystemContentBlock, TokenUsage,
};
use futures_util::StreamExt;
use futures_util::stream;

use super::models::{self, ModelInfo};
use super::retry::{RetryPolicy, retry};
use super::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, LlmBackend, Pricing, Role, StreamEvent,
    Usage,
};
use crate::error::{Error, Result, ServiceError, ServiceErrorKind};

const NAME: &str = "bedrock";

/// A Bedrock model. Build with [`Bedrock::from_env`] (the AWS config chain) or [`Bedrock::with_client`].
#[derive(Debug, Clone)]
pub struct Bedrock {
    client: Client,
    model_id: String,
    info: Option<&'static ModelInfo>,
    retry: RetryPolicy,
    /// A streamed answer must finish within this (the SDK's attempt timeout ends when the stream's headers
    /// arrive; without this a stalled stream hangs forever).
    stream_timeout: Duration,
}

/// The stream deadline when no call timeout is configured.
const DEFAULT_STREAM_TIMEOUT: Duration = Duration::from_secs(120);

impl Bedrock {
    /// `model` is an alias (`haiku`, `sonnet`, `opus`, `sonnet-4`, `nova-pro`, …), a model id or an
    /// inference-profile id. Loads credentials, region and endpoint from the standard AWS chain.
    pub async fn from_env(model: &str) -> Result<Self> {
        let settings = crate::aws::ClientSettings {
            call_timeout: Some(Duration::from_secs(120)),
            ..Default::default()
        };
        Self::connect(model, &settings).await
    }

    /// Like [`Bedrock::from_env`], with a region, endpoint or timeouts of the caller's.
    pub async fn connect(model: &str, settings: &crate::aws::ClientSettings) -> Result<Self> {
        let (model_id, info) = models::resolve(model)?;
        Ok(Bedrock {
            client: client(settings).await?,
            model_id,
            info,
            retry: RetryPolicy::default(),
            stream_timeout: settings.call_timeout.unwrap_or(DEFAULT_STREAM_TIMEOUT),
        })
    }

    /// Uses a client configured by the caller (endpoint, credentials, timeouts). Retries stay ours: disable
    /// the SDK's (`RetryConfig::disabled()`) to avoid multiplying attempts.
    pub fn with_client(client: Client, model: &str) -> Result<Self> {
        let (model_id, info) = models::resolve(model)?;
        Ok(Bedrock {
            client,
            model_id,
            info,
            retry: RetryPolicy::default(),
            stream_timeout: DEFAULT_STREAM_TIMEOUT,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long a streamed answer may take from the first byte to its end (default: the call timeout, or
    /// 120 s).
    pub fn with_stream_timeout(mut self, timeout: Duration) -> Self {
        self.stream_timeout = timeout;
        self
    }

    fn system(&self, req: &ChatRequest) -> Result<Vec<SystemContentBlock>> {
        let mut out = vec![SystemContentBlock::Text(req.system.clone())];
        if req.cache_system && self.info.is_some_and(|i| i.prompt_caching) {
            let point = CachePointBlock::builder()
                .r#type(CachePointType::Default)
                .build()
                .map_err(|e| Error::Internal(e.to_string()))?;
            out.push(SystemContentBlock::CachePoint(point));
        }
        Ok(out)
    }

    fn messages(req: &ChatRequest) -> Result<Vec<BedrockMessage>> {
        req.messages
            .iter()
            .map(|m| {
                BedrockMessage::builder()
                    .role(match m.role {
                        Role::User => ConversationRole::User,
                        Role::Assistant => ConversationRole::Assistant,
                    })
                    .content(ContentBlock::Text(m.content.clone()))
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))
            })
            .collect()
    }

    fn inference(req: &ChatRequest) -> InferenceConfiguration {
        InferenceConfiguration::builder()
            .max_tokens(i32::try_from(req.max_tokens).unwrap_or(i32::MAX))
            .set_temperature(req.temperature)
            .set_stop_sequences((!req.stop.is_empty()).then(|| req.stop.clone()))
            .build()
    }

    async fn converse_once(&self, req: &ChatRequest) -> Result<ChatResponse> {
        let out = self
            .client
            .converse()
            .model_id(&self.model_id)
            .set_system(Some(self.system(req)?))
            .set_messages(Some(Self::messages(req)?))
            .inference_config(Self::inference(req))
            .send()
            .await
            .map_err(sdk_error)?;
        let text = match out.output() {
            Some(ConverseOutput::Message(m)) => m
                .content()
                .iter()
                .filter_map(|b| b.as_text().ok())
                .cloned()
                .collect::<Vec<_>>()
                .join(""),
            _ => {
                return Err(Error::Llm(ServiceError::new(
                    NAME,
                    ServiceErrorKind::Protocol,
                    "Converse returned no message",
                )));
            }
        };
        Ok(ChatResponse {
            text,
            usage: out.usage().map(usage).unwrap_or_default(),
            stop_reason: Some(out.stop_reason().as_str().to_string()),
        })
    }
}

/// Per-call timeouts for a client built by the caller.
pub fn default_timeouts(call: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(call)
        .build()
}

fn usage(u: &TokenUsage) -> Usage {
    let n = |v: i32| u64::try_from(v).unwrap_or(0);
    Usage {
        input_tokens: n(u.input_tokens()),
        output_tokens: n(u.output_tokens()),
        cache_read_tokens: u.cache_read_input_tokens().map_or(0, n),
        cache_write_tokens: u.cache_write_input_tokens().map_or(0, n),
    }
}

/// A Bedrock Runtime client from the AWS chain and `settings` (region, endpoint, timeouts), with the SDK's
/// retries off (callers retry).
pub(crate) async fn client(settings: &crate::aws::ClientSettings) -> Result<Client> {
    let shared = crate::aws::sdk_config("Bedrock", settings).await?;
    let conf = aws_sdk_bedrockruntime::config::Builder::from(&shared)
        .retry_config(RetryConfig::disabled())
        .build();
    Ok(Client::from_conf(conf))
}

/// Keeps the HTTP status, AWS error code and request id of a failed call.
pub(crate) fn sdk_error<E>(
    e: SdkError<E, aws_sdk_bedrockruntime::config::http::HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Error::Llm(crate::aws::service_error(NAME, e))
}

/// An error inside a ConverseStream response (throttling, validation, model errors arrive as events).
fn stream_error<E, R>(e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let (code, message) = match &e {
        SdkError::ServiceError(se) => (
            se.err().code().map(String::from),
            se.err()
                .message()
                .map(String::from)
                .unwrap_or_else(|| crate::error::error_chain(se.err())),
        ),
        other => (None, crate::error::error_chain(other)),
    };
    let throttled = matches!(
        code.as_deref(),
        Some("throttlingException" | "ThrottlingException" | "serviceUnavailableException")
    );
    let mut err = ServiceError::new(
        NAME,
        if throttled {
            ServiceErrorKind::Throttled
        } else {
            ServiceErrorKind::Api
        },
        message,
    );
    err.code = code;
    Error::Llm(err)
}

#[async_trait]
impl LlmBackend for Bedrock {
    fn name(&self) -> &str {
        NAME
    }
    fn model(&self) -> &str {
        &self.model_id
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: true,
            prompt_caching: self.info.is_some_and(|i| i.prompt_caching),
            tool_use: true,
            max_context_tokens: self.info.map_or(128_000, |i| i.max_context),
        }
    }
    fn pricing(&self) -> Option<Pricing> {
        self.info.map(ModelInfo::pricing)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        retry(&self.retry, || self.converse_once(request)).await
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let out = retry(&self.retry, || async {
            self.client
                .converse_stream()
                .model_id(&self.model_id)
                .set_system(Some(self.system(request)?))
                .set_messages(Some(Self::messages(request)?))
                .inference_config(Self::inference(request))
                .send()
                .await
                .map_err(sdk_error)
        })
        .await?;
        struct State {
            rx: aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
                ConverseStreamOutput,
                aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError,
            >,
            usage: Usage,
            stop_reason: Option<String>,
            done: bool,
            deadline: tokio::time::Instant,
        }
        let state = State {
            deadline: tokio::time::Instant::now() + self.stream_timeout,
            rx: out.stream,
            usage: Usage::default(),
            stop_reason: None,
            done: false,
        };
        Ok(stream::unfold(state, |mut s| async move {
            loop {
                if s.done {
                    return None;
                }
                let Ok(next) = tokio::time::timeout_at(s.deadline, s.rx.recv()).await else {
                    s.done = true;
                    let e = ServiceError::new(
                        NAME,
                        ServiceErrorKind::Timeout,
                        "the streamed response took longer than the call timeout",
                    );
                    return Some((Err(Error::Llm(e)), s));
                };
                match next {
                    Ok(Some(ConverseStreamOutput::ContentBlockDelta(d))) => {
                        if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                            return Some((Ok(StreamEvent::Delta(t.clone())), s));
                        }
                    }
                    Ok(Some(ConverseStreamOutput::MessageStop(m))) => {
                        s.stop_reason = Some(m.stop_reason().as_str().to_string());
                    }
                    Ok(Some(ConverseStreamOutput::Metadata(m))) => {
                        if let Some(u) = m.usage() {
                            s.usage = usage(u);
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        s.done = true;
                        let done = StreamEvent::Done {
                            usage: s.usage,
                            stop_reason: s.stop_reason.take(),
                        };
                        return Some((Ok(done), s));
                    }
                    Err(e) => {
                        s.done = true;
                        return Some((Err(stream_error(e)), s));
                    }
                }
            }
        })
        .boxed())
    }
}
