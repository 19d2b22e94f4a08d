//! Property tests: for any session id, session, response or key file the SDK
//! answers with a value or a typed error, never a panic, and keeps what it
//! promises (ids reach the server intact, sessions survive a JSON round
//! trip, an error keeps the status it came with, no key material in errors).
//!
//! Each test starts one tokio runtime and one wiremock server on 127.0.0.1
//! and runs all its cases against them: the server's responder serves
//! whatever the current case put in the shared [`Script`] and records what it
//! got. Case counts keep this file to a few seconds in debug on two cores.
//! Failures are not persisted to files: proptest prints the minimal failing
//! input, which goes into a regression test by hand.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use yc_idp::types::{
    ChangeInfo, ChangeType, GetSessionResponse, ProgressEntry, RelatedObjectType, SessionStatus,
    SessionType, SyncMode, SynchronizationSession,
};
use yc_idp::{AuthErrorKind, Client, Credentials, Error, Int64, RetryPolicy};
use yc_idp_tests::{builder, examples, session_path};

// ---- the shared server -------------------------------------------------------

/// What the server answers next, and what it got so far.
#[derive(Default)]
struct Script {
    status: u16,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Every request's path and query, as the server parsed them.
    seen: Vec<Seen>,
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: Option<String>,
}

#[derive(Clone)]
struct Scripted(Arc<Mutex<Script>>);

impl Scripted {
    fn lock(&self) -> MutexGuard<'_, Script> {
        // A failed case may have panicked holding it; the data is still whole.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn serve(&self, status: u16, content_type: Option<&str>, body: Vec<u8>) {
        let mut script = self.lock();
        script.status = status;
        script.content_type = content_type.map(str::to_string);
        script.headers.clear();
        script.body = body;
    }
}

impl Respond for Scripted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut script = self.lock();
        script.seen.push(Seen {
            path: request.url.path().to_string(),
            query: request.url.query().map(str::to_string),
        });
        let mut template = ResponseTemplate::new(script.status);
        for (name, value) in &script.headers {
            template = template.insert_header(name.as_str(), value.as_str());
        }
        match &script.content_type {
            Some(ct) => template.set_body_raw(script.body.clone(), ct),
            None => template.set_body_bytes(script.body.clone()),
        }
    }
}

/// One runtime, one server and one client for all the cases of a test.
struct Rig {
    runtime: tokio::runtime::Runtime,
    // Kept alive: dropping it stops the server.
    _server: MockServer,
    script: Scripted,
    client: Client,
}

impl Rig {
    fn start() -> Rig {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let script = Scripted(Arc::new(Mutex::new(Script {
            status: 200,
            content_type: Some("application/json".into()),
            body: br#"{"session": {}}"#.to_vec(),
            ..Script::default()
        })));
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(script.clone())
                .mount(&server)
                .await;
            server
        });
        // Retries off, no wall-clock timers (see `builder`), a 64 KiB cap.
        let client = builder(&server.uri())
            .retry_policy(RetryPolicy::none())
            .max_response_bytes(64 * 1024)
            .build()
            .expect("a client");
        Rig {
            runtime,
            _server: server,
            script,
            client,
        }
    }

    fn get(&self, id: &str) -> Result<SynchronizationSession, Error> {
        self.runtime.block_on(self.client.get_session(id))
    }
}

/// `cases` cases, no failure files, shrinking bounded.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    })
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: Debug,
{
    if let Err(e) = runner(cases).run(&strategy, test) {
        panic!("{e}");
    }
}

// ---- session ids ---------------------------------------------------------------

/// Pieces that URL parsers, percent-decoders and path normalisers treat
/// specially.
const TRICKY: &[&str] = &[
    "/", ".", "..", "%", "%2e", "%2E", "%2F", "%2f", "%25", "%00", "?", "#", "\\", " ", "+", "&",
    "=", ";", ":", "@", "[", "]", "~", "-", "_", "\0", "\r\n", "\t", "\u{7f}", "\u{a0}", "é", "я",
    "😀", "\u{fffd}", "\u{200b}", "\u{202e}", "ek0sync", "a",
];

fn session_ids() -> impl Strategy<Value = String> {
    let chars = |len: std::ops::RangeInclusive<usize>| {
        vec(any::<char>(), len).prop_map(|c| c.into_iter().collect::<String>())
    };
    prop_oneof![
        any::<String>(),
        chars(0..=12),
        // Around the 50-character limit.
        chars(48..=52),
        vec(select(TRICKY), 0..=12).prop_map(|parts| parts.concat()),
        vec(select(TRICKY), 45..=55).prop_map(|parts| parts.concat()),
        select(vec![".", "..", "...", "./", "/.", "%2e%2e", ""]).prop_map(str::to_string),
    ]
}

const SESSIONS: &str = "/organization-manager/v1/idp/synchronization-sessions/";

#[test]
fn any_id_is_refused_before_io_or_reaches_the_server_intact() {
    assert_eq!(session_path("x"), format!("{SESSIONS}x"));
    let rig = Rig::start();
    rig.script.serve(
        200,
        Some("application/json"),
        br#"{"session": {}}"#.to_vec(),
    );
    run(256, session_ids(), |id| {
        let before = rig.script.lock().seen.len();
        let result = rig.get(&id);
        let seen: Vec<Seen> = rig.script.lock().seen[before..].to_vec();
        let refused = id.is_empty() || id.chars().count() > 50 || id == "." || id == "..";
        if refused {
            prop_assert!(
                matches!(
                    result,
                    Err(Error::InvalidArgument {
                        argument: "session_id",
                        ..
                    })
                ),
                "{id:?} should be refused, got {result:?}"
            );
            prop_assert!(seen.is_empty(), "{id:?} was refused but sent: {seen:?}");
            return Ok(());
        }
        prop_assert!(result.is_ok(), "{id:?}: {result:?}");
        prop_assert_eq!(seen.len(), 1, "{:?} sent {:?}", id, seen);
        let sent = &seen[0];
        prop_assert_eq!(&sent.query, &None, "{:?} sent {:?}", id, sent);
        let segment = sent.path.strip_prefix(SESSIONS);
        prop_assert!(segment.is_some(), "{id:?} went to {sent:?}");
        let segment = segment.unwrap_or_default();
        prop_assert!(
            !segment.contains('/'),
            "{id:?} became several segments: {sent:?}"
        );
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8();
        prop_assert!(decoded.is_ok(), "{id:?} became non-UTF-8 `{segment}`");
        prop_assert_eq!(
            decoded.unwrap_or_default(),
            id.as_str(),
            "sent as {:?}",
            sent
        );
        Ok(())
    });
}

// ---- round trip ----------------------------------------------------------------

/// Known values, and unknown ones (future values or nonsense) that the SDK
/// must carry unchanged. An unknown name is never a known one: a known name
/// always decodes to its own variant.
macro_rules! enum_values {
    ($enum:ident) => {{
        let unknown = prop_oneof!["[A-Z][A-Z0-9_]{0,24}", any::<String>(), Just(String::new()),]
            .prop_filter_map("a known name", |name| {
                let value = $enum::from(name.as_str());
                value.is_unknown().then_some(value)
            });
        prop_oneof![select($enum::KNOWN.to_vec()), unknown]
    }};
}

fn int64s() -> impl Strategy<Value = Int64> {
    prop_oneof![
        select(vec![
            i64::MIN,
            i64::MAX,
            0,
            -1,
            1,
            1 << 53,
            (1 << 53) + 1,
            -(1 << 53) - 1
        ]),
        any::<i64>(),
    ]
    .prop_map(Int64::new)
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range of a proto3
/// Timestamp.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

/// Timestamps with 0 to 9 fractional digits.
fn timestamps() -> impl Strategy<Value = DateTime<Utc>> {
    let seconds = prop_oneof![
        select(vec![FIRST_SECOND, LAST_SECOND, 0, -1, 1_796_025_600]),
        FIRST_SECOND..=LAST_SECOND,
    ];
    (seconds, 0u32..=9, 0u32..1_000_000_000).prop_map(|(seconds, digits, raw)| {
        let unit = 10u32.pow(9 - digits);
        let nanos = raw / unit * unit;
        DateTime::from_timestamp(seconds, nanos).expect("a timestamp in range")
    })
}

fn strings() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..24).prop_map(|c| c.into_iter().collect()),
        Just(String::new()),
    ]
}

fn change_infos() -> impl Strategy<Value = ChangeInfo> {
    (
        proptest::option::of(enum_values!(ChangeType)),
        proptest::option::of(int64s()),
        proptest::option::of(int64s()),
    )
        .prop_map(|(change_type, successful, failed)| ChangeInfo {
            change_type,
            successful,
            failed,
        })
}

fn progress_entries() -> impl Strategy<Value = ProgressEntry> {
    (
        proptest::option::of(enum_values!(RelatedObjectType)),
        vec(change_infos(), 0..=6),
    )
        .prop_map(|(object_type, change_info)| ProgressEntry {
            object_type,
            change_info,
        })
}

fn sessions() -> impl Strategy<Value = SynchronizationSession> {
    (
        proptest::option::of(strings()),
        proptest::option::of(strings()),
        proptest::option::of(timestamps()),
        proptest::option::of(timestamps()),
        proptest::option::of(timestamps()),
        proptest::option::of(enum_values!(SyncMode)),
        proptest::option::of(enum_values!(SessionStatus)),
        vec(progress_entries(), 0..=4),
        proptest::option::of(strings()),
        proptest::option::of(enum_values!(SessionType)),
    )
        .prop_map(
            |(
                session_id,
                agent_id,
                created_at,
                expires_at,
                closed_at,
                sync_mode,
                status,
                progress_entries,
                fail_reason,
                session_type,
            )| SynchronizationSession {
                session_id,
                agent_id,
                created_at,
                expires_at,
                closed_at,
                sync_mode,
                status,
                progress_entries,
                fail_reason,
                session_type,
            },
        )
}

#[test]
fn any_session_survives_a_json_round_trip() {
    let rig = Rig::start();
    run(128, sessions(), |session| {
        let json = serde_json::to_string(&session).expect("a session encodes");
        let back: Result<SynchronizationSession, _> = serde_json::from_str(&json);
        prop_assert!(back.is_ok(), "{json} does not decode: {back:?}");
        prop_assert_eq!(back.as_ref().ok(), Some(&session), "through {}", json);

        // And through the client, as the API would send it.
        let wrapped = GetSessionResponse {
            session: Some(session.clone()),
        };
        let body = serde_json::to_vec(&wrapped).expect("a response encodes");
        rig.script.serve(200, Some("application/json"), body);
        let got = rig.get("ek0sync7p1m5c2rb4qz1");
        prop_assert!(got.is_ok(), "{json}: {got:?}");
        prop_assert_eq!(got.ok(), Some(session), "through {}", json);
        Ok(())
    });
}

/// `seconds` and `nanos` written with exactly `digits` fractional digits
/// (the value is cut to them), `Z` or a whole-minute `offset`.
fn rfc3339(seconds: i64, nanos: u32, digits: u32, offset_minutes: i32) -> (String, DateTime<Utc>) {
    let unit = 10u32.pow(9 - digits);
    let nanos = nanos / unit * unit;
    let at = DateTime::from_timestamp(seconds, nanos).expect("a timestamp in range");
    let zone = chrono::FixedOffset::east_opt(offset_minutes * 60).expect("an offset in range");
    let local = at.with_timezone(&zone);
    let mut text = local.format("%Y-%m-%dT%H:%M:%S").to_string();
    if digits > 0 {
        text.push_str(&format!(
            ".{:0width$}",
            nanos / unit,
            width = digits as usize
        ));
    }
    if offset_minutes == 0 {
        text.push('Z');
    } else {
        text.push_str(&local.format("%:z").to_string());
    }
    (text, at)
}

#[test]
fn any_rfc3339_spelling_of_a_timestamp_decodes_to_it() {
    // chrono writes 0, 3, 6 or 9 digits; servers may send any of 0-9, and
    // with an offset: the SDK's reader must take them all.
    let cases = (
        prop_oneof![
            select(vec![
                FIRST_SECOND + 86_400,
                LAST_SECOND - 86_400,
                0,
                1_796_025_600
            ]),
            (FIRST_SECOND + 86_400)..=(LAST_SECOND - 86_400),
        ],
        0u32..1_000_000_000,
        0u32..=9,
        prop_oneof![Just(0), -(23 * 60 + 59)..=(23 * 60 + 59)],
    );
    run(256, cases, |(seconds, nanos, digits, offset)| {
        let (text, at) = rfc3339(seconds, nanos, digits, offset);
        let json = json!({ "createdAt": text, "expiresAt": null });
        let got: Result<SynchronizationSession, _> = serde_json::from_value(json);
        prop_assert!(got.is_ok(), "{text}: {got:?}");
        let got = got.ok().unwrap_or_default();
        prop_assert_eq!(got.created_at, Some(at), "{}", text);
        prop_assert_eq!(got.expires_at, None);
        Ok(())
    });
}

#[test]
fn int64_extremes_are_written_as_exact_strings() {
    for n in [i64::MIN, i64::MAX, 0, -1] {
        let info = ChangeInfo {
            successful: Some(Int64::new(n)),
            ..Default::default()
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["successful"], Value::String(n.to_string()));
    }
}

// ---- arbitrary responses ---------------------------------------------------------

/// Names the SDK reads, so that generated JSON reaches past the first key.
const NAMES: &[&str] = &[
    "session",
    "sessionId",
    "agentId",
    "createdAt",
    "expiresAt",
    "closedAt",
    "syncMode",
    "status",
    "progressEntries",
    "objectType",
    "changeInfo",
    "changeType",
    "successful",
    "failed",
    "failReason",
    "sessionType",
    "code",
    "message",
    "details",
    "@type",
    "requestId",
];

/// Strings the SDK parses as something else: int64s, timestamps, enum names.
const LOADED: &[&str] = &[
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "1e3",
    "1.5",
    "",
    "12abc",
    "2026-11-30T08:00:00Z",
    "2026-11-30T08:00:00.123456789Z",
    "2026-11-30T08:00:00.1234567891Z",
    "2026-11-30T11:00:00+03:00",
    "2026-13-45T99:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:60Z",
    "+10000-01-01T00:00:00Z",
    "COMPLETED",
    "PAUSED",
    "USER",
    "CREATE",
    "type.googleapis.com/google.rpc.RequestInfo",
];

fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(vec![
            json!(9_223_372_036_854_775_807_i64),
            json!(9_223_372_036_854_775_808_u64),
            json!(1e3),
            json!(-0.0),
            json!(2_147_483_648_i64),
            json!(-2_147_483_649_i64),
            json!(16),
            json!(0),
        ]),
        select(LOADED).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![3 => select(NAMES).prop_map(str::to_string), 1 => ".{0,8}"];
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(key, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A reference example with one change: cut short, a byte replaced, or a
/// range removed.
fn mutated_examples() -> impl Strategy<Value = Vec<u8>> {
    let texts: Vec<Vec<u8>> = examples()
        .into_iter()
        .map(|(_, t)| t.into_bytes())
        .collect();
    (
        select(texts),
        0usize..3,
        any::<prop::sample::Index>(),
        any::<u8>(),
        1usize..16,
    )
        .prop_map(|(mut text, how, at, byte, len)| {
            let at = at.index(text.len().max(1)).min(text.len());
            match how {
                0 => text.truncate(at),
                1 => {
                    if let Some(b) = text.get_mut(at) {
                        *b = byte;
                    }
                }
                _ => {
                    let end = (at + len).min(text.len());
                    text.drain(at..end);
                }
            }
            text
        })
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..512),
        json_values().prop_map(|v| v.to_string().into_bytes()),
        json_values().prop_map(|v| json!({ "session": v }).to_string().into_bytes()),
        mutated_examples(),
        select(vec![
            b"".to_vec(),
            b"null".to_vec(),
            b"{}".to_vec(),
            b"[]".to_vec(),
            b"\"\"".to_vec(),
            b"<html><body>502 Bad Gateway</body></html>".to_vec(),
            b"\xef\xbb\xbf{\"session\": {}}".to_vec(),
            b"{\"session\": {}}{\"session\": {}}".to_vec(),
            b"{\"code\": 5".to_vec(),
        ]),
    ]
}

/// Statuses an HTTP stack hands over as the answer: every error status and
/// odd ones (1xx never is the answer, so it is not served).
fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        2 => Just(200u16),
        3 => 400u16..=599,
        1 => select(vec![
            201u16, 202, 203, 204, 205, 206, 226, 299, 300, 301, 302, 303, 304, 307, 308, 399,
            600, 700, 999,
        ]),
    ]
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    request_id: Option<String>,
    retry_after: Option<String>,
    body: Vec<u8>,
}

fn answers() -> impl Strategy<Value = Answer> {
    let content_type = proptest::option::of(select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/html",
        "text/plain",
        "application/octet-stream",
        "",
    ]));
    let retry_after = proptest::option::of(prop_oneof![
        "[0-9]{1,25}",
        select(vec![
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "soon",
            "-1",
            "18446744073709551615",
        ])
        .prop_map(str::to_string),
    ]);
    (
        statuses(),
        content_type,
        proptest::option::of("[!-~]{1,40}"),
        retry_after,
        bodies(),
    )
        .prop_map(
            |(status, content_type, request_id, retry_after, body)| Answer {
                status,
                content_type,
                request_id,
                retry_after,
                body,
            },
        )
}

#[test]
fn any_answer_is_a_session_or_a_typed_error_with_its_status() {
    let rig = Rig::start();
    run(256, answers(), |answer| {
        {
            let mut script = rig.script.lock();
            script.status = answer.status;
            script.content_type = answer.content_type.map(str::to_string);
            script.body = answer.body.clone();
            script.headers.clear();
            if let Some(id) = &answer.request_id {
                script.headers.push(("x-request-id".into(), id.clone()));
            }
            if let Some(after) = &answer.retry_after {
                script.headers.push(("retry-after".into(), after.clone()));
            }
        }
        let status = answer.status;
        let result = rig.get("ek0sync7p1m5c2rb4qz1");
        let err = match result {
            Ok(_) => {
                prop_assert_eq!(status, 200, "only a 200 is a session");
                return Ok(());
            }
            Err(err) => err,
        };
        prop_assert!(!err.to_string().is_empty());
        prop_assert_eq!(err.status(), Some(status), "{:?}", err);
        match &err {
            Error::Api(api) => {
                prop_assert!((400..=599).contains(&status), "{err:?}");
                prop_assert!(api.client_request_id.is_some());
                if let Some(after) = answer.retry_after.as_deref()
                    && let Ok(seconds) = after.parse::<u64>()
                {
                    prop_assert_eq!(
                        api.retry_after,
                        Some(std::time::Duration::from_secs(seconds))
                    );
                }
            }
            Error::Decode(d) => {
                prop_assert!(!(400..=599).contains(&status), "{err:?}");
                // At most LIMIT bytes of body, each at most one character
                // (invalid UTF-8 shows as U+FFFD), and a closing `…`.
                let chars = d.excerpt.chars().count();
                prop_assert!(chars <= yc_idp::DecodeError::EXCERPT_LIMIT + 1, "{chars}");
            }
            other => prop_assert!(false, "HTTP {status} gave {other:?}"),
        }
        if let Some(id) = &answer.request_id {
            prop_assert_eq!(err.request_id(), Some(id.as_str()));
        }
        Ok(())
    });
}

// ---- key files -------------------------------------------------------------------

const KEY_ID: &str = "ajekeyid0proptest001";
const SA_ID: &str = "ajesaid00proptest001";

/// A fresh RSA-2048 key (PKCS#8 PEM) for this run, made once.
fn test_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("PKCS#8");
        let body = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    })
}

/// The base64 lines of the test key: never in an error.
fn key_lines() -> Vec<&'static str> {
    test_pem()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 24)
        .collect()
}

fn key_json(camel: bool, banner: bool, pem: &str) -> Value {
    let private_key = if banner {
        format!("PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{KEY_ID}>\n{pem}")
    } else {
        pem.to_string()
    };
    if camel {
        json!({
            "id": KEY_ID,
            "serviceAccountId": SA_ID,
            "createdAt": "2026-01-01T00:00:00Z",
            "keyAlgorithm": "RSA_2048",
            "privateKey": private_key,
        })
    } else {
        json!({
            "id": KEY_ID,
            "service_account_id": SA_ID,
            "created_at": "2026-01-01T00:00:00Z",
            "key_algorithm": "RSA_2048",
            "public_key": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
            "private_key": private_key,
        })
    }
}

const KEY_NAMES: &[&str] = &[
    "id",
    "service_account_id",
    "serviceAccountId",
    "private_key",
    "privateKey",
    "key_algorithm",
    "keyAlgorithm",
    "created_at",
    "public_key",
];

#[derive(Debug, Clone)]
enum KeyEdit {
    /// Cut the file short.
    Truncate(prop::sample::Index),
    /// Replace one byte of the file.
    Byte(prop::sample::Index, u8),
    /// Replace one character of the PEM (keeps the JSON valid).
    PemChar(prop::sample::Index, char),
    /// Remove a range of lines of the PEM.
    PemLines(prop::sample::Index, usize),
    /// Rewrite the PEM's labels.
    Label(&'static str),
    /// Set a field to any JSON value.
    Field(&'static str, Value),
    /// Remove a field.
    Remove(&'static str),
    /// Use CRLF line ends in the PEM.
    Crlf,
}

fn key_edits() -> impl Strategy<Value = KeyEdit> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(KeyEdit::Truncate),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| KeyEdit::Byte(i, b)),
        (any::<prop::sample::Index>(), any::<char>()).prop_map(|(i, c)| KeyEdit::PemChar(i, c)),
        (any::<prop::sample::Index>(), 1usize..30).prop_map(|(i, n)| KeyEdit::PemLines(i, n)),
        select(vec![
            "RSA PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
            "PUBLIC KEY",
            "EC PRIVATE KEY",
            "PRIVATE  KEY",
            "private key",
            "",
        ])
        .prop_map(KeyEdit::Label),
        (select(KEY_NAMES), json_values()).prop_map(|(k, v)| KeyEdit::Field(k, v)),
        select(KEY_NAMES).prop_map(KeyEdit::Remove),
        Just(KeyEdit::Crlf),
    ]
}

/// A valid key file, then `edits`.
fn edited_key(camel: bool, banner: bool, edits: &[KeyEdit]) -> Vec<u8> {
    let mut pem = test_pem().to_string();
    let mut fields: Vec<(&'static str, Option<Value>)> = Vec::new();
    let mut bytes: Vec<&KeyEdit> = Vec::new();
    for edit in edits {
        match edit {
            KeyEdit::PemChar(at, c) if !pem.is_empty() => {
                let chars: Vec<char> = pem.chars().collect();
                let at = at.index(chars.len());
                pem = chars[..at]
                    .iter()
                    .chain(std::iter::once(c))
                    .chain(&chars[at + 1..])
                    .collect();
            }
            KeyEdit::PemLines(at, n) if !pem.is_empty() => {
                let lines: Vec<&str> = pem.lines().collect();
                let at = at.index(lines.len());
                let end = (at + n).min(lines.len());
                pem = [&lines[..at], &lines[end..]].concat().join("\n");
            }
            KeyEdit::Label(label) => {
                pem = pem
                    .replace("BEGIN PRIVATE KEY", &format!("BEGIN {label}"))
                    .replace("END PRIVATE KEY", &format!("END {label}"));
            }
            KeyEdit::Crlf => pem = pem.replace('\n', "\r\n"),
            KeyEdit::Field(name, value) => fields.push((name, Some(value.clone()))),
            KeyEdit::Remove(name) => fields.push((name, None)),
            KeyEdit::Truncate(_) | KeyEdit::Byte(..) => bytes.push(edit),
            KeyEdit::PemChar(..) | KeyEdit::PemLines(..) => {}
        }
    }
    let mut doc = key_json(camel, banner, &pem);
    if let Some(map) = doc.as_object_mut() {
        for (name, value) in fields {
            match value {
                Some(v) => map.insert(name.to_string(), v),
                None => map.remove(name),
            };
        }
    }
    let mut out = doc.to_string().into_bytes();
    for edit in bytes {
        match edit {
            KeyEdit::Truncate(at) => out.truncate(at.index(out.len() + 1)),
            KeyEdit::Byte(at, b) if !out.is_empty() => {
                let at = at.index(out.len());
                out[at] = *b;
            }
            _ => {}
        }
    }
    out
}

/// What a key file may give: credentials, or an invalid-key error that
/// quotes no key material.
fn check_key_result(what: &str, result: Result<Credentials, Error>) -> Result<(), TestCaseError> {
    let err = match result {
        Ok(credentials) => {
            prop_assert_eq!(credentials.kind(), "service-account key");
            // An accepted key must also sign: a JWT of three parts.
            let jwt = yc_idp::fuzzing::parse_key_file(what);
            prop_assert!(
                jwt.as_ref()
                    .is_ok_and(|j| j.split('.').filter(|p| !p.is_empty()).count() == 3),
                "{what}: accepted but does not sign: {jwt:?}"
            );
            return Ok(());
        }
        Err(err) => err,
    };
    prop_assert!(
        matches!(&err, Error::Auth(e) if e.kind == AuthErrorKind::InvalidKey),
        "{what}: {err:?}"
    );
    let shown = format!("{err} {err:?}");
    for line in key_lines() {
        prop_assert!(
            !shown.contains(line),
            "{what}: the error quotes the key: {shown}"
        );
    }
    Ok(())
}

fn check_key_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_key_result(text, Credentials::service_account_key(text))?;
    }
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::io::Write::write_all(&mut file, bytes).expect("written");
    let from_file = Credentials::service_account_key_file(file.path());
    if std::str::from_utf8(bytes).is_err() {
        prop_assert!(
            matches!(&from_file, Err(Error::Auth(e)) if e.message.contains("cannot be read as text")),
            "{from_file:?}"
        );
    }
    check_key_result(&String::from_utf8_lossy(bytes), from_file)
}

#[test]
fn the_unedited_test_key_is_accepted() {
    // Otherwise the edited-key property below would prove nothing.
    for camel in [false, true] {
        for banner in [false, true] {
            let bytes = edited_key(camel, banner, &[]);
            let text = String::from_utf8(bytes).unwrap();
            let credentials = Credentials::service_account_key(&text);
            assert!(credentials.is_ok(), "{credentials:?}");
        }
    }
}

#[test]
fn edited_key_files_give_credentials_or_an_invalid_key_error() {
    let strategy = (any::<bool>(), any::<bool>(), vec(key_edits(), 1..=3));
    run(128, strategy, |(camel, banner, edits)| {
        check_key_bytes(&edited_key(camel, banner, &edits))
    });
}

#[test]
fn any_key_json_gives_an_invalid_key_error() {
    let objects = btree_map(select(KEY_NAMES), json_values(), 0..7)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()));
    let strategy = prop_oneof![
        objects.prop_map(|v| v.to_string().into_bytes()),
        json_values().prop_map(|v| v.to_string().into_bytes()),
        vec(any::<u8>(), 0..256),
    ];
    run(256, strategy, |bytes| {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let result = Credentials::service_account_key(text);
            // No private key in this JSON can be a real one.
            prop_assert!(result.is_err(), "{text} was accepted");
        }
        check_key_bytes(&bytes)
    });
}
