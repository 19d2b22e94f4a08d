//! The public client: configuration, validation and the retry loop around the
//! generated client.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use progenitor_client::ResponseValue;
use reqwest::header::HeaderValue;
use tokio::time::Instant;
use tracing::Instrument;

use crate::auth::{Credentials, TokenSource};
use crate::code::Code;
use crate::decode;
use crate::error::{Error, StoppedBy, TimeoutKind};
use crate::generated;
use crate::hooks::Attempt;
use crate::retry::{RetryBudget, RetryPolicy};
use crate::types::{GetSessionSessionId, Status, SynchronizationSession};

const REQUEST_ID: &str = "x-request-id";

/// The production endpoint of the API.
pub const DEFAULT_ENDPOINT: &str = "https://organization-manager.api.cloud.yandex.net";

/// Where IAM token exchanges go unless [`ClientBuilder::iam_endpoint`] says otherwise.
pub const DEFAULT_IAM_ENDPOINT: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";

/// The default cap on a response body: 16 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A client of the Identity Provider API. Cheap to clone; clones share one
/// connection pool, token cache and retry budget.
///
/// ```no_run
/// # async fn run() -> Result<(), yc_idp::Error> {
/// let client = yc_idp::Client::builder()
///     .credentials(yc_idp::Credentials::iam_token("t1.example"))
///     .build()?;
/// let session = client.get_session("ek0sync7p1m5c2rb4qz1").await?;
/// println!("{:?}", session.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    generated: generated::Client,
    endpoint: String,
    tokens: TokenSource,
    retry: RetryPolicy,
    budget: RetryBudget,
    attempt_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    max_response_bytes: u64,
    client_trace_id: Option<HeaderValue>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("credentials", &self.inner.tokens)
            .field("retry", &self.inner.retry)
            .field("attempt_timeout", &self.inner.attempt_timeout)
            .field("total_timeout", &self.inner.total_timeout)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]. Every setting has a production default.
#[derive(Clone)]
pub struct ClientBuilder {
    endpoint: String,
    credentials: Option<Credentials>,
    connect_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    retry: RetryPolicy,
    user_agent_suffix: Option<String>,
    max_response_bytes: u64,
    allow_insecure_http: bool,
    client_trace_id: Option<String>,
    iam_endpoint: String,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("iam_endpoint", &self.iam_endpoint)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            credentials: None,
            connect_timeout: Some(Duration::from_secs(5)),
            attempt_timeout: Some(Duration::from_secs(30)),
            total_timeout: Some(Duration::from_secs(120)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            retry: RetryPolicy::default(),
            user_agent_suffix: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allow_insecure_http: false,
            client_trace_id: None,
            iam_endpoint: DEFAULT_IAM_ENDPOINT.to_string(),
        }
    }
}

impl ClientBuilder {
    /// The API base URL; [`DEFAULT_ENDPOINT`] unless set. `http://` is
    /// accepted for loopback hosts only, see [`Self::allow_insecure_http`].
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// How the client authenticates. Required.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Limit on establishing a connection (default 5 s); `None` for none.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Limit on one attempt, response body included (default 30 s). An
    /// attempt that times out is retried. Each request for a token (to IAM
    /// or the metadata service) has the same limit. `None` for none.
    pub fn attempt_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.attempt_timeout = timeout.into();
        self
    }

    /// Limit on a whole call, retries and backoff included (default 120 s).
    /// `None` for none.
    pub fn total_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.total_timeout = timeout.into();
        self
    }

    /// How long an idle pooled connection is kept (default 90 s); `None`
    /// keeps it until the server closes it.
    pub fn pool_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.pool_idle_timeout = timeout.into();
        self
    }

    /// How failed attempts are retried; [`RetryPolicy::default`] unless set.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Appended to the `User-Agent` (`yc-idp-rust/<version> <suffix>`).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// The largest response body accepted (default 16 MiB).
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Allows `http://` to non-loopback hosts, sending the token in clear.
    /// Only for networks you trust end to end.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The full URL of the IAM token exchange
    /// (default [`DEFAULT_IAM_ENDPOINT`]); the same plain-http rule as
    /// [`Self::endpoint`] applies.
    pub fn iam_endpoint(mut self, url: impl Into<String>) -> Self {
        self.iam_endpoint = url.into();
        self
    }

    /// Sent as `x-client-trace-id` on every call, to join the server's traces
    /// with yours.
    pub fn client_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.client_trace_id = Some(trace_id.into());
        self
    }

    /// Builds the client, checking every setting.
    pub fn build(self) -> Result<Client, Error> {
        let endpoint = check_endpoint("endpoint", &self.endpoint, self.allow_insecure_http)?;
        let iam_endpoint =
            check_endpoint("iam_endpoint", &self.iam_endpoint, self.allow_insecure_http)?;
        let Some(credentials) = self.credentials else {
            return Err(Error::auth(
                crate::error::AuthErrorKind::Missing,
                "no credentials configured: pass ClientBuilder::credentials(..), \
                 for example Credentials::from_env()",
            ));
        };
        let mut user_agent = format!("yc-idp-rust/{}", env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = &self.user_agent_suffix {
            user_agent.push(' ');
            user_agent.push_str(suffix);
        }
        if HeaderValue::from_str(&user_agent).is_err() {
            return Err(Error::invalid(
                "user_agent_suffix",
                "must be printable ASCII without line breaks",
            ));
        }
        let client_trace_id = self
            .client_trace_id
            .map(|id| {
                HeaderValue::from_str(&id).map_err(|_| {
                    Error::invalid(
                        "client_trace_id",
                        "must be printable ASCII without line breaks",
                    )
                })
            })
            .transpose()?;
        let http_builder = || {
            // No redirects: the API never sends one, and following one would
            // resend a token exchange's body (a JWT, an OAuth token) elsewhere.
            let builder = reqwest::Client::builder()
                .user_agent(user_agent.clone())
                .pool_idle_timeout(self.pool_idle_timeout)
                .redirect(reqwest::redirect::Policy::none());
            match self.connect_timeout {
                Some(t) => builder.connect_timeout(t),
                None => builder,
            }
        };
        let http = http_builder().build().map_err(Error::transport)?;
        // The VM's metadata service is link-local: an HTTP_PROXY from the
        // environment must not see (or swallow) the VM's token.
        let direct_http = credentials
            .is_metadata()
            .then(|| http_builder().no_proxy().build())
            .transpose()
            .map_err(Error::transport)?;
        let budget = self.retry.new_budget();
        Ok(Client {
            inner: Arc::new(Inner {
                generated: generated::Client::new_with_client(&endpoint, http.clone()),
                endpoint,
                tokens: TokenSource::new(
                    credentials,
                    http,
                    direct_http,
                    iam_endpoint,
                    self.attempt_timeout,
                ),
                retry: self.retry,
                budget,
                attempt_timeout: self.attempt_timeout,
                total_timeout: self.total_timeout,
                max_response_bytes: self.max_response_bytes,
                client_trace_id,
            }),
        })
    }
}

/// Parses the endpoint and refuses to send a token in clear to a remote host.
fn check_endpoint(
    argument: &'static str,
    endpoint: &str,
    allow_insecure_http: bool,
) -> Result<String, Error> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| Error::invalid(argument, format!("`{endpoint}` is not a URL: {e}")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            argument,
            "must not have a query or fragment",
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => {
            return Err(Error::invalid(
                argument,
                format!("`{endpoint}` has no host"),
            ));
        }
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback || allow_insecure_http => {}
        "http" => {
            return Err(Error::invalid(
                argument,
                format!(
                    "`{endpoint}` is plain http to a non-loopback host, which would send the \
                     token in clear; use https, or allow_insecure_http(true) on a trusted network"
                ),
            ));
        }
        other => {
            return Err(Error::invalid(
                argument,
                format!("scheme `{other}` is not supported; use https"),
            ));
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Checks a session id before any I/O. The length limit comes from the spec.
fn check_session_id(session_id: &str) -> Result<GetSessionSessionId, Error> {
    if session_id.is_empty() {
        return Err(Error::invalid("session_id", "must not be empty"));
    }
    if session_id == "." || session_id == ".." {
        return Err(Error::invalid(
            "session_id",
            "`.` and `..` cannot be sent as one URL path segment",
        ));
    }
    GetSessionSessionId::try_from(session_id).map_err(|e| {
        let chars = session_id.chars().count();
        Error::invalid("session_id", format!("{e} (it has {chars})"))
    })
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The endpoint this client calls.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// Returns the synchronization session `session_id`.
    ///
    /// The id is checked before any I/O: an empty id, one over 50
    /// characters, or `.` / `..` (which no URL can carry as a path segment:
    /// parsers resolve them, escaped or not) is an [`Error::InvalidArgument`].
    /// Any other id is percent-encoded into exactly one path segment. A `200`
    /// without a session reads as an empty session (proto3's default).
    pub async fn get_session(&self, session_id: &str) -> Result<SynchronizationSession, Error> {
        let id = check_session_id(session_id)?;
        let response = self
            .call("getSession", || self.inner.generated.get_session(&id))
            .await?;
        Ok(response.session.unwrap_or_default())
    }

    /// Runs one operation with retries, timeouts and tracing.
    async fn call<T, F, Fut>(&self, operation: &'static str, send: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<Status>>>,
        T: serde::de::DeserializeOwned,
    {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!(
            "yc_idp.call",
            operation,
            client_request_id = %client_request_id,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        // One deadline checked inside the loop rather than a timer around it:
        // each armed tokio timer wakes the runtime's driver, so a call arms
        // at most one at a time.
        // A timeout too large for the clock means no deadline, not a panic.
        let deadline = self
            .inner
            .total_timeout
            .and_then(|t| Instant::now().checked_add(t));
        let result = self
            .retry_loop(operation, send, &client_request_id, deadline)
            .instrument(span.clone())
            .await;
        if let Err(e) = &result {
            span.in_scope(|| tracing::debug!(error = %e, "call failed"));
        }
        result
    }

    async fn retry_loop<T, F, Fut>(
        &self,
        operation: &'static str,
        send: F,
        client_request_id: &str,
        deadline: Option<Instant>,
    ) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<Status>>>,
        T: serde::de::DeserializeOwned,
    {
        let inner = &self.inner;
        let total_timeout = || Error::Timeout {
            kind: TimeoutKind::Total,
            after: inner.total_timeout.unwrap_or_default(),
        };
        let request_id_header = HeaderValue::from_str(client_request_id)
            .map_err(|_| Error::invalid("client_request_id", "not a header value"))?;
        let mut refreshed = false;
        let mut attempt_no = 0u32;
        loop {
            attempt_no += 1;
            tracing::Span::current().record("attempts", attempt_no);
            // A cached token is ready at the first poll, which arms no timer.
            let token = match deadline {
                Some(at) => tokio::time::timeout_at(at, inner.tokens.token())
                    .await
                    .map_err(|_| total_timeout())??,
                None => inner.tokens.token().await?,
            };
            let mut authorization = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| {
                    Error::auth(
                        crate::error::AuthErrorKind::InvalidKey,
                        "the IAM token has characters not allowed in an HTTP header",
                    )
                })?;
            authorization.set_sensitive(true);
            let attempt = Arc::new(Attempt {
                authorization,
                client_request_id: request_id_header.clone(),
                client_trace_id: inner.client_trace_id.clone(),
                max_body: inner.max_response_bytes,
                response: OnceLock::new(),
            });
            let span = tracing::debug_span!(
                "yc_idp.attempt",
                operation,
                attempt = attempt_no,
                status = tracing::field::Empty,
                request_id = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let attempt_started = Instant::now();
            let sent = attempt.run(send()).instrument(span.clone());
            let attempt_deadline = inner
                .attempt_timeout
                .and_then(|t| attempt_started.checked_add(t));
            let outcome = match earliest(attempt_deadline, deadline) {
                Some(at) => match tokio::time::timeout_at(at, sent).await {
                    Ok(result) => decode::outcome(result, &attempt, client_request_id),
                    // The call's deadline came first: no time left to retry.
                    Err(_) if Some(at) == deadline => return Err(total_timeout()),
                    Err(_) => Err(Error::Timeout {
                        kind: TimeoutKind::Attempt,
                        after: inner.attempt_timeout.unwrap_or_default(),
                    }),
                },
                None => decode::outcome(sent.await, &attempt, client_request_id),
            };
            if let Some(meta) = attempt.response.get() {
                span.record("status", meta.status.as_u16());
                tracing::Span::current().record("status", meta.status.as_u16());
                if let Some(id) = meta.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
                    span.record("request_id", id);
                }
            }
            span.record("duration_ms", attempt_started.elapsed().as_millis() as u64);
            let err = match outcome {
                Ok(value) => {
                    inner.budget.on_success();
                    return Ok(value);
                }
                Err(err) => err,
            };
            if let Some(id) = err.request_id() {
                span.record("request_id", id);
            }
            span.in_scope(|| tracing::debug!(error = %err, "attempt failed"));

            // A 401 may mean the cached token went stale early: refresh once.
            if err.code() == Some(Code::Unauthenticated)
                && !refreshed
                && inner.tokens.invalidate(&token)
            {
                refreshed = true;
                continue;
            }
            if !err.is_retryable() {
                return Err(err);
            }
            let exhausted = |stopped_by: StoppedBy, last: Error| Error::RetriesExhausted {
                attempts: attempt_no,
                stopped_by,
                last: Box::new(last),
            };
            if attempt_no >= inner.retry.attempts() {
                // With retries off, the error itself says the most.
                return Err(if attempt_no == 1 {
                    err
                } else {
                    exhausted(StoppedBy::MaxAttempts, err)
                });
            }
            let remaining = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            // Decided before the budget is charged: a retry that cannot
            // happen in time costs nothing and ends the call now, with the
            // error that caused it.
            let wait = match next_wait(&inner.retry, attempt_no, retry_after(&err), remaining) {
                Ok(wait) => wait,
                Err(stopped_by) => return Err(exhausted(stopped_by, err)),
            };
            if !inner.budget.try_acquire() {
                return Err(exhausted(StoppedBy::RetryBudget, err));
            }
            tracing::debug!(
                attempt = attempt_no,
                backoff_ms = wait.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The pause before the attempt after `attempt_no`: jittered backoff, but at
/// least what the server asked for. A pause that reaches the total timeout
/// is pointless, so it ends the call now; with no total timeout, a
/// `Retry-After` over the policy's largest backoff does (a server asking for
/// a day must not park the call for a day).
fn next_wait(
    policy: &RetryPolicy,
    attempt_no: u32,
    asked: Option<Duration>,
    remaining: Option<Duration>,
) -> Result<Duration, StoppedBy> {
    let wait = policy
        .backoff(attempt_no + 1)
        .max(asked.unwrap_or_default());
    let too_long = match remaining {
        Some(remaining) => wait >= remaining,
        None => asked.is_some_and(|asked| asked > policy.largest_backoff()),
    };
    if too_long {
        Err(StoppedBy::Deadline)
    } else {
        Ok(wait)
    }
}

fn retry_after(err: &Error) -> Option<Duration> {
    match err {
        Error::Api(api) => api.retry_after,
        _ => None,
    }
}

/// Parses a `Retry-After` header value at the current wall-clock time.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    crate::retry::parse_retry_after(value, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_endpoint("endpoint", "http://127.0.0.1:8080", false).is_ok());
        assert!(check_endpoint("endpoint", "http://[::1]:8080/", false).is_ok());
        assert!(check_endpoint("endpoint", "http://localhost", false).is_ok());
        let e = check_endpoint("endpoint", "http://example.com", false).unwrap_err();
        assert!(e.to_string().contains("in clear"), "{e}");
        assert!(check_endpoint("endpoint", "http://example.com", true).is_ok());
        assert!(check_endpoint("endpoint", "ftp://example.com", false).is_err());
        assert!(check_endpoint("endpoint", "not a url", false).is_err());
        assert_eq!(
            check_endpoint("endpoint", "https://h.example/base/", false).unwrap(),
            "https://h.example/base"
        );
    }

    #[test]
    fn retry_after_is_a_floor_unless_it_passes_the_deadline() {
        let p = RetryPolicy::default();
        let s = Duration::from_secs;
        assert!(next_wait(&p, 1, None, None).unwrap() <= Duration::from_millis(100));
        assert_eq!(next_wait(&p, 1, Some(s(2)), Some(s(60))), Ok(s(2)));
        assert_eq!(next_wait(&p, 1, Some(s(2)), None), Ok(s(2)));
        assert_eq!(
            next_wait(&p, 1, Some(s(600)), Some(s(60))),
            Err(StoppedBy::Deadline)
        );
        assert_eq!(
            next_wait(&p, 1, Some(s(60)), Some(s(60))),
            Err(StoppedBy::Deadline)
        );
        // No total timeout: the policy's largest backoff bounds Retry-After,
        // so an absurd one cannot overflow the clock or park the call.
        assert_eq!(next_wait(&p, 1, Some(s(20)), None), Ok(s(20)));
        assert_eq!(
            next_wait(&p, 1, Some(Duration::MAX), None),
            Err(StoppedBy::Deadline)
        );
        // Backoff alone that reaches the deadline ends the call too.
        let slow = RetryPolicy::default()
            .initial_backoff(s(10))
            .max_backoff(s(10));
        let never_short = (0..50).all(|_| {
            next_wait(&slow, 1, None, Some(Duration::from_nanos(1))) == Err(StoppedBy::Deadline)
        });
        assert!(never_short);
    }

    #[test]
    fn session_ids_are_checked_before_io() {
        assert!(check_session_id("ek0sync7p1m5c2rb4qz1").is_ok());
        assert!(check_session_id(&"a".repeat(50)).is_ok());
        assert!(
            check_session_id(&"я".repeat(50)).is_ok(),
            "characters, not bytes"
        );
        for bad in ["", ".", "..", &"a".repeat(51)] {
            let e = check_session_id(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidArgument {
                        argument: "session_id",
                        ..
                    }
                ),
                "{e}"
            );
        }
    }
}
