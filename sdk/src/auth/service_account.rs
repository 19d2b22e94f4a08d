//! Service-account authorized keys: reading the JSON key, and signing the
//! PS256 JWT that IAM exchanges for a token.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Deserialize;

use crate::error::{AuthErrorKind, Error};

/// The JWT's audience: always the production exchange URL, even when the
/// client sends the exchange elsewhere (a proxy, a mock).
pub(crate) const AUDIENCE: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";
/// How long a JWT is valid; IAM accepts at most an hour.
pub(crate) const JWT_LIFETIME_S: u64 = 3600;
/// Key files are a few kilobytes; refuse to slurp anything huge by mistake.
const MAX_KEY_FILE: u64 = 1024 * 1024;

/// A parsed key, ready to sign. `Debug` shows the ids, never the key.
pub(crate) struct ServiceAccountKey {
    key_id: String,
    service_account_id: String,
    key: EncodingKey,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("key_id", &self.key_id)
            .field("service_account_id", &self.service_account_id)
            .finish_non_exhaustive()
    }
}

/// The key JSON as `yc` writes it (snake_case) or as some tools do
/// (camelCase). Every field is optional here so that a missing one is
/// reported by name, with the others.
#[derive(Deserialize)]
struct RawKey {
    id: Option<String>,
    #[serde(alias = "serviceAccountId")]
    service_account_id: Option<String>,
    #[serde(alias = "privateKey")]
    private_key: Option<String>,
    #[serde(alias = "keyAlgorithm")]
    key_algorithm: Option<String>,
}

impl ServiceAccountKey {
    /// Reads a key file. `origin` says where the path came from, for errors.
    pub(crate) fn from_file(path: &Path, origin: Option<&str>) -> Result<Self, Error> {
        let mut source = format!("key file `{}`", path.display());
        if let Some(origin) = origin {
            source.push_str(&format!(" (from {origin})"));
        }
        let file = std::fs::File::open(path)
            .map_err(|e| invalid(&source, &format!("cannot be opened: {e}")))?;
        let mut text = String::new();
        file.take(MAX_KEY_FILE + 1)
            .read_to_string(&mut text)
            .map_err(|e| invalid(&source, &format!("cannot be read as text: {e}")))?;
        if text.len() as u64 > MAX_KEY_FILE {
            return Err(invalid(
                &source,
                "is over 1 MiB, which no service-account key is",
            ));
        }
        Self::from_json(&text, &source)
    }

    /// Parses the JSON of a key; `source` names it in errors.
    pub(crate) fn from_json(text: &str, source: &str) -> Result<Self, Error> {
        // serde_json's messages can quote values; only the position is kept.
        let raw: RawKey = serde_json::from_str(text).map_err(|e| {
            // serde names the field (never a value) when one comes twice,
            // as when both the snake_case and the camelCase name are there.
            let message = e.to_string();
            let duplicate = message
                .strip_prefix("duplicate field `")
                .and_then(|rest| rest.split('`').next())
                .map(|field| format!("has `{field}` twice (in snake_case and camelCase?)"));
            let what = match (e.classify(), &duplicate) {
                (_, Some(duplicate)) => duplicate.as_str(),
                (serde_json::error::Category::Data, None) => "is JSON but not a key object",
                _ => "is not valid JSON",
            };
            invalid(
                source,
                &format!("{what} (line {}, column {})", e.line(), e.column()),
            )
        })?;
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let missing: Vec<&str> = [
            (&raw.id, "`id`"),
            (
                &raw.service_account_id,
                "`service_account_id` (or `serviceAccountId`)",
            ),
            (&raw.private_key, "`private_key` (or `privateKey`)"),
        ]
        .into_iter()
        .filter(|(v, _)| !present(v))
        .map(|(_, name)| name)
        .collect();
        if !missing.is_empty() {
            return Err(invalid(
                source,
                &format!("lacks {} (absent or empty)", missing.join(", ")),
            ));
        }
        let (Some(key_id), Some(service_account_id), Some(private_key)) =
            (raw.id, raw.service_account_id, raw.private_key)
        else {
            return Err(invalid(source, "lacks a required field"));
        };
        if let Some(algorithm) = raw.key_algorithm.as_deref().filter(|a| !a.is_empty())
            && !matches!(algorithm, "RSA_2048" | "RSA_4096")
        {
            let shown: String = algorithm.chars().take(40).collect();
            return Err(invalid(
                source,
                &format!(
                    "has key_algorithm `{shown}`, which is not supported: \
                     only RSA_2048 and RSA_4096 keys sign the PS256 JWT IAM accepts"
                ),
            ));
        }
        Ok(ServiceAccountKey {
            key: signing_key(&private_key, source)?,
            key_id: key_id.trim().to_string(),
            service_account_id: service_account_id.trim().to_string(),
        })
    }

    /// The key id (`kid`).
    pub(crate) fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The service account the key belongs to.
    pub(crate) fn service_account_id(&self) -> &str {
        &self.service_account_id
    }

    /// A fresh JWT to exchange for an IAM token.
    pub(crate) fn jwt(&self) -> Result<String, Error> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| {
                Error::auth(
                    AuthErrorKind::InvalidKey,
                    "the system clock is before 1970, so no JWT can be dated",
                )
            })?
            .as_secs();
        let header = serde_json::json!({ "typ": "JWT", "alg": "PS256", "kid": self.key_id });
        let claims = serde_json::json!({
            "iss": self.service_account_id,
            "aud": AUDIENCE,
            "iat": iat,
            "exp": iat + JWT_LIFETIME_S,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = sign(&self.key, signing_input.as_bytes()).map_err(|()| {
            Error::auth(
                AuthErrorKind::InvalidKey,
                format!(
                    "service-account key `{}` could not sign the JWT",
                    self.key_id
                ),
            )
        })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// Signs with PS256 (PSS, SHA-256, 32-byte salt) through aws-lc-rs. The
/// provider is named rather than taken from jsonwebtoken's process default,
/// which is unset (and panics) when another crate in the build enables its
/// other backend.
fn sign(key: &EncodingKey, message: &[u8]) -> Result<Vec<u8>, ()> {
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    let signer = (provider.signer_factory)(&Algorithm::PS256, key).map_err(|_| ())?;
    signer.try_sign(message).map_err(|_| ())
}

/// The private key from the PEM text, checked by signing once so that a bad
/// key is reported when the credentials are made, not at the first call.
fn signing_key(pem: &str, source: &str) -> Result<EncodingKey, Error> {
    const BEGIN: &str = "-----BEGIN ";
    // Yandex Cloud puts a "PLEASE DO NOT REMOVE THIS LINE! ..." line first.
    let Some(start) = pem.find(BEGIN) else {
        return Err(invalid(
            source,
            "has a `private_key` that is not PEM (no `-----BEGIN` line)",
        ));
    };
    let pem = &pem[start..];
    // Only a well-formed label is ever quoted: a broken header line could
    // run into the key itself.
    let label = pem[BEGIN.len()..]
        .lines()
        .next()
        .and_then(|line| line.strip_suffix("-----"))
        .filter(|l| l.len() <= 40 && l.chars().all(|c| c.is_ascii_uppercase() || c == ' '));
    match label {
        Some("PRIVATE KEY") => {}
        Some("RSA PRIVATE KEY") => {
            return Err(invalid(
                source,
                "has a PKCS#1 `private_key` (BEGIN RSA PRIVATE KEY); a PKCS#8 one \
                 (BEGIN PRIVATE KEY) is expected: convert it with \
                 `openssl pkcs8 -topk8 -nocrypt`",
            ));
        }
        Some("ENCRYPTED PRIVATE KEY") => {
            return Err(invalid(
                source,
                "has an encrypted `private_key`; an unencrypted PKCS#8 RSA key is expected",
            ));
        }
        Some(other) => {
            return Err(invalid(
                source,
                &format!(
                    "has a `{other}` PEM block as `private_key`; \
                     an unencrypted PKCS#8 RSA private key is expected"
                ),
            ));
        }
        None => {
            return Err(invalid(
                source,
                "has a `private_key` whose PEM header line is malformed",
            ));
        }
    }
    let not_rsa = || {
        invalid(
            source,
            "has a `private_key` that is not a PKCS#8 RSA private key (2048 to 8192 bits)",
        )
    };
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| not_rsa())?;
    sign(&key, b"probe").map_err(|()| not_rsa())?;
    Ok(key)
}

fn invalid(source: &str, problem: &str) -> Error {
    Error::auth(AuthErrorKind::InvalidKey, format!("{source} {problem}"))
}
