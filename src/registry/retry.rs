//! Retry policy: which failures are worth another try, exponential backoff with jitter, and `Retry-After`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::StatusCode;

/// How often and how patiently to retry transient failures (429, 5xx, resets, timeouts).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub times: u32,
    /// The first backoff; it doubles each retry.
    pub delay: Duration,
    /// No single wait exceeds this, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            times: 5,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1-based): `delay * 2^(attempt-1)`, plus up to 25% jitter, capped;
    /// a server's `Retry-After` wins when it asks for longer.
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self.delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let jitter_range = exponential.as_millis() as u64 / 4;
        let jitter = if jitter_range == 0 {
            0
        } else {
            random_u64() % jitter_range
        };
        let computed = exponential + Duration::from_millis(jitter);
        let wanted = match retry_after {
            Some(server) if server > computed => server,
            _ => computed,
        };
        wanted.min(self.max_delay)
    }
}

/// Statuses that a later attempt may get past.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

/// Transport failures that a later attempt may get past (resets, timeouts, truncated bodies).
pub(crate) fn is_retryable_error(error: &reqwest::Error) -> bool {
    error.is_timeout() || error.is_connect() || error.is_request() || error.is_body() || error.is_decode()
}

/// `Retry-After` in seconds (the HTTP-date form is rare for registries and falls back to backoff).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_honours_retry_after_within_the_cap() {
        let policy = RetryPolicy {
            times: 5,
            delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        let first = policy.backoff(1, None);
        let third = policy.backoff(3, None);
        assert!(first >= Duration::from_millis(100) && first < Duration::from_millis(126));
        assert!(third >= Duration::from_millis(400) && third < Duration::from_millis(501));
        assert_eq!(policy.backoff(1, Some(Duration::from_secs(1))), Duration::from_secs(1));
        assert_eq!(policy.backoff(1, Some(Duration::from_secs(30))), Duration::from_secs(2));
        assert_eq!(policy.backoff(30, None), Duration::from_secs(2));
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_retryable_status(StatusCode::NOT_FOUND));
        assert!(!is_retryable_status(StatusCode::UNAUTHORIZED));
    }
}
