//! Retries, backoff, Retry-After, timeouts and the retry budget, on tokio's
//! paused clock against wiremock.

use std::time::Duration;

use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use yc_idp::{Code, Error, RetryPolicy, StoppedBy, TimeoutKind};
use yc_idp_tests::{builder, example, session_path};

const ID: &str = "ek0sync7p1m5c2rb4qz1";

fn unavailable() -> ResponseTemplate {
    ResponseTemplate::new(503).set_body_raw(example("error-unavailable.json"), "application/json")
}

fn completed() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(example("get-session-completed.json"), "application/json")
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

fn header(request: &wiremock::Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test(start_paused = true)]
async fn two_503s_then_200_succeeds_on_the_third_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(session_path(ID)))
        .respond_with(unavailable())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(completed())
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();

    let started = Instant::now();
    let session = client.get_session(ID).await.unwrap();
    let waited = started.elapsed();

    assert_eq!(session.session_id.as_deref(), Some(ID));
    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    // Full jitter: each backoff is at most its ceiling, 100 ms then 200 ms.
    assert!(
        waited <= Duration::from_millis(300),
        "backed off {waited:?}"
    );

    let ids: Vec<_> = requests
        .iter()
        .map(|r| header(r, "x-client-request-id").expect("every attempt has a request id"))
        .collect();
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "one id across attempts: {ids:?}"
    );
    uuid::Uuid::parse_str(&ids[0]).expect("the request id is a UUID");

    client.get_session(ID).await.unwrap();
    let again = received(&server).await;
    assert_ne!(
        header(&again[3], "x-client-request-id").as_deref(),
        Some(ids[0].as_str()),
        "each call gets a fresh id"
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_but_stays_under_the_cap() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(unavailable())
        .mount(&server)
        .await;
    let policy = RetryPolicy::default()
        .max_attempts(8)
        .initial_backoff(Duration::from_secs(1))
        .max_backoff(Duration::from_secs(2))
        .without_budget();
    let client = builder(&server.uri()).retry_policy(policy).build().unwrap();

    let started = Instant::now();
    let err = client.get_session(ID).await.unwrap_err();
    let waited = started.elapsed();

    assert!(
        matches!(
            err,
            Error::RetriesExhausted {
                attempts: 8,
                stopped_by: StoppedBy::MaxAttempts,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(received(&server).await.len(), 8);
    // Ceilings 1, 2, 2, 2, 2, 2, 2 s: 13 s at most.
    assert!(waited <= Duration::from_secs(13), "backed off {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .set_body_json(serde_json::json!({"code": 8, "message": "slow down"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(completed())
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();

    let started = Instant::now();
    client.get_session(ID).await.unwrap();
    let waited = started.elapsed();

    assert_eq!(received(&server).await.len(), 2);
    assert!(waited >= Duration::from_secs(2), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(5));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", at.as_str()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(completed())
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();

    let started = Instant::now();
    client.get_session(ID).await.unwrap();
    // The date has one-second resolution and wall time moved on a little.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn not_found_is_typed_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-server-trace-id", "trace-404")
                .set_body_raw(example("error-not-found.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();

    let err = client
        .get_session("ek0sync0000000000404")
        .await
        .unwrap_err();

    assert_eq!(received(&server).await.len(), 1);
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some(Code::NotFound));
    assert_eq!(
        err.request_id(),
        Some("6c1f2d3e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")
    );
    assert!(!err.is_retryable());
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        api.message,
        "Synchronization session ek0sync0000000000404 not found"
    );
    assert_eq!(api.server_trace_id.as_deref(), Some("trace-404"));
    assert_eq!(api.details.len(), 1);
    assert!(api.client_request_id.is_some());
    let text = err.to_string();
    assert!(
        text.contains("NOT_FOUND") && text.contains("6c1f2d3e"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn html_502_keeps_its_status_and_is_retried_to_the_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("x-request-id", "proxy-req-1")
                .set_body_raw(
                    "<html><body><h1>502 Bad Gateway</h1></body></html>",
                    "text/html",
                ),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(RetryPolicy::default().without_budget())
        .build()
        .unwrap();

    let err = client.get_session(ID).await.unwrap_err();

    assert_eq!(
        received(&server).await.len(),
        4,
        "default policy: 4 attempts"
    );
    let Error::RetriesExhausted {
        attempts: 4,
        stopped_by: StoppedBy::MaxAttempts,
        last,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(last.status(), Some(502));
    assert_eq!(last.code(), Some(Code::Unavailable));
    assert_eq!(err.request_id(), Some("proxy-req-1"));
    assert!(last.to_string().contains("text/html"), "{last}");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_response_times_out_and_is_retried() {
    // Not pooled: requests this test leaves in flight must not reach
    // another test's server.
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(completed().set_delay(Duration::from_secs(3600)))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .attempt_timeout(Duration::from_secs(1))
        .retry_policy(RetryPolicy::default().max_attempts(3))
        .build()
        .unwrap();

    let err = client.get_session(ID).await.unwrap_err();

    // Under the paused clock the timeout may fire before the request is on
    // the wire, so what the server saw is not asserted: the attempts are.
    let Error::RetriesExhausted {
        attempts: 3, last, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            **last,
            Error::Timeout {
                kind: TimeoutKind::Attempt,
                ..
            }
        ),
        "{last:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_total_timeout_ends_the_call() {
    // Not pooled: requests this test leaves in flight must not reach
    // another test's server.
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(completed().set_delay(Duration::from_secs(3600)))
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .attempt_timeout(Duration::from_secs(1))
        .total_timeout(Duration::from_millis(2500))
        .retry_policy(RetryPolicy::default().max_attempts(10).without_budget())
        .build()
        .unwrap();

    let started = Instant::now();
    let err = client.get_session(ID).await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Total,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_millis(2500));
    assert!(!err.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_runs_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(unavailable())
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(RetryPolicy::default().max_attempts(10))
        .build()
        .unwrap();

    // A full bucket of 6 pays for 3 retries before falling to half.
    let first = client.get_session(ID).await.unwrap_err();
    assert!(
        matches!(
            first,
            Error::RetriesExhausted {
                attempts: 4,
                stopped_by: StoppedBy::RetryBudget,
                ..
            }
        ),
        "{first:?}"
    );
    let second = client.get_session(ID).await.unwrap_err();
    assert!(
        matches!(
            second,
            Error::RetriesExhausted {
                attempts: 1,
                stopped_by: StoppedBy::RetryBudget,
                ..
            }
        ),
        "{second:?}"
    );
    assert_eq!(received(&server).await.len(), 5);

    // Clones share the budget; a fresh client has its own.
    let clone = client.clone();
    clone.get_session(ID).await.unwrap_err();
    assert_eq!(received(&server).await.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn retries_can_be_disabled() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(unavailable())
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let err = client.get_session(ID).await.unwrap_err();

    assert_eq!(received(&server).await.len(), 1);
    assert_eq!(err.code(), Some(Code::Unavailable));
    assert!(err.is_retryable(), "retryable, but the policy said no");
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_a_retried_transport_error() {
    // Bind then drop a listener: the port is closed on loopback.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = builder(&format!("http://127.0.0.1:{port}"))
        .retry_policy(RetryPolicy::default().max_attempts(2))
        .build()
        .unwrap();

    let err = client.get_session(ID).await.unwrap_err();

    let Error::RetriesExhausted {
        attempts: 2, last, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(matches!(**last, Error::Transport { .. }), "{last:?}");
    assert!(
        last.to_string().to_lowercase().contains("connect"),
        "{last}"
    );
}

fn status_body(status: u16, code: i32) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "code": code,
        "message": format!("status {status}"),
    }))
}

#[tokio::test(start_paused = true)]
async fn transient_statuses_are_retried() {
    // 408 and 429 are the only 4xx worth another attempt.
    for (status, code) in [
        (408, 4),
        (429, 8),
        (500, 13),
        (500, 2),
        (502, 14),
        (503, 14),
        (504, 4),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(status_body(status, code))
            .mount(&server)
            .await;
        let client = builder(&server.uri())
            .retry_policy(RetryPolicy::default().max_attempts(3).without_budget())
            .build()
            .unwrap();

        let err = client.get_session(ID).await.unwrap_err();

        assert!(
            matches!(
                err,
                Error::RetriesExhausted {
                    attempts: 3,
                    stopped_by: StoppedBy::MaxAttempts,
                    ..
                }
            ),
            "{status}: {err:?}"
        );
        assert_eq!(received(&server).await.len(), 3, "{status}");
        assert_eq!(err.status(), Some(status));
        // The client's retries are spent; the failure itself is transient.
        assert!(err.is_retryable(), "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    for (status, number) in [
        (400, 3),
        (400, 9),
        (401, 16),
        (403, 7),
        (409, 10),
        (500, 15),
        (501, 12),
    ] {
        let code = Code::from_i32(number);
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(status_body(status, number))
            .mount(&server)
            .await;
        let client = builder(&server.uri()).build().unwrap();

        let err = client.get_session(ID).await.unwrap_err();

        assert!(matches!(err, Error::Api(_)), "{status}: {err:?}");
        assert_eq!(err.code(), Some(code), "{status}");
        assert_eq!(err.status(), Some(status));
        assert!(!err.is_retryable(), "{status} {code:?}");
        assert_eq!(received(&server).await.len(), 1, "{status} {code:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_ends_the_call_at_once() {
    // No total timeout here: a Retry-After over the policy's largest backoff
    // would otherwise park the call for a day (or overflow the clock).
    for asked in ["86400", "18446744073709551615"] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(unavailable().insert_header("retry-after", asked))
            .mount(&server)
            .await;
        let client = builder(&server.uri()).build().unwrap();

        let started = Instant::now();
        let err = client.get_session(ID).await.unwrap_err();

        assert_eq!(started.elapsed(), Duration::ZERO, "{asked}");
        let Error::RetriesExhausted {
            attempts: 1,
            stopped_by: StoppedBy::Deadline,
            last,
        } = &err
        else {
            panic!("{asked}: {err:?}")
        };
        assert_eq!(last.code(), Some(Code::Unavailable));
        assert_eq!(received(&server).await.len(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn huge_timeouts_mean_no_limit_rather_than_a_panic() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(completed())
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .total_timeout(Duration::MAX)
        .attempt_timeout(Duration::MAX)
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::MAX)
                .max_backoff(Duration::MAX),
        )
        .build()
        .unwrap();
    let session = client.get_session(ID).await.unwrap();
    assert_eq!(session.session_id.as_deref(), Some(ID));
}

/// Answers 503 twice, then 200, over and over: every call needs 3 attempts.
struct EveryThird(std::sync::atomic::AtomicUsize);

impl wiremock::Respond for EveryThird {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n % 3 == 2 {
            completed()
        } else {
            unavailable()
        }
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_is_exponential_with_full_jitter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(EveryThird(Default::default()))
        .mount(&server)
        .await;
    let policy = RetryPolicy::default()
        .initial_backoff(Duration::from_secs(1))
        .without_budget();
    let client = builder(&server.uri()).retry_policy(policy).build().unwrap();

    // Each call waits U(0, 1 s) then U(0, 2 s): 1.5 s on average, never
    // over 3 s. No jitter would give 3 s every time, no growth 1 s on
    // average, no backoff 0. Over 150 calls the mean is within ±0.3 s of
    // 1.5 s but for odds below one in 10^8 (its deviation is 0.053 s).
    const CALLS: u32 = 150;
    let mut total = Duration::ZERO;
    for _ in 0..CALLS {
        let started = Instant::now();
        client.get_session(ID).await.unwrap();
        let waited = started.elapsed();
        assert!(waited <= Duration::from_secs(3), "backed off {waited:?}");
        total += waited;
    }
    let mean = (total / CALLS).as_secs_f64();
    assert!((1.2..=1.8).contains(&mean), "mean backoff {mean:.3} s");
    assert_eq!(received(&server).await.len(), 3 * CALLS as usize);
}
