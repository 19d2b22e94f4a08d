//! The metadata service of a Yandex Cloud VM, which hands out IAM tokens of
//! the service account attached to the VM.

use std::time::Duration;

use serde::Deserialize;

use super::Token;
use super::cache::Fetched;
use super::http::{self, Answer};
use crate::error::Error;

/// Where the metadata service listens on every VM.
pub(crate) const DEFAULT_ADDR: &str = "169.254.169.254";
/// The variable that overrides [`DEFAULT_ADDR`], as in the official SDKs.
pub(crate) const ADDR_VAR: &str = "YC_METADATA_ADDR";
const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// The address from [`ADDR_VAR`], or [`DEFAULT_ADDR`].
pub(crate) fn addr_from_env() -> String {
    std::env::var(ADDR_VAR)
        .ok()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| DEFAULT_ADDR.to_string())
}

/// The token URL for `addr` (`host` or `host:port`, `http://` optional).
fn token_url(addr: &str) -> Result<reqwest::Url, Error> {
    let host = addr
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let url = reqwest::Url::parse(&format!("http://{host}{TOKEN_PATH}"))
        .ok()
        .filter(|u| u.path() == TOKEN_PATH && u.query().is_none());
    url.ok_or_else(|| {
        Error::invalid(
            "metadata address",
            format!("`{addr}` is not `host` or `host:port`"),
        )
    })
}

/// Fetches a token, retrying transient failures; each request is limited to
/// `timeout`. `client` must not use a proxy: the VM's token is for the VM.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    addr: &str,
    timeout: Option<Duration>,
) -> Result<Fetched, Error> {
    let url = token_url(addr)?;
    let what = format!("the metadata service at {addr}");
    http::with_retries(&what, || async {
        let request = client.get(url.clone()).header("Metadata-Flavor", "Google");
        let answer = http::send(request, timeout, &what).await.map_err(|e| {
            // Off a VM the address simply does not answer.
            match e {
                Error::Auth(mut a) if a.status.is_none() => {
                    a.message.push_str(&format!(
                        " (is this a Yandex Cloud VM? {ADDR_VAR} overrides the address)"
                    ));
                    Error::Auth(a)
                }
                other => other,
            }
        })?;
        if !answer.is_success() {
            let hint = if answer.status == 404 {
                " (is a service account attached to the VM?)"
            } else {
                ""
            };
            return Err(http::refused(&what, &answer, "", hint));
        }
        parse(&what, &answer)
    })
    .await
}

/// `{"access_token": "...", "expires_in": <seconds>, "token_type": "Bearer"}`.
fn parse(what: &str, answer: &Answer) -> Result<Fetched, Error> {
    #[derive(Deserialize)]
    struct Body {
        access_token: Option<String>,
        expires_in: Option<u64>,
    }
    let body: Body = serde_json::from_slice(&answer.body)
        .map_err(|_| http::malformed(what, answer, "the body is not the expected JSON object"))?;
    let Some(token) = body.access_token.filter(|t| !t.is_empty()) else {
        return Err(http::malformed(what, answer, "without an `access_token`"));
    };
    Ok(Fetched {
        token: Token::new(token),
        lifetime: body.expires_in.map(Duration::from_secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let url = |a: &str| token_url(a).map(|u| u.to_string());
        assert_eq!(
            url("169.254.169.254").unwrap(),
            format!("http://169.254.169.254{TOKEN_PATH}")
        );
        assert_eq!(
            url("http://127.0.0.1:8080/").unwrap(),
            format!("http://127.0.0.1:8080{TOKEN_PATH}")
        );
        assert!(url("127.0.0.1:notaport").is_err());
        assert!(url("host/path").is_err());
        assert!(url("").is_err());
    }
}
