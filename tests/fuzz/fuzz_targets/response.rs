//! Whole `GetSession` responses: a status line, headers and a body (see
//! `yc_idp::fuzzing::ResponseInput`), through the same decoding as a call.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = yc_idp::fuzzing::response_target(data) {
        panic!("{broken}");
    }
});
