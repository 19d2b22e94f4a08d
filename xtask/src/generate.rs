//! `cargo xtask generate [--check]`.

use std::path::Path;

/// The spec, relative to the workspace root; also how it is named in errors.
pub const SPEC: &str = "openapi/idp.yaml";
/// The checked-in output, relative to the workspace root.
pub const OUTPUT: &str = "sdk/src/generated.rs";

pub fn run(root: &Path, check: bool) -> Result<(), String> {
    let spec = yc_idp_codegen::load(&root.join(SPEC), SPEC).map_err(|e| e.to_string())?;
    let fresh = yc_idp_codegen::generate(&spec).map_err(|e| e.to_string())?;
    let out = root.join(OUTPUT);
    let current = std::fs::read_to_string(&out).unwrap_or_default();
    if check {
        let Some(diff) = yc_idp_codegen::stale_diff(&current, &fresh, OUTPUT, SPEC) else {
            eprintln!("{OUTPUT} is current");
            return Ok(());
        };
        print!("{diff}");
        return Err(format!(
            "{OUTPUT} is stale: run `cargo xtask generate` and commit the result"
        ));
    }
    if current == fresh {
        eprintln!("{OUTPUT} is already current");
    } else {
        std::fs::write(&out, fresh).map_err(|e| format!("cannot write {OUTPUT}: {e}"))?;
        eprintln!("wrote {OUTPUT}");
    }
    Ok(())
}
