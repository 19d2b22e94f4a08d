//! `cargo xtask bench [--quick] [--build]`: the SDK against a hand-written
//! `reqwest` client, in one process, as ratios A/B.
//!
//! `cargo xtask` runs in the dev profile, so `bench` only re-runs xtask in
//! release as the hidden `bench-run`, which does the measuring.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;

mod alloc;
mod build;
mod clients;
mod figures;
mod report;
mod server;

/// The canonical body served, relative to the workspace root.
const BODY: &str = "../shared/reference/examples/get-session-completed.json";

/// `cargo xtask bench`: builds and runs the measuring part optimized.
pub fn run(root: &Path, quick: bool, build: bool) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .args(["run", "--release", "--package", "xtask", "--", "bench-run"])
        .current_dir(root);
    if quick {
        command.arg("--quick");
    }
    if build {
        command.arg("--build");
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the release bench run failed ({status})"))
    }
}

/// `bench-run`: the measuring part.
pub fn run_measured(root: &Path, quick: bool, with_build: bool) -> Result<(), String> {
    if cfg!(debug_assertions) {
        eprintln!("bench: warning: not an optimized build; run `cargo xtask bench`");
    }
    let body_path = root.join(BODY);
    let body = std::fs::read(&body_path)
        .map_err(|e| format!("cannot read {}: {e}", body_path.display()))?;
    let (mode, plan) = if quick {
        ("quick", figures::Plan::quick())
    } else {
        ("full", figures::Plan::full())
    };
    let figures = figures::measure(&plan, Bytes::from(body))?;

    let target = target_dir(root).join("bench");
    let build = if with_build {
        Some(build::measure(root, &target, if quick { 1 } else { 2 })?)
    } else {
        None
    };

    let json = report::json(mode, &plan, &figures, build.as_ref());
    let text = serde_json::to_string_pretty(&json).map_err(|e| format!("results: {e}"))?;
    std::fs::create_dir_all(&target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let results = target.join("results.json");
    std::fs::write(&results, format!("{text}\n"))
        .map_err(|e| format!("cannot write {}: {e}", results.display()))?;

    println!("{}", report::table(mode, &figures, build.as_ref()));
    println!("{text}");
    eprintln!("bench: wrote {}", results.display());
    Ok(())
}

/// `bench-run --calls-only CLIENT --calls N`: N calls with one client and
/// nothing else, so that an instruction count (callgrind) of the SDK's run
/// minus the hand-written one's is the SDK's cost over `calls` calls.
pub fn calls_only(root: &Path, client: &str, calls: usize) -> Result<(), String> {
    let body_path = root.join(BODY);
    let body = std::fs::read(&body_path)
        .map_err(|e| format!("cannot read {}: {e}", body_path.display()))?;
    figures::calls_only(client, calls, Bytes::from(body))
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}
