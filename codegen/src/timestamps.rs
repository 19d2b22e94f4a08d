//! Timestamps decode through the SDK's RFC 3339 reader.
//!
//! typify types `format: date-time` as `chrono::DateTime<Utc>`, whose serde
//! impl goes through chrono's general-purpose parser: about 4,000
//! instructions a timestamp, more than the rest of a session's fields
//! together. Users keep chrono's type; each such field gets a
//! `deserialize_with` that reads it with chrono's RFC 3339 fast path
//! (`sdk/src/timestamp.rs`).

use quote::ToTokens;
use syn::{Field, Fields, Item, parse_quote};

use crate::Error;

const OPTION: &str = "::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>";
const BARE: &str = "::chrono::DateTime<::chrono::offset::Utc>";

/// Adds the attribute to every timestamp field in `items` (modules
/// included); returns how many it changed.
fn route_items(items: &mut [Item]) -> usize {
    let mut routed = 0;
    for item in items {
        match item {
            Item::Mod(module) => {
                if let Some((_, inner)) = &mut module.content {
                    routed += route_items(inner);
                }
            }
            Item::Struct(item) => {
                if let Fields::Named(fields) = &mut item.fields {
                    routed += fields.named.iter_mut().filter_map(route_field).count();
                }
            }
            _ => {}
        }
    }
    routed
}

fn route_field(field: &mut Field) -> Option<()> {
    let ty: String = field
        .ty
        .to_token_stream()
        .to_string()
        .split_whitespace()
        .collect();
    let attr = if ty == OPTION {
        parse_quote!(#[serde(default, deserialize_with = "crate::timestamp::deserialize_option")])
    } else if ty == BARE {
        parse_quote!(#[serde(deserialize_with = "crate::timestamp::deserialize")])
    } else {
        return None;
    };
    field.attrs.push(attr);
    Some(())
}

/// Routes the timestamp fields of `file`. `expected` says whether the spec
/// has any `format: date-time`: then finding none means progenitor's output
/// changed shape, which must not pass silently.
pub(crate) fn route(label: &str, file: &mut syn::File, expected: bool) -> Result<(), Error> {
    let routed = route_items(&mut file.items);
    if expected && routed == 0 {
        return Err(Error::spec(
            label,
            "",
            format!(
                "the spec has date-time fields but progenitor typed none as `{BARE}`; \
                 update codegen's timestamp routing"
            ),
        ));
    }
    Ok(())
}
