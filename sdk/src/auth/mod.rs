//! Credentials: where the IAM token for `Authorization: Bearer` comes from.
//!
//! [`Credentials`] is what users configure; [`TokenSource`] is what a built
//! client holds and asks for a token before every attempt. The token cache,
//! the IAM exchange, service-account keys, the metadata service and the
//! environment each have a module of their own.

mod cache;
mod env;
mod exchange;
mod http;
mod metadata;
mod service_account;

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use self::cache::{Fetched, TokenCache};
use self::exchange::Grant;
pub(crate) use self::service_account::ServiceAccountKey;
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
    /// When it expires; `None` when unknown (the client then refreshes it
    /// after an hour).
    pub expires_at: Option<SystemTime>,
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, Error>> + Send + 'a>>;

/// A custom source of IAM tokens: a vault, a sidecar, a test double.
///
/// A client caches what [`fetch`](TokenProvider::fetch) returns like any
/// other token: until shortly before `expires_at` (an unknown expiry counts
/// as IAM's 12 hours), refreshing after an hour; concurrent calls share one
/// fetch, and a 401 from the API makes the client fetch again once.
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

/// A provider shared with other code (or other clients) stays one provider:
/// `Credentials::custom(Arc::clone(&provider))`.
impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn fetch(&self) -> TokenFuture<'_> {
        (**self).fetch()
    }
}

/// How a client authenticates: which secret it holds and how it turns that
/// into IAM tokens.
///
/// Cheap to clone. `Debug` shows the kind (and non-secret ids), never the
/// secret. Tokens obtained by exchange are cached per client, refreshed ahead
/// of expiry, and fetched once for any number of concurrent calls.
///
/// ```no_run
/// # fn run() -> Result<(), yc_idp::Error> {
/// use yc_idp::Credentials;
///
/// // YC_IAM_TOKEN, YC_TOKEN or YC_SERVICE_ACCOUNT_KEY_FILE:
/// let from_env = Credentials::from_env()?;
/// // A service-account authorized key, as `yc iam key create` writes it:
/// let key = Credentials::service_account_key_file("authorized_key.json")?;
/// // Inside a Yandex Cloud VM with a service account attached:
/// let vm = Credentials::metadata();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Credentials {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    IamToken(Token),
    ServiceAccount(Arc<ServiceAccountKey>),
    Metadata(Arc<str>),
    OAuth(Token),
    Custom(Arc<dyn TokenProvider>),
}

impl Credentials {
    /// A fixed IAM token, such as one from `yc iam create-token`. It is never
    /// refreshed: it stops working when it expires (at most 12 hours), and a
    /// 401 from the API is returned as is.
    pub fn iam_token(token: impl Into<String>) -> Self {
        Credentials {
            kind: Kind::IamToken(Token::new(token)),
        }
    }

    /// A service-account authorized key file, as `yc iam key create
    /// --output authorized_key.json` writes it. The key is read and checked
    /// now; IAM tokens are obtained from it by signed-JWT exchange.
    ///
    /// Errors ([`AuthErrorKind::InvalidKey`](crate::AuthErrorKind::InvalidKey))
    /// name the file and what is wrong with it, never the key itself.
    pub fn service_account_key_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        ServiceAccountKey::from_file(path.as_ref(), None).map(Self::from_key)
    }

    /// A service-account authorized key given as its JSON text (from a
    /// secret store, say). Both snake_case (`service_account_id`,
    /// `private_key`, ...) and camelCase (`serviceAccountId`, `privateKey`,
    /// ...) field names are accepted; the private key is a PKCS#8 PEM, which
    /// may follow the `PLEASE DO NOT REMOVE THIS LINE!` line Yandex Cloud adds.
    ///
    /// ```
    /// let err = yc_idp::Credentials::service_account_key(r#"{"id": "ajekey"}"#).unwrap_err();
    /// assert!(err.to_string().contains("service_account_id"));
    /// ```
    pub fn service_account_key(key: impl AsRef<str>) -> Result<Self, Error> {
        ServiceAccountKey::from_json(key.as_ref(), "the service-account key").map(Self::from_key)
    }

    fn from_key(key: ServiceAccountKey) -> Self {
        Credentials {
            kind: Kind::ServiceAccount(Arc::new(key)),
        }
    }

    /// The VM's metadata service, which hands out tokens of the service
    /// account attached to the VM: at `169.254.169.254`, or at the address in
    /// `YC_METADATA_ADDR` when that is set (read now).
    pub fn metadata() -> Self {
        Self::metadata_at(metadata::addr_from_env())
    }

    /// The metadata service at `addr` (`host` or `host:port`), whatever the
    /// environment says.
    pub fn metadata_at(addr: impl Into<String>) -> Self {
        Credentials {
            kind: Kind::Metadata(Arc::from(addr.into())),
        }
    }

    /// A Yandex Passport OAuth token, exchanged for IAM tokens.
    ///
    /// **Deprecated by the provider**: Yandex Cloud is retiring OAuth tokens
    /// for API access (end of 2026). Prefer a service-account key, or
    /// [`Credentials::metadata`] on a VM.
    pub fn oauth_token(token: impl Into<String>) -> Self {
        Credentials {
            kind: Kind::OAuth(Token::new(token)),
        }
    }

    /// Credentials from the environment, trying in order:
    ///
    /// 1. `YC_IAM_TOKEN`: a fixed IAM token;
    /// 2. `YC_TOKEN`: an IAM token if it starts with `t1.`, otherwise an
    ///    OAuth token;
    /// 3. `YC_SERVICE_ACCOUNT_KEY_FILE`: the path of an authorized key file.
    ///
    /// An empty variable counts as unset. The metadata service is not probed:
    /// use [`Credentials::metadata`] for that. When nothing is set the error
    /// ([`AuthErrorKind::Missing`](crate::AuthErrorKind::Missing)) lists what
    /// was tried.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`Credentials::from_env`] with variables read through `lookup`: from a
    /// configuration map, or in tests.
    ///
    /// ```
    /// use yc_idp::Credentials;
    ///
    /// let credentials = Credentials::from_env_with(|name| {
    ///     (name == "YC_TOKEN").then(|| "t1.example".to_string())
    /// })?;
    /// assert_eq!(credentials.kind(), "IAM token");
    /// # Ok::<(), yc_idp::Error>(())
    /// ```
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        env::from_lookup(lookup)
    }

    /// A provider of your own.
    pub fn custom(provider: impl TokenProvider + 'static) -> Self {
        Credentials {
            kind: Kind::Custom(Arc::new(provider)),
        }
    }

    /// Whether tokens come from the VM's metadata service.
    pub(crate) fn is_metadata(&self) -> bool {
        matches!(self.kind, Kind::Metadata(_))
    }

    /// A short name of the kind of credentials, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.kind {
            Kind::IamToken(_) => "IAM token",
            Kind::ServiceAccount(_) => "service-account key",
            Kind::Metadata(_) => "metadata service",
            Kind::OAuth(_) => "OAuth token",
            Kind::Custom(_) => "custom provider",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Credentials");
        d.field("kind", &self.kind());
        match &self.kind {
            Kind::ServiceAccount(key) => d
                .field("service_account_id", &key.service_account_id())
                .field("key_id", &key.key_id()),
            Kind::Metadata(addr) => d.field("addr", addr),
            _ => &mut d,
        };
        d.finish()
    }
}

/// Where a built client gets its token before every attempt. Clones share
/// one cache.
#[derive(Clone)]
pub(crate) struct TokenSource {
    credentials: Credentials,
    http: reqwest::Client,
    /// For the metadata service: the same settings without any proxy.
    direct_http: Option<reqwest::Client>,
    iam_endpoint: Arc<str>,
    /// The limit on each request to IAM or the metadata service.
    request_timeout: Option<Duration>,
    cache: Arc<TokenCache>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.credentials.fmt(f)
    }
}

impl TokenSource {
    /// Binds credentials to the client's HTTP stack; exchanges go to
    /// `iam_endpoint` (already checked, without a trailing slash). The
    /// metadata service is reached through `direct_http` when given.
    pub(crate) fn new(
        credentials: Credentials,
        http: reqwest::Client,
        direct_http: Option<reqwest::Client>,
        iam_endpoint: String,
        request_timeout: Option<Duration>,
    ) -> Self {
        TokenSource {
            credentials,
            http,
            direct_http,
            iam_endpoint: Arc::from(iam_endpoint),
            request_timeout,
            cache: Arc::default(),
        }
    }

    /// A token to send now.
    pub(crate) async fn token(&self) -> Result<Token, Error> {
        match &self.credentials.kind {
            Kind::IamToken(token) => Ok(token.clone()),
            _ => {
                self.cache
                    .get(self.credentials.kind(), || self.fetch())
                    .await
            }
        }
    }

    /// A new token from the credentials, bypassing the cache.
    async fn fetch(&self) -> Result<Fetched, Error> {
        match &self.credentials.kind {
            Kind::IamToken(token) => Ok(Fetched {
                token: token.clone(),
                lifetime: None,
            }),
            Kind::ServiceAccount(key) => {
                let jwt = key.jwt()?;
                let grant = Grant::Jwt(&jwt);
                exchange::exchange(&self.http, &self.iam_endpoint, grant, self.request_timeout)
                    .await
            }
            Kind::OAuth(token) => {
                let grant = Grant::OAuth(token);
                exchange::exchange(&self.http, &self.iam_endpoint, grant, self.request_timeout)
                    .await
            }
            Kind::Metadata(addr) => {
                let http = self.direct_http.as_ref().unwrap_or(&self.http);
                metadata::fetch(http, addr, self.request_timeout).await
            }
            Kind::Custom(provider) => {
                let access = provider.fetch().await?;
                Ok(Fetched::expiring_at(access.token, access.expires_at))
            }
        }
    }

    /// The API refused `rejected` with 401. Returns whether a fresh token may
    /// differ, so that one retry is worth it: the next [`Self::token`] then
    /// fetches a new one. A fixed IAM token cannot change.
    pub(crate) fn invalidate(&self, rejected: &Token) -> bool {
        match &self.credentials.kind {
            Kind::IamToken(_) => false,
            _ => {
                self.cache.invalidate(rejected);
                true
            }
        }
    }
}
