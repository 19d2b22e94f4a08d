//! Service-account key files: parsed, and when they parse, signing a JWT.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = yc_idp::fuzzing::key_file_target(data) {
        panic!("{broken}");
    }
});
