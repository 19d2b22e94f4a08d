//! Pure entry points into the response decoder, the error-body parser and
//! the key-file parser, for fuzzers and property tests (cargo feature
//! `fuzzing`). Not part of the supported API: names and signatures may
//! change in any release.
//!
//! Each function runs the code a real call runs, without I/O:
//! [`decode_response`] hands an in-memory response to the same progenitor
//! decoding and `decode` mapping as [`crate::Client::get_session`];
//! [`parse_error_body`] is the error mapping alone; [`parse_key_file`] parses a
//! key as [`crate::Credentials::service_account_key`] does and signs a JWT
//! with it as the token exchange does.
//!
//! The `*_target` functions are the fuzz targets' bodies: they split raw
//! input into the arguments above, call them and check the invariants every
//! answer must keep. They return the broken invariant instead of panicking,
//! so that a test can replay a corpus and say which input broke what.

use std::sync::OnceLock;

use bytes::Bytes;
use futures_util::FutureExt;
use progenitor_client::ResponseValue;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::auth::ServiceAccountKey;
use crate::client::DEFAULT_MAX_RESPONSE_BYTES;
use crate::decode;
use crate::error::{AuthErrorKind, DecodeError, Error};
use crate::hooks::Attempt;
use crate::types::{GetSessionResponse, Status, SynchronizationSession};

/// The client request id the decoded errors carry.
pub const CLIENT_REQUEST_ID: &str = "00000000-0000-4000-8000-00000000f422";

/// Decodes a `GetSession` response with status `status`, an optional
/// `content-type` and `body`, as [`crate::Client::get_session`] would.
pub fn decode_session(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<SynchronizationSession, Error> {
    let headers: Vec<(&str, &str)> = content_type
        .map(|ct| ("content-type", ct))
        .into_iter()
        .collect();
    decode_response(status, &headers, body)
}

/// Decodes a `GetSession` response with any headers (`x-request-id`,
/// `retry-after`, ...). Headers that are not valid HTTP are left out, as an
/// HTTP stack would refuse them. A status outside 100-999, which no HTTP
/// response can have, is an [`Error::InvalidArgument`].
pub fn decode_response(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<SynchronizationSession, Error> {
    let status = StatusCode::from_u16(status)
        .map_err(|_| Error::invalid("status", format!("{status} is not an HTTP status")))?;
    let headers = header_map(headers);
    let attempt = Attempt {
        authorization: HeaderValue::from_static("Bearer fuzzing"),
        client_request_id: HeaderValue::from_static(CLIENT_REQUEST_ID),
        client_trace_id: None,
        max_body: DEFAULT_MAX_RESPONSE_BYTES,
        response: OnceLock::new(),
    };
    // What the `exec` hook keeps and hands on (sdk/src/hooks.rs).
    let too_large = body.len() as u64 > attempt.max_body;
    let body = if too_large {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(body)
    };
    let response = attempt.record(status, None, headers, body, too_large);
    // What the generated `get_session` does with the response
    // (sdk/src/generated.rs). The body is in memory, so nothing waits.
    let generated = async {
        match status.as_u16() {
            200 => ResponseValue::<GetSessionResponse>::from_response(response).await,
            400..=599 => Err(progenitor_client::Error::ErrorResponse(
                ResponseValue::<Status>::from_response(response).await?,
            )),
            _ => Err(progenitor_client::Error::UnexpectedResponse(response)),
        }
    };
    let result = match generated.now_or_never() {
        Some(result) => result,
        None => Err(progenitor_client::Error::Custom(
            "an in-memory body was not ready".into(),
        )),
    };
    decode::outcome(result, &attempt, CLIENT_REQUEST_ID)
        .map(|response: GetSessionResponse| response.session.unwrap_or_default())
}

/// The error a `status` answer with `body` becomes, through the error
/// mapping alone: the body is read as a `google.rpc.Status` if it is one.
/// `content-type` is `application/json`.
pub fn parse_error_body(status: u16, body: &[u8]) -> Error {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = header_map(&[("content-type", "application/json")]);
    let parsed = serde_json::from_slice::<Status>(body).ok();
    decode::api_error(status, &headers, parsed, body, CLIENT_REQUEST_ID)
}

/// Parses a service-account key file's text and signs a JWT with the key;
/// returns the JWT.
pub fn parse_key_file(text: &str) -> Result<String, Error> {
    ServiceAccountKey::from_json(text, "the fuzzed key file")?.jwt()
}

fn header_map(headers: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// A response written as fuzz input: a head, an empty line, the body.
///
/// ```text
/// 404 application/json
/// x-request-id: 6c1f2d3e
/// retry-after: 5
///
/// {"code": 5, "message": "not found"}
/// ```
///
/// The head's first line is the status, optionally followed by a space and
/// the content type; each further line is a `name: value` header. Input that
/// does not start with a status line is all body, served as a 200
/// `application/json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseInput<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The headers, content type first when the status line had one.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> ResponseInput<'a> {
    /// Splits fuzz input into status, headers and body.
    pub fn parse(input: &'a [u8]) -> ResponseInput<'a> {
        Self::parse_head(input).unwrap_or(ResponseInput {
            status: 200,
            headers: vec![("content-type", "application/json")],
            body: input,
        })
    }

    fn parse_head(input: &'a [u8]) -> Option<ResponseInput<'a>> {
        let (head, body) = split_head(input)?;
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.lines();
        let first = lines.next()?;
        let (status, content_type) = match first.split_once(' ') {
            Some((status, ct)) => (status, Some(ct.trim())),
            None => (first, None),
        };
        if status.len() != 3 {
            return None;
        }
        let status: u16 = status.parse().ok()?;
        let mut headers: Vec<(&str, &str)> = content_type
            .filter(|ct| !ct.is_empty())
            .map(|ct| ("content-type", ct))
            .into_iter()
            .collect();
        headers.extend(lines.filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim(), value.trim()))
        }));
        Some(ResponseInput {
            status,
            headers,
            body,
        })
    }
}

/// The head and body around the first empty line (`\n\n` or `\r\n\r\n`).
fn split_head(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let lf = input.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = input
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let (at, len) = match (lf, crlf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some((&input[..at], &input[at + len..]))
}

/// The fuzz target over whole responses: `input` is a [`ResponseInput`].
///
/// Invariants: only a 200 decodes to a session, and that session encodes and
/// decodes back to itself; an error status always gives [`Error::Api`] with
/// that status, any other status an [`Error::Decode`] with it; an error's
/// `Display` is not empty and its excerpt is bounded.
pub fn response_target(input: &[u8]) -> Result<(), String> {
    let response = ResponseInput::parse(input);
    let status = response.status;
    match decode_response(status, &response.headers, response.body) {
        Ok(session) if status == 200 => round_trip(&session),
        Ok(session) => Err(format!("HTTP {status} decoded to a session: {session:?}")),
        Err(Error::InvalidArgument { .. }) if StatusCode::from_u16(status).is_err() => Ok(()),
        Err(err) => {
            check_error(&err)?;
            let api = (400..=599).contains(&status);
            match &err {
                Error::Api(e) if api && e.status == status => Ok(()),
                Error::Decode(e) if !api && e.status == status => check_decode_error(e),
                other => Err(format!(
                    "HTTP {status} gave an error of the wrong kind or status: {other:?}"
                )),
            }
        }
    }
}

fn round_trip(session: &SynchronizationSession) -> Result<(), String> {
    let wrapped = GetSessionResponse {
        session: Some(session.clone()),
    };
    let json = serde_json::to_vec(&wrapped).map_err(|e| format!("cannot encode: {e}"))?;
    match decode_session(200, Some("application/json"), &json) {
        Ok(back) if &back == session => Ok(()),
        Ok(back) => Err(format!(
            "{session:?} encodes as {} and decodes as {back:?}",
            String::from_utf8_lossy(&json)
        )),
        Err(e) => Err(format!(
            "{session:?} encodes as {}, which does not decode: {e}",
            String::from_utf8_lossy(&json)
        )),
    }
}

fn check_error(err: &Error) -> Result<(), String> {
    if err.to_string().is_empty() {
        return Err(format!("{err:?} displays as nothing"));
    }
    Ok(())
}

fn check_decode_error(e: &DecodeError) -> Result<(), String> {
    // At most LIMIT bytes of body, each at most one character (invalid
    // UTF-8 shows as U+FFFD), and a closing `…`.
    let chars = e.excerpt.chars().count();
    if chars > DecodeError::EXCERPT_LIMIT + 1 {
        return Err(format!("an excerpt of {chars} characters"));
    }
    Ok(())
}

/// The fuzz target over error bodies: a first line with the status (any
/// three digits; outside 400-599 it is taken modulo 200 into that range),
/// then the body. Input without such a line is a 500's body.
///
/// Invariants: the error is [`Error::Api`] with that status; its code comes
/// from a `google.rpc.Status` body's non-zero `code`, else from the status;
/// its `Display` names the status.
pub fn error_body_target(input: &[u8]) -> Result<(), String> {
    let (status, body) = match input.iter().position(|&b| b == b'\n') {
        Some(3) => match std::str::from_utf8(&input[..3]).map(str::parse::<u16>) {
            Ok(Ok(s)) => (s, &input[4..]),
            _ => (500, input),
        },
        _ => (500, input),
    };
    let status = if (400..=599).contains(&status) {
        status
    } else {
        400 + status % 200
    };
    let err = parse_error_body(status, body);
    check_error(&err)?;
    let Error::Api(api) = &err else {
        return Err(format!("not an API error: {err:?}"));
    };
    if api.status != status {
        return Err(format!("status {status} became {}", api.status));
    }
    let expected = match serde_json::from_slice::<Status>(body) {
        Ok(Status { code: Some(n), .. }) if n != 0 => crate::Code::from_i32(n),
        _ => crate::Code::from_http_status(status),
    };
    if api.code != expected {
        return Err(format!("code {:?}, expected {expected:?}", api.code));
    }
    if !err.to_string().contains(&status.to_string()) {
        return Err(format!("`{err}` does not name the status {status}"));
    }
    Ok(())
}

/// The fuzz target over key files: `input` is the file's bytes.
///
/// Invariants: a key either signs a three-part JWT or is refused with an
/// [`Error::Auth`] of kind [`AuthErrorKind::InvalidKey`]; the refusal never
/// quotes a line of the private key.
pub fn key_file_target(input: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(input) else {
        // The file reader refuses non-UTF-8 before parsing.
        return Ok(());
    };
    match parse_key_file(text) {
        Ok(jwt) => {
            let parts: Vec<&str> = jwt.split('.').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
                return Err(format!("a malformed JWT: {jwt}"));
            }
            Ok(())
        }
        Err(err) => {
            check_error(&err)?;
            match &err {
                Error::Auth(e) if e.kind == AuthErrorKind::InvalidKey => {}
                other => return Err(format!("not an invalid-key error: {other:?}")),
            }
            // Debug too: `{err:?}` ends up in logs as often as Display.
            let message = format!("{err} {err:?}");
            if let Some(line) = leaked_key_line(text, &message) {
                return Err(format!("the error quotes the key line `{line}`: {message}"));
            }
            Ok(())
        }
    }
}

/// A line of the key's `private_key` that `message` quotes. Only lines that
/// look like key material count (24 characters or more, with a lower-case
/// letter, which PEM labels lack) and that appear nowhere else in the file.
fn leaked_key_line(text: &str, message: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = doc.as_object()?;
    let mut others = Vec::new();
    collect_strings(&doc, &mut others, &["private_key", "privateKey"]);
    ["private_key", "privateKey"]
        .iter()
        .filter_map(|k| object.get(*k)?.as_str())
        .flat_map(str::lines)
        .map(str::trim)
        .filter(|line| line.len() >= 24 && line.bytes().any(|b| b.is_ascii_lowercase()))
        .filter(|line| !others.iter().any(|o| o.contains(line)))
        .find(|line| message.contains(line))
        .map(str::to_string)
}

/// Every string and key in `value` except the values of top-level `skip` keys.
fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>, skip: &[&str]) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_strings(item, out, &[]);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                out.push(key.clone());
                if !skip.contains(&key.as_str()) {
                    collect_strings(item, out, &[]);
                }
            }
        }
        _ => {}
    }
}
