//! `Credentials::metadata()` reads `YC_METADATA_ADDR`, and the metadata
//! service is reached directly even when a proxy is configured.
//!
//! A binary of its own: it sets process-wide environment variables, which
//! no other test may observe. Every address is a wiremock on loopback.

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use yc_idp::Credentials;
use yc_idp_tests::{builder, session_path};

const ID: &str = "ek0sync7p1m5c2rb4qz1";
const METADATA_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
const VM_TOKEN: &str = "t1.vm-secret-token";

#[tokio::test]
async fn metadata_uses_yc_metadata_addr_and_no_proxy() {
    let metadata = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(METADATA_PATH))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": VM_TOKEN,
            "expires_in": 3600,
            "token_type": "Bearer",
        })))
        .mount(&metadata)
        .await;
    // A "proxy" that answers everything with 502, and records what it got.
    let proxy = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(502))
        .mount(&proxy)
        .await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(session_path(ID)))
        .and(header(
            "authorization",
            format!("Bearer {VM_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"session": {"sessionId": ID}})),
        )
        .mount(&api)
        .await;

    // SAFETY: this binary has this one test, so no other thread reads the
    // environment while it is changed.
    unsafe {
        std::env::set_var("YC_METADATA_ADDR", metadata.address().to_string());
        std::env::set_var("HTTP_PROXY", proxy.uri());
        std::env::set_var("http_proxy", proxy.uri());
        // The API mock is on loopback too: reached as `localhost`, it stays
        // off the proxy, so that only the metadata path is under test.
        std::env::set_var("NO_PROXY", "localhost");
        std::env::set_var("no_proxy", "localhost");
    }
    let credentials = Credentials::metadata();
    assert!(
        format!("{credentials:?}").contains(&metadata.address().to_string()),
        "{credentials:?}"
    );
    let api_uri = format!("http://localhost:{}", api.address().port());
    let client = builder(&api_uri).credentials(credentials).build().unwrap();

    let session = client.get_session(ID).await.unwrap();

    assert_eq!(session.session_id.as_deref(), Some(ID));
    let asked = metadata.received_requests().await.unwrap_or_default();
    assert_eq!(asked.len(), 1, "the metadata service was asked directly");
    let proxied = proxy.received_requests().await.unwrap_or_default();
    assert!(
        proxied.is_empty(),
        "the proxy saw {} request(s)",
        proxied.len()
    );
}
