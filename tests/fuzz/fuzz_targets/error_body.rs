//! Error bodies under an error status: `google.rpc.Status` JSON, HTML from
//! a proxy, or anything else, through the error mapping.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = yc_idp::fuzzing::error_body_target(data) {
        panic!("{broken}");
    }
});
