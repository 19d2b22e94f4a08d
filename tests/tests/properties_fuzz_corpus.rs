//! The fuzz targets' seed corpus (tests/fuzz/corpus), replayed through the
//! same harness functions the libFuzzer targets call, under a plain
//! `cargo test`: every seed keeps every invariant, and the seeds are what
//! their names say, so the fuzzer starts from inputs that reach deep.

use std::path::PathBuf;

use yc_idp::Error;
use yc_idp::fuzzing::{self, ResponseInput};
use yc_idp_tests::workspace_root;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = workspace_root().join("tests/fuzz/corpus").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&path).expect("a seed"))
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 10,
        "{} has only {} seeds",
        dir.display(),
        out.len()
    );
    out
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    corpus(target)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no seed {target}/{name}"))
        .1
}

#[test]
fn every_seed_keeps_the_invariants() {
    type Target = fn(&[u8]) -> Result<(), String>;
    let targets: [(&str, Target); 3] = [
        ("response", fuzzing::response_target),
        ("error_body", fuzzing::error_body_target),
        ("key_file", fuzzing::key_file_target),
    ];
    for (target, run) in targets {
        for (name, input) in corpus(target) {
            if let Err(broken) = run(&input) {
                panic!("{target}/{name}: {broken}");
            }
        }
    }
}

#[test]
fn the_reference_examples_are_seeds_that_decode() {
    for (name, _) in yc_idp_tests::examples() {
        let stem = name.trim_end_matches(".json");
        let input = seed("response", stem);
        let response = ResponseInput::parse(&input);
        let result = fuzzing::decode_response(response.status, &response.headers, response.body);
        if stem.starts_with("get-session") {
            assert_eq!(response.status, 200, "{stem}");
            assert!(result.is_ok(), "{stem}: {result:?}");
        } else {
            let err = result.expect_err(stem);
            assert!(matches!(err, Error::Api(_)), "{stem}: {err:?}");
            assert!(err.request_id().is_some(), "{stem}: {err:?}");
        }
    }
}

#[test]
fn the_head_format_splits_status_headers_and_body() {
    let input = b"503 application/json\r\nretry-after: 2\r\nx-request-id: r1\r\n\r\n{\"code\": 14}";
    let response = ResponseInput::parse(input);
    assert_eq!(response.status, 503);
    assert_eq!(
        response.headers,
        [
            ("content-type", "application/json"),
            ("retry-after", "2"),
            ("x-request-id", "r1")
        ]
    );
    assert_eq!(response.body, b"{\"code\": 14}");
    let err =
        fuzzing::decode_response(response.status, &response.headers, response.body).unwrap_err();
    assert_eq!(err.code(), Some(yc_idp::Code::Unavailable));
    assert_eq!(err.request_id(), Some("r1"));
    assert!(err.is_retryable());

    // No head: all body, a JSON 200.
    let bare = ResponseInput::parse(b"{\"session\": {}}");
    assert_eq!((bare.status, bare.body), (200, &b"{\"session\": {}}"[..]));
}

#[test]
fn the_test_key_seeds_sign_and_the_broken_ones_are_refused() {
    for name in [
        "test-key-snake-banner",
        "test-key-camel-bare-pem",
        "test-key-crlf",
    ] {
        let text = String::from_utf8(seed("key_file", name)).unwrap();
        let jwt = fuzzing::parse_key_file(&text);
        assert!(jwt.is_ok(), "{name}: {jwt:?}");
        assert_eq!(jwt.unwrap().split('.').count(), 3, "{name}");
    }
    for (name, expected) in [
        ("test-key-pkcs1-label", "PKCS#1"),
        ("test-key-encrypted-label", "encrypted"),
        ("test-key-truncated-pem", "not a PKCS#8 RSA private key"),
        ("test-key-ec-algorithm", "not supported"),
        ("missing-everything", "lacks"),
        ("not-json", "is not valid JSON"),
    ] {
        let text = String::from_utf8(seed("key_file", name)).unwrap();
        let err = fuzzing::parse_key_file(&text).unwrap_err();
        assert!(err.to_string().contains(expected), "{name}: {err}");
    }
}

#[test]
fn error_statuses_never_decode_to_a_session() {
    // A body that is a session under 200 is still an API error under 404.
    let err = fuzzing::decode_session(404, Some("application/json"), b"{\"session\": {}}");
    assert!(matches!(err, Err(Error::Api(_))), "{err:?}");
    assert_eq!(
        fuzzing::response_target(b"404 application/json\n\n{\"session\": {}}"),
        Ok(())
    );
    // Statuses no HTTP response has are refused before decoding.
    let err = fuzzing::decode_session(42, None, b"").unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}
