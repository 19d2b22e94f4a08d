//! Which SDK reader a generated field goes through, where serde's derived
//! one does not follow the proto3 JSON mapping or is needlessly slow. An
//! AST pass over progenitor's output adds `deserialize_with` attributes;
//! the public field types stay what typify made them.
//!
//! - Timestamps (`chrono::DateTime<Utc>`): chrono's serde impl goes through
//!   its general-purpose parser, about 4,000 instructions a timestamp, more
//!   than all other fields of a session together. `sdk/src/timestamp.rs`
//!   reads them with chrono's RFC 3339 fast path.
//! - Lists (`Vec<T>`): proto3 JSON readers take `null` as the field's
//!   default, and a list's is empty; serde refuses `null` for a `Vec`.
//!   `sdk/src/null.rs` reads `null` as an empty list.

use quote::ToTokens;
use syn::{Attribute, Field, Fields, Item, parse_quote};

use crate::Error;

const OPTIONAL_TIMESTAMP: &str = "::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>";
const TIMESTAMP: &str = "::chrono::DateTime<::chrono::offset::Utc>";
const LIST: &str = "::std::vec::Vec<";

/// How many fields of each kind the pass routed.
#[derive(Default)]
struct Routed {
    timestamps: usize,
    lists: usize,
}

fn route_items(items: &mut [Item], routed: &mut Routed) {
    for item in items {
        match item {
            Item::Mod(module) => {
                if let Some((_, inner)) = &mut module.content {
                    route_items(inner, routed);
                }
            }
            Item::Struct(item) => {
                if let Fields::Named(fields) = &mut item.fields {
                    fields.named.iter_mut().for_each(|f| route_field(f, routed));
                }
            }
            _ => {}
        }
    }
}

fn route_field(field: &mut Field, routed: &mut Routed) {
    let ty: String = field
        .ty
        .to_token_stream()
        .to_string()
        .split_whitespace()
        .collect();
    let attr: Attribute = if ty == OPTIONAL_TIMESTAMP {
        routed.timestamps += 1;
        parse_quote!(#[serde(default, deserialize_with = "crate::timestamp::deserialize_option")])
    } else if ty == TIMESTAMP {
        routed.timestamps += 1;
        parse_quote!(#[serde(deserialize_with = "crate::timestamp::deserialize")])
    } else if ty.starts_with(LIST) {
        // typify already gives lists `#[serde(default)]`; a second one
        // would not compile.
        routed.lists += 1;
        parse_quote!(#[serde(deserialize_with = "crate::null::as_empty")])
    } else {
        return;
    };
    field.attrs.push(attr);
}

/// Routes the fields of `file`. `expected_timestamps` and `expected_lists`
/// say whether the spec has any `format: date-time` and `type: array`:
/// finding none of a kind then means progenitor's output changed shape,
/// which must not pass silently.
pub(crate) fn route(
    label: &str,
    file: &mut syn::File,
    expected_timestamps: bool,
    expected_lists: bool,
) -> Result<(), Error> {
    let mut routed = Routed::default();
    route_items(&mut file.items, &mut routed);
    let missing = if expected_timestamps && routed.timestamps == 0 {
        Some(("date-time", TIMESTAMP))
    } else if expected_lists && routed.lists == 0 {
        Some(("array", "::std::vec::Vec<T>"))
    } else {
        None
    };
    match missing {
        Some((kind, rust)) => Err(Error::spec(
            label,
            "",
            format!(
                "the spec has {kind} fields but progenitor typed none as `{rust}`; \
                 update codegen/src/readers.rs"
            ),
        )),
        None => Ok(()),
    }
}
