//! The table on stdout and `results.json`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::build::BuildFigures;
use super::figures::{Figures, Pair, Plan, median, spread};

pub const LATENCY_MAX: f64 = 1.05;
pub const THROUGHPUT_MIN: f64 = 0.95;
pub const DECODE_MAX: f64 = 1.3;

#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
    None,
}

impl Target {
    fn met(self, ratio: f64) -> Option<bool> {
        match self {
            Target::AtMost(t) => Some(ratio <= t),
            Target::AtLeast(t) => Some(ratio >= t),
            Target::None => None,
        }
    }

    fn text(self) -> String {
        match self {
            Target::AtMost(t) => format!("<= {t}"),
            Target::AtLeast(t) => format!(">= {t}"),
            Target::None => "-".into(),
        }
    }

    fn json(self) -> Value {
        match self {
            Target::AtMost(t) => json!({ "at_most": t }),
            Target::AtLeast(t) => json!({ "at_least": t }),
            Target::None => Value::Null,
        }
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Nanos,
    PerSecond,
    Count,
    Bytes,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Unit::Nanos if v >= 1e6 => format!("{:.2} ms", v / 1e6),
            Unit::Nanos if v >= 1e3 => format!("{:.1} µs", v / 1e3),
            Unit::Nanos => format!("{v:.0} ns"),
            Unit::PerSecond => format!("{v:.0} /s"),
            Unit::Count => format!("{v:.1}"),
            Unit::Bytes => format!("{v:.0} B"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::PerSecond => "calls/s",
            Unit::Count => "count",
            Unit::Bytes => "bytes",
        }
    }
}

struct Row<'a> {
    key: &'static str,
    label: &'static str,
    pair: &'a Pair,
    unit: Unit,
    target: Target,
}

fn rows(f: &Figures) -> Vec<Row<'_>> {
    let row = |key, label, pair, unit, target| Row {
        key,
        label,
        pair,
        unit,
        target,
    };
    vec![
        row(
            "latency_median",
            "latency median, sequential",
            &f.latency_median,
            Unit::Nanos,
            Target::AtMost(LATENCY_MAX),
        ),
        row(
            "latency_p99",
            "latency p99, sequential",
            &f.latency_p99,
            Unit::Nanos,
            Target::None,
        ),
        row(
            "throughput",
            "throughput, 64 in flight",
            &f.throughput,
            Unit::PerSecond,
            Target::AtLeast(THROUGHPUT_MIN),
        ),
        row(
            "latency_median_vs_timed",
            "latency median, B+timeout",
            &f.latency_median_vs_timed,
            Unit::Nanos,
            Target::None,
        ),
        row(
            "throughput_vs_timed",
            "throughput, B+timeout",
            &f.throughput_vs_timed,
            Unit::PerSecond,
            Target::None,
        ),
        row(
            "decode",
            "decode only, no HTTP",
            &f.decode,
            Unit::Nanos,
            Target::AtMost(DECODE_MAX),
        ),
        row(
            "allocs_per_call",
            "allocations per call",
            &f.allocs_per_call,
            Unit::Count,
            Target::None,
        ),
        row(
            "alloc_bytes_per_call",
            "bytes allocated per call",
            &f.alloc_bytes_per_call,
            Unit::Bytes,
            Target::None,
        ),
        row(
            "allocs_per_decode",
            "allocations per decode",
            &f.allocs_per_decode,
            Unit::Count,
            Target::None,
        ),
        row(
            "alloc_bytes_per_decode",
            "bytes allocated per decode",
            &f.alloc_bytes_per_decode,
            Unit::Bytes,
            Target::None,
        ),
    ]
}

pub fn table(mode: &str, f: &Figures, build: Option<&BuildFigures>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "yc-idp bench ({mode}): A = yc_idp::Client::get_session, B = hand-written reqwest + serde_json"
    );
    let _ = writeln!(
        out,
        "A/B is the median of per-round ratios over interleaved rounds; [min..max] of those rounds"
    );
    let _ = writeln!(
        out,
        "B+timeout rows: B with reqwest's 30 s per-request timeout, a timer per call as A arms"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<28} {:>12} {:>12} {:>7}  {:<15} {:<8}",
        "figure", "A", "B", "A/B", "rounds", "target"
    );
    for r in rows(f) {
        let ratio = r.pair.ratio();
        let (lo, hi) = r.pair.spread();
        let verdict = match r.target.met(ratio) {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        let _ = writeln!(
            out,
            "{:<28} {:>12} {:>12} {:>7.3}  {:<15} {:<8} {}",
            r.label,
            r.unit.show(r.pair.a),
            r.unit.show(r.pair.b),
            ratio,
            format!("[{lo:.2}..{hi:.2}]"),
            r.target.text(),
            verdict
        );
    }
    if let Some(b) = build {
        let ratios = b.round_ratios();
        let ratio = median(&ratios);
        let (lo, hi) = spread(&ratios);
        let _ = writeln!(
            out,
            "{:<28} {:>12} {:>12} {:>7.3}  {:<15} {:<8}",
            "clean dev build",
            format!("{:.1} s", median(&b.sdk_secs)),
            format!("{:.1} s", median(&b.scratch_secs)),
            ratio,
            format!("[{lo:.2}..{hi:.2}]"),
            "-"
        );
        let _ = writeln!(
            out,
            "{:<28} {:>12} {:>12} {:>7.3}  {:<15} {:<8}",
            "crates, normal deps",
            b.sdk_crates,
            b.scratch_crates,
            b.sdk_crates as f64 / b.scratch_crates.max(1) as f64,
            "",
            "-"
        );
        let _ = writeln!(
            out,
            "(build B: a scratch crate on reqwest with the same TLS features, serde, serde_json, tokio)"
        );
    }
    if !f.header_differences.is_empty() {
        let _ = writeln!(
            out,
            "\nwarning: the two clients do not send the same headers:"
        );
        for d in &f.header_differences {
            let _ = writeln!(out, "  {d}");
        }
    }
    out
}

pub fn json(mode: &str, plan: &Plan, f: &Figures, build: Option<&BuildFigures>) -> Value {
    let mut figures = serde_json::Map::new();
    for r in rows(f) {
        let ratio = r.pair.ratio();
        let (lo, hi) = r.pair.spread();
        figures.insert(
            r.key.to_string(),
            json!({
                "unit": r.unit.name(),
                "a": r.pair.a,
                "b": r.pair.b,
                "ratio": ratio,
                "round_ratios": r.pair.round_ratios,
                "ratio_min": lo,
                "ratio_max": hi,
                "target": r.target.json(),
                "met": r.target.met(ratio),
            }),
        );
    }
    let build = build.map(|b| {
        let ratios = b.round_ratios();
        json!({
            "profile": "dev",
            "clean_build_secs": { "a": b.sdk_secs, "b": b.scratch_secs },
            "clean_build_ratio": median(&ratios),
            "round_ratios": ratios,
            "crates": {
                "a": b.sdk_crates,
                "b": b.scratch_crates,
                "ratio": b.sdk_crates as f64 / b.scratch_crates.max(1) as f64,
            },
        })
    });
    json!({
        "mode": mode,
        "a": "yc_idp::Client::get_session (default retry policy, static IAM token)",
        "b": "reqwest::Client GET with the same headers + serde_json::from_slice into a minimal struct",
        "method": "ratio = median over interleaved rounds (A B A B ...) of per-round A/B, after a warm-up",
        "optimized": !cfg!(debug_assertions),
        "plan": plan,
        "latency_calls_per_side": f.latency_calls_per_side,
        "header_differences": f.header_differences,
        "figures": figures,
        "build": build,
    })
}
