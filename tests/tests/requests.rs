//! What goes on the wire: headers, the encoded id, and ids refused before I/O.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use yc_idp::{Error, RetryPolicy};
use yc_idp_tests::{SECRET, builder, example, session_path};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(example("get-session-opened.json"), "application/json"),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn every_request_carries_the_documented_headers() {
    let server = server().await;
    let client = builder(&server.uri())
        .user_agent_suffix("my-app/1.2")
        .client_trace_id("trace-abc")
        .build()
        .unwrap();
    client.get_session("ek0sync9a8b7c6d5e4f3").await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let r = &requests[0];
    let h = |name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(
        h("authorization").as_deref(),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(
        h("user-agent").as_deref(),
        Some(format!("yc-idp-rust/{} my-app/1.2", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(h("accept").as_deref(), Some("application/json"));
    assert_eq!(h("x-client-trace-id").as_deref(), Some("trace-abc"));
    assert!(h("x-client-request-id").is_some());
    assert_eq!(
        h("api-version"),
        None,
        "progenitor's api-version header is dropped"
    );
    assert_eq!(r.url.path(), session_path("ek0sync9a8b7c6d5e4f3"));
}

#[tokio::test]
async fn invalid_ids_never_reach_the_server() {
    let server = server().await;
    let client = builder(&server.uri()).build().unwrap();
    let long = "x".repeat(51);
    for bad in ["", ".", "..", long.as_str()] {
        let err = client.get_session(bad).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    argument: "session_id",
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
        assert!(!err.is_retryable());
    }
    assert!(err_mentions_limit(&client, &long).await);
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

async fn err_mentions_limit(client: &yc_idp::Client, id: &str) -> bool {
    let text = client.get_session(id).await.unwrap_err().to_string();
    text.contains("session_id") && text.contains("50")
}

#[tokio::test]
async fn special_characters_stay_in_one_segment() {
    let server = server().await;
    let client = builder(&server.uri()).build().unwrap();
    let ids = [
        "a/b",
        "a?b=c",
        "a#b",
        "a%2Fb",
        "..\\..\\admin",
        "a b",
        "ü/../x",
        "...",
        ".%2e",
    ];
    for id in ids {
        client.get_session(id).await.unwrap();
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), ids.len());
    let prefix = session_path("");
    for (id, r) in ids.iter().zip(&requests) {
        let path = r.url.path();
        let segment = path
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{id:?} escaped to {path}"));
        assert!(!segment.contains('/'), "{id:?} became {path}");
        assert_eq!(r.url.query(), None, "{id:?}");
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, *id);
    }
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_display() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(example("error-unauthenticated.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let builder = builder(&server.uri()).retry_policy(RetryPolicy::none());
    let client = builder.clone().build().unwrap();
    let err = client
        .get_session("ek0sync7p1m5c2rb4qz1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(yc_idp::Code::Unauthenticated));

    let bad_endpoint = yc_idp::Client::builder()
        .endpoint("http://example.com")
        .credentials(yc_idp::Credentials::iam_token(SECRET))
        .build()
        .unwrap_err();
    let shown = [
        format!("{builder:?}"),
        format!("{client:?}"),
        format!("{err:?}"),
        format!("{err}"),
        format!("{bad_endpoint:?}"),
        format!("{bad_endpoint}"),
        format!("{:?}", yc_idp::Credentials::iam_token(SECRET)),
    ];
    for text in shown {
        assert!(!text.contains(SECRET), "secret leaked: {text}");
        assert!(!text.contains("super-secret"), "secret leaked: {text}");
    }
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    let err = yc_idp::Client::builder()
        .endpoint("http://organization-manager.api.cloud.yandex.net")
        .credentials(yc_idp::Credentials::iam_token(SECRET))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidArgument {
                argument: "endpoint",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn building_without_credentials_says_what_to_do() {
    let err = yc_idp::Client::builder().build().unwrap_err();
    assert!(
        matches!(&err, Error::Auth(a) if a.kind == yc_idp::AuthErrorKind::Missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("credentials"), "{err}");
}

#[tokio::test]
async fn an_absent_session_reads_as_empty() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    let session = client.get_session("x").await.unwrap();
    assert_eq!(session, yc_idp::types::SynchronizationSession::default());
}

#[tokio::test(start_paused = true)]
async fn no_kind_of_error_shows_the_token() {
    // Not pooled: requests this test leaves in flight must not reach
    // another test's server.
    let server = MockServer::builder().start().await;
    let at = |p: &str| wiremock::matchers::path(session_path(p));
    Mock::given(at("garbage"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(at("huge"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("x".repeat(4096), "text/plain"))
        .mount(&server)
        .await;
    Mock::given(at("stalled"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3600)))
        .mount(&server)
        .await;
    Mock::given(at("busy"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let policy = RetryPolicy::default().max_attempts(2);
    let client = builder(&server.uri())
        .max_response_bytes(1024)
        .retry_policy(policy.clone())
        .build()
        .unwrap();
    // Only here: on a paused clock an attempt timer fires whenever the
    // runtime waits on I/O, so it suits a response that never comes.
    let impatient = builder(&server.uri())
        .attempt_timeout(std::time::Duration::from_secs(1))
        .retry_policy(policy)
        .build()
        .unwrap();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let unreachable = builder(&format!("http://127.0.0.1:{closed_port}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let mut errors = Vec::new();
    for (client, id) in [
        (&client, "garbage"),
        (&client, "huge"),
        (&impatient, "stalled"),
        (&client, "busy"),
    ] {
        errors.push(client.get_session(id).await.unwrap_err());
    }
    errors.push(unreachable.get_session("any").await.unwrap_err());
    let kinds: Vec<_> = errors
        .iter()
        .map(|e| match e {
            Error::Decode(_) => "decode",
            Error::ResponseTooLarge { .. } => "too large",
            Error::RetriesExhausted { last, .. } if matches!(**last, Error::Timeout { .. }) => {
                "timeout"
            }
            Error::RetriesExhausted { .. } => "exhausted",
            Error::Transport { .. } => "transport",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["decode", "too large", "timeout", "exhausted", "transport"]
    );
    for err in &errors {
        for text in [format!("{err:?}"), format!("{err}")] {
            assert!(!text.contains("super-secret"), "secret leaked: {text}");
        }
    }
}
