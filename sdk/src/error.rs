//! `yc_idp::Error`: the one error type of the SDK.

use std::fmt;
use std::time::Duration;

use crate::code::Code;

/// Everything that can go wrong in a call, typed so that callers can branch on
/// it and printed so that a person can act on it.
///
/// No variant ever carries a token or key material.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed something the SDK refuses before any I/O.
    InvalidArgument {
        /// What was wrong (`session_id`, `endpoint`, ...).
        argument: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The API answered with an error status.
    Api(Box<ApiError>),
    /// Credentials are missing, unreadable or were refused by IAM.
    Auth(Box<AuthError>),
    /// The request never produced a response: connect, reset, TLS.
    Transport {
        /// What happened, from the HTTP stack.
        message: String,
        /// The underlying error.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A deadline passed.
    Timeout {
        /// Which deadline.
        kind: TimeoutKind,
        /// Its length.
        after: Duration,
    },
    /// A response arrived but is not what the API promises.
    Decode(Box<DecodeError>),
    /// A response body was larger than the configured cap.
    ResponseTooLarge {
        /// The HTTP status of the response.
        status: u16,
        /// The cap, in bytes.
        limit: u64,
        /// The server's `x-request-id`, if any.
        request_id: Option<String>,
    },
    /// Every attempt the retry policy allowed failed.
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// What stopped further retries.
        stopped_by: StoppedBy,
        /// The error of the last attempt.
        last: Box<Error>,
    },
}

/// Which deadline a [`Error::Timeout`] hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// One attempt took longer than the attempt timeout; it may be retried.
    Attempt,
    /// The whole call, retries included, took longer than the total timeout.
    Total,
    /// [`Client::wait_for_session`](crate::Client::wait_for_session) gave up
    /// at its [`WaitOptions::timeout`](crate::WaitOptions::timeout).
    Wait,
}

/// Why a retried call gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoppedBy {
    /// The policy's maximum number of attempts was reached.
    MaxAttempts,
    /// The client's retry budget is spent: the backend keeps failing.
    RetryBudget,
    /// The next attempt could not start in time: its backoff or the
    /// server's `Retry-After` reaches the total timeout (with no total
    /// timeout: a `Retry-After` over the policy's largest backoff).
    Deadline,
}

/// An error answer from the API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The gRPC code from the body, or mapped from the status when the body
    /// is not a `google.rpc.Status` (an HTML page from a proxy).
    pub code: Code,
    /// The message from the body, or a description of the non-JSON body.
    pub message: String,
    /// The `details` of the `google.rpc.Status`, as JSON.
    pub details: Vec<serde_json::Value>,
    /// The server's `x-request-id`, or the `requestId` of a RequestInfo detail.
    pub request_id: Option<String>,
    /// The server's `x-server-trace-id`.
    pub server_trace_id: Option<String>,
    /// The `x-client-request-id` this SDK sent.
    pub client_request_id: Option<String>,
    /// The `Retry-After` the server asked for, if any.
    pub retry_after: Option<Duration>,
}

/// A response that could not be decoded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodeError {
    /// The HTTP status.
    pub status: u16,
    /// The `content-type` of the response, if any.
    pub content_type: Option<String>,
    /// Where in the body decoding failed (`session.progressEntries[0]...`).
    pub path: Option<String>,
    /// What was wrong.
    pub message: String,
    /// The start of the body, at most [`DecodeError::EXCERPT_LIMIT`] bytes.
    pub excerpt: String,
    /// The server's `x-request-id`, if any.
    pub request_id: Option<String>,
    /// The server's `x-server-trace-id`, if any.
    pub server_trace_id: Option<String>,
}

impl DecodeError {
    /// How much of a body a decode error keeps.
    pub const EXCERPT_LIMIT: usize = 256;
}

/// A credentials problem.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthError {
    /// Which kind of problem.
    pub kind: AuthErrorKind,
    /// What was wrong, naming the file or variable involved. Never secrets.
    pub message: String,
    /// For an exchange IAM refused: its HTTP status.
    pub status: Option<u16>,
    /// For an exchange IAM refused: its gRPC code.
    pub code: Option<Code>,
}

/// The kinds of [`AuthError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credentials were configured or found in the environment.
    Missing,
    /// A key file or key is unreadable or malformed.
    InvalidKey,
    /// The token exchange (IAM or metadata service) failed.
    Exchange,
}

impl Error {
    /// The HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode(e) => Some(e.status),
            Error::ResponseTooLarge { status, .. } => Some(*status),
            Error::Auth(e) => e.status,
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The gRPC code of an API error.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Api(e) => Some(e.code),
            Error::Auth(e) => e.code,
            Error::RetriesExhausted { last, .. } => last.code(),
            _ => None,
        }
    }

    /// The server's request id, to quote to support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
            Error::ResponseTooLarge { request_id, .. } => request_id.as_deref(),
            Error::RetriesExhausted { last, .. } => last.request_id(),
            _ => None,
        }
    }

    /// Whether trying the same call again may succeed.
    ///
    /// For [`Error::RetriesExhausted`] it is the last error's answer: the
    /// client's own retries are spent, but the failure was transient, so a
    /// later call (after a pause of the caller's choosing) may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RetriesExhausted { last, .. } => last.is_retryable(),
            Error::Api(e) => is_retryable_status(e.status, e.code),
            Error::Transport { .. } => true,
            Error::Timeout { kind, .. } => *kind == TimeoutKind::Attempt,
            Error::Auth(e) => {
                e.kind == AuthErrorKind::Exchange
                    && e.status
                        .is_none_or(|s| is_retryable_status(s, e.code.unwrap_or(Code::Unknown)))
            }
            _ => false,
        }
    }

    pub(crate) fn invalid(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            argument,
            reason: reason.into(),
        }
    }

    pub(crate) fn auth(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        Error::Auth(Box::new(AuthError {
            kind,
            message: message.into(),
            status: None,
            code: None,
        }))
    }

    pub(crate) fn transport(err: reqwest::Error) -> Self {
        // reqwest's Display omits the cause ("error sending request"); the
        // chain says what actually happened ("connection refused").
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Error::Transport {
            message,
            source: Some(Box::new(err.without_url())),
        }
    }
}

/// Statuses worth another attempt: 408, 429, 500, 502, 503 and 504, unless
/// the body says data was lost (DATA_LOSS shares 500 but is permanent).
pub(crate) fn is_retryable_status(status: u16, code: Code) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504) && code != Code::DataLoss
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { argument, reason } => {
                write!(f, "invalid {argument}: {reason}")
            }
            Error::Api(e) => {
                write!(f, "API error {} {}: {}", e.status, e.code, e.message)?;
                if let Some(id) = &e.request_id {
                    write!(f, " (request id {id})")?;
                }
                Ok(())
            }
            Error::Auth(e) => {
                write!(f, "credentials: {}", e.message)?;
                // The message names the service (IAM, the metadata service).
                if let (Some(status), Some(code)) = (e.status, e.code) {
                    write!(f, " (answered {status} {code})")?;
                }
                Ok(())
            }
            Error::Transport { message, .. } => write!(f, "transport error: {message}"),
            Error::Timeout { kind, after } => match kind {
                TimeoutKind::Attempt => write!(f, "attempt timed out after {after:?}"),
                TimeoutKind::Total => write!(f, "call timed out after {after:?} (total timeout)"),
                TimeoutKind::Wait => write!(
                    f,
                    "the session did not end within {after:?} (WaitOptions::timeout)"
                ),
            },
            Error::Decode(e) => {
                write!(f, "cannot decode the HTTP {} response", e.status)?;
                if let Some(ct) = &e.content_type {
                    write!(f, " ({ct})")?;
                }
                if let Some(path) = &e.path {
                    write!(f, " at `{path}`")?;
                }
                write!(f, ": {}", e.message)?;
                if !e.excerpt.is_empty() {
                    write!(f, "; body starts: {:?}", e.excerpt)?;
                }
                Ok(())
            }
            Error::ResponseTooLarge {
                status,
                limit,
                request_id,
            } => {
                write!(
                    f,
                    "the HTTP {status} response body is larger than the {limit}-byte limit \
                     (raise it with ClientBuilder::max_response_bytes)"
                )?;
                if let Some(id) = request_id {
                    write!(f, " (request id {id})")?;
                }
                Ok(())
            }
            Error::RetriesExhausted {
                attempts,
                stopped_by,
                last,
            } => {
                let why = match stopped_by {
                    StoppedBy::MaxAttempts => "the retry policy's attempt limit",
                    StoppedBy::RetryBudget => "the client's retry budget is spent",
                    StoppedBy::Deadline => "the next attempt could not start before the deadline",
                };
                write!(
                    f,
                    "gave up after {attempts} attempt(s) ({why}); last error: {last}"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static)),
            Error::RetriesExhausted { last, .. } => Some(last.as_ref()),
            _ => None,
        }
    }
}
