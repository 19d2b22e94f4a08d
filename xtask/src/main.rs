//! `cargo xtask`: the workspace's task runner.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

mod bench;
mod fuzz;
mod generate;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "yc-idp workspace tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Regenerate sdk/src/generated.rs from openapi/idp.yaml.
    Generate {
        /// Write nothing; fail with a diff when the checked-in file is stale.
        #[arg(long)]
        check: bool,
    },
    /// Everything CI runs: generate --check, fmt, clippy, tests and docs.
    Ci,
    /// Measure the SDK against a hand-written reqwest client (built in release).
    Bench {
        /// A small run, well under 30 s once built: a smoke test, not figures.
        #[arg(long)]
        quick: bool,
        /// Also measure clean build time and dependency count (slow).
        #[arg(long)]
        build: bool,
    },
    /// Run the cargo-fuzz targets of tests/fuzz (installs cargo-fuzz if missing).
    Fuzz {
        /// How long each target runs, in seconds, after the build.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        seconds: u64,
        /// Run only this target (response, error_body or key_file).
        #[arg(long)]
        target: Option<String>,
        /// The sanitizer to build with; `none` runs faster.
        #[arg(long, default_value = "address", value_parser = ["address", "leak", "none"])]
        sanitizer: String,
    },
    /// The measuring part of `bench`, run by it in release.
    #[command(hide = true)]
    BenchRun {
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        build: bool,
        /// Only make N calls with one client (`sdk` or `hand-written`) and
        /// exit: a loop to run under `valgrind --tool=callgrind`.
        #[arg(long, value_parser = ["sdk", "hand-written"])]
        calls_only: Option<String>,
        #[arg(long, default_value_t = 3000)]
        calls: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let result = match cli.task {
        Task::Generate { check } => generate::run(&root, check),
        Task::Ci => ci(&root),
        Task::Bench { quick, build } => bench::run(&root, quick, build),
        Task::BenchRun {
            calls_only: Some(client),
            calls,
            ..
        } => bench::calls_only(&root, &client, calls),
        Task::BenchRun { quick, build, .. } => bench::run_measured(&root, quick, build),
        Task::Fuzz {
            seconds,
            target,
            sanitizer,
        } => fuzz::run(
            &root,
            &fuzz::Options {
                seconds,
                target,
                sanitizer,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn ci(root: &Path) -> Result<(), String> {
    step("generate --check", || generate::run(root, true))?;
    cargo(root, "fmt", &["fmt", "--all", "--check"], &[])?;
    cargo(
        root,
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(root, "test", &["test", "--workspace"], &[])?;
    cargo(
        root,
        "doc",
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Not `--all-features`: `native-tls` needs OpenSSL's headers, which a
    // fresh machine lacks. Check that feature only where it can build.
    if pkg_config_has("openssl") {
        cargo(
            root,
            "check native-tls",
            &[
                "check",
                "--package",
                "yc-idp",
                "--no-default-features",
                "--features",
                "native-tls,mock",
            ],
            &[],
        )?;
    } else {
        eprintln!("xtask ci: check native-tls skipped: no OpenSSL development files here");
    }
    eprintln!("xtask ci: all steps passed");
    Ok(())
}

fn pkg_config_has(library: &str) -> bool {
    Command::new("pkg-config")
        .args(["--exists", library])
        .status()
        .is_ok_and(|s| s.success())
}

fn step(name: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    eprintln!("xtask ci: {name}");
    f().map_err(|e| format!("{name}: {e}"))
}

fn cargo(root: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    step(name, || {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`cargo {}` failed ({status})", args.join(" ")))
        }
    })
}
