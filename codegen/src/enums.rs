//! Forward-compatible enums, emitted from the spec's string enums.
//!
//! typify would make closed enums that fail to decode a value added to the API
//! after this SDK was built. Instead every string enum becomes a
//! `#[non_exhaustive]` Rust enum with an `Unknown(String)` variant that keeps
//! the raw value, and progenitor is told (`with_replacement`) to use it.

use heck::ToUpperCamelCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::Error;

/// The Rust tokens of one enum named `name` with the given wire values.
pub(crate) fn emit(
    label: &str,
    name: &str,
    description: &str,
    values: &[String],
) -> Result<TokenStream, Error> {
    let pointer = format!("/components/schemas/{}/enum", crate::spec::escape(name));
    let ident = format_ident!("{}", name);
    let mut variants = Vec::with_capacity(values.len());
    for value in values {
        let v = value.to_upper_camel_case();
        // `SELF` would become `Self`, a keyword: syn refuses it as a name.
        let ok_ident = v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && v.chars().all(|c| c.is_ascii_alphanumeric())
            && syn::parse_str::<syn::Ident>(&v).is_ok();
        if !ok_ident || v == "Unknown" {
            return Err(Error::spec(
                label,
                &pointer,
                format!("enum value `{value}` cannot become a Rust variant name"),
            ));
        }
        if variants
            .iter()
            .any(|(existing, _): &(String, &String)| *existing == v)
        {
            return Err(Error::spec(
                label,
                &pointer,
                format!("enum value `{value}` clashes with another value as variant `{v}`"),
            ));
        }
        variants.push((v, value));
    }

    let idents: Vec<_> = variants
        .iter()
        .map(|(v, _)| format_ident!("{}", v))
        .collect();
    let wire: Vec<_> = variants.iter().map(|(_, w)| w.as_str()).collect();
    let variant_docs: Vec<_> = wire.iter().map(|w| format!("`{w}`")).collect();
    let first = &idents[0];
    let doc = format!(
        "{description}\n\nForward-compatible: a value this version of the SDK does not know \
         decodes to [`{name}::Unknown`] and serializes back unchanged."
    );
    let schema_doc = format!("{description} Known values: {}.", wire.join(", "));

    Ok(quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #ident {
            #(
                #[doc = #variant_docs]
                #idents,
            )*
            /// A value unknown to this version of the SDK, kept verbatim.
            Unknown(::std::string::String),
        }

        impl #ident {
            /// Every value this version of the SDK knows, in spec order.
            pub const KNOWN: &'static [#ident] = &[#(#ident::#idents),*];

            /// The value's name on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#ident::#idents => #wire,)*
                    #ident::Unknown(raw) => raw.as_str(),
                }
            }

            /// Whether the value is one this version of the SDK does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, #ident::Unknown(_))
            }
        }

        impl ::std::default::Default for #ident {
            /// The proto3 default, the value numbered 0.
            fn default() -> Self {
                #ident::#first
            }
        }

        impl ::std::convert::From<&str> for #ident {
            fn from(value: &str) -> Self {
                match value {
                    #(#wire => #ident::#idents,)*
                    other => #ident::Unknown(other.to_string()),
                }
            }
        }

        impl ::std::str::FromStr for #ident {
            type Err = ::std::convert::Infallible;

            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(#ident::from(value))
            }
        }

        impl ::std::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for #ident {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #ident {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                struct Visit;
                impl ::serde::de::Visitor<'_> for Visit {
                    type Value = #ident;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!(#ident), " name"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, value: &str) -> ::std::result::Result<#ident, E> {
                        Ok(#ident::from(value))
                    }
                }
                deserializer.deserialize_str(Visit)
            }
        }

        impl ::schemars::JsonSchema for #ident {
            fn schema_name() -> ::std::string::String {
                stringify!(#ident).to_string()
            }

            fn json_schema(_: &mut ::schemars::r#gen::SchemaGenerator) -> ::schemars::schema::Schema {
                // Any string: values unknown today are valid tomorrow.
                ::schemars::schema::SchemaObject {
                    instance_type: Some(::schemars::schema::InstanceType::String.into()),
                    metadata: Some(Box::new(::schemars::schema::Metadata {
                        description: Some(#schema_doc.to_string()),
                        ..Default::default()
                    })),
                    ..Default::default()
                }
                .into()
            }
        }
    })
}
