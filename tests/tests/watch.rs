//! `Client::wait_for_session` and `Client::watch_session` on tokio's paused
//! clock, against the mock: minutes of polling run instantly, and elapsed
//! virtual time shows exactly how the watcher paced its polls.

use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use tokio::time::Instant;
use yc_idp::mock::{Faults, MockServer};
use yc_idp::types::SynchronizationSession;
use yc_idp::types::{ChangeInfo, ChangeType, ProgressEntry, RelatedObjectType, SessionStatus};
use yc_idp::{Client, Code, Error, Int64, RetryPolicy, TimeoutKind, WaitOptions};

const ID: &str = "ek0sync9a8b7c6d5e4f3";

fn snapshot(status: SessionStatus, users_created: i64) -> SynchronizationSession {
    SynchronizationSession {
        session_id: Some(ID.into()),
        status: Some(status),
        progress_entries: vec![ProgressEntry {
            object_type: Some(RelatedObjectType::User),
            change_info: vec![ChangeInfo {
                change_type: Some(ChangeType::Create),
                successful: Some(Int64(users_created)),
                failed: None,
            }],
        }],
        ..Default::default()
    }
}

/// No client timers: on the paused clock they would fire while a request is
/// on the socket.
fn client(mock: &MockServer, retry: RetryPolicy) -> Client {
    mock.client_builder()
        .connect_timeout(None)
        .attempt_timeout(None)
        .total_timeout(None)
        .retry_policy(retry)
        .build()
        .unwrap()
}

fn every_second() -> WaitOptions {
    WaitOptions::default()
        .poll_interval(Duration::from_secs(1))
        .backoff_multiplier(1.0)
}

#[tokio::test(start_paused = true)]
async fn wait_returns_the_terminal_snapshot() {
    use SessionStatus::*;
    let mock = MockServer::start().await.with_session_sequence(
        ID,
        [
            snapshot(Opened, 0),
            snapshot(Opened, 10),
            snapshot(Pending, 20),
            snapshot(Completed, 30),
        ],
    );
    let client = client(&mock, RetryPolicy::default());
    let started = Instant::now();
    let session = client.wait_for_session(ID, every_second()).await.unwrap();
    assert_eq!(session, snapshot(Completed, 30));
    assert_eq!(mock.requests().len(), 4);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn the_stream_yields_changed_snapshots_only() {
    use SessionStatus::*;
    let mock = MockServer::start().await.with_session_sequence(
        ID,
        [
            snapshot(Opened, 0),
            snapshot(Opened, 0),
            snapshot(Opened, 5),
            snapshot(Opened, 5),
            snapshot(Pending, 5),
            snapshot(Completed, 5),
        ],
    );
    let client = client(&mock, RetryPolicy::default());
    let seen: Vec<_> = client
        .watch_session(ID, every_second())
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(
        seen,
        [
            snapshot(Opened, 0),
            snapshot(Opened, 5),
            snapshot(Pending, 5),
            snapshot(Completed, 5),
        ]
    );
    assert_eq!(mock.requests().len(), 6);
}

#[tokio::test(start_paused = true)]
async fn polls_back_off_while_nothing_changes_and_reset_on_change() {
    use SessionStatus::*;
    let mock = MockServer::start().await.with_session_sequence(
        ID,
        [
            snapshot(Opened, 0),
            snapshot(Opened, 0),
            snapshot(Opened, 0),
            snapshot(Opened, 0),
            snapshot(Opened, 7),
            snapshot(Opened, 7),
            snapshot(Completed, 7),
        ],
    );
    let client = client(&mock, RetryPolicy::default());
    let options = WaitOptions::default()
        .poll_interval(Duration::from_secs(1))
        .backoff_multiplier(2.0)
        .max_poll_interval(Duration::from_secs(3));
    let started = Instant::now();
    client.wait_for_session(ID, options).await.unwrap();
    // Pauses: 1, then 2 and 3 (capped) and 3 while unchanged; 1 after the
    // change, then 2.
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1 + 2 + 3 + 3 + 1 + 2)
    );
}

#[tokio::test(start_paused = true)]
async fn wait_ends_when_expires_at_plus_grace_passes() {
    let mut open = snapshot(SessionStatus::Opened, 1);
    open.expires_at = Some(Utc::now() + chrono::Duration::minutes(10));
    let mock = MockServer::start().await.with_session(open.clone());
    let client = client(&mock, RetryPolicy::default());
    let options = WaitOptions::default()
        .poll_interval(Duration::from_secs(60))
        .max_poll_interval(Duration::from_secs(240))
        .expiry_grace(Duration::from_secs(30));
    let started = Instant::now();
    let session = client.wait_for_session(ID, options).await.unwrap();
    assert_eq!(session, open, "the last snapshot, as it is");
    assert!(!session.is_terminal());
    // The last pause is cut to end right at expiresAt + 30 s, not a whole
    // interval later; the wall clock moved a little since `expires_at` was set.
    let elapsed = started.elapsed();
    assert!(
        elapsed > Duration::from_secs(629) && elapsed <= Duration::from_secs(630),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_session_already_past_its_expiry_is_final_at_once() {
    let mut stale = snapshot(SessionStatus::Opened, 1);
    stale.expires_at = Some(Utc::now() - chrono::Duration::hours(1));
    let mock = MockServer::start().await.with_session(stale.clone());
    let client = client(&mock, RetryPolicy::default());
    let session = client.wait_for_session(ID, every_second()).await.unwrap();
    assert_eq!(session, stale);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_overall_timeout_is_a_wait_timeout() {
    let mock = MockServer::start()
        .await
        .with_session(snapshot(SessionStatus::Opened, 1));
    let client = client(&mock, RetryPolicy::default());
    let options = WaitOptions::default()
        .poll_interval(Duration::from_secs(60))
        .backoff_multiplier(1.0)
        .timeout(Duration::from_secs(330));
    let started = Instant::now();
    let err = client.wait_for_session(ID, options).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Wait,
                after,
            } if after == Duration::from_secs(330)
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(started.elapsed(), Duration::from_secs(330));
    assert_eq!(
        mock.requests().len(),
        6,
        "polls at 0, 1, 2, 3, 4 and 5 minutes"
    );
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_tolerated_up_to_the_limit() {
    let mock = MockServer::start()
        .await
        .with_session(snapshot(SessionStatus::Completed, 1))
        .with_faults(Faults::new().unavailable(3));
    let client = client(&mock, RetryPolicy::none());
    let session = client.wait_for_session(ID, every_second()).await.unwrap();
    assert_eq!(session.status, Some(SessionStatus::Completed));
    assert_eq!(mock.requests().len(), 4);

    mock.set_faults(Faults::new().unavailable(3));
    let err = client
        .wait_for_session(ID, every_second().tolerated_errors(2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::Unavailable), "{err}");
}

#[tokio::test(start_paused = true)]
async fn retries_exhausted_on_a_poll_counts_as_transient() {
    let mock = MockServer::start()
        .await
        .with_session(snapshot(SessionStatus::Completed, 1))
        .with_faults(Faults::new().unavailable(4));
    let client = client(
        &mock,
        RetryPolicy::default().max_attempts(2).without_budget(),
    );
    let session = client.wait_for_session(ID, every_second()).await.unwrap();
    assert_eq!(session.status, Some(SessionStatus::Completed));
    assert_eq!(mock.requests().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn other_errors_end_the_wait_at_once() {
    let mock = MockServer::start()
        .await
        .with_error(ID, Code::PermissionDenied, "no access");
    let client = client(&mock, RetryPolicy::default());
    let started = Instant::now();
    let err = client
        .wait_for_session(ID, every_second())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::PermissionDenied));
    assert_eq!(started.elapsed(), Duration::ZERO);

    let items: Vec<_> = client.watch_session(ID, every_second()).collect().await;
    assert_eq!(items.len(), 1, "one error, then the stream ends");
    assert!(items[0].is_err());

    let err = client
        .wait_for_session("", every_second())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_status_is_not_terminal() {
    let mock = MockServer::start().await.with_session_sequence(
        ID,
        [
            snapshot(SessionStatus::from("ROLLING_BACK"), 1),
            snapshot(SessionStatus::Failed, 1),
        ],
    );
    let client = client(&mock, RetryPolicy::default());
    let session = client.wait_for_session(ID, every_second()).await.unwrap();
    assert_eq!(session.status, Some(SessionStatus::Failed));
}

#[tokio::test(start_paused = true)]
async fn the_stream_is_send_and_static() {
    let mock = MockServer::start().await.with_session_sequence(
        ID,
        [
            snapshot(SessionStatus::Opened, 1),
            snapshot(SessionStatus::Completed, 2),
        ],
    );
    let client = client(&mock, RetryPolicy::default());
    let stream = client.watch_session(ID, every_second());
    drop(client);
    let count = tokio::spawn(stream.count()).await.unwrap();
    assert_eq!(count, 2);
}
