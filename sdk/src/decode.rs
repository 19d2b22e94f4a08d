//! Turning one attempt's result into a value or a typed [`Error`].
//!
//! progenitor reports a non-JSON error page as a payload error and drops its
//! status; the hooks kept the status, headers and body, so they are used here.

use progenitor_client::ResponseValue;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;

use crate::code::Code;
use crate::error::{ApiError, DecodeError, Error};
use crate::hooks::Attempt;
use crate::types::Status;

type Generated<T> = Result<ResponseValue<T>, progenitor_client::Error<Status>>;

/// The value, or the error the attempt ended in.
pub(crate) fn outcome<T: DeserializeOwned>(
    result: Generated<T>,
    attempt: &Attempt,
    client_request_id: &str,
) -> Result<T, Error> {
    let meta = attempt.response.get();
    if let Some(meta) = meta.filter(|m| m.too_large) {
        return Err(Error::ResponseTooLarge {
            status: meta.status.as_u16(),
            limit: attempt.max_body,
            request_id: header(&meta.headers, "x-request-id"),
        });
    }
    use progenitor_client::Error as E;
    match result {
        Ok(value) => Ok(value.into_inner()),
        Err(E::ErrorResponse(value)) => {
            let status = value.status();
            let headers = value.headers().clone();
            Err(api_error(
                status,
                &headers,
                Some(value.into_inner()),
                &[],
                client_request_id,
            ))
        }
        Err(E::InvalidResponsePayload(body, _)) => {
            let (status, headers) = match meta {
                Some(m) => (m.status, m.headers.clone()),
                None => (StatusCode::OK, HeaderMap::new()),
            };
            if status.is_client_error() || status.is_server_error() {
                Err(api_error(status, &headers, None, &body, client_request_id))
            } else {
                Err(decode_error::<T>(status, &headers, &body))
            }
        }
        Err(E::UnexpectedResponse(response)) => {
            let status = response.status();
            let body = meta.map(|m| m.body.clone()).unwrap_or_default();
            let mut err = decode_error::<T>(status, response.headers(), &body);
            if let Error::Decode(d) = &mut err {
                d.path = None;
                d.message =
                    format!("unexpected HTTP status {status}; the API answers 200 or an error");
            }
            Err(err)
        }
        Err(E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e)) => {
            Err(Error::transport(e))
        }
        Err(E::InvalidRequest(reason)) => Err(Error::invalid("request", reason)),
        Err(E::Custom(reason)) => Err(Error::Transport {
            message: reason,
            source: None,
        }),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// An API error from a `google.rpc.Status` body, or from the status alone.
pub(crate) fn api_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<Status>,
    raw: &[u8],
    client_request_id: &str,
) -> Error {
    let (code, message, details) = match body {
        Some(s) => {
            let code = match s.code {
                Some(n) if n != 0 => Code::from_i32(n),
                _ => Code::from_http_status(status.as_u16()),
            };
            let details = s
                .details
                .into_iter()
                .filter_map(|d| serde_json::to_value(d).ok())
                .collect();
            let message = s.message.unwrap_or_else(|| describe(status, headers, raw));
            (code, message, details)
        }
        None => (
            Code::from_http_status(status.as_u16()),
            describe(status, headers, raw),
            Vec::new(),
        ),
    };
    let request_id = header(headers, "x-request-id").or_else(|| request_info_id(&details));
    Error::Api(Box::new(ApiError {
        status: status.as_u16(),
        code,
        message,
        details,
        request_id,
        server_trace_id: header(headers, "x-server-trace-id"),
        client_request_id: Some(client_request_id.to_string()),
        retry_after: header(headers, RETRY_AFTER.as_str())
            .and_then(|v| crate::client::parse_retry_after(&v)),
    }))
}

/// The `requestId` of a `google.rpc.RequestInfo` detail.
fn request_info_id(details: &[serde_json::Value]) -> Option<String> {
    details.iter().find_map(|d| {
        let is_info = d
            .get("@type")
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.ends_with("google.rpc.RequestInfo"));
        if is_info {
            d.get("requestId")?.as_str().map(str::to_string)
        } else {
            None
        }
    })
}

/// A message for an error whose body is not a `google.rpc.Status`.
fn describe(status: StatusCode, headers: &HeaderMap, raw: &[u8]) -> String {
    let reason = status.canonical_reason().unwrap_or("error");
    let content_type =
        header(headers, CONTENT_TYPE.as_str()).unwrap_or_else(|| "no content type".into());
    let excerpt = excerpt(raw);
    if excerpt.is_empty() {
        format!("HTTP {} {reason} with an empty body", status.as_u16())
    } else {
        format!(
            "HTTP {} {reason} with a non-Status body ({content_type}): {excerpt:?}",
            status.as_u16()
        )
    }
}

/// A decode error naming where in the body decoding failed.
pub(crate) fn decode_error<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let mut de = serde_json::Deserializer::from_slice(body);
    let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => (
            None,
            de.end().err().map_or_else(
                || "the body does not match the API".to_string(),
                |e| e.to_string(),
            ),
        ),
        Err(e) => {
            let path = e.path().to_string();
            let path = (path != ".").then_some(path);
            let inner = e.into_inner();
            let message = if body.is_empty() {
                "the body is empty".to_string()
            } else {
                inner.to_string()
            };
            (path, message)
        }
    };
    Error::Decode(Box::new(DecodeError {
        status: status.as_u16(),
        content_type: header(headers, CONTENT_TYPE.as_str()),
        path,
        message,
        excerpt: excerpt(body),
        request_id: header(headers, "x-request-id"),
        server_trace_id: header(headers, "x-server-trace-id"),
    }))
}

/// At most `EXCERPT_LIMIT` bytes of a body, cut at a character boundary.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(DecodeError::EXCERPT_LIMIT)]);
    let mut out = text.trim_end_matches('\u{FFFD}').to_string();
    if body.len() > DecodeError::EXCERPT_LIMIT {
        out.push('…');
    }
    out
}
