//! Credentials: every way to get an IAM token, the token cache, and that no
//! secret leaks. wiremock plays IAM, the metadata service and the API, on
//! loopback only; timing tests run on tokio's paused clock.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, RSA_PSS_2048_8192_SHA256, RsaPssSaltLength,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};
use yc_idp::{
    AccessToken, AuthErrorKind, Client, Code, Credentials, Error, Token, TokenFuture, TokenProvider,
};
use yc_idp_tests::{Logs, builder, session_path};

const ID: &str = "ek0sync7p1m5c2rb4qz1";
const IAM_PATH: &str = "/iam/v1/tokens";
const METADATA_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
const PRODUCTION_IAM: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";
const KEY_ID: &str = "ajekeyid0test0000001";
const SA_ID: &str = "ajesaid00test0000001";
const FIRST: &str = "t1.first-secret-iam-token";
const SECOND: &str = "t1.second-secret-iam-token";
const OAUTH: &str = "y0_oauth-secret-token";
const STATIC: &str = "t1.static-secret-iam-token";
const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

// ---- keys ------------------------------------------------------------------

struct TestKey {
    /// PKCS#8 PEM.
    pem: String,
    /// `RSAPublicKey` DER, to verify signatures with.
    public: Vec<u8>,
}

/// A fresh RSA-2048 key per test run, shared by the tests of this binary.
fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        TestKey {
            pem: pem("PRIVATE KEY", der.as_ref()),
            public: pair.public_key().as_ref().to_vec(),
        }
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The key as `yc iam key create` writes it, with the line it puts first.
fn snake_key_json(private_key: &str) -> String {
    json!({
        "id": KEY_ID,
        "service_account_id": SA_ID,
        "created_at": "2026-01-01T00:00:00Z",
        "key_algorithm": "RSA_2048",
        "public_key": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
        "private_key": format!(
            "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{KEY_ID}>\n{private_key}"
        ),
    })
    .to_string()
}

/// The key as some tools write it: camelCase, bare PEM.
fn camel_key_json(private_key: &str) -> String {
    json!({
        "id": KEY_ID,
        "serviceAccountId": SA_ID,
        "createdAt": "2026-01-01T00:00:00Z",
        "keyAlgorithm": "RSA_4096",
        "publicKey": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
        "privateKey": private_key,
    })
    .to_string()
}

/// Every string a test treats as secret: tokens and the key's material.
fn secrets() -> Vec<String> {
    let mut out: Vec<String> = [FIRST, SECOND, OAUTH, STATIC, "t1.vm-secret-token"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    out.extend(
        test_key()
            .pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(|l| l.chars().take(24).collect::<String>()),
    );
    out
}

fn assert_no_secrets(what: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(&secret), "{what} leaks `{secret}`:\n{text}");
    }
}

// ---- mocks -----------------------------------------------------------------

fn iam_answer(token: &str, lifetime: Duration) -> ResponseTemplate {
    let expires_at = chrono::Utc::now() + chrono::Duration::from_std(lifetime).unwrap();
    ResponseTemplate::new(200).set_body_json(json!({
        "iamToken": token,
        "expiresAt": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    }))
}

fn iam_status(status: u16, code: i32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "code": code, "message": message }))
}

/// IAM answers `first` once, then `rest` forever.
async fn mount_iam(server: &MockServer, first: ResponseTemplate, rest: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(IAM_PATH))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(IAM_PATH))
        .respond_with(rest)
        .with_priority(2)
        .mount(server)
        .await;
}

/// The API answers a session to the `accepted` tokens and 401 to the rest.
async fn mount_api(server: &MockServer, accepted: &[&str]) {
    for token in accepted {
        Mock::given(method("GET"))
            .and(path(session_path(ID)))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "session": { "sessionId": ID } })),
            )
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(session_path(ID)))
        .respond_with(iam_status(401, 16, "The token is invalid"))
        .with_priority(10)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer, to: &str) -> Vec<Request> {
    let all = server.received_requests().await.unwrap_or_default();
    all.into_iter().filter(|r| r.url.path() == to).collect()
}

async fn count(server: &MockServer, to: &str) -> usize {
    requests(server, to).await.len()
}

fn authorization(request: &Request) -> String {
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A client of `server` for the API and IAM alike, with no pending timers.
fn client(server: &MockServer, credentials: Credentials) -> Client {
    builder(&server.uri())
        .credentials(credentials)
        .iam_endpoint(format!("{}{IAM_PATH}", server.uri()))
        .build()
        .unwrap()
}

fn sa_credentials() -> Credentials {
    Credentials::service_account_key(snake_key_json(&test_key().pem)).unwrap()
}

fn auth_error(err: &Error) -> &yc_idp::AuthError {
    match err {
        Error::Auth(a) => a,
        other => panic!("expected an auth error, got {other:?}"),
    }
}

// ---- the service-account exchange ------------------------------------------

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn service_account_jwt_is_ps256_signed_and_exchanged() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_answer(SECOND, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[FIRST]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authorized_key.json");
    std::fs::write(&file, snake_key_json(&test_key().pem)).unwrap();
    let credentials = Credentials::service_account_key_file(&file).unwrap();

    let session = client(&server, credentials).get_session(ID).await.unwrap();
    assert_eq!(session.session_id.as_deref(), Some(ID));

    let exchanges = requests(&server, IAM_PATH).await;
    assert_eq!(exchanges.len(), 1);
    let body: Value = serde_json::from_slice(&exchanges[0].body).unwrap();
    let jwt = body["jwt"]
        .as_str()
        .expect("the exchange sends {\"jwt\": ...}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");

    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], KEY_ID);
    let claims = decode_part(parts[1]);
    assert_eq!(claims["iss"], SA_ID);
    assert_eq!(
        claims["aud"], PRODUCTION_IAM,
        "the audience is production's even when the exchange goes elsewhere"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert!((now - iat).abs() <= 60, "iat {iat} is not now ({now})");
    assert!(exp > iat && exp - iat <= 3600, "exp - iat = {}", exp - iat);

    // PSS with SHA-256 and a 32-byte salt, under the public half of the key.
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let pss =
        &const { RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(32)) };
    let signed = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(pss, &test_key().public)
        .verify(signed.as_bytes(), &signature)
        .expect("the JWT verifies with the key's public half");
    let mut tampered = signed.into_bytes();
    tampered[0] ^= 1;
    assert!(
        UnparsedPublicKey::new(pss, &test_key().public)
            .verify(&tampered, &signature)
            .is_err()
    );

    let api = requests(&server, &session_path(ID)).await;
    assert_eq!(authorization(&api[0]), format!("Bearer {FIRST}"));
}

#[tokio::test]
async fn camel_case_key_without_the_first_line_is_accepted() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_answer(SECOND, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[FIRST]).await;
    let credentials = Credentials::service_account_key(camel_key_json(&test_key().pem)).unwrap();
    assert_eq!(credentials.kind(), "service-account key");

    client(&server, credentials).get_session(ID).await.unwrap();

    let exchanges = requests(&server, IAM_PATH).await;
    let body: Value = serde_json::from_slice(&exchanges[0].body).unwrap();
    let parts: Vec<&str> = body["jwt"].as_str().unwrap().split('.').collect();
    assert_eq!(decode_part(parts[0])["kid"], KEY_ID);
    assert_eq!(decode_part(parts[1])["iss"], SA_ID);
}

#[test]
fn key_errors_name_the_problem_and_never_the_key() {
    let key = &test_key().pem;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-key.json");
    let not_json = dir.path().join("key.pem");
    std::fs::write(&not_json, key).unwrap();
    let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
        .unwrap()
        .to_pkcs8v1()
        .unwrap();
    let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut object: Value = serde_json::from_str(&snake_key_json(key)).unwrap();

    let mut cases: Vec<(Result<Credentials, Error>, Vec<&str>)> = vec![
        (
            Credentials::service_account_key_file(&missing),
            vec!["no-such-key.json", "cannot be opened"],
        ),
        (
            Credentials::service_account_key_file(&not_json),
            vec!["key.pem", "not valid JSON"],
        ),
        (
            Credentials::service_account_key(r#"{"id": "k"}"#),
            vec!["service_account_id", "private_key"],
        ),
        (
            Credentials::service_account_key(snake_key_json(
                &key.replace("PRIVATE KEY", "RSA PRIVATE KEY"),
            )),
            vec!["PKCS#1", "PKCS#8"],
        ),
        (
            Credentials::service_account_key(snake_key_json(&pem("PRIVATE KEY", ec.as_ref()))),
            vec!["not a PKCS#8 RSA private key"],
        ),
        (
            Credentials::service_account_key(snake_key_json(&key.replace(&body[..40], "AAAA"))),
            vec!["not a PKCS#8 RSA private key"],
        ),
        (
            // A broken header line runs into the key: nothing of it is quoted.
            Credentials::service_account_key(snake_key_json(&key.replacen(
                "PRIVATE KEY-----\n",
                "PRIVATE KEY\n",
                1,
            ))),
            vec!["malformed"],
        ),
        (
            Credentials::service_account_key(snake_key_json(&body)),
            vec!["not PEM"],
        ),
    ];
    object["key_algorithm"] = json!("ECDSA_P256");
    cases.push((
        Credentials::service_account_key(object.to_string()),
        vec!["key_algorithm", "ECDSA_P256", "not supported"],
    ));

    for (result, expected) in cases {
        let err = result.expect_err("the key is refused");
        assert_eq!(auth_error(&err).kind, AuthErrorKind::InvalidKey, "{err}");
        let shown = err.to_string();
        for fragment in expected {
            assert!(shown.contains(fragment), "`{fragment}` not in: {shown}");
        }
        assert_no_secrets("a key error", &format!("{err} {err:?}"));
        for line in body.as_bytes().chunks(16) {
            let line = std::str::from_utf8(line).unwrap();
            assert!(!shown.contains(line), "the error quotes the key: {shown}");
        }
    }
}

// ---- the environment -------------------------------------------------------

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

#[test]
fn from_env_tries_iam_token_then_yc_token_then_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authorized_key.json");
    std::fs::write(&file, snake_key_json(&test_key().pem)).unwrap();
    let file = file.to_str().unwrap();
    let kind = |vars: &[(&str, &str)]| Credentials::from_env_with(env(vars)).unwrap().kind();

    assert_eq!(
        kind(&[
            ("YC_IAM_TOKEN", STATIC),
            ("YC_TOKEN", OAUTH),
            ("YC_SERVICE_ACCOUNT_KEY_FILE", file)
        ]),
        "IAM token"
    );
    assert_eq!(
        kind(&[("YC_TOKEN", OAUTH), ("YC_SERVICE_ACCOUNT_KEY_FILE", file)]),
        "OAuth token"
    );
    assert_eq!(
        kind(&[("YC_TOKEN", STATIC)]),
        "IAM token",
        "t1. means an IAM token"
    );
    assert_eq!(
        kind(&[
            ("YC_IAM_TOKEN", ""),
            ("YC_TOKEN", " "),
            ("YC_SERVICE_ACCOUNT_KEY_FILE", file)
        ]),
        "service-account key",
        "empty variables count as unset"
    );

    let err = Credentials::from_env_with(env(&[(
        "YC_SERVICE_ACCOUNT_KEY_FILE",
        "/nonexistent/key.json",
    )]))
    .unwrap_err();
    assert_eq!(auth_error(&err).kind, AuthErrorKind::InvalidKey);
    let shown = err.to_string();
    assert!(shown.contains("YC_SERVICE_ACCOUNT_KEY_FILE"), "{shown}");
    assert!(shown.contains("/nonexistent/key.json"), "{shown}");

    let err = Credentials::from_env_with(env(&[("YC_METADATA_ADDR", "127.0.0.1:1")])).unwrap_err();
    assert_eq!(auth_error(&err).kind, AuthErrorKind::Missing);
    let shown = err.to_string();
    for tried in [
        "YC_IAM_TOKEN",
        "YC_TOKEN",
        "YC_SERVICE_ACCOUNT_KEY_FILE",
        "metadata()",
    ] {
        assert!(shown.contains(tried), "`{tried}` not in: {shown}");
    }
}

#[tokio::test]
async fn tokens_from_env_are_used_as_they_should() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_answer(SECOND, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[STATIC, FIRST]).await;

    let iam = Credentials::from_env_with(env(&[("YC_TOKEN", STATIC)])).unwrap();
    client(&server, iam).get_session(ID).await.unwrap();
    assert_eq!(
        count(&server, IAM_PATH).await,
        0,
        "an IAM token is sent as is"
    );

    let oauth = Credentials::from_env_with(env(&[("YC_TOKEN", OAUTH)])).unwrap();
    client(&server, oauth).get_session(ID).await.unwrap();
    let exchanges = requests(&server, IAM_PATH).await;
    assert_eq!(exchanges.len(), 1, "an OAuth token is exchanged");
}

// ---- OAuth and metadata ----------------------------------------------------

#[tokio::test]
async fn oauth_token_goes_through_the_iam_exchange() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(IAM_PATH))
        .and(body_json(json!({ "yandexPassportOauthToken": OAUTH })))
        .respond_with(iam_answer(FIRST, 12 * HOUR))
        .expect(1)
        .mount(&server)
        .await;
    mount_api(&server, &[FIRST]).await;

    let client = client(&server, Credentials::oauth_token(OAUTH));
    client.get_session(ID).await.unwrap();
    client.get_session(ID).await.unwrap();
    server.verify().await;
}

#[tokio::test(start_paused = true)]
async fn metadata_sends_its_flavor_and_honours_expires_in() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(METADATA_PATH))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "t1.vm-secret-token",
            "expires_in": 600,
            "token_type": "Bearer",
        })))
        .mount(&server)
        .await;
    mount_api(&server, &["t1.vm-secret-token"]).await;
    let credentials = Credentials::metadata_at(server.address().to_string());
    assert!(format!("{credentials:?}").contains(&server.address().to_string()));
    let client = client(&server, credentials);

    client.get_session(ID).await.unwrap();
    assert_eq!(count(&server, METADATA_PATH).await, 1);
    // A 10-minute token is refreshed 5 minutes before it expires.
    tokio::time::advance(Duration::from_secs(290)).await;
    client.get_session(ID).await.unwrap();
    assert_eq!(count(&server, METADATA_PATH).await, 1);
    tokio::time::advance(Duration::from_secs(20)).await;
    client.get_session(ID).await.unwrap();
    assert_eq!(count(&server, METADATA_PATH).await, 2);
    assert_eq!(count(&server, IAM_PATH).await, 0);
}

#[tokio::test]
async fn metadata_errors_are_typed_and_hint_at_the_cause() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(METADATA_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .mount(&server)
        .await;
    let client = client(
        &server,
        Credentials::metadata_at(server.address().to_string()),
    );

    let err = client.get_session(ID).await.unwrap_err();
    let auth = auth_error(&err);
    assert_eq!(auth.kind, AuthErrorKind::Exchange);
    assert_eq!(auth.status, Some(404));
    assert!(
        err.to_string().contains("service account attached"),
        "{err}"
    );
    assert_eq!(
        count(&server, METADATA_PATH).await,
        1,
        "a 404 is not retried"
    );
}

// ---- the cache -------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_token_is_reused_then_refreshed_at_one_hour_of_age() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_answer(SECOND, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[FIRST, SECOND]).await;
    let client = client(&server, sa_credentials());

    client.get_session(ID).await.unwrap();
    tokio::time::advance(59 * MINUTE).await;
    client.clone().get_session(ID).await.unwrap();
    assert_eq!(count(&server, IAM_PATH).await, 1, "reused within the hour");

    tokio::time::advance(2 * MINUTE).await;
    client.get_session(ID).await.unwrap();
    assert_eq!(count(&server, IAM_PATH).await, 2, "refreshed after an hour");
    let api = requests(&server, &session_path(ID)).await;
    let sent: Vec<String> = api.iter().map(authorization).collect();
    assert_eq!(
        sent,
        [FIRST, FIRST, SECOND]
            .map(|t| format!("Bearer {t}"))
            .to_vec()
    );
}

#[tokio::test(start_paused = true)]
async fn a_short_lived_token_is_refreshed_five_minutes_before_expiry() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 30 * MINUTE),
        iam_answer(SECOND, 30 * MINUTE),
    )
    .await;
    mount_api(&server, &[FIRST, SECOND]).await;
    let client = client(&server, Credentials::oauth_token(OAUTH));

    client.get_session(ID).await.unwrap();
    tokio::time::advance(24 * MINUTE).await;
    client.get_session(ID).await.unwrap();
    assert_eq!(count(&server, IAM_PATH).await, 1);
    tokio::time::advance(2 * MINUTE).await;
    client.get_session(ID).await.unwrap();
    assert_eq!(
        count(&server, IAM_PATH).await,
        2,
        "refreshed at 25 of 30 minutes"
    );
}

#[tokio::test]
async fn two_hundred_cold_calls_make_one_exchange() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_answer(SECOND, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[FIRST]).await;
    let client = client(&server, sa_credentials());

    let mut calls = JoinSet::new();
    for _ in 0..200 {
        let client = client.clone();
        calls.spawn(async move { client.get_session(ID).await });
    }
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(count(&server, IAM_PATH).await, 1);
    assert_eq!(count(&server, &session_path(ID)).await, 200);
}

#[tokio::test]
async fn callers_waiting_on_a_failed_exchange_share_its_error() {
    let server = MockServer::start().await;
    let denied = iam_status(403, 7, "Permission denied");
    mount_iam(&server, denied.clone(), denied).await;
    mount_api(&server, &[FIRST]).await;
    let client = client(&server, sa_credentials());

    let mut calls = JoinSet::new();
    for _ in 0..20 {
        let client = client.clone();
        calls.spawn(async move { client.get_session(ID).await });
    }
    while let Some(result) = calls.join_next().await {
        let err = result.unwrap().unwrap_err();
        assert_eq!(err.code(), Some(Code::PermissionDenied), "{err}");
    }
    assert_eq!(count(&server, IAM_PATH).await, 1);
    assert_eq!(count(&server, &session_path(ID)).await, 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_keeps_the_valid_token_and_is_logged() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_status(503, 14, "IAM is unavailable"),
    )
    .await;
    mount_api(&server, &[FIRST]).await;
    let client = client(&server, sa_credentials());

    client.get_session(ID).await.unwrap();
    tokio::time::advance(61 * MINUTE).await;
    client.get_session(ID).await.unwrap();
    assert_eq!(
        count(&server, IAM_PATH).await,
        4,
        "one refresh, tried three times"
    );
    assert!(
        logs.text().contains("refreshing the IAM token failed"),
        "the failure is reported:\n{}",
        logs.text()
    );

    // No exchange on every call while IAM is down: the next try waits a bit.
    client.get_session(ID).await.unwrap();
    assert_eq!(count(&server, IAM_PATH).await, 4);
    tokio::time::advance(MINUTE).await;
    client.get_session(ID).await.unwrap();
    assert_eq!(count(&server, IAM_PATH).await, 7);

    // Once the old token has expired, the failure is the caller's.
    tokio::time::advance(12 * HOUR).await;
    let err = client.get_session(ID).await.unwrap_err();
    let auth = auth_error(&err);
    assert_eq!(auth.kind, AuthErrorKind::Exchange);
    assert_eq!(
        (auth.status, auth.code),
        (Some(503), Some(Code::Unavailable))
    );
    assert!(auth.message.contains("IAM is unavailable"), "{err}");

    let jwt = requests(&server, IAM_PATH).await[0].body.clone();
    let jwt = serde_json::from_slice::<Value>(&jwt).unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_string();
    let logged = logs.text();
    assert_no_secrets("the log", &logged);
    assert!(!logged.contains(&jwt), "the log leaks the JWT");
}

#[tokio::test(start_paused = true)]
async fn a_transient_exchange_failure_is_retried() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_status(503, 14, "try again"),
        iam_answer(FIRST, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[FIRST]).await;

    client(&server, sa_credentials())
        .get_session(ID)
        .await
        .unwrap();
    assert_eq!(count(&server, IAM_PATH).await, 2);
}

#[tokio::test]
async fn a_refused_exchange_is_a_typed_error_without_retries() {
    let server = MockServer::start().await;
    let denied = iam_status(403, 7, "Permission denied to the service account");
    mount_iam(&server, denied.clone(), denied).await;
    mount_api(&server, &[FIRST]).await;

    let err = client(&server, sa_credentials())
        .get_session(ID)
        .await
        .unwrap_err();
    let auth = auth_error(&err);
    assert_eq!(auth.kind, AuthErrorKind::Exchange);
    assert_eq!(auth.status, Some(403));
    assert_eq!(auth.code, Some(Code::PermissionDenied));
    assert!(
        auth.message
            .contains("Permission denied to the service account"),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(count(&server, IAM_PATH).await, 1);
    assert_eq!(count(&server, &session_path(ID)).await, 0);
    assert_no_secrets("an exchange error", &format!("{err} {err:?}"));
}

#[tokio::test]
async fn a_malformed_exchange_answer_is_never_quoted() {
    let server = MockServer::start().await;
    // A token without its field name: the body holds a secret all the same.
    let odd = ResponseTemplate::new(200).set_body_json(json!({ "token": FIRST }));
    mount_iam(&server, odd.clone(), odd).await;

    let err = client(&server, Credentials::oauth_token(OAUTH))
        .get_session(ID)
        .await
        .unwrap_err();
    assert_eq!(auth_error(&err).kind, AuthErrorKind::Exchange);
    assert!(err.to_string().contains("iamToken"), "{err}");
    assert_no_secrets("a decode error", &format!("{err} {err:?}"));
}

#[tokio::test]
async fn a_server_message_quoting_the_secret_is_scrubbed() {
    let server = MockServer::start().await;
    let echo = iam_status(400, 3, &format!("malformed token {OAUTH}"));
    mount_iam(&server, echo.clone(), echo).await;

    let err = client(&server, Credentials::oauth_token(OAUTH))
        .get_session(ID)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::InvalidArgument));
    assert!(
        err.to_string().contains("malformed token <redacted>"),
        "{err}"
    );
    assert_no_secrets("an exchange error", &format!("{err} {err:?}"));
}

#[tokio::test]
async fn an_oversized_exchange_answer_is_refused() {
    let server = MockServer::start().await;
    let huge = ResponseTemplate::new(200).set_body_json(json!({
        "iamToken": FIRST,
        "padding": "x".repeat(100_000),
    }));
    mount_iam(&server, huge.clone(), huge).await;

    let err = client(&server, Credentials::oauth_token(OAUTH))
        .get_session(ID)
        .await
        .unwrap_err();
    assert_eq!(auth_error(&err).kind, AuthErrorKind::Exchange);
    assert!(err.to_string().contains("more than"), "{err}");
    assert_eq!(count(&server, IAM_PATH).await, 1);
}

// ---- 401 from the API ------------------------------------------------------

#[tokio::test]
async fn a_401_forces_one_refresh_and_one_retry() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_answer(SECOND, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[SECOND]).await;

    let session = client(&server, sa_credentials())
        .get_session(ID)
        .await
        .unwrap();
    assert_eq!(session.session_id.as_deref(), Some(ID));
    assert_eq!(count(&server, IAM_PATH).await, 2);
    let sent: Vec<String> = requests(&server, &session_path(ID))
        .await
        .iter()
        .map(authorization)
        .collect();
    assert_eq!(
        sent,
        [FIRST, SECOND].map(|t| format!("Bearer {t}")).to_vec()
    );
}

#[tokio::test]
async fn a_second_401_is_returned() {
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, 12 * HOUR),
        iam_answer(SECOND, 12 * HOUR),
    )
    .await;
    mount_api(&server, &[]).await;

    let err = client(&server, sa_credentials())
        .get_session(ID)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::Unauthenticated), "{err}");
    assert_eq!(count(&server, IAM_PATH).await, 2);
    assert_eq!(count(&server, &session_path(ID)).await, 2);
}

#[tokio::test]
async fn a_static_iam_token_is_not_retried_on_401() {
    let server = MockServer::start().await;
    mount_api(&server, &[]).await;

    let err = client(&server, Credentials::iam_token(STATIC))
        .get_session(ID)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::Unauthenticated));
    assert_eq!(count(&server, &session_path(ID)).await, 1);
    assert_eq!(count(&server, IAM_PATH).await, 0);
    assert_no_secrets("a 401 error", &format!("{err} {err:?}"));
}

#[derive(Debug, Default)]
struct Counting {
    fetches: Mutex<u32>,
}

impl TokenProvider for Counting {
    fn fetch(&self) -> TokenFuture<'_> {
        let n = {
            let mut fetches = self.fetches.lock().unwrap();
            *fetches += 1;
            *fetches
        };
        Box::pin(async move {
            Ok(AccessToken {
                token: Token::new(if n == 1 { FIRST } else { SECOND }),
                expires_at: Some(SystemTime::now() + 12 * HOUR),
            })
        })
    }
}

#[tokio::test]
async fn a_custom_provider_is_cached_and_asked_again_after_a_401() {
    let server = MockServer::start().await;
    mount_api(&server, &[SECOND]).await;
    let provider = Arc::new(Counting::default());
    let client = client(&server, Credentials::custom(provider.clone()));

    client.get_session(ID).await.unwrap();
    assert_eq!(
        *provider.fetches.lock().unwrap(),
        2,
        "FIRST was refused, SECOND fetched"
    );
    client.get_session(ID).await.unwrap();
    client.get_session(ID).await.unwrap();
    assert_eq!(*provider.fetches.lock().unwrap(), 2, "then cached");
}

/// Hands out FIRST, then makes the next fetch wait for `gate`.
#[derive(Debug, Default)]
struct Gated {
    fetches: Mutex<u32>,
    entered: tokio::sync::Notify,
    gate: tokio::sync::Notify,
}

impl TokenProvider for Gated {
    fn fetch(&self) -> TokenFuture<'_> {
        let n = {
            let mut fetches = self.fetches.lock().unwrap();
            *fetches += 1;
            *fetches
        };
        Box::pin(async move {
            if n > 1 {
                self.entered.notify_one();
                self.gate.notified().await;
            }
            Ok(AccessToken {
                token: Token::new(if n == 1 { FIRST } else { SECOND }),
                expires_at: Some(SystemTime::now() + 12 * HOUR),
            })
        })
    }
}

#[tokio::test(start_paused = true)]
async fn during_a_refresh_ahead_other_calls_keep_the_valid_token() {
    let server = MockServer::start().await;
    mount_api(&server, &[FIRST, SECOND]).await;
    let provider = Arc::new(Gated::default());
    let client = client(&server, Credentials::custom(provider.clone()));
    client.get_session(ID).await.unwrap();
    tokio::time::advance(61 * MINUTE).await;

    let refreshing = tokio::spawn({
        let client = client.clone();
        async move { client.get_session(ID).await }
    });
    provider.entered.notified().await;
    // The refresh is stuck until an hour passes. A call that waited for it
    // would get SECOND; one that did not takes FIRST before any I/O, however
    // the paused clock moves while its request is in flight.
    let opener = tokio::spawn({
        let provider = provider.clone();
        async move {
            tokio::time::sleep(HOUR).await;
            provider.gate.notify_one();
        }
    });
    client.get_session(ID).await.unwrap();
    refreshing.await.unwrap().unwrap();
    opener.await.unwrap();
    client.get_session(ID).await.unwrap();

    assert_eq!(*provider.fetches.lock().unwrap(), 2);
    let mut sent: Vec<String> = requests(&server, &session_path(ID))
        .await
        .iter()
        .map(authorization)
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [FIRST, FIRST, SECOND, SECOND]
            .map(|t| format!("Bearer {t}"))
            .to_vec()
    );
}

// ---- redaction -------------------------------------------------------------

#[tokio::test]
async fn no_debug_output_shows_a_secret() {
    let server = MockServer::start().await;
    let all = [
        (Credentials::iam_token(STATIC), "IAM token"),
        (Credentials::oauth_token(OAUTH), "OAuth token"),
        (sa_credentials(), "service-account key"),
        (Credentials::metadata_at("127.0.0.1:9"), "metadata service"),
        (
            Credentials::custom(Arc::<Counting>::default()),
            "custom provider",
        ),
    ];
    for (credentials, kind) in all {
        let shown = format!("{credentials:?}");
        assert!(shown.contains(kind), "{shown}");
        assert_no_secrets("Credentials' Debug", &shown);
        let client = client(&server, credentials.clone());
        assert_no_secrets("Client's Debug", &format!("{client:?} {client:#?}"));
        let builder = builder(&server.uri()).credentials(credentials);
        assert_no_secrets("ClientBuilder's Debug", &format!("{builder:?}"));
    }
    let shown = format!("{:?}", sa_credentials());
    assert!(shown.contains(KEY_ID) && shown.contains(SA_ID), "{shown}");
    assert_no_secrets("Token's Debug", &format!("{:?}", Token::new(FIRST)));
    let access = AccessToken {
        token: Token::new(FIRST),
        expires_at: None,
    };
    assert_no_secrets("AccessToken's Debug", &format!("{access:?}"));
}

#[tokio::test]
async fn single_flight_holds_for_a_token_that_expires_at_once() {
    // Clock skew (IAM's expiresAt already past here) or a provider's
    // zero lifetime: callers that waited on the fetch still take its token.
    let server = MockServer::start().await;
    mount_iam(
        &server,
        iam_answer(FIRST, Duration::ZERO),
        iam_answer(SECOND, Duration::ZERO),
    )
    .await;
    mount_api(&server, &[FIRST, SECOND]).await;
    let client = client(&server, sa_credentials());

    let mut calls = JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        calls.spawn(async move { client.get_session(ID).await });
    }
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(count(&server, IAM_PATH).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_token_service_is_bounded_by_the_attempt_timeout() {
    // Not pooled: requests this test leaves in flight must not reach
    // another test's server.
    let server = MockServer::builder().start().await;
    let stalled = iam_answer(FIRST, 12 * HOUR).set_delay(10 * HOUR);
    mount_iam(&server, stalled.clone(), stalled).await;
    mount_api(&server, &[FIRST]).await;
    let client = builder(&server.uri())
        .credentials(sa_credentials())
        .iam_endpoint(format!("{}{IAM_PATH}", server.uri()))
        .attempt_timeout(Duration::from_secs(1))
        .build()
        .unwrap();

    // No total timeout: without a limit on each token request this would
    // hang for good (the guard fails the test instead).
    let err = tokio::time::timeout(HOUR, client.get_session(ID))
        .await
        .expect("the token fetch gave up on its own")
        .unwrap_err();

    let auth = auth_error(&err);
    assert_eq!(auth.kind, AuthErrorKind::Exchange);
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    // On a paused clock a try may time out before its request is written,
    // so the mock sees at most the 3 tries.
    assert!(count(&server, IAM_PATH).await <= 3);
    assert_eq!(count(&server, &session_path(ID)).await, 0);
}

#[tokio::test]
async fn a_redirect_from_iam_is_not_followed() {
    // Following it would post the JWT to wherever Location points.
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let moved = ResponseTemplate::new(307).insert_header(
        "location",
        format!("{}{IAM_PATH}", elsewhere.uri()).as_str(),
    );
    mount_iam(&server, moved.clone(), moved).await;
    mount_iam(&elsewhere, iam_answer(FIRST, HOUR), iam_answer(FIRST, HOUR)).await;
    mount_api(&server, &[FIRST]).await;
    let client = client(&server, sa_credentials());

    let err = client.get_session(ID).await.unwrap_err();

    assert_eq!(auth_error(&err).status, Some(307), "{err}");
    assert_eq!(count(&elsewhere, IAM_PATH).await, 0);
}

#[test]
fn a_key_with_both_spellings_of_a_field_names_it() {
    let mut key: Value = serde_json::from_str(&snake_key_json(&test_key().pem)).unwrap();
    key["serviceAccountId"] = json!(SA_ID);
    let err = Credentials::service_account_key(key.to_string()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`service_account_id` twice"), "{text}");
    assert_no_secrets("the error", &text);
}
