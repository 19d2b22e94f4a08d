//! A fake of the API on loopback, for your tests (cargo feature `mock`).
//!
//! [`MockServer`] answers `GetSession` like the real service: sessions you
//! add are served as `{"session": ...}`, unknown ones as `NOT_FOUND`, errors
//! as a `google.rpc.Status` body with a request id, and it can misbehave on
//! request ([`Faults`]). It records every request it gets. It runs on
//! [wiremock](https://docs.rs/wiremock) and listens on `127.0.0.1` only.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), yc_idp::Error> {
//! use yc_idp::Code;
//! use yc_idp::mock::MockServer;
//! use yc_idp::types::{SessionStatus, SynchronizationSession};
//!
//! let mock = MockServer::start()
//!     .await
//!     .with_session(SynchronizationSession {
//!         session_id: Some("ek0sync7p1m5c2rb4qz1".into()),
//!         status: Some(SessionStatus::Completed),
//!         ..Default::default()
//!     })
//!     .with_error("ek0syncdenied0000001", Code::PermissionDenied, "no access");
//! let client = mock.client()?;
//!
//! let session = client.get_session("ek0sync7p1m5c2rb4qz1").await?;
//! assert_eq!(session.status, Some(SessionStatus::Completed));
//!
//! let err = client.get_session("ek0syncdenied0000001").await.unwrap_err();
//! assert_eq!(err.code(), Some(Code::PermissionDenied));
//! assert!(err.request_id().is_some());
//!
//! assert_eq!(mock.requests().len(), 2);
//! # Ok(()) }
//! ```
//!
//! # On a paused clock
//!
//! Under `#[tokio::test(start_paused = true)]` tokio moves time forward
//! whenever the runtime idles, including while it waits for the mock's
//! answer on a socket, so a client timeout can fire before the answer
//! arrives. Build the client without timeouts there ([`MockServer::client_builder`]
//! already turns off the connection pool's idle timer, which would make the
//! clock jump the same way):
//!
//! ```
//! # async fn run(mock: yc_idp::mock::MockServer) -> Result<(), yc_idp::Error> {
//! let client = mock
//!     .client_builder()
//!     .connect_timeout(None)
//!     .attempt_timeout(None)
//!     .total_timeout(None)
//!     .build()?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::HeaderMap;
use serde_json::{Map, Value};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::auth::Credentials;
use crate::client::{Client, ClientBuilder};
use crate::code::Code;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::types::{GetSessionResponse, SynchronizationSession};

pub use wiremock;

/// The IAM token that [`MockServer::client`] sends.
pub const TOKEN: &str = "t1.yc-idp-mock-token";

const SESSIONS_PATH: &str = "/organization-manager/v1/idp/synchronization-sessions/";

/// A fake Identity Provider API on `127.0.0.1`. See the [module docs](self).
///
/// Dropping it stops the server.
pub struct MockServer {
    server: wiremock::MockServer,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("MockServer")
            .field("uri", &self.server.uri())
            .field("sessions", &state.answers.len())
            .field("faults", &state.faults)
            .field("requests", &state.requests.len())
            .finish()
    }
}

#[derive(Default)]
struct State {
    answers: HashMap<String, Answer>,
    faults: Faults,
    unavailable_left: u32,
    requests: Vec<ReceivedRequest>,
}

enum Answer {
    /// Snapshots served in turn; the last one repeats.
    Sessions {
        snapshots: Vec<SynchronizationSession>,
        next: usize,
    },
    Error {
        code: Code,
        message: String,
    },
}

impl MockServer {
    /// Starts a server with no sessions: every id answers `NOT_FOUND`.
    pub async fn start() -> MockServer {
        // Its own server, not one from wiremock's pool: a request another
        // test left in flight can never land here.
        let server = wiremock::MockServer::builder().start().await;
        let state = Arc::new(Mutex::new(State::default()));
        // The lowest priority, so that mocks a test mounts itself through
        // `wiremock()` take precedence.
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                state: Arc::clone(&state),
            })
            .with_priority(u8::MAX)
            .mount(&server)
            .await;
        MockServer { server, state }
    }

    /// Serves `session` under its `session_id`, replacing what that id served
    /// before. A session without an id is served under the empty id, which
    /// no client can ask for.
    pub fn with_session(self, session: SynchronizationSession) -> Self {
        self.set_session(session);
        self
    }

    /// Serves `snapshots` of one session in turn: the first request for `id`
    /// gets the first snapshot, the next request the next one, and the last
    /// snapshot repeats. Use it for a session that progresses while watched.
    ///
    /// An empty `snapshots` serves `NOT_FOUND`.
    pub fn with_session_sequence(
        self,
        id: impl Into<String>,
        snapshots: impl IntoIterator<Item = SynchronizationSession>,
    ) -> Self {
        let id = id.into();
        let snapshots: Vec<_> = snapshots.into_iter().collect();
        let mut state = lock(&self.state);
        if snapshots.is_empty() {
            state.answers.remove(&id);
        } else {
            state
                .answers
                .insert(id, Answer::Sessions { snapshots, next: 0 });
        }
        drop(state);
        self
    }

    /// Answers requests for `id` with the error `code`: its HTTP status (see
    /// [`Code::http_status`]), a `google.rpc.Status` body with `message` and
    /// a `google.rpc.RequestInfo` detail, and an `x-request-id` header.
    pub fn with_error(self, id: impl Into<String>, code: Code, message: impl Into<String>) -> Self {
        lock(&self.state).answers.insert(
            id.into(),
            Answer::Error {
                code,
                message: message.into(),
            },
        );
        self
    }

    /// Makes every request misbehave as `faults` says, replacing earlier
    /// faults and restarting their count.
    pub fn with_faults(self, faults: Faults) -> Self {
        self.set_faults(faults);
        self
    }

    /// Like [`Self::with_session`], on a running test: the next request for
    /// the session's id gets this snapshot.
    pub fn set_session(&self, session: SynchronizationSession) {
        let id = session.session_id.clone().unwrap_or_default();
        lock(&self.state).answers.insert(
            id,
            Answer::Sessions {
                snapshots: vec![session],
                next: 0,
            },
        );
    }

    /// Like [`Self::with_faults`], on a running test.
    pub fn set_faults(&self, faults: Faults) {
        let mut state = lock(&self.state);
        state.unavailable_left = faults.unavailable;
        state.faults = faults;
    }

    /// The server's base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A client builder aimed at this server, ready to adjust: the endpoint,
    /// the static token [`TOKEN`], a connect timeout of 5 s, an attempt
    /// timeout of 10 s, a total timeout of 30 s, the default retry policy
    /// with backoffs shortened to 10-200 ms, and no idle timeout on pooled
    /// connections (its timer would move a paused clock; see the
    /// [module docs](self)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), yc_idp::Error> {
    /// let mock = yc_idp::mock::MockServer::start().await;
    /// let client = mock
    ///     .client_builder()
    ///     .retry_policy(yc_idp::RetryPolicy::none())
    ///     .build()?;
    /// assert_eq!(client.endpoint(), mock.uri());
    /// # Ok(()) }
    /// ```
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .endpoint(self.uri())
            .credentials(Credentials::iam_token(TOKEN))
            .connect_timeout(Duration::from_secs(5))
            .attempt_timeout(Duration::from_secs(10))
            .total_timeout(Duration::from_secs(30))
            .pool_idle_timeout(None)
            .retry_policy(
                RetryPolicy::default()
                    .initial_backoff(Duration::from_millis(10))
                    .max_backoff(Duration::from_millis(200)),
            )
    }

    /// A client aimed at this server, as [`Self::client_builder`] sets it up.
    pub fn client(&self) -> Result<Client, Error> {
        self.client_builder().build()
    }

    /// Every request the server got so far, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.state).requests.clone()
    }

    /// The wiremock server underneath, to mount mocks of your own; they take
    /// precedence over this server's answers. Its requests are not in
    /// [`Self::requests`].
    pub fn wiremock(&self) -> &wiremock::MockServer {
        &self.server
    }
}

/// Ways a [`MockServer`] misbehaves, for testing retries, timeouts and
/// decode errors. They apply to every request, before anything else.
///
/// ```
/// use std::time::Duration;
/// use yc_idp::mock::Faults;
///
/// // Two 503s, then normal answers, each after 50 ms.
/// let faults = Faults::new().unavailable(2).delay(Duration::from_millis(50));
/// # let _ = faults;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Faults {
    delay: Option<Duration>,
    unavailable: u32,
    garbage_body: bool,
}

impl Faults {
    /// No faults.
    pub fn new() -> Self {
        Faults::default()
    }

    /// Holds every answer back by `delay`. The server waits on the wall
    /// clock, in its own thread: on a paused test clock, a client timeout
    /// shorter than `delay` fires at once.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Answers the next `count` requests with `503 UNAVAILABLE`, then
    /// normally.
    pub fn unavailable(mut self, count: u32) -> Self {
        self.unavailable = count;
        self
    }

    /// Answers every request (after the 503s) with `200` and a truncated JSON
    /// body.
    pub fn garbage_body(mut self) -> Self {
        self.garbage_body = true;
        self
    }
}

/// One request a [`MockServer`] got, and what it answered.
///
/// `Debug` hides the `authorization` header.
#[derive(Clone)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The HTTP method, `GET`.
    pub method: String,
    /// The path as sent, percent-encoded.
    pub path: String,
    /// The session id from the path, decoded, if the path names a session.
    pub session_id: Option<String>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The HTTP status the server answered.
    pub status: u16,
    /// The `x-request-id` the server answered with.
    pub request_id: String,
}

impl ReceivedRequest {
    /// A header's value, if present and text.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), yc_idp::Error> {
    /// let mock = yc_idp::mock::MockServer::start().await;
    /// let _ = mock.client()?.get_session("ek0sync7p1m5c2rb4qz1").await;
    /// let request = &mock.requests()[0];
    /// assert_eq!(request.header("authorization"), Some("Bearer t1.yc-idp-mock-token"));
    /// assert!(request.header("x-client-request-id").is_some());
    /// # Ok(()) }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl fmt::Debug for ReceivedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<_> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if name == http::header::AUTHORIZATION {
                    "<redacted>"
                } else {
                    value.to_str().unwrap_or("<binary>")
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("ReceivedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("session_id", &self.session_id)
            .field("headers", &headers)
            .field("status", &self.status)
            .field("request_id", &self.request_id)
            .finish()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock leaves consistent data.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Responder {
    state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let request_id = format!("6d6f636b-0000-4000-8000-{:012x}", state.requests.len() + 1);
        let path = request.url.path().to_string();
        // One raw segment; a `/` inside an id arrives encoded.
        let session_id = path
            .strip_prefix(SESSIONS_PATH)
            .filter(|raw| !raw.is_empty() && !raw.contains('/'))
            .and_then(|raw| {
                let id = percent_encoding::percent_decode_str(raw)
                    .decode_utf8()
                    .ok()?;
                Some(id.into_owned())
            });
        let template = answer(&mut state, request, session_id.as_deref(), &request_id);
        let status = template.status;
        let mut response = template.into_response(&request_id);
        if let Some(delay) = state.faults.delay {
            response = response.set_delay(delay);
        }
        state.requests.push(ReceivedRequest {
            method: request.method.to_string(),
            path,
            session_id,
            headers: request.headers.clone(),
            status,
            request_id,
        });
        response
    }
}

/// What to answer, before headers and delay.
struct Reply {
    status: u16,
    body: Body,
}

enum Body {
    Json(Vec<u8>),
    Garbage,
}

impl Reply {
    fn error(code: Code, message: &str, request_id: &str) -> Reply {
        let mut info = Map::new();
        info.insert(
            "@type".into(),
            "type.googleapis.com/google.rpc.RequestInfo".into(),
        );
        info.insert("requestId".into(), request_id.into());
        let mut status = Map::new();
        status.insert("code".into(), code.as_i32().into());
        status.insert("message".into(), message.into());
        status.insert("details".into(), Value::Array(vec![Value::Object(info)]));
        Reply {
            status: code.http_status(),
            body: Body::Json(Value::Object(status).to_string().into_bytes()),
        }
    }

    fn session(session: SynchronizationSession, request_id: &str) -> Reply {
        let response = GetSessionResponse {
            session: Some(session),
        };
        match serde_json::to_vec(&response) {
            Ok(body) => Reply {
                status: 200,
                body: Body::Json(body),
            },
            Err(e) => Reply::error(
                Code::Internal,
                &format!("the mock cannot encode the session: {e}"),
                request_id,
            ),
        }
    }

    fn into_response(self, request_id: &str) -> ResponseTemplate {
        let template = ResponseTemplate::new(self.status).insert_header("x-request-id", request_id);
        match self.body {
            Body::Json(bytes) => template.set_body_raw(bytes, "application/json"),
            Body::Garbage => template.set_body_raw(
                r#"{"session": {"sessionId": "ek0sync7p1m5c2rb4q"#,
                "application/json",
            ),
        }
    }
}

fn answer(
    state: &mut State,
    request: &Request,
    session_id: Option<&str>,
    request_id: &str,
) -> Reply {
    if state.unavailable_left > 0 {
        state.unavailable_left -= 1;
        return Reply::error(
            Code::Unavailable,
            "Service is temporarily unavailable, try again later",
            request_id,
        );
    }
    if state.faults.garbage_body {
        return Reply {
            status: 200,
            body: Body::Garbage,
        };
    }
    let bearer = request
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| !token.trim().is_empty());
    if !bearer {
        return Reply::error(Code::Unauthenticated, "The token is invalid", request_id);
    }
    let Some(id) = session_id.filter(|_| request.method == http::Method::GET) else {
        return Reply::error(
            Code::NotFound,
            &format!(
                "the mock serves GET {SESSIONS_PATH}{{sessionId}} only, not {} {}",
                request.method,
                request.url.path()
            ),
            request_id,
        );
    };
    match state.answers.get_mut(id) {
        Some(Answer::Sessions { snapshots, next }) => {
            let index = (*next).min(snapshots.len().saturating_sub(1));
            *next = next.saturating_add(1);
            let session = snapshots.get(index).cloned().unwrap_or_default();
            Reply::session(session, request_id)
        }
        Some(Answer::Error { code, message }) => Reply::error(*code, message, request_id),
        None => Reply::error(
            Code::NotFound,
            &format!("Synchronization session {id} not found"),
            request_id,
        ),
    }
}
