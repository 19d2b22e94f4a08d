//! Reading proto3 timestamps (RFC 3339) into `chrono::DateTime<Utc>`.
//!
//! The generated types keep chrono's type; codegen points each timestamp
//! field here (`deserialize_with`) because chrono's own serde impl parses
//! through its general-purpose format machinery, which cost more than all
//! the other fields of a session together. `parse_from_rfc3339` is chrono's
//! fast path for the same format: any number of fractional digits (the
//! first nine kept), `Z` or an offset, converted to UTC.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserializer;
use serde::de::{self, Visitor};

/// A required timestamp.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(Rfc3339)
}

/// An optional one: absent (with `#[serde(default)]`) or `null` is `None`.
pub(crate) fn deserialize_option<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    d.deserialize_option(OptionalRfc3339)
}

struct Rfc3339;

impl Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DateTime<Utc>, E> {
        DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(E::custom)
    }
}

struct OptionalRfc3339;

impl<'de> Visitor<'de> for OptionalRfc3339 {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(default, deserialize_with = "super::deserialize_option")]
        at: Option<chrono::DateTime<chrono::Utc>>,
    }

    fn read(json: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn reads_what_chrono_reads_for_rfc_3339() {
        for text in [
            "2026-12-02T00:00:00Z",
            "2026-12-02T00:00:00.250Z",
            "2026-12-02T00:00:00.000000001Z",
            "2026-12-02T00:00:00.1234567891234Z",
            "2026-12-02T03:00:00+03:00",
            "2026-12-01T19:30:00.5-04:30",
            "2026-12-31t23:59:60z",
        ] {
            let ours = read(&format!(r#"{{"at": "{text}"}}"#)).unwrap().at;
            let chrono: chrono::DateTime<chrono::Utc> = text.parse().unwrap();
            assert_eq!(ours, Some(chrono), "{text}");
        }
        assert_eq!(read("{}").unwrap().at, None);
        assert_eq!(read(r#"{"at": null}"#).unwrap().at, None);
        for bad in [
            r#"{"at": "yesterday"}"#,
            r#"{"at": "2026-13-01T00:00:00Z"}"#,
            r#"{"at": "2026-12-02T00:00:00"}"#,
            r#"{"at": 1764633600}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
