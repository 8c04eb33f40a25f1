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
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
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

/// Runs `call` until it succeeds, fails with an error that is not retryable, or the attempts run out.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt + 1 < policy.max_attempts => {
                tokio::time::sleep(policy.delay(attempt)).await;
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

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy::default();
        for i in 0..30 {
            assert!(p.delay(i) <= p.max_delay);
        }
    }
}
