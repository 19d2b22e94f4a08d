//! The spans a call leaves, with their fields.
//!
//! A binary of its own: tracing caches per call site whether anyone wants
//! it, and a test on another thread touching the same call sites while
//! this one's capture is being set up can leave a span out (seen in CI).

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use yc_idp_tests::{Logs, builder, example};

#[tokio::test]
async fn spans_carry_operation_attempt_status_and_request_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req-5c1f")
                .set_body_raw(example("get-session-opened.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let client = builder(&server.uri()).build().unwrap();
    let logs = Logs::default();
    let _guard = logs.capture();

    client.get_session("ek0sync9a8b7c6d5e4f3").await.unwrap();

    let text = logs.text();
    // A line names the parent span before the child: look at the child only.
    let attempt = text
        .lines()
        .filter(|l| l.contains("close time."))
        .find_map(|l| l.find("yc_idp.attempt{").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no attempt span in:\n{text}"));
    for field in [
        "operation=\"getSession\"",
        "attempt=1",
        "status=200",
        "request_id=\"req-5c1f\"",
        "duration_ms=",
    ] {
        assert!(attempt.contains(field), "{field} missing from {attempt}");
    }
    let call = text
        .lines()
        .filter(|l| l.contains("close time."))
        .find(|l| l.contains("yc_idp.call{") && !l.contains("yc_idp.attempt{"))
        .unwrap_or_else(|| panic!("no call span in:\n{text}"));
    for field in ["attempts=1", "status=200", "client_request_id="] {
        assert!(call.contains(field), "{field} missing from {call}");
    }
    assert!(!text.contains("super-secret"), "secret in logs:\n{text}");
}
