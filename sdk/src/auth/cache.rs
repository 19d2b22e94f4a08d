//! The token cache: reuse a token, refresh it ahead of expiry, let concurrent
//! callers share one fetch, and keep a still-valid token when a refresh fails.

use std::fmt;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::Token;
use crate::error::{AuthError, AuthErrorKind, Error};

/// A token is refreshed once it is this old, however long it would live
/// (IAM's advice is to refresh about every hour).
pub(crate) const REFRESH_AGE: Duration = Duration::from_secs(60 * 60);
/// ...or this long before it expires, whichever comes first.
pub(crate) const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// A token is not handed out in its last 30 seconds: the request carrying it
/// takes time, and clocks drift.
pub(crate) const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// After a failed refresh the old token is served this long before the next
/// try, so that an IAM outage does not add an exchange to every call.
pub(crate) const RETRY_REFRESH_AFTER: Duration = Duration::from_secs(30);
/// IAM tokens never live longer; also the lifetime assumed when unknown.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// A token as a provider fetched it.
pub(crate) struct Fetched {
    pub(crate) token: Token,
    /// How long it lives from now; `None` when the provider did not say.
    pub(crate) lifetime: Option<Duration>,
}

impl Fetched {
    /// A token that expires at the wall-clock time `expires_at`. The time is
    /// turned into a lifetime on receipt so that the cache runs on tokio's
    /// clock (which tests can pause) rather than the wall clock.
    pub(crate) fn expiring_at(token: Token, expires_at: Option<SystemTime>) -> Self {
        let lifetime = expires_at.map(|at| {
            at.duration_since(SystemTime::now()).unwrap_or_else(|_| {
                tracing::warn!(
                    "the new IAM token is already expired by the local clock; check the system time"
                );
                Duration::ZERO
            })
        });
        Fetched { token, lifetime }
    }
}

/// A cached token and its deadlines.
struct Cached {
    token: Token,
    refresh_at: Instant,
    usable_until: Instant,
}

impl Cached {
    fn new(fetched: Fetched, now: Instant) -> Self {
        let lifetime = fetched.lifetime.unwrap_or(MAX_LIFETIME).min(MAX_LIFETIME);
        // Halving keeps short-lived tokens (minutes) from being refreshed on
        // every call.
        let ahead = REFRESH_BEFORE_EXPIRY.min(lifetime / 2);
        let margin = EXPIRY_MARGIN.min(lifetime / 4);
        Cached {
            token: fetched.token,
            refresh_at: now + REFRESH_AGE.min(lifetime - ahead),
            usable_until: now + (lifetime - margin),
        }
    }
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    /// Bumped by every finished fetch, so a caller that waited for someone
    /// else's fetch can tell that it happened.
    generation: u64,
    /// The error of the last fetch, for the callers that waited on it.
    last_error: Option<Box<AuthError>>,
}

/// One token, shared by every clone of a client.
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<State>,
    /// Held by the one caller that is fetching.
    flight: tokio::sync::Mutex<()>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCache")
    }
}

impl TokenCache {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every unlock, so a panic elsewhere
        // while holding the lock leaves nothing to repair.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached token, or a fresh one from `fetch`. `kind` names the
    /// credentials in log messages.
    pub(crate) async fn get<F, Fut>(&self, kind: &'static str, fetch: F) -> Result<Token, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, Error>>,
    {
        let now = Instant::now();
        let (generation, still_valid) = {
            let state = self.state();
            if let Some(c) = &state.current
                && now < c.refresh_at
            {
                return Ok(c.token.clone());
            }
            let still_valid = state
                .current
                .as_ref()
                .filter(|c| now < c.usable_until)
                .map(|c| c.token.clone());
            (state.generation, still_valid)
        };
        let _flight = match still_valid {
            // Refresh ahead: one caller refreshes while the others keep
            // using the token that is still valid.
            Some(token) => match self.flight.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(token),
            },
            None => self.flight.lock().await,
        };
        {
            let state = self.state();
            if state.generation != generation {
                // Someone else's fetch finished while this call waited: its
                // outcome is this call's too. A token it got is taken even
                // if it is short-lived (clock skew, `expires_in: 0`), or
                // every waiter would fetch again, one after another.
                if let Some(c) = &state.current {
                    return Ok(c.token.clone());
                }
                if let Some(err) = &state.last_error {
                    return Err(Error::Auth(err.clone()));
                }
            }
        }
        let fetched = fetch().await;
        let now = Instant::now();
        let mut state = self.state();
        state.generation += 1;
        match fetched {
            Ok(fetched) => {
                let token = fetched.token.clone();
                state.current = Some(Cached::new(fetched, now));
                state.last_error = None;
                Ok(token)
            }
            Err(err) => {
                if let Some(c) = state.current.as_mut().filter(|c| now < c.usable_until) {
                    c.refresh_at = (now + RETRY_REFRESH_AFTER).min(c.usable_until);
                    let left = c.usable_until - now;
                    let token = c.token.clone();
                    state.last_error = None;
                    tracing::warn!(
                        credentials = kind,
                        error = %err,
                        valid_for_s = left.as_secs(),
                        "refreshing the IAM token failed; the cached token stays in use"
                    );
                    return Ok(token);
                }
                // An expired token is no fallback for anyone.
                state.current = None;
                state.last_error = Some(shared(&err));
                Err(err)
            }
        }
    }

    /// Forgets `rejected` so that the next call fetches a new token. A token
    /// that already replaced it stays.
    pub(crate) fn invalidate(&self, rejected: &Token) {
        let mut state = self.state();
        if state.current.as_ref().is_some_and(|c| &c.token == rejected) {
            state.current = None;
        }
    }
}

/// A copy of a fetch error for the callers that waited on that fetch.
fn shared(err: &Error) -> Box<AuthError> {
    match err {
        Error::Auth(e) => e.clone(),
        other => Box::new(AuthError {
            kind: AuthErrorKind::Exchange,
            message: other.to_string(),
            status: other.status(),
            code: other.code(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadlines(lifetime: Option<Duration>) -> (Duration, Duration) {
        let now = Instant::now();
        let c = Cached::new(
            Fetched {
                token: Token::new("t1.x"),
                lifetime,
            },
            now,
        );
        (c.refresh_at - now, c.usable_until - now)
    }

    #[test]
    fn refresh_at_one_hour_or_five_minutes_before_expiry() {
        let min = |m: u64| Duration::from_secs(m * 60);
        // A 12-hour token: refreshed at 1 hour of age.
        assert_eq!(
            deadlines(Some(min(720))),
            (min(60), min(720) - EXPIRY_MARGIN)
        );
        // A 30-minute token: 5 minutes before expiry.
        assert_eq!(deadlines(Some(min(30))).0, min(25));
        // A 4-minute token is not refreshed on every call.
        assert_eq!(deadlines(Some(min(4))).0, min(2));
        // Unknown: treated as IAM's longest lifetime.
        assert_eq!(deadlines(None).0, min(60));
        // Absurd lifetimes are capped instead of overflowing the clock.
        assert_eq!(
            deadlines(Some(Duration::MAX)).1,
            MAX_LIFETIME - EXPIRY_MARGIN
        );
        assert_eq!(
            deadlines(Some(Duration::ZERO)),
            (Duration::ZERO, Duration::ZERO)
        );
    }
}
