//! The bad-response matrix: every malformed answer ends in a typed error or a
//! tolerant decode, never a panic.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use yc_idp::types::{SessionStatus, SynchronizationSession};
use yc_idp::{Error, RetryPolicy};
use yc_idp_tests::builder;

const ID: &str = "ek0sync7p1m5c2rb4qz1";

async fn answer(template: ResponseTemplate) -> Result<SynchronizationSession, Error> {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(template)
        .mount(&server)
        .await;
    let client = builder(&server.uri())
        .retry_policy(RetryPolicy::none())
        .max_response_bytes(64 * 1024)
        .build()
        .unwrap();
    client.get_session(ID).await
}

async fn body(json: &str) -> Result<SynchronizationSession, Error> {
    answer(ResponseTemplate::new(200).set_body_raw(json.to_string(), "application/json")).await
}

fn decode_error(result: Result<SynchronizationSession, Error>) -> yc_idp::DecodeError {
    match result {
        Err(Error::Decode(d)) => *d,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let d = decode_error(body(r#"{"session": {"sessionId": "ek0"#).await);
    assert_eq!(d.status, 200);
    assert!(d.message.contains("EOF"), "{}", d.message);
    assert!(d.excerpt.starts_with(r#"{"session""#));
}

#[tokio::test]
async fn a_wrong_type_names_the_field() {
    let d = decode_error(body(r#"{"session": {"status": 5}}"#).await);
    assert_eq!(d.path.as_deref(), Some("session.status"));
    let d = decode_error(
        body(r#"{"session": {"progressEntries": [{"changeInfo": [{"failed": true}]}]}}"#).await,
    );
    assert_eq!(
        d.path.as_deref(),
        Some("session.progressEntries[0].changeInfo[0].failed")
    );
}

#[tokio::test]
async fn null_scalars_read_as_absent() {
    let s = body(r#"{"session": {"sessionId": null, "status": null, "createdAt": null}}"#)
        .await
        .unwrap();
    assert_eq!(s, SynchronizationSession::default());
}

#[tokio::test]
async fn a_null_session_reads_as_empty() {
    assert_eq!(
        body(r#"{"session": null}"#).await.unwrap(),
        SynchronizationSession::default()
    );
}

#[tokio::test]
async fn null_lists_read_as_empty() {
    // proto3 JSON: `null` is the field's default, and a list's is empty.
    let s = body(r#"{"session": {"progressEntries": null}}"#)
        .await
        .unwrap();
    assert_eq!(s, SynchronizationSession::default());
    let s =
        body(r#"{"session": {"progressEntries": [{"objectType": "USER", "changeInfo": null}]}}"#)
            .await
            .unwrap();
    assert!(s.progress_entries[0].change_info.is_empty());
    // Not anything else that is not a list, though.
    let d = decode_error(body(r#"{"session": {"progressEntries": {}}}"#).await);
    assert_eq!(d.path.as_deref(), Some("session.progressEntries"));
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let s = body(r#"{"session": {"sessionId": "a", "brandNew": {"x": [1]}}, "other": 1}"#)
        .await
        .unwrap();
    assert_eq!(s.session_id.as_deref(), Some("a"));
}

#[tokio::test]
async fn unknown_enum_values_are_kept() {
    let s = body(r#"{"session": {"status": "PAUSED", "syncMode": "SOMETHING_NEW"}}"#)
        .await
        .unwrap();
    assert_eq!(s.status, Some(SessionStatus::Unknown("PAUSED".into())));
    let back = serde_json::to_value(&s).unwrap();
    assert_eq!(back["status"], "PAUSED");
    assert_eq!(back["syncMode"], "SOMETHING_NEW");
}

fn counts(json: &str) -> String {
    format!(
        r#"{{"session": {{"progressEntries": [{{"objectType": "USER", "changeInfo": [{{"changeType": "CREATE", "successful": {json}}}]}}]}}}}"#
    )
}

fn successful(s: &SynchronizationSession) -> i64 {
    s.progress_entries[0].change_info[0]
        .successful
        .unwrap()
        .get()
}

#[tokio::test]
async fn int64_as_a_number_is_accepted() {
    assert_eq!(
        successful(&body(&counts("9007199254740993")).await.unwrap()),
        9007199254740993
    );
    assert_eq!(successful(&body(&counts("1e3")).await.unwrap()), 1000);
}

#[tokio::test]
async fn int64_negative_is_exact() {
    assert_eq!(
        successful(&body(&counts(r#""-9223372036854775808""#)).await.unwrap()),
        i64::MIN
    );
}

#[tokio::test]
async fn int64_overflow_is_a_decode_error() {
    for bad in [
        r#""9223372036854775808""#,
        "9223372036854775808",
        "1.5",
        r#""12abc""#,
        r#""""#,
    ] {
        let d = decode_error(body(&counts(bad)).await);
        assert_eq!(
            d.path.as_deref(),
            Some("session.progressEntries[0].changeInfo[0].successful"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn timestamps_with_0_to_9_fractional_digits() {
    for digits in 0..=9 {
        let frac = if digits == 0 {
            String::new()
        } else {
            format!(".{}", "1".repeat(digits))
        };
        let json = format!(r#"{{"session": {{"createdAt": "2026-11-30T08:00:00{frac}Z"}}}}"#);
        let s = body(&json).await.unwrap();
        let nanos = s.created_at.unwrap().timestamp_subsec_nanos();
        let expected = if digits == 0 {
            0
        } else {
            "1".repeat(digits).parse::<u32>().unwrap() * 10u32.pow(9 - digits as u32)
        };
        assert_eq!(nanos, expected, "{digits} digits");
    }
}

#[tokio::test]
async fn timestamps_with_offsets_are_normalised_to_utc() {
    let s = body(r#"{"session": {"closedAt": "2026-11-30T11:00:00+03:00"}}"#)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&s).unwrap()["closedAt"],
        "2026-11-30T08:00:00Z"
    );
}

#[tokio::test]
async fn a_bad_timestamp_names_the_field() {
    let d = decode_error(body(r#"{"session": {"expiresAt": "2026-13-45T99:00:00Z"}}"#).await);
    assert_eq!(d.path.as_deref(), Some("session.expiresAt"));
}

#[tokio::test]
async fn an_empty_200_is_a_decode_error() {
    let d = decode_error(answer(ResponseTemplate::new(200)).await);
    assert_eq!(d.message, "the body is empty");
}

#[tokio::test]
async fn html_with_200_is_a_decode_error_that_shows_it() {
    let d = decode_error(
        answer(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html")).await,
    );
    assert_eq!(d.content_type.as_deref(), Some("text/html"));
    assert!(d.excerpt.contains("<html>login"), "{}", d.excerpt);
    let text = Error::Decode(Box::new(d)).to_string();
    assert!(text.contains("text/html"), "{text}");
}

#[tokio::test]
async fn a_204_is_a_decode_error() {
    let d = decode_error(answer(ResponseTemplate::new(204)).await);
    assert_eq!(d.status, 204);
    assert!(
        d.message.contains("unexpected HTTP status 204"),
        "{}",
        d.message
    );
}

#[tokio::test]
async fn a_huge_body_is_refused() {
    let huge = format!(
        r#"{{"session": {{"failReason": "{}"}}}}"#,
        "x".repeat(100 * 1024)
    );
    let err = body(&huge).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 65536,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("max_response_bytes"), "{err}");
}

#[tokio::test]
async fn a_huge_error_body_is_refused_too() {
    let err = answer(ResponseTemplate::new(500).set_body_raw("e".repeat(100 * 1024), "text/plain"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { status: 500, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_error_status_with_garbage_json_keeps_the_status() {
    let err =
        answer(ResponseTemplate::new(403).set_body_raw(r#"{"code": "nope""#, "application/json"))
            .await
            .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.code(), Some(yc_idp::Code::PermissionDenied));
}

#[tokio::test]
async fn an_unknown_status_code_number_is_kept() {
    let err = answer(
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"code": 99, "message": "new"})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Some(yc_idp::Code::Other(99)));
}

/// Answers one connection with a chunked 200 (no Content-Length) made of
/// `chunks`, and returns the server's base URL.
async fn chunked_server(chunks: Vec<String>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let _ = socket.read(&mut request).await;
        let mut out = String::from(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        for chunk in chunks {
            out.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
        }
        out.push_str("0\r\n\r\n");
        // The client may hang up early once it is over the cap.
        let _ = socket.write_all(out.as_bytes()).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_huge_chunked_body_without_length_is_refused() {
    let uri = chunked_server(vec!["x".repeat(1000); 200]).await;
    let client = builder(&uri)
        .retry_policy(RetryPolicy::none())
        .max_response_bytes(64 * 1024)
        .build()
        .unwrap();
    let err = client.get_session(ID).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 65536,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_chunked_body_within_the_cap_decodes() {
    let json = format!(r#"{{"session": {{"sessionId": "{ID}"}}}}"#);
    let uri = chunked_server(json.chars().map(String::from).collect()).await;
    let client = builder(&uri)
        .retry_policy(RetryPolicy::none())
        .max_response_bytes(64 * 1024)
        .build()
        .unwrap();
    let session = client.get_session(ID).await.unwrap();
    assert_eq!(session.session_id.as_deref(), Some(ID));
}
