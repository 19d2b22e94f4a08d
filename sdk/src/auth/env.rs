//! Credentials from environment variables, in the order other Yandex Cloud
//! tools use them.

use std::path::Path;

use super::Credentials;
use super::service_account::ServiceAccountKey;
use crate::error::{AuthErrorKind, Error};

/// A fixed IAM token.
pub(crate) const IAM_TOKEN: &str = "YC_IAM_TOKEN";
/// An IAM token (`t1.` prefix) or an OAuth token.
pub(crate) const TOKEN: &str = "YC_TOKEN";
/// The path of a service-account authorized key file.
pub(crate) const KEY_FILE: &str = "YC_SERVICE_ACCOUNT_KEY_FILE";

/// Picks credentials from variables read through `lookup`.
pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, Error> {
    // Set but empty counts as not set, as in most shells' tools.
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    if let Some(token) = get(IAM_TOKEN) {
        return Ok(Credentials::iam_token(token.trim()));
    }
    if let Some(token) = get(TOKEN) {
        let token = token.trim();
        // IAM tokens start with `t1.`; anything else here is an OAuth token.
        return Ok(if token.starts_with("t1.") {
            Credentials::iam_token(token)
        } else {
            Credentials::oauth_token(token)
        });
    }
    if let Some(path) = get(KEY_FILE) {
        let key = ServiceAccountKey::from_file(Path::new(&path), Some(KEY_FILE))?;
        return Ok(Credentials::from_key(key));
    }
    Err(Error::auth(
        AuthErrorKind::Missing,
        format!(
            "no credentials in the environment: tried {IAM_TOKEN}, {TOKEN} and {KEY_FILE}, \
             and none is set; on a Yandex Cloud VM use Credentials::metadata()"
        ),
    ))
}
