//! Consumers never build the generator: yc-idp's normal dependency tree
//! holds progenitor-client but none of the code-generation crates.

use std::process::Command;

use yc_idp_tests::workspace_root;

#[test]
fn yc_idp_does_not_depend_on_the_generator() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "yc-idp",
            "-e",
            "normal",
            // Every feature a user may turn on (native-tls aside: its
            // crates are not fetched on a machine that never builds it).
            "--features",
            "mock,fuzzing",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"progenitor-client"), "{tree}");
    for banned in [
        "progenitor",
        "progenitor-impl",
        "typify",
        "typify-impl",
        "openapiv3",
        "prettyplease",
        "yc-idp-codegen",
    ] {
        assert!(
            !crates.contains(&banned),
            "{banned} is in yc-idp's normal dependencies"
        );
    }
}
