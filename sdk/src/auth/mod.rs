//! Credentials: where the IAM token for `Authorization: Bearer` comes from.
//!
//! [`Credentials`] is what users configure; [`TokenSource`] is what a built
//! client holds and asks for a token before every attempt.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::Error;

/// A secret token. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Token(Arc::from(value.into()))
    }

    /// The secret value. Handle with care: never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A token and the time it stops being valid, as a provider returns it.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The IAM token.
    pub token: Token,
    /// When it expires; `None` when unknown (the token is then used as is).
    pub expires_at: Option<SystemTime>,
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, Error>> + Send + 'a>>;

/// A custom source of IAM tokens: a vault, a sidecar, a test double.
///
/// ```
/// use yc_idp::{AccessToken, Credentials, Token, TokenFuture, TokenProvider};
///
/// #[derive(Debug)]
/// struct FromVault;
///
/// impl TokenProvider for FromVault {
///     fn fetch(&self) -> TokenFuture<'_> {
///         Box::pin(async { Ok(AccessToken { token: Token::new("t1.from-vault"), expires_at: None }) })
///     }
/// }
///
/// let credentials = Credentials::custom(FromVault);
/// assert!(format!("{credentials:?}").contains("custom"));
/// ```
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Returns a currently valid token.
    fn fetch(&self) -> TokenFuture<'_>;
}

/// How a client authenticates. Cheap to clone; `Debug` shows the kind only.
#[derive(Clone)]
pub struct Credentials {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    IamToken(Token),
    Custom(Arc<dyn TokenProvider>),
}

impl Credentials {
    /// A fixed IAM token, such as one from `yc iam create-token`. It is never
    /// refreshed: it stops working when it expires (at most 12 hours).
    pub fn iam_token(token: impl Into<String>) -> Self {
        Credentials {
            kind: Kind::IamToken(Token::new(token)),
        }
    }

    /// A provider of your own.
    pub fn custom(provider: impl TokenProvider + 'static) -> Self {
        Credentials {
            kind: Kind::Custom(Arc::new(provider)),
        }
    }

    /// A short name of the kind of credentials, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.kind {
            Kind::IamToken(_) => "IAM token",
            Kind::Custom(_) => "custom provider",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("kind", &self.kind())
            .finish()
    }
}

/// Where a built client gets its token before every attempt.
#[derive(Clone, Debug)]
pub(crate) struct TokenSource {
    credentials: Credentials,
}

impl TokenSource {
    /// Binds credentials to the client's HTTP stack; exchanges go to
    /// `iam_endpoint` (already checked, without a trailing slash).
    pub(crate) fn new(
        credentials: Credentials,
        _http: reqwest::Client,
        _iam_endpoint: String,
    ) -> Self {
        TokenSource { credentials }
    }

    /// A token to send now.
    pub(crate) async fn token(&self) -> Result<Token, Error> {
        match &self.credentials.kind {
            Kind::IamToken(token) => Ok(token.clone()),
            Kind::Custom(provider) => Ok(provider.fetch().await?.token),
        }
    }

    /// The API refused `rejected` with 401. Returns whether a fresh token may
    /// differ, so that one retry is worth it.
    pub(crate) fn invalidate(&self, _rejected: &Token) -> bool {
        match &self.credentials.kind {
            Kind::IamToken(_) => false,
            Kind::Custom(_) => true,
        }
    }
}
