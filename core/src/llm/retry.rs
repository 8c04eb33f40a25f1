//! Retries with exponential backoff and full jitter for throttling, 5xx and transport errors.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total tries, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest wait a server's `Retry-After` may ask for; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// All tries and waits together, at most: no retry starts that could not begin before it.
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(30),
            deadline: Some(Duration::from_secs(180)),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based): uniform in [0, min(max, base·2^retry)].
    pub fn delay(&self, retry: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}

/// Runs `call` until it succeeds, fails with an error that is not retryable, the attempts run out, or the
/// next wait would pass the deadline. A server's `Retry-After` (429, 503) sets the wait, bounded by
/// `max_retry_after`; otherwise the backoff does.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = tokio::time::Instant::now();
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt + 1 < policy.max_attempts => {
                let wait = match e.retry_after() {
                    Some(ra) => ra.min(policy.max_retry_after),
                    None => policy.delay(attempt),
                };
                if policy.deadline.is_some_and(|d| start.elapsed() + wait > d) {
                    return Err(e);
                }
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

impl Error {
    /// True for transient failures worth retrying: throttling, 5xx, timeouts, dropped connections.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Llm(e) | Error::Service(e) if e.retryable)
    }

    /// How long the service asked us to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Llm(e) | Error::Service(e) => {
                e.retry_after_ms.map(|ms| Duration::from_millis(ms.into()))
            }
            _ => None,
        }
    }
}

/// A `Retry-After` header value in seconds, as milliseconds (the HTTP-date form is not used by the model
/// services); at most a day.
pub fn parse_retry_after(value: &str) -> Option<u32> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| (secs.min(86_400.0) * 1000.0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServiceError;

    #[tokio::test]
    async fn retries_only_transient_errors() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let r: Result<u32> = retry(&policy, || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(Error::Llm(ServiceError::throttled("test", "slow down")))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 3);

        let mut calls = 0;
        let r: Result<u32> = retry(&policy, || {
            calls += 1;
            async { Err(Error::Config("bad".into())) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);

        let mut calls = 0;
        let r: Result<u32> = retry(&policy, || {
            calls += 1;
            async { Err(Error::Llm(ServiceError::throttled("test", "slow down"))) }
        })
        .await;
        assert!(matches!(r, Err(Error::Llm(_))));
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn retry_after_is_honoured_within_bounds_and_the_deadline() {
        let throttled = |ra: u32| {
            let mut e = ServiceError::throttled("test", "slow down");
            e.retry_after_ms = Some(ra);
            Error::Llm(e)
        };
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_retry_after: Duration::from_millis(300),
            deadline: Some(Duration::from_secs(5)),
        };
        // Waits what the server asked (not the 1 ms backoff).
        let start = std::time::Instant::now();
        let mut calls = 0;
        let r: Result<u32> = retry(&policy, || {
            calls += 1;
            let n = calls;
            async move { if n == 1 { Err(throttled(150)) } else { Ok(n) } }
        })
        .await;
        assert_eq!(r.unwrap(), 2);
        assert!(
            start.elapsed() >= Duration::from_millis(140),
            "{:?}",
            start.elapsed()
        );
        // A huge Retry-After is cut to max_retry_after.
        let start = std::time::Instant::now();
        let mut calls = 0;
        let _: Result<u32> = retry(&policy, || {
            calls += 1;
            let n = calls;
            async move {
                if n == 1 {
                    Err(throttled(3_600_000))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        // A wait that would pass the deadline is not taken: the error comes back at once.
        let short = RetryPolicy {
            max_retry_after: Duration::from_secs(60),
            deadline: Some(Duration::from_millis(200)),
            ..policy
        };
        let start = std::time::Instant::now();
        let r: Result<u32> = retry(&short, || async { Err(throttled(10_000)) }).await;
        assert!(r.is_err() && start.elapsed() < Duration::from_millis(150));
        assert_eq!(parse_retry_after(" 2 "), Some(2000));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy::default();
        for i in 0..30 {
            assert!(p.delay(i) <= p.max_delay);
        }
    }
}
