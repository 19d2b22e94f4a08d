//! Rust SDK for the Identity Provider API of Yandex Cloud Organization
//! Manager: read what each directory synchronization session did.
//!
//! # Quick start
//!
//! Try it without an account or a network: with no credentials set, the
//! command-line example answers from an embedded mock server.
//!
//! ```sh
//! cargo run --example yc-idp -- get ek0sync7p1m5c2rb4qz1
//! cargo run --example yc-idp -- watch ek0sync9a8b7c6d5e4f3
//! ```
//!
//! In code, with credentials from the environment (`YC_IAM_TOKEN`,
//! `YC_TOKEN` or `YC_SERVICE_ACCOUNT_KEY_FILE`):
//!
//! ```no_run
//! # async fn run() -> Result<(), yc_idp::Error> {
//! let client = yc_idp::Client::builder()
//!     .credentials(yc_idp::Credentials::from_env()?)
//!     .build()?;
//! let session = client.get_session("ek0sync7p1m5c2rb4qz1").await?;
//! println!("status: {}", session.status.unwrap_or_default());
//! for entry in &session.progress_entries {
//!     let counts = entry.totals();
//!     println!("{:?}: {} ok, {} failed", entry.object_type, counts.successful, counts.failed);
//! }
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Every call returns [`Error`]. Branch on its gRPC [`Code`] and on
//! [`Error::is_retryable`]; its `Display` names the server's request id,
//! which support asks for. Retryable failures were already retried by the
//! client's [`RetryPolicy`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = yc_idp::mock::MockServer::start().await;
//! # let client = mock.client()?;
//! use yc_idp::Code;
//!
//! match client.get_session("ek0sync0000000000404").await {
//!     Ok(session) => println!("{}", session.status.unwrap_or_default()),
//!     Err(e) if e.code() == Some(Code::NotFound) => println!("no such session"),
//!     Err(e) if e.is_retryable() => println!("the service is struggling, later: {e}"),
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok(()) }
//! ```
//!
//! # Watching a session
//!
//! A sync session runs for minutes. [`Client::wait_for_session`] polls it
//! with backoff until it ends and returns the final snapshot;
//! [`Client::watch_session`] yields every change on the way. See
//! [`WaitOptions`].
//!
//! # Testing your code
//!
//! The cargo feature `mock` adds `yc_idp::mock::MockServer`, a fake of the
//! API on `127.0.0.1` that serves the sessions and errors you give it,
//! misbehaves on request and records what it got. Enable it for your tests:
//!
//! ```toml
//! [dev-dependencies]
//! yc-idp = { version = "0.1", features = ["mock"] }
//! ```
//!
//! # Cargo features
//!
//! - `rustls` (default): TLS through rustls.
//! - `native-tls`: TLS through the platform's library instead.
//! - `mock`: `yc_idp::mock`, the test kit above; pulls in wiremock.
//!
//! Hand-written runtime modules sit beside `generated.rs`, which progenitor
//! writes from `openapi/idp.yaml` and nobody edits.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod client;
mod code;
mod decode;
mod error;
mod hooks;
mod int64;
mod null;
mod path;
mod retry;
mod session_ext;
mod timestamp;
mod watch;

#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

// The README's Rust blocks run as doctests, so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

#[allow(missing_docs, unreachable_pub, dead_code, clippy::all)]
#[rustfmt::skip]
mod generated;

pub use auth::{AccessToken, Credentials, Token, TokenFuture, TokenProvider};
pub use client::{
    Client, ClientBuilder, DEFAULT_ENDPOINT, DEFAULT_IAM_ENDPOINT, DEFAULT_MAX_RESPONSE_BYTES,
};
pub use code::Code;
pub use error::{ApiError, AuthError, AuthErrorKind, DecodeError, Error, StoppedBy, TimeoutKind};
pub use int64::{Int64, ParseInt64Error};
pub use retry::RetryPolicy;
pub use session_ext::ChangeCounts;
pub use watch::WaitOptions;

/// The API's messages and enums, generated from the spec.
pub mod types {
    pub use crate::generated::enums::*;
    pub use crate::generated::types::*;
}
