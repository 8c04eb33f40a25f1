//! The one place asklake talks to the AWS SDK's configuration: the standard credential and region chain,
//! endpoint overrides, timeouts, and the mapping of SDK errors to [`ServiceError`] (HTTP status, AWS error
//! code, request id, whether a retry may help). Bedrock, Athena and the Bedrock embedder all build their
//! clients through here; front ends never touch the SDK.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;

use crate::error::{Error, Result, ServiceError, ServiceErrorKind};

// Every AWS service crate re-exports the same smithy types; either crate's path names them.
#[cfg(feature = "athena")]
use aws_sdk_athena::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
    operation::RequestId,
};
#[cfg(all(feature = "bedrock", not(feature = "athena")))]
use aws_sdk_bedrockruntime::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
    operation::RequestId,
};

/// Where and how an AWS client connects.
#[derive(Debug, Clone, Default)]
pub struct ClientSettings {
    /// Overrides the region of the AWS chain (`AWS_REGION`, the profile's region).
    pub region: Option<String>,
    /// A custom endpoint (a VPC endpoint, a loopback fake in tests). `AWS_ENDPOINT_URL_<SERVICE>` also works.
    pub endpoint_url: Option<String>,
    /// Per attempt: the whole call, including reading the response.
    pub call_timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
}

/// The standard AWS chain (credentials, region, profile, SSO, instance roles) with `settings.region` applied.
/// `service` names the caller in the error when no region is found.
pub async fn sdk_config(service: &str, settings: &ClientSettings) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = &settings.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let mut timeouts = TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout.unwrap_or(Duration::from_secs(10)));
    if let Some(t) = settings.call_timeout {
        timeouts = timeouts.operation_attempt_timeout(t);
    }
    let conf = loader.timeout_config(timeouts.build()).load().await;
    if conf.region().is_none() {
        return Err(Error::Config(format!(
            "no AWS region for {service}: set [engine] / [llm] region in the config, --region, or AWS_REGION"
        )));
    }
    Ok(conf)
}

/// AWS error codes that mean "slow down" whatever the HTTP status.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "TooManyRequestsException",
    "ThrottledException",
    "ServiceUnavailableException",
    "RequestLimitExceeded",
];

/// A failed SDK call as a [`ServiceError`] of `service`, keeping the HTTP status, AWS error code and
/// request id. Throttling, 5xx, timeouts and unreadable responses are marked retryable.
pub fn service_error<E>(service: &str, e: SdkError<E, HttpResponse>) -> ServiceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().map(String::from);
    let request_id = e.request_id().map(String::from);
    let message = e
        .message()
        .map(String::from)
        .unwrap_or_else(|| crate::error::error_chain(&e));
    let throttled = code
        .as_deref()
        .is_some_and(|c| THROTTLING_CODES.contains(&c));
    let mut err = match &e {
        SdkError::ServiceError(se) => {
            let mut s = ServiceError::http(service, se.raw().status().as_u16(), None, message);
            s.retry_after_ms = se
                .raw()
                .headers()
                .get("retry-after")
                .and_then(crate::llm::retry::parse_retry_after);
            if throttled {
                s.kind = ServiceErrorKind::Throttled;
                s.retryable = true;
            }
            s
        }
        SdkError::TimeoutError(_) => ServiceError::new(service, ServiceErrorKind::Timeout, message),
        SdkError::DispatchFailure(d) => {
            let kind = if d.is_timeout() {
                ServiceErrorKind::Timeout
            } else {
                ServiceErrorKind::Transport
            };
            ServiceError::new(service, kind, message)
        }
        SdkError::ResponseError(_) => {
            // A response we could not read (a connection dropped mid-body): worth one more try.
            let mut s = ServiceError::new(service, ServiceErrorKind::Protocol, message);
            s.retryable = true;
            s
        }
        _ => ServiceError::new(service, ServiceErrorKind::Protocol, message),
    };
    err.code = code;
    err.request_id = request_id;
    err
}
