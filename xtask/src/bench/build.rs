//! Build figures (`--build`): clean dev builds of `yc-idp` against a scratch
//! crate with only the stack a hand-written client needs, interleaved, and
//! the size of each normal dependency tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The hand-written client's stack, with the features the SDK enables:
/// `[workspace.dependencies]` plus the SDK's default `rustls` feature.
const SCRATCH_MANIFEST: &str = r#"[package]
name = "bench-scratch"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
reqwest = { version = "0.13.5", default-features = false, features = ["json", "stream", "http2", "charset", "rustls"] }
serde = { version = "1.0.226", features = ["derive"] }
serde_json = "1.0.150"
tokio = { version = "1.52", features = ["macros", "rt", "time", "sync"] }

# Not a member of any workspace above the temp dir.
[workspace]
"#;

/// The "twenty lines" a user would write instead of depending on the SDK.
const SCRATCH_LIB: &str = r#"#[derive(Debug, Default, serde::Deserialize)]
pub struct Response {
    pub session: Option<Session>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub session_id: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub progress_entries: Vec<serde_json::Value>,
}

pub async fn get_session(http: &reqwest::Client, base: &str, token: &str, id: &str)
    -> Result<Session, Box<dyn std::error::Error>> {
    let body = http
        .get(format!("{base}/organization-manager/v1/idp/synchronization-sessions/{id}"))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send().await?.error_for_status()?.bytes().await?;
    Ok(serde_json::from_slice::<Response>(&body)?.session.unwrap_or_default())
}
"#;

pub struct BuildFigures {
    /// Seconds of each clean build, in round order.
    pub sdk_secs: Vec<f64>,
    pub scratch_secs: Vec<f64>,
    /// Crates in each normal dependency tree, the root itself not counted.
    pub sdk_crates: usize,
    pub scratch_crates: usize,
}

impl BuildFigures {
    pub fn round_ratios(&self) -> Vec<f64> {
        self.sdk_secs
            .iter()
            .zip(&self.scratch_secs)
            .map(|(a, b)| a / b)
            .collect()
    }
}

pub fn measure(root: &Path, target: &Path, rounds: usize) -> Result<BuildFigures, String> {
    let scratch = std::env::temp_dir().join(format!("yc-idp-bench-scratch-{}", std::process::id()));
    let result = measure_with(root, target, &scratch, rounds);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measure_with(
    root: &Path,
    target: &Path,
    scratch: &Path,
    rounds: usize,
) -> Result<BuildFigures, String> {
    write_scratch(root, scratch)?;
    // Downloads are not build time.
    cargo(root, &["fetch"], None)?;
    cargo(scratch, &["fetch"], None)?;

    let sdk_target = target.join("build-yc-idp");
    let scratch_target = target.join("build-scratch");
    let (mut sdk_secs, mut scratch_secs) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        eprintln!("bench: clean build {round}/{rounds} of yc-idp");
        sdk_secs.push(clean_build(root, &["build", "-p", "yc-idp"], &sdk_target)?);
        eprintln!("bench: clean build {round}/{rounds} of the scratch crate");
        scratch_secs.push(clean_build(scratch, &["build"], &scratch_target)?);
    }
    // Each is a full target dir; nothing reuses them.
    let _ = std::fs::remove_dir_all(&sdk_target);
    let _ = std::fs::remove_dir_all(&scratch_target);

    let tree = ["tree", "-e", "normal", "--prefix", "none"];
    let sdk_tree = cargo(root, &[&tree[..], &["-p", "yc-idp"]].concat(), None)?;
    let scratch_tree = cargo(scratch, &tree, None)?;
    Ok(BuildFigures {
        sdk_secs,
        scratch_secs,
        sdk_crates: count_crates(&sdk_tree),
        scratch_crates: count_crates(&scratch_tree),
    })
}

fn write_scratch(root: &Path, scratch: &Path) -> Result<(), String> {
    let src = scratch.join("src");
    std::fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(scratch.join("Cargo.toml"), SCRATCH_MANIFEST)?;
    write(src.join("lib.rs"), SCRATCH_LIB)?;
    // The workspace's lock pins the same versions; cargo drops what is unused.
    std::fs::copy(root.join("Cargo.lock"), scratch.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    Ok(())
}

fn clean_build(dir: &Path, args: &[&str], target: &Path) -> Result<f64, String> {
    if target.exists() {
        std::fs::remove_dir_all(target)
            .map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
    }
    let started = Instant::now();
    cargo(dir, args, Some(target))?;
    Ok(started.elapsed().as_secs_f64())
}

/// Runs cargo quietly in `dir`; its stdout, or its stderr in the error.
fn cargo(dir: &Path, args: &[&str], target: Option<&Path>) -> Result<String, String> {
    let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(program);
    command.args(args).arg("--quiet").current_dir(dir);
    if let Some(target) = target {
        command.env("CARGO_TARGET_DIR", target);
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`cargo {}` in {} failed ({}):\n{}",
            args.join(" "),
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Distinct `name version` pairs of a `cargo tree --prefix none` listing,
/// without its first line, the root.
fn count_crates(tree: &str) -> usize {
    let key = |line: &str| {
        let mut words = line.split_whitespace();
        Some(format!("{} {}", words.next()?, words.next()?))
    };
    let mut lines = tree.lines().filter(|l| !l.trim().is_empty());
    let root = lines.next().and_then(key);
    let crates: BTreeSet<String> = lines.filter_map(key).collect();
    crates.len() - usize::from(root.is_some_and(|r| crates.contains(&r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_are_counted_once_without_the_root() {
        let tree = "yc-idp v0.1.0 (/w/sdk)\nbytes v1.10.1\nhttp v1.3.1\nbytes v1.10.1\n\
                    serde_derive v1.0.228 (proc-macro)\nhttp v1.3.1 (*)\n";
        assert_eq!(count_crates(tree), 3);
        assert_eq!(count_crates(""), 0);
    }
}
