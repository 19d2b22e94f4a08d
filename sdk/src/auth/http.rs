//! What the IAM exchange and the metadata service share: retries of transient
//! failures, a capped body read, and errors that never quote a secret.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;

use crate::code::Code;
use crate::error::{AuthError, AuthErrorKind, Error};

/// Tries per fetch when IAM or the metadata service fails transiently.
pub(crate) const ATTEMPTS: u32 = 3;
/// The backoff ceiling before the second try; it doubles for the third.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Token answers are tiny; anything bigger is not one.
const MAX_BODY: usize = 64 * 1024;
/// How much of a server's error message an error keeps.
const MAX_MESSAGE: usize = 300;

/// Runs `attempt` until it succeeds, fails for good, or [`ATTEMPTS`] are used.
pub(crate) async fn with_retries<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if tries < ATTEMPTS && err.is_retryable() => {
                let ceiling = FIRST_BACKOFF * 2u32.pow(tries - 1);
                // Half fixed, half jitter: spread out clients that failed together.
                let wait = ceiling / 2 + ceiling.mul_f64(fastrand::f64()) / 2;
                tracing::debug!(
                    what,
                    error = %err,
                    backoff_ms = wait.as_millis() as u64,
                    "token fetch failed; retrying"
                );
                tokio::time::sleep(wait).await;
                tries += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// A response: status and the whole (small) body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends `request` and reads at most [`MAX_BODY`] bytes of the answer, all
/// within `timeout` (the client's attempt timeout): a token service that
/// accepts the connection and never answers must not hang the call.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    timeout: Option<Duration>,
    what: &str,
) -> Result<Answer, Error> {
    let request = match timeout {
        Some(t) => request.timeout(t),
        None => request,
    };
    let mut response = request.send().await.map_err(|e| no_answer(what, e))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| no_answer(what, e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(exchange_error(
                format!("{what} answered with more than {MAX_BODY} bytes"),
                Some(status),
                None,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body })
}

/// An exchange error; retryable when `status` is `None` or transient.
pub(crate) fn exchange_error(message: String, status: Option<u16>, code: Option<Code>) -> Error {
    Error::Auth(Box::new(AuthError {
        kind: AuthErrorKind::Exchange,
        message,
        status,
        code,
    }))
}

/// The request never got an answer.
fn no_answer(what: &str, err: reqwest::Error) -> Error {
    let err = err.without_url();
    let mut message = format!("cannot reach {what}: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    exchange_error(message, None, None)
}

/// A refusal: the status, with the code and message of a `google.rpc.Status`
/// body when there is one. `secret` (what was sent) is cut out of the
/// server's message in case it was echoed.
pub(crate) fn refused(what: &str, answer: &Answer, secret: &str, hint: &str) -> Error {
    #[derive(Deserialize)]
    struct Status {
        code: Option<i32>,
        message: Option<String>,
    }
    let status = answer.status;
    let parsed = serde_json::from_slice::<Status>(&answer.body).ok();
    let code = match parsed.as_ref().and_then(|s| s.code) {
        Some(n) if n != 0 => Code::from_i32(n),
        _ => Code::from_http_status(status),
    };
    let message = match parsed.and_then(|s| s.message).filter(|m| !m.is_empty()) {
        Some(m) => {
            let m = if secret.is_empty() {
                m
            } else {
                m.replace(secret, "<redacted>")
            };
            m.chars().take(MAX_MESSAGE).collect()
        }
        None => {
            let reason = reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error");
            format!("HTTP {status} {reason}")
        }
    };
    exchange_error(
        format!("{what} refused: {message}{hint}"),
        Some(status),
        Some(code),
    )
}

/// An answer whose body is not what was expected. The body itself is never
/// quoted: a successful one holds a token.
pub(crate) fn malformed(what: &str, answer: &Answer, problem: &str) -> Error {
    exchange_error(
        format!("{what} answered HTTP {} but {problem}", answer.status),
        Some(answer.status),
        None,
    )
}
