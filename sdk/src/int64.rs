//! The proto3 JSON int64: a JSON string on the wire, an exact `i64` in Rust.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An int64 counter as proto3 JSON carries it.
///
/// It reads a JSON string (`"1520"`) or a JSON number (`1520`) and always
/// writes a string, so values above 2^53 stay exact end to end.
///
/// ```
/// let n: yc_idp::Int64 = serde_json::from_str("\"9007199254740993\"").unwrap();
/// assert_eq!(n.get(), 9_007_199_254_740_993);
/// assert_eq!(serde_json::to_string(&n).unwrap(), "\"9007199254740993\"");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Int64(pub i64);

impl Int64 {
    /// Wraps a value.
    pub const fn new(value: i64) -> Self {
        Int64(value)
    }

    /// The exact value.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for Int64 {
    fn from(value: i64) -> Self {
        Int64(value)
    }
}

impl From<Int64> for i64 {
    fn from(value: Int64) -> Self {
        value.0
    }
}

impl fmt::Display for Int64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A string that is not a base-10 int64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseInt64Error {
    input: String,
}

impl fmt::Display for ParseInt64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bounded: the input comes from the network.
        let shown: String = self.input.chars().take(40).collect();
        let more = if shown.len() < self.input.len() {
            "…"
        } else {
            ""
        };
        write!(f, "`{shown}{more}` is not an int64")
    }
}

impl std::error::Error for ParseInt64Error {}

impl FromStr for Int64 {
    type Err = ParseInt64Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<i64>().map(Int64).map_err(|_| ParseInt64Error {
            input: s.to_string(),
        })
    }
}

impl Serialize for Int64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Int64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Int64Visitor)
    }
}

struct Int64Visitor;

/// 2^53: above it an f64 no longer holds every integer exactly.
const F64_EXACT: f64 = 9_007_199_254_740_992.0;

impl Visitor<'_> for Int64Visitor {
    type Value = Int64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an int64 as a JSON string or number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Int64, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int64, E> {
        Ok(Int64(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int64, E> {
        i64::try_from(v)
            .map(Int64)
            .map_err(|_| E::custom(format!("{v} overflows int64")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int64, E> {
        // proto3 readers accept `1e3`; anything inexact is refused.
        if v.fract() == 0.0 && v.abs() <= F64_EXACT {
            Ok(Int64(v as i64))
        } else {
            Err(E::custom(format!("{v} is not an exact int64")))
        }
    }
}

impl schemars::JsonSchema for Int64 {
    fn schema_name() -> String {
        "Int64".to_string()
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            format: Some("int64".to_string()),
            ..Default::default()
        }
        .into()
    }
}
