//! The IAM token exchange: a service-account JWT or an OAuth token in, an IAM
//! token and its expiry out.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::Token;
use super::cache::Fetched;
use super::http::{self, Answer};
use crate::error::Error;

/// What is traded for an IAM token.
pub(crate) enum Grant<'a> {
    /// A signed service-account JWT.
    Jwt(&'a str),
    /// A Yandex Passport OAuth token.
    OAuth(&'a Token),
}

/// Trades `grant` for an IAM token at `endpoint`, retrying transient failures;
/// each request is limited to `timeout`.
pub(crate) async fn exchange(
    client: &reqwest::Client,
    endpoint: &str,
    grant: Grant<'_>,
    timeout: Option<Duration>,
) -> Result<Fetched, Error> {
    let (body, secret, what) = match grant {
        Grant::Jwt(jwt) => (
            serde_json::json!({ "jwt": jwt }),
            jwt,
            format!("the IAM token exchange for a service-account key at {endpoint}"),
        ),
        Grant::OAuth(token) => (
            serde_json::json!({ "yandexPassportOauthToken": token.expose() }),
            token.expose(),
            format!("the IAM token exchange for an OAuth token at {endpoint}"),
        ),
    };
    let fetched = http::with_retries(&what, || async {
        let answer = http::send(client.post(endpoint).json(&body), timeout, &what).await?;
        if !answer.is_success() {
            return Err(http::refused(&what, &answer, secret, ""));
        }
        parse(&what, &answer)
    })
    .await?;
    tracing::debug!(
        expires_in_s = fetched.lifetime.map(|l| l.as_secs()),
        "IAM token obtained"
    );
    Ok(fetched)
}

/// `{"iamToken": "...", "expiresAt": "<RFC 3339>"}`.
fn parse(what: &str, answer: &Answer) -> Result<Fetched, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        iam_token: Option<String>,
        expires_at: Option<String>,
    }
    let body: Body = serde_json::from_slice(&answer.body)
        .map_err(|_| http::malformed(what, answer, "the body is not the expected JSON object"))?;
    let Some(token) = body.iam_token.filter(|t| !t.is_empty()) else {
        return Err(http::malformed(what, answer, "without an `iamToken`"));
    };
    let expires_at = body.expires_at.as_deref().and_then(|at| {
        let parsed = chrono::DateTime::parse_from_rfc3339(at)
            .ok()
            .map(SystemTime::from);
        if parsed.is_none() {
            tracing::warn!(
                expires_at = at,
                "IAM sent an unreadable `expiresAt`; the token is refreshed within the hour"
            );
        }
        parsed
    });
    Ok(Fetched::expiring_at(Token::new(token), expires_at))
}
