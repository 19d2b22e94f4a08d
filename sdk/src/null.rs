//! `null` as a field's default, as proto3 JSON readers take it.
//!
//! Codegen points every list field here (`deserialize_with`): serde's
//! derived reader refuses `null` for a `Vec`, while the proto3 JSON mapping
//! says `null` means the default value, an empty list.

use serde::{Deserialize, Deserializer};

/// The value, or its default when the JSON holds `null`.
pub(crate) fn as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}
