//! `cargo xtask fuzz [--seconds N] [--target T] [--sanitizer S]`: runs the
//! cargo-fuzz targets of `tests/fuzz` and sums up what each one did.
//!
//! It installs cargo-fuzz from crates.io when missing, and runs it on the
//! toolchain in use with `RUSTC_BOOTSTRAP=1`, which lets stable rustc take
//! the `-Z` flags cargo-fuzz passes (sanitizer, coverage instrumentation).
//! libFuzzer itself is built from source by the `libfuzzer-sys` crate with
//! the system C++ compiler; clang is not needed.
//!
//! Each target runs for `--seconds` (default 60) after one build of all of
//! them. Its working corpus is `tests/fuzz/target/corpus/<target>`, seeded
//! from the committed `tests/fuzz/corpus/<target>`, which fuzzing never
//! writes to. Full libFuzzer output goes to `tests/fuzz/target/logs/`.

use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The cargo-fuzz project, relative to the workspace root.
const FUZZ_DIR: &str = "tests/fuzz";

/// What `cargo xtask fuzz` was asked to do.
pub struct Options {
    /// How long each target runs, in seconds.
    pub seconds: u64,
    /// Only this target, when set.
    pub target: Option<String>,
    /// The sanitizer cargo-fuzz builds with.
    pub sanitizer: String,
}

pub fn run(root: &Path, options: &Options) -> Result<(), String> {
    let fuzz_dir = root.join(FUZZ_DIR);
    let available = targets(&fuzz_dir)?;
    let chosen: Vec<String> = match &options.target {
        Some(target) if available.contains(target) => vec![target.clone()],
        Some(target) => {
            return Err(format!(
                "no fuzz target `{target}`; the targets are: {}",
                available.join(", ")
            ));
        }
        None => available,
    };
    ensure_cargo_fuzz()?;

    let common = [
        "--fuzz-dir".to_string(),
        fuzz_dir.display().to_string(),
        "--sanitizer".to_string(),
        options.sanitizer.clone(),
        // Overflow checks and debug assertions: a panic there is a finding.
        "--debug-assertions".to_string(),
    ];
    eprintln!(
        "xtask fuzz: building {} (release, {} sanitizer)",
        FUZZ_DIR, options.sanitizer
    );
    let status = cargo_fuzz()
        .arg("build")
        .args(&common)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo fuzz build: {e}"))?;
    if !status.success() {
        return Err(format!("`cargo fuzz build` failed ({status})"));
    }

    let logs = fuzz_dir.join("target/logs");
    fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let dict = fuzz_dir.join("json.dict");
    let mut reports = Vec::new();
    for target in &chosen {
        let work = fuzz_dir.join("target/corpus").join(target);
        fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        let seeds = fuzz_dir.join("corpus").join(target);
        let mut command = cargo_fuzz();
        command
            .arg("run")
            .args(&common)
            .arg(target)
            // New inputs go to the first directory; the seeds stay as committed.
            .arg(&work)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={}", options.seconds))
            .arg(format!("-dict={}", dict.display()))
            .arg("-timeout=10")
            .arg("-rss_limit_mb=2048")
            .arg("-print_final_stats=1")
            .current_dir(root);
        eprintln!(
            "xtask fuzz: {target} for {} s (corpus {}, seeds {})",
            options.seconds,
            relative(root, &work),
            relative(root, &seeds)
        );
        let log = logs.join(format!("{target}.log"));
        reports.push(run_target(target, command, &log)?);
    }

    eprintln!();
    eprintln!(
        "xtask fuzz: {} s per target, sanitizer {}",
        options.seconds, options.sanitizer
    );
    println!("{}", Report::header());
    for report in &reports {
        println!("{report}");
    }
    let crashed: Vec<&Report> = reports.iter().filter(|r| !r.ok).collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        let list: Vec<String> = crashed
            .iter()
            .map(|r| {
                let artifacts = if r.artifacts.is_empty() {
                    "no artifact written".to_string()
                } else {
                    r.artifacts.join(", ")
                };
                format!("{} ({artifacts}; log {})", r.target, r.log.display())
            })
            .collect();
        Err(format!(
            "fuzzing found a failure in: {}; fix it in the sdk and add the input as a \
             regression test in tests/tests/",
            list.join("; ")
        ))
    }
}

/// The targets: one `fuzz_targets/<name>.rs` each.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            out.push(stem.to_string());
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(format!("no fuzz targets in {}", dir.display()));
    }
    Ok(out)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

/// `cargo fuzz`, allowed nightly flags on a stable toolchain.
fn cargo_fuzz() -> Command {
    let mut command = cargo();
    command.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    command
}

fn has_cargo_fuzz() -> bool {
    cargo_fuzz()
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    if has_cargo_fuzz() {
        return Ok(());
    }
    eprintln!("xtask fuzz: cargo-fuzz is missing; cargo install cargo-fuzz --locked");
    let status = cargo()
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| format!("cannot run cargo install: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo install cargo-fuzz --locked` failed ({status})"
        ));
    }
    if has_cargo_fuzz() {
        Ok(())
    } else {
        Err(
            "cargo-fuzz was installed but `cargo fuzz --version` still fails; \
             is ~/.cargo/bin on PATH?"
                .to_string(),
        )
    }
}

/// Runs one target, keeping its whole output in `log` and showing the lines
/// that matter (everything but libFuzzer's per-input NEW/REDUCE lines).
fn run_target(target: &str, mut command: Command, log: &Path) -> Result<Report, String> {
    let mut child = command
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo fuzz run {target}: {e}"))?;
    let mut file =
        fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut last_stats: Option<Stats> = None;
    let mut done: Option<Stats> = None;
    let mut artifacts = Vec::new();
    // libFuzzer's closing "recommended dictionary" is long: log it only.
    let mut in_dictionary = false;
    if let Some(stderr) = child.stderr.take() {
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(format!("reading cargo fuzz's output: {e}")),
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end();
            writeln!(file, "{line}").map_err(|e| format!("writing {}: {e}", log.display()))?;
            if let Some(stats) = Stats::parse(line) {
                if stats.done {
                    done = Some(stats.clone());
                }
                last_stats = Some(stats);
            }
            if let Some(path) = line.split("Test unit written to ").nth(1) {
                artifacts.push(path.trim().to_string());
            }
            if line.starts_with("###### Recommended dictionary") {
                in_dictionary = true;
            }
            if !is_noise(line) && !in_dictionary {
                eprintln!("{line}");
            }
            if line.starts_with("###### End of recommended dictionary") {
                in_dictionary = false;
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo fuzz run {target}: {e}"))?;
    let ok = status.success() && done.is_some();
    Ok(Report {
        target: target.to_string(),
        stats: done.or(last_stats),
        ok,
        artifacts,
        log: log.to_path_buf(),
    })
}

/// libFuzzer's per-input progress lines (`#123 NEW ...`, `#124 REDUCE ...`).
fn is_noise(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words.next().is_some_and(|w| w.starts_with('#'))
        && words
            .next()
            .is_some_and(|kind| matches!(kind, "NEW" | "REDUCE" | "RELOAD"))
}

/// The figures of one libFuzzer status line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stats {
    runs: u64,
    done: bool,
    cov: u64,
    ft: u64,
    corpus: u64,
    exec_per_s: u64,
}

impl Stats {
    /// Parses `#1234\tDONE   cov: 812 ft: 3071 corp: 402/61Kb lim: 4096
    /// exec/s: 4115 rss: 402Mb` and the like (`pulse`, `NEW`, ...).
    fn parse(line: &str) -> Option<Stats> {
        let rest = line.strip_prefix('#')?;
        let mut words = rest.split_whitespace();
        let runs = words.next()?.parse().ok()?;
        let kind = words.next()?;
        let mut stats = Stats {
            runs,
            done: kind == "DONE",
            cov: 0,
            ft: 0,
            corpus: 0,
            exec_per_s: 0,
        };
        let mut seen_cov = false;
        while let Some(word) = words.next() {
            let Some(value) = words.clone().next() else {
                break;
            };
            let number = |v: &str| v.split('/').next().and_then(|n| n.parse::<u64>().ok());
            match word {
                "cov:" => {
                    stats.cov = number(value)?;
                    seen_cov = true;
                }
                "ft:" => stats.ft = number(value)?,
                "corp:" => stats.corpus = number(value)?,
                "exec/s:" => stats.exec_per_s = number(value)?,
                _ => continue,
            }
            words.next();
        }
        seen_cov.then_some(stats)
    }
}

struct Report {
    target: String,
    stats: Option<Stats>,
    ok: bool,
    artifacts: Vec<String>,
    log: PathBuf,
}

impl Report {
    fn header() -> String {
        format!(
            "{:<12} {:>12} {:>8} {:>7} {:>8} {:>7}  result",
            "target", "runs", "exec/s", "cov", "ft", "corpus"
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let result = if self.ok { "ok" } else { "FAILED" };
        match &self.stats {
            Some(s) => write!(
                f,
                "{:<12} {:>12} {:>8} {:>7} {:>8} {:>7}  {result}",
                self.target, s.runs, s.exec_per_s, s.cov, s.ft, s.corpus
            ),
            None => write!(
                f,
                "{:<12} {:>12} {:>8} {:>7} {:>8} {:>7}  {result} (no libFuzzer stats; see {})",
                self.target,
                "-",
                "-",
                "-",
                "-",
                "-",
                self.log.display()
            ),
        }
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_final_line() {
        let line =
            "#1234567\tDONE   cov: 812 ft: 3071 corp: 402/61Kb lim: 4096 exec/s: 4115 rss: 402Mb";
        assert_eq!(
            Stats::parse(line),
            Some(Stats {
                runs: 1_234_567,
                done: true,
                cov: 812,
                ft: 3071,
                corpus: 402,
                exec_per_s: 4115,
            })
        );
    }

    #[test]
    fn parses_progress_lines_and_skips_others() {
        let pulse =
            Stats::parse("#65536\tpulse  cov: 700 ft: 2500 corp: 300/40Kb exec/s: 3276 rss: 90Mb")
                .unwrap();
        assert!(!pulse.done);
        assert_eq!(
            (pulse.runs, pulse.cov, pulse.exec_per_s),
            (65536, 700, 3276)
        );
        let inited =
            Stats::parse("#75\tINITED cov: 611 ft: 1501 corp: 70/9193b exec/s: 0 rss: 50Mb")
                .unwrap();
        assert_eq!((inited.corpus, inited.ft), (70, 1501));
        assert_eq!(Stats::parse("#2\tINITED exec/s: 0 rss: 30Mb"), None);
        assert_eq!(Stats::parse("Done 1234 runs in 60 second(s)"), None);
        assert_eq!(Stats::parse("#abc DONE cov: 1"), None);
        assert_eq!(Stats::parse("#1 DONE cov: x ft: 2"), None);
    }

    #[test]
    fn noise_is_only_per_input_lines() {
        assert!(is_noise("#1024\tNEW    cov: 700 ft: 2400 corp: 290/39Kb"));
        assert!(is_noise("#2048\tREDUCE cov: 700 ft: 2400 corp: 290/39Kb"));
        assert!(!is_noise("#4096\tpulse  cov: 700 ft: 2400 corp: 290/39Kb"));
        assert!(!is_noise("==123== ERROR: libFuzzer: deadly signal"));
    }

    #[test]
    fn the_targets_are_the_files_in_fuzz_targets() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let found = targets(&root.join(FUZZ_DIR)).unwrap();
        assert_eq!(found, ["error_body", "key_file", "response"]);
        for target in &found {
            let seeds = root.join(FUZZ_DIR).join("corpus").join(target);
            assert!(
                fs::read_dir(&seeds).is_ok_and(|mut d| d.next().is_some()),
                "no seeds in {}",
                seeds.display()
            );
        }
    }
}
