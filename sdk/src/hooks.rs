//! `ClientHooks` for the generated client: per-attempt headers on the way out,
//! a capped body read and response metadata on the way back.
//!
//! The retry loop in [`crate::client`] runs each attempt inside
//! [`Attempt::run`], which makes that attempt's context visible to these hooks
//! through a task-local: progenitor's hook signatures have no room for it.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{ResponseBuilderExt, StatusCode};

use crate::generated;

tokio::task_local! {
    static ATTEMPT: Arc<Attempt>;
}

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");
const CLIENT_TRACE_ID: HeaderName = HeaderName::from_static("x-client-trace-id");
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// What one attempt sends, and what it saw of the response.
#[derive(Debug)]
pub(crate) struct Attempt {
    /// `Bearer <token>`, marked sensitive.
    pub(crate) authorization: HeaderValue,
    pub(crate) client_request_id: HeaderValue,
    pub(crate) client_trace_id: Option<HeaderValue>,
    pub(crate) max_body: u64,
    pub(crate) response: OnceLock<ResponseMeta>,
}

/// The response as the hooks saw it, before progenitor decoded it.
#[derive(Debug)]
pub(crate) struct ResponseMeta {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The whole body, or empty when it was over the cap.
    pub(crate) body: Bytes,
    pub(crate) too_large: bool,
}

impl Attempt {
    /// Runs `f` with this attempt visible to the hooks.
    pub(crate) async fn run<F: Future>(self: &Arc<Self>, f: F) -> F::Output {
        ATTEMPT.scope(Arc::clone(self), f).await
    }
}

impl ClientHooks<()> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let headers = request.headers_mut();
        // progenitor adds it; this API has no use for it.
        headers.remove(API_VERSION);
        ATTEMPT
            .try_with(|attempt| {
                headers.insert(AUTHORIZATION, attempt.authorization.clone());
                headers.insert(CLIENT_REQUEST_ID, attempt.client_request_id.clone());
                if let Some(trace) = &attempt.client_trace_id {
                    headers.insert(CLIENT_TRACE_ID, trace.clone());
                }
            })
            .map_err(|_| {
                progenitor_client::Error::Custom("request sent outside yc_idp::Client".into())
            })
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let mut response = self.client().execute(request).await?;
        let Ok(attempt) = ATTEMPT.try_with(Arc::clone) else {
            return Ok(response);
        };
        let status = response.status();
        let url = Some(response.url().clone());
        let declared = response.content_length();
        // Taken, not cloned: reading the body does not need them.
        let headers = std::mem::take(response.headers_mut());
        let limit = attempt.max_body;
        let too_large = declared.is_some_and(|len| len > limit);
        let body = if too_large {
            Bytes::new()
        } else if declared.is_some() {
            // hyper stops at Content-Length, which is within the cap.
            response.bytes().await?
        } else {
            // Read chunk by chunk so an oversized body is refused, not buffered.
            let mut body = Vec::new();
            let mut over = false;
            while let Some(chunk) = response.chunk().await? {
                if (body.len() + chunk.len()) as u64 > limit {
                    over = true;
                    body.clear();
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            if over {
                return Ok(attempt.record(status, url, headers, Bytes::new(), true));
            }
            Bytes::from(body)
        };
        Ok(attempt.record(status, url, headers, body, too_large))
    }
}

impl Attempt {
    /// Keeps what `decode` needs of the response, and hands progenitor a
    /// response with the same status, headers and body.
    pub(crate) fn record(
        &self,
        status: StatusCode,
        url: Option<reqwest::Url>,
        headers: HeaderMap,
        body: Bytes,
        too_large: bool,
    ) -> reqwest::Response {
        // Given the URL, reqwest does not parse a placeholder one (IDNA and
        // all) for every response.
        let builder = match url {
            Some(url) => http::Response::builder().url(url),
            None => http::Response::builder(),
        };
        let mut rebuilt = builder
            .body(body.clone())
            .unwrap_or_else(|_| http::Response::new(body.clone()));
        *rebuilt.status_mut() = status;
        *rebuilt.headers_mut() = headers.clone();
        let _ = self.response.set(ResponseMeta {
            status,
            headers,
            body,
            too_large,
        });
        reqwest::Response::from(rebuilt)
    }
}
