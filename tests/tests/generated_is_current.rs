//! A plain `cargo test` catches a spec change that was not regenerated.

use yc_idp_tests::workspace_root;

#[test]
fn checked_in_client_matches_the_spec() {
    let root = workspace_root();
    let spec = yc_idp_codegen::load(&root.join("openapi/idp.yaml"), "openapi/idp.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    let fresh = yc_idp_codegen::generate(&spec).unwrap_or_else(|e| panic!("{e}"));
    let current = std::fs::read_to_string(root.join("sdk/src/generated.rs")).unwrap();
    assert!(
        current == fresh,
        "sdk/src/generated.rs is stale: run `cargo xtask generate` (and see `cargo xtask generate --check` for the diff)"
    );
}

#[test]
fn a_new_enum_value_becomes_a_variant() {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("openapi/idp.yaml")).unwrap();
    let grown = text.replace(
        "        - EXPIRED\n",
        "        - EXPIRED\n        - PAUSED\n",
    );
    assert_ne!(grown, text);
    let spec = yc_idp_codegen::parse("openapi/idp.yaml", &grown).unwrap();
    let out = yc_idp_codegen::generate(&spec).unwrap();
    assert!(
        out.contains("\"PAUSED\" => SessionStatus::Paused"),
        "decodes to the new variant"
    );
    assert!(
        out.contains("SessionStatus::Paused => \"PAUSED\""),
        "encodes from it"
    );

    // What `cargo xtask generate --check` prints against the checked-in file.
    let current = std::fs::read_to_string(root.join("sdk/src/generated.rs")).unwrap();
    let diff =
        yc_idp_codegen::stale_diff(&current, &out, "sdk/src/generated.rs", "openapi/idp.yaml")
            .expect("the grown spec makes the checked-in file stale");
    assert!(diff.starts_with("--- sdk/src/generated.rs (checked in)\n+++ sdk/src/generated.rs (from openapi/idp.yaml)\n"), "{diff}");
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+') && l.contains("Paused")),
        "the diff names the new variant:\n{diff}"
    );
    assert!(yc_idp_codegen::stale_diff(&current, &current, "a", "b").is_none());
}
