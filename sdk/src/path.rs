//! Encoding a caller's value into exactly one URL path segment.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters. Stricter than progenitor's
/// set: `\` is a path separator to the URL parser, so it must be escaped too.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` so that it stays one path segment.
///
/// `.` and `..` cannot be made literal in a URL (the parser removes them even
/// when escaped); callers reject those before building a request.
pub(crate) fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}
