//! The gRPC status codes the API reports, and their HTTP statuses.

use std::fmt;

/// A gRPC status code, as carried in a `google.rpc.Status` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// 1, HTTP 499: the caller cancelled the call.
    Cancelled,
    /// 2, HTTP 500: an unknown error.
    Unknown,
    /// 3, HTTP 400: the request is invalid.
    InvalidArgument,
    /// 4, HTTP 504: the deadline passed before the server finished.
    DeadlineExceeded,
    /// 5, HTTP 404: no such session.
    NotFound,
    /// 6, HTTP 409: the resource already exists.
    AlreadyExists,
    /// 7, HTTP 403: the caller may not do this.
    PermissionDenied,
    /// 8, HTTP 429: a quota or rate limit is exhausted.
    ResourceExhausted,
    /// 9, HTTP 400: the system is not in a state for this call.
    FailedPrecondition,
    /// 10, HTTP 409: the call was aborted, typically by a conflict.
    Aborted,
    /// 11, HTTP 400: a value is out of range.
    OutOfRange,
    /// 12, HTTP 501: the call is not implemented.
    Unimplemented,
    /// 13, HTTP 500: an internal error.
    Internal,
    /// 14, HTTP 503: the service is unavailable; retry.
    Unavailable,
    /// 15, HTTP 500: unrecoverable data loss.
    DataLoss,
    /// 16, HTTP 401: the IAM token is missing, invalid or expired.
    Unauthenticated,
    /// A number outside 1-16 (0 is OK and never an error).
    Other(i32),
}

impl Code {
    /// The code for a gRPC number.
    pub fn from_i32(n: i32) -> Code {
        match n {
            1 => Code::Cancelled,
            2 => Code::Unknown,
            3 => Code::InvalidArgument,
            4 => Code::DeadlineExceeded,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            7 => Code::PermissionDenied,
            8 => Code::ResourceExhausted,
            9 => Code::FailedPrecondition,
            10 => Code::Aborted,
            11 => Code::OutOfRange,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            15 => Code::DataLoss,
            16 => Code::Unauthenticated,
            other => Code::Other(other),
        }
    }

    /// The gRPC number.
    pub fn as_i32(self) -> i32 {
        match self {
            Code::Cancelled => 1,
            Code::Unknown => 2,
            Code::InvalidArgument => 3,
            Code::DeadlineExceeded => 4,
            Code::NotFound => 5,
            Code::AlreadyExists => 6,
            Code::PermissionDenied => 7,
            Code::ResourceExhausted => 8,
            Code::FailedPrecondition => 9,
            Code::Aborted => 10,
            Code::OutOfRange => 11,
            Code::Unimplemented => 12,
            Code::Internal => 13,
            Code::Unavailable => 14,
            Code::DataLoss => 15,
            Code::Unauthenticated => 16,
            Code::Other(n) => n,
        }
    }

    /// The code an HTTP status stands for when the body does not say, by the
    /// API's mapping table; statuses outside it follow gRPC's HTTP mapping.
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::NotFound,
            408 => Code::DeadlineExceeded,
            409 => Code::Aborted,
            429 => Code::ResourceExhausted,
            499 => Code::Cancelled,
            500 => Code::Internal,
            501 => Code::Unimplemented,
            502 | 503 => Code::Unavailable,
            504 => Code::DeadlineExceeded,
            _ => Code::Unknown,
        }
    }

    /// The HTTP status the API answers this code with.
    pub fn http_status(self) -> u16 {
        match self {
            Code::Cancelled => 499,
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists | Code::Aborted => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::Unimplemented => 501,
            Code::Unavailable => 503,
            Code::Unauthenticated => 401,
            Code::Unknown | Code::Internal | Code::DataLoss | Code::Other(_) => 500,
        }
    }

    /// The code's canonical name, `NOT_FOUND`.
    pub fn name(self) -> &'static str {
        match self {
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Other(_) => "OTHER",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Other(n) => write!(f, "code {n}"),
            other => f.write_str(other.name()),
        }
    }
}
