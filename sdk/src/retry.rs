//! Retry policy: which failures to retry, how long to back off, and the
//! client-wide budget that stops a failing backend from being hammered.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How a client retries failed attempts.
///
/// The defaults match the official Go and Python SDKs: 4 attempts, 100 ms
/// initial backoff doubling up to 20 s, with full jitter, under a retry budget
/// (a token bucket of 6, refilled by 0.1 per success).
///
/// ```
/// use std::time::Duration;
/// let policy = yc_idp::RetryPolicy::default()
///     .max_attempts(6)
///     .initial_backoff(Duration::from_millis(50))
///     .max_backoff(Duration::from_secs(5));
/// assert_eq!(policy.attempts(), 6);
/// assert_eq!(yc_idp::RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    budget: Option<BudgetConfig>,
}

/// The token-bucket parameters of a retry budget, in thousandths of a token
/// so that refills add up exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BudgetConfig {
    max_milli: u64,
    refill_milli: u64,
}

const MILLI: u64 = 1000;

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(20),
            multiplier: 2.0,
            budget: Some(BudgetConfig {
                max_milli: 6 * MILLI,
                refill_milli: MILLI / 10,
            }),
        }
    }
}

impl RetryPolicy {
    /// Never retry: every call makes exactly one attempt.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The most attempts a call makes, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff ceiling before the second attempt.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff between two attempts.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Sets the retry budget: a client-wide bucket of `max_tokens`; each
    /// retry takes one token, each successful call returns `token_ratio`, and
    /// no retry starts while the bucket is at half or below.
    pub fn retry_budget(mut self, max_tokens: u32, token_ratio: f64) -> Self {
        let max_milli = u64::from(max_tokens.max(1)) * MILLI;
        let ratio = if token_ratio.is_finite() {
            token_ratio.max(0.0)
        } else {
            0.0
        };
        self.budget = Some(BudgetConfig {
            max_milli,
            refill_milli: ((ratio * MILLI as f64).round() as u64).min(max_milli),
        });
        self
    }

    /// Retries are limited by attempts and time only.
    pub fn without_budget(mut self) -> Self {
        self.budget = None;
        self
    }

    /// The largest pause between two attempts.
    pub(crate) fn largest_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The configured maximum number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff before attempt `next` (2 for the first retry): a uniformly
    /// random duration up to the exponential ceiling ("full jitter").
    pub(crate) fn backoff(&self, next: u32) -> Duration {
        let ceiling = self.ceiling(next);
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fastrand::f64())
            .map_or(ceiling, |d| d.min(ceiling))
    }

    /// The ceiling of the backoff before attempt `next`.
    pub(crate) fn ceiling(&self, next: u32) -> Duration {
        let exponent = next.saturating_sub(2).min(63) as i32;
        let grown = self.initial_backoff.as_secs_f64() * self.multiplier.powi(exponent);
        // Huge settings overflow an f64 round trip; the cap is the answer then.
        Duration::try_from_secs_f64(grown.min(self.max_backoff.as_secs_f64()))
            .map_or(self.max_backoff, |d| d.min(self.max_backoff))
    }

    pub(crate) fn new_budget(&self) -> RetryBudget {
        RetryBudget {
            config: self.budget,
            milli: Mutex::new(self.budget.map_or(0, |b| b.max_milli)),
        }
    }
}

/// A client's retry budget (gRPC retry throttling), shared by all its calls.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    config: Option<BudgetConfig>,
    milli: Mutex<u64>,
}

impl RetryBudget {
    /// Takes a token for one retry, if the budget allows it.
    ///
    /// gRPC charges every failed attempt, which with its 6-token bucket stops
    /// a fresh client after 3 of its 4 attempts; charging retries only gives
    /// a fresh client the policy's full attempts and still throttles a
    /// backend that keeps failing.
    pub(crate) fn try_acquire(&self) -> bool {
        let Some(config) = self.config else {
            return true;
        };
        let mut milli = self.milli.lock().unwrap_or_else(|p| p.into_inner());
        if *milli > config.max_milli / 2 {
            *milli = milli.saturating_sub(MILLI);
            true
        } else {
            false
        }
    }

    /// Records a success.
    pub(crate) fn on_success(&self) {
        if let Some(config) = self.config {
            let mut milli = self.milli.lock().unwrap_or_else(|p| p.into_inner());
            *milli = (*milli + config.refill_milli).min(config.max_milli);
        }
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(2), Duration::from_millis(100));
        assert_eq!(p.ceiling(3), Duration::from_millis(200));
        assert_eq!(p.ceiling(4), Duration::from_millis(400));
        assert_eq!(p.ceiling(40), Duration::from_secs(20));
        for next in 2..10 {
            assert!(p.backoff(next) <= p.ceiling(next));
        }
        let huge = RetryPolicy::default()
            .initial_backoff(Duration::MAX)
            .max_backoff(Duration::MAX);
        assert_eq!(huge.ceiling(9), Duration::MAX);
        assert!(huge.backoff(9) <= Duration::MAX);
    }

    #[test]
    fn budget_allows_three_retries_from_full_then_refills() {
        let b = RetryPolicy::default().new_budget();
        assert!(b.try_acquire()); // 6 -> 5
        assert!(b.try_acquire()); // 5 -> 4
        assert!(b.try_acquire()); // 4 -> 3
        assert!(!b.try_acquire()); // 3 is not above half
        for _ in 0..10 {
            b.on_success();
        }
        assert!(b.try_acquire());
        assert!(!b.try_acquire());
        let unlimited = RetryPolicy::default().without_budget().new_budget();
        assert!((0..100).all(|_| unlimited.try_acquire()));
    }

    #[test]
    fn retry_after_reads_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
