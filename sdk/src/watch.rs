//! Watching a session until it ends: [`Client::wait_for_session`] and
//! [`Client::watch_session`].
//!
//! Both poll `GetSession`. Sleeps and elapsed time run on tokio's clock, so a
//! test on a paused clock (`#[tokio::test(start_paused = true)]`) goes
//! through minutes of polling instantly and deterministically.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, TimeoutKind};
use crate::types::SynchronizationSession;

/// How [`Client::wait_for_session`] and [`Client::watch_session`] poll.
///
/// Polling starts at [`poll_interval`](Self::poll_interval) and, while the
/// session does not change, backs off by
/// [`backoff_multiplier`](Self::backoff_multiplier) up to
/// [`max_poll_interval`](Self::max_poll_interval); any change brings it back
/// to the start, so an active session is followed closely and an idle one
/// costs few calls.
///
/// ```
/// use std::time::Duration;
/// use yc_idp::WaitOptions;
///
/// let options = WaitOptions::default()
///     .poll_interval(Duration::from_secs(1))
///     .max_poll_interval(Duration::from_secs(15))
///     .timeout(Duration::from_secs(30 * 60));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WaitOptions {
    poll_interval: Duration,
    max_poll_interval: Duration,
    backoff_multiplier: f64,
    timeout: Option<Duration>,
    expiry_grace: Duration,
    tolerated_errors: u32,
}

impl Default for WaitOptions {
    /// Polls every 2 s, backing off by 1.5× up to 30 s; no overall timeout;
    /// 60 s of grace after `expiresAt`; 3 consecutive transient errors
    /// tolerated.
    fn default() -> Self {
        WaitOptions {
            poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(30),
            backoff_multiplier: 1.5,
            timeout: None,
            expiry_grace: Duration::from_secs(60),
            tolerated_errors: 3,
        }
    }
}

impl WaitOptions {
    /// The pause before the second poll, and after any poll that saw a change
    /// (default 2 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The longest pause between two polls (default 30 s). Never below
    /// [`Self::poll_interval`].
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }

    /// How much the pause grows after a poll that saw no change (default
    /// 1.5; values below 1, and NaN, count as 1: a constant interval).
    pub fn backoff_multiplier(mut self, multiplier: f64) -> Self {
        self.backoff_multiplier = multiplier;
        self
    }

    /// The longest the whole wait may take; past it the wait ends with
    /// [`Error::Timeout`] of kind [`TimeoutKind::Wait`]. `None` (the default)
    /// relies on the session's `expiresAt` instead.
    ///
    /// It is checked between polls: a poll under way when it passes finishes
    /// first, within the client's own timeouts.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// How long after the session's `expiresAt` the watcher keeps polling
    /// for the server to mark it `EXPIRED` (default 60 s). It also absorbs
    /// clock skew between this machine and the server.
    pub fn expiry_grace(mut self, grace: Duration) -> Self {
        self.expiry_grace = grace;
        self
    }

    /// How many polls in a row may fail with a transient error (a retryable
    /// one, retries exhausted on one, or a call's total timeout) before the
    /// wait gives up with that error (default 3). The client's own retries
    /// happen within each poll. Other errors, such as `NOT_FOUND`, end the
    /// wait at once.
    pub fn tolerated_errors(mut self, errors: u32) -> Self {
        self.tolerated_errors = errors;
        self
    }

    fn multiplier(&self) -> f64 {
        if self.backoff_multiplier >= 1.0 && self.backoff_multiplier.is_finite() {
            self.backoff_multiplier
        } else {
            1.0
        }
    }

    fn max_interval(&self) -> Duration {
        self.max_poll_interval.max(self.poll_interval)
    }
}

impl Client {
    /// Polls the session until it ends and returns its final snapshot.
    ///
    /// The session has ended when its status is terminal (`COMPLETED`,
    /// `FAILED` or `EXPIRED`, see
    /// [`SynchronizationSession::is_terminal`]), or when its `expiresAt` plus
    /// [`WaitOptions::expiry_grace`] has passed: then the last snapshot is
    /// returned as it is, with a status that is not terminal.
    ///
    /// Time is read from the wall clock once, when the wait starts, and
    /// measured on tokio's monotonic clock from then on. So a step of the
    /// system clock does not end a wait early, and on a paused test clock
    /// `expiresAt` passes at the virtual time.
    ///
    /// Errors: the first non-transient error of a poll (see
    /// [`WaitOptions::tolerated_errors`]), or [`Error::Timeout`] of kind
    /// [`TimeoutKind::Wait`] past [`WaitOptions::timeout`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), yc_idp::Error> {
    /// use std::time::Duration;
    /// use yc_idp::WaitOptions;
    /// use yc_idp::mock::MockServer;
    /// use yc_idp::types::{SessionStatus, SynchronizationSession};
    ///
    /// let snapshot = |status| SynchronizationSession {
    ///     session_id: Some("ek0sync9a8b7c6d5e4f3".into()),
    ///     status: Some(status),
    ///     ..Default::default()
    /// };
    /// let mock = MockServer::start().await.with_session_sequence(
    ///     "ek0sync9a8b7c6d5e4f3",
    ///     [snapshot(SessionStatus::Opened), snapshot(SessionStatus::Completed)],
    /// );
    /// let client = mock.client()?;
    ///
    /// let options = WaitOptions::default().poll_interval(Duration::from_millis(10));
    /// let session = client.wait_for_session("ek0sync9a8b7c6d5e4f3", options).await?;
    /// assert_eq!(session.status, Some(SessionStatus::Completed));
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_session(
        &self,
        session_id: &str,
        options: WaitOptions,
    ) -> Result<SynchronizationSession, Error> {
        let mut watcher = Watcher::new(self.clone(), session_id.to_string(), options);
        let mut last = None;
        while let Some(item) = watcher.next().await {
            last = Some(item?);
        }
        // The first poll always yields a snapshot or an error.
        last.ok_or_else(|| Error::Transport {
            message: "the watch ended without a snapshot".to_string(),
            source: None,
        })
    }

    /// Polls the session like [`Self::wait_for_session`] and yields every
    /// snapshot that differs from the one before, the first included. The
    /// stream ends after the final snapshot, or after an error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), yc_idp::Error> {
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use yc_idp::WaitOptions;
    /// # use yc_idp::types::{SessionStatus, SynchronizationSession};
    /// # let snapshot = |status| SynchronizationSession {
    /// #     session_id: Some("ek0sync9a8b7c6d5e4f3".into()),
    /// #     status: Some(status),
    /// #     ..Default::default()
    /// # };
    /// # let mock = yc_idp::mock::MockServer::start().await.with_session_sequence(
    /// #     "ek0sync9a8b7c6d5e4f3",
    /// #     [snapshot(SessionStatus::Opened), snapshot(SessionStatus::Completed)],
    /// # );
    /// # let client = mock.client()?;
    ///
    /// let options = WaitOptions::default().poll_interval(Duration::from_millis(10));
    /// let mut snapshots = client.watch_session("ek0sync9a8b7c6d5e4f3", options);
    /// while let Some(snapshot) = snapshots.next().await {
    ///     let snapshot = snapshot?;
    ///     let totals = snapshot.totals();
    ///     println!("{}: {} changes", snapshot.status.unwrap_or_default(), totals.total());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch_session(
        &self,
        session_id: impl Into<String>,
        options: WaitOptions,
    ) -> impl Stream<Item = Result<SynchronizationSession, Error>> + Send + Unpin + 'static {
        let watcher = Watcher::new(self.clone(), session_id.into(), options);
        Box::pin(futures_util::stream::unfold(
            watcher,
            |mut watcher| async move {
                let item = watcher.next().await?;
                Some((item, watcher))
            },
        ))
    }
}

/// The polling state shared by both entry points.
struct Watcher {
    client: Client,
    session_id: String,
    options: WaitOptions,
    started: Instant,
    started_wall: DateTime<Utc>,
    deadline: Option<Instant>,
    interval: Duration,
    last: Option<SynchronizationSession>,
    errors: u32,
    polled: bool,
    done: bool,
}

impl Watcher {
    fn new(client: Client, session_id: String, options: WaitOptions) -> Self {
        let started = Instant::now();
        Watcher {
            client,
            session_id,
            deadline: options.timeout.map(|t| started + t),
            interval: options.poll_interval,
            options,
            started,
            started_wall: Utc::now(),
            last: None,
            errors: 0,
            polled: false,
            done: false,
        }
    }

    /// The next changed snapshot, an error, or `None` once the watch is over.
    async fn next(&mut self) -> Option<Result<SynchronizationSession, Error>> {
        loop {
            if self.done {
                return None;
            }
            if self.polled {
                let mut pause = self.interval;
                if let Some(until_end) = self.until_expiry_end() {
                    pause = pause.min(until_end);
                }
                if let Some(deadline) = self.deadline {
                    pause = pause.min(deadline.saturating_duration_since(Instant::now()));
                }
                tokio::time::sleep(pause).await;
                if self.deadline.is_some_and(|d| Instant::now() >= d) {
                    return Some(Err(self.timed_out()));
                }
            }
            self.polled = true;
            // A poll in flight is not cut short at the deadline: the client's
            // own timeouts bound it, and a timer racing a socket would fire at
            // once on a paused test clock.
            let session = match self.client.get_session(&self.session_id).await {
                Ok(session) => session,
                Err(e) if is_transient(&e) && self.errors < self.options.tolerated_errors => {
                    self.errors += 1;
                    tracing::debug!(
                        error = %e,
                        failed_polls = self.errors,
                        "yc_idp.wait: poll failed, trying again"
                    );
                    self.back_off();
                    continue;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.errors = 0;
            let ended = session.is_terminal() || self.past_expiry(&session);
            if ended {
                self.done = true;
            }
            if self.last.as_ref() == Some(&session) {
                self.back_off();
                if ended {
                    return None;
                }
                continue;
            }
            self.interval = self.options.poll_interval;
            self.last = Some(session.clone());
            return Some(Ok(session));
        }
    }

    fn back_off(&mut self) {
        let grown = self.interval.mul_f64(self.options.multiplier());
        self.interval = grown.min(self.options.max_interval());
    }

    fn timed_out(&mut self) -> Error {
        self.done = true;
        Error::Timeout {
            kind: TimeoutKind::Wait,
            after: self.options.timeout.unwrap_or_default(),
        }
    }

    /// The wall-clock time now, as the start's wall time plus tokio's
    /// elapsed time.
    fn now_wall(&self) -> DateTime<Utc> {
        let elapsed =
            chrono::Duration::from_std(self.started.elapsed()).unwrap_or(chrono::Duration::MAX);
        self.started_wall
            .checked_add_signed(elapsed)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// When the last snapshot's `expiresAt` plus the grace is over.
    fn expiry_end(&self, session: &SynchronizationSession) -> Option<DateTime<Utc>> {
        let expires_at = session.expires_at?;
        let grace =
            chrono::Duration::from_std(self.options.expiry_grace).unwrap_or(chrono::Duration::MAX);
        Some(
            expires_at
                .checked_add_signed(grace)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    fn past_expiry(&self, session: &SynchronizationSession) -> bool {
        self.expiry_end(session)
            .is_some_and(|end| end <= self.now_wall())
    }

    /// Time left until the last snapshot's expiry plus grace, so the final
    /// poll happens right then instead of up to a whole interval later.
    fn until_expiry_end(&self) -> Option<Duration> {
        let end = self.expiry_end(self.last.as_ref()?)?;
        Some((end - self.now_wall()).to_std().unwrap_or(Duration::ZERO))
    }
}

/// Whether a failed poll is worth another one later.
fn is_transient(e: &Error) -> bool {
    match e {
        Error::RetriesExhausted { last, .. } => last.is_retryable(),
        Error::Timeout {
            kind: TimeoutKind::Total,
            ..
        } => true,
        other => other.is_retryable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_and_bad_multipliers_mean_constant() {
        let options = WaitOptions::default()
            .poll_interval(Duration::from_secs(2))
            .max_poll_interval(Duration::from_secs(5))
            .backoff_multiplier(2.0);
        assert_eq!(options.multiplier(), 2.0);
        assert_eq!(options.max_interval(), Duration::from_secs(5));
        for bad in [0.5, f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(options.clone().backoff_multiplier(bad).multiplier(), 1.0);
        }
        let below = options.max_poll_interval(Duration::from_secs(1));
        assert_eq!(below.max_interval(), Duration::from_secs(2));
    }
}
