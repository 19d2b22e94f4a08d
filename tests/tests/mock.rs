//! `yc_idp::mock::MockServer`, used the way a user's tests use it.

use std::time::Duration;

use yc_idp::mock::{Faults, MockServer, TOKEN};
use yc_idp::types::{SessionStatus, SynchronizationSession};
use yc_idp::{Code, Error, RetryPolicy, TimeoutKind};

fn session(id: &str, status: SessionStatus) -> SynchronizationSession {
    SynchronizationSession {
        session_id: Some(id.into()),
        status: Some(status),
        ..Default::default()
    }
}

/// A client without wall-clock timers, for the paused clock (see the
/// `yc_idp::mock` docs).
fn paused_client(mock: &MockServer, retry: RetryPolicy) -> yc_idp::Client {
    mock.client_builder()
        .connect_timeout(None)
        .attempt_timeout(None)
        .total_timeout(None)
        .retry_policy(retry)
        .build()
        .unwrap()
}

#[tokio::test]
async fn serves_typed_sessions_and_records_requests() {
    let reference: serde_json::Value =
        serde_json::from_str(&yc_idp_tests::example("get-session-completed.json")).unwrap();
    let completed: SynchronizationSession =
        serde_json::from_value(reference["session"].clone()).unwrap();
    let mock = MockServer::start().await.with_session(completed.clone());
    let client = mock.client().unwrap();
    assert_eq!(client.endpoint(), mock.uri());
    assert!(mock.uri().starts_with("http://127.0.0.1:"));

    let got = client.get_session("ek0sync7p1m5c2rb4qz1").await.unwrap();
    assert_eq!(got, completed, "the session round-trips through the mock");

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.path,
        yc_idp_tests::session_path("ek0sync7p1m5c2rb4qz1")
    );
    assert_eq!(request.session_id.as_deref(), Some("ek0sync7p1m5c2rb4qz1"));
    assert_eq!(request.status, 200);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(request.header("authorization"), Some(bearer.as_str()));
    assert!(request.header("x-client-request-id").is_some());
    assert!(!request.request_id.is_empty());
    let debug = format!("{request:?}");
    assert!(!debug.contains(TOKEN), "Debug shows the token: {debug}");
    assert!(debug.contains("<redacted>"));
}

#[tokio::test]
async fn errors_carry_status_code_message_and_request_id() {
    let codes = [
        Code::NotFound,
        Code::PermissionDenied,
        Code::InvalidArgument,
        Code::FailedPrecondition,
        Code::Internal,
        Code::Cancelled,
    ];
    let mut mock = MockServer::start().await;
    for (i, code) in codes.iter().enumerate() {
        mock = mock.with_error(format!("ek0err{i}"), *code, format!("{code} says no"));
    }
    let client = mock
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    for (i, code) in codes.iter().enumerate() {
        let err = client.get_session(&format!("ek0err{i}")).await.unwrap_err();
        let request = mock.requests().pop().unwrap();
        assert_eq!(request.status, code.http_status(), "{code}");
        assert_eq!(err.status(), Some(code.http_status()), "{err}");
        assert_eq!(err.code(), Some(*code), "{err}");
        assert_eq!(err.request_id(), Some(request.request_id.as_str()));
        let Error::Api(api) = &err else {
            panic!("not an API error: {err:?}")
        };
        assert_eq!(api.message, format!("{code} says no"));
        assert_eq!(
            api.details[0]["@type"],
            "type.googleapis.com/google.rpc.RequestInfo"
        );
        assert_eq!(api.details[0]["requestId"], request.request_id.as_str());
    }
}

#[tokio::test]
async fn unknown_sessions_are_not_found_like_the_api() {
    let mock = MockServer::start().await;
    let err = mock
        .client()
        .unwrap()
        .get_session("ek0sync0000000000404")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::NotFound));
    assert!(
        err.to_string()
            .contains("Synchronization session ek0sync0000000000404 not found"),
        "{err}"
    );
}

#[tokio::test]
async fn ids_are_matched_after_percent_decoding() {
    let mock = MockServer::start()
        .await
        .with_session(session("odd id/ü?", SessionStatus::Opened));
    let got = mock
        .client()
        .unwrap()
        .get_session("odd id/ü?")
        .await
        .unwrap();
    assert_eq!(got.session_id.as_deref(), Some("odd id/ü?"));
    assert_eq!(mock.requests()[0].session_id.as_deref(), Some("odd id/ü?"));
}

#[tokio::test]
async fn a_request_without_a_token_is_unauthenticated() {
    let mock = MockServer::start().await;
    let client = mock
        .client_builder()
        .credentials(yc_idp::Credentials::iam_token(""))
        .build()
        .unwrap();
    let err = client
        .get_session("ek0sync7p1m5c2rb4qz1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::Unauthenticated), "{err}");
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn sequences_advance_per_request_and_stick_at_the_last() {
    let mock = MockServer::start().await.with_session_sequence(
        "ek0seq",
        [
            session("ek0seq", SessionStatus::Opened),
            session("ek0seq", SessionStatus::Pending),
            session("ek0seq", SessionStatus::Completed),
        ],
    );
    let client = mock.client().unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(client.get_session("ek0seq").await.unwrap().status.unwrap());
    }
    use SessionStatus::*;
    assert_eq!(seen, [Opened, Pending, Completed, Completed, Completed]);
}

#[tokio::test]
async fn set_session_changes_the_answer_of_a_running_server() {
    let mock = MockServer::start()
        .await
        .with_session(session("ek0live", SessionStatus::Opened));
    let client = mock.client().unwrap();
    assert_eq!(
        client.get_session("ek0live").await.unwrap().status,
        Some(SessionStatus::Opened)
    );
    mock.set_session(session("ek0live", SessionStatus::Failed));
    assert_eq!(
        client.get_session("ek0live").await.unwrap().status,
        Some(SessionStatus::Failed)
    );
}

#[tokio::test(start_paused = true)]
async fn n_unavailable_then_success_is_retried_through() {
    let mock = MockServer::start()
        .await
        .with_session(session("ek0flaky", SessionStatus::Completed))
        .with_faults(Faults::new().unavailable(2));
    let client = paused_client(&mock, RetryPolicy::default());
    let got = client.get_session("ek0flaky").await.unwrap();
    assert_eq!(got.status, Some(SessionStatus::Completed));
    let statuses: Vec<u16> = mock.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn unavailable_without_retries_is_a_retryable_api_error() {
    let mock = MockServer::start()
        .await
        .with_faults(Faults::new().unavailable(1));
    let client = mock
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.get_session("ek0any").await.unwrap_err();
    assert_eq!(err.code(), Some(Code::Unavailable));
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    assert!(err.request_id().is_some());
    // The fault is used up: the next request gets the normal answer.
    let err = client.get_session("ek0any").await.unwrap_err();
    assert_eq!(err.code(), Some(Code::NotFound));
}

#[tokio::test]
async fn a_garbage_body_is_a_decode_error_and_not_retried() {
    let mock = MockServer::start()
        .await
        .with_session(session("ek0sync7p1m5c2rb4qz1", SessionStatus::Completed))
        .with_faults(Faults::new().garbage_body());
    let err = mock
        .client()
        .unwrap()
        .get_session("ek0sync7p1m5c2rb4qz1")
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("not a decode error: {err:?}")
    };
    assert_eq!(decode.status, 200);
    assert!(decode.excerpt.starts_with(r#"{"session""#), "{err}");
    assert_eq!(mock.requests().len(), 1, "decode errors are not retried");
}

#[tokio::test(start_paused = true)]
async fn a_delay_longer_than_the_attempt_timeout_times_out() {
    // The server holds the answer for a minute of wall time; on the paused
    // clock the client's one-second timer fires as soon as the runtime idles.
    let mock = MockServer::start()
        .await
        .with_session(session("ek0slow", SessionStatus::Completed))
        .with_faults(Faults::new().delay(Duration::from_secs(60)));
    let client = mock
        .client_builder()
        .connect_timeout(None)
        .total_timeout(None)
        .attempt_timeout(Duration::from_secs(1))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = client.get_session("ek0slow").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Attempt,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}

#[tokio::test]
async fn mocks_mounted_through_wiremock_take_precedence() {
    use yc_idp::mock::wiremock::{Mock, ResponseTemplate, matchers};

    let mock = MockServer::start()
        .await
        .with_session(session("ek0sync7p1m5c2rb4qz1", SessionStatus::Completed));
    Mock::given(matchers::path(yc_idp_tests::session_path(
        "ek0sync7p1m5c2rb4qz1",
    )))
    .respond_with(ResponseTemplate::new(200).set_body_raw(
        yc_idp_tests::example("get-session-empty.json"),
        "application/json",
    ))
    .mount(mock.wiremock())
    .await;
    let got = mock
        .client()
        .unwrap()
        .get_session("ek0sync7p1m5c2rb4qz1")
        .await
        .unwrap();
    assert_eq!(got, SynchronizationSession::default());
    assert!(
        mock.requests().is_empty(),
        "only the mock's own answers are recorded"
    );
}
