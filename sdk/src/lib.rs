//! Rust SDK for the Identity Provider API of Yandex Cloud Organization
//! Manager: read what each directory synchronization session did.
//!
//! ```no_run
//! # async fn run() -> Result<(), yc_idp::Error> {
//! let client = yc_idp::Client::builder()
//!     .credentials(yc_idp::Credentials::iam_token("t1.example"))
//!     .build()?;
//! let session = client.get_session("ek0sync7p1m5c2rb4qz1").await?;
//! println!("status: {}", session.status.unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! Hand-written runtime modules sit beside `generated.rs`, which progenitor
//! writes from `openapi/idp.yaml` and nobody edits.

#![deny(missing_docs)]

mod auth;
mod client;
mod code;
mod decode;
mod error;
mod hooks;
mod int64;
mod path;
mod retry;

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

/// The API's messages and enums, generated from the spec.
pub mod types {
    pub use crate::generated::enums::*;
    pub use crate::generated::types::*;
}
