//! The two clients compared: (A) the SDK, (B) the hand-written floor.

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::Deserialize;

use super::server::SESSIONS;

/// The id asked for; the server answers every id with the same body.
pub const SESSION_ID: &str = "ek0sync7p1m5c2rb4qz1";
const TOKEN: &str = "t1.bench";

/// What both clients must agree on, checked once before measuring.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    pub session_id: Option<String>,
    pub status: Option<String>,
    pub successful: i64,
    pub failed: i64,
}

/// One `getSession` call, as a client makes it.
pub trait Caller: Clone + Send + Sync + 'static {
    type Output: Send;

    fn call(&self) -> impl Future<Output = Result<Self::Output, String>> + Send;

    fn summarize(output: &Self::Output) -> Summary;
}

/// (A) `yc_idp::Client::get_session`, default retry policy, static token.
#[derive(Clone)]
pub struct Sdk(yc_idp::Client);

impl Sdk {
    pub fn new(base: &str) -> Sdk {
        let client = yc_idp::Client::builder()
            .endpoint(base)
            .credentials(yc_idp::Credentials::iam_token(TOKEN))
            .build()
            .expect("the SDK client builds for a loopback endpoint");
        Sdk(client)
    }
}

impl Caller for Sdk {
    type Output = yc_idp::types::SynchronizationSession;

    async fn call(&self) -> Result<Self::Output, String> {
        self.0
            .get_session(SESSION_ID)
            .await
            .map_err(|e| format!("SDK: {e}"))
    }

    fn summarize(s: &Self::Output) -> Summary {
        let counts = s.progress_entries.iter().flat_map(|p| &p.change_info);
        Summary {
            session_id: s.session_id.clone(),
            status: s.status.as_ref().map(ToString::to_string),
            successful: counts
                .clone()
                .filter_map(|c| c.successful)
                .map(|n| n.get())
                .sum(),
            failed: counts.filter_map(|c| c.failed).map(|n| n.get()).sum(),
        }
    }
}

/// (B) What a user would write instead: `reqwest` and `serde_json`, the same
/// headers, no retries, every field kept as the JSON gave it.
#[derive(Clone)]
pub struct HandWritten {
    http: reqwest::Client,
    url: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct MinimalResponse {
    pub session: Option<MinimalSession>,
}

// Every field is decoded, as the SDK does, though the bench reads few.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinimalSession {
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub closed_at: Option<String>,
    pub sync_mode: Option<String>,
    pub status: Option<String>,
    pub session_type: Option<String>,
    pub fail_reason: Option<String>,
    #[serde(default)]
    pub progress_entries: Vec<MinimalProgress>,
}

#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinimalProgress {
    pub object_type: Option<String>,
    #[serde(default)]
    pub change_info: Vec<MinimalChange>,
}

#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinimalChange {
    pub change_type: Option<String>,
    pub successful: Option<String>,
    pub failed: Option<String>,
}

impl HandWritten {
    pub fn new(base: &str) -> HandWritten {
        Self::build(base, None)
    }

    /// The same with reqwest's per-request timeout: a timer per call, as the
    /// SDK's attempt timeout arms. The floor for a client with timeouts.
    pub fn with_timeout(base: &str, timeout: std::time::Duration) -> HandWritten {
        Self::build(base, Some(timeout))
    }

    fn build(base: &str, timeout: Option<std::time::Duration>) -> HandWritten {
        let mut http = reqwest::Client::builder()
            .user_agent(concat!("yc-idp-rust/", env!("CARGO_PKG_VERSION")));
        if let Some(timeout) = timeout {
            http = http.timeout(timeout);
        }
        let http = http.build().expect("a plain reqwest client builds");
        HandWritten {
            http,
            url: format!("{base}{SESSIONS}{SESSION_ID}"),
        }
    }
}

impl Caller for HandWritten {
    type Output = MinimalSession;

    async fn call(&self) -> Result<Self::Output, String> {
        let response = self
            .http
            .get(&self.url)
            .header(AUTHORIZATION, HeaderValue::from_static("Bearer t1.bench"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header("x-client-request-id", uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("hand-written: {e}"))?;
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("hand-written: {e}"))?;
        let parsed: MinimalResponse =
            serde_json::from_slice(&body).map_err(|e| format!("hand-written: {e}"))?;
        Ok(parsed.session.unwrap_or_default())
    }

    fn summarize(s: &Self::Output) -> Summary {
        let counts = s.progress_entries.iter().flat_map(|p| &p.change_info);
        let sum = |pick: fn(&MinimalChange) -> Option<&String>| -> i64 {
            counts
                .clone()
                .filter_map(pick)
                .filter_map(|n| n.parse::<i64>().ok())
                .sum()
        };
        Summary {
            session_id: s.session_id.clone(),
            status: s.status.clone(),
            successful: sum(|c| c.successful.as_ref()),
            failed: sum(|c| c.failed.as_ref()),
        }
    }
}
