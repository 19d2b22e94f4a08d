//! Text output: a session summary and one-line progress.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use yc_idp::types::SynchronizationSession;

/// The readable summary `get` prints.
pub fn summary(session: &SynchronizationSession) -> String {
    let mut out = String::new();
    let fields = [
        ("Session", text(session.session_id.as_deref())),
        ("Status", status(session)),
        ("Type", shown(session.session_type.as_ref())),
        ("Mode", shown(session.sync_mode.as_ref())),
        ("Agent", text(session.agent_id.as_deref())),
        ("Created", time(session.created_at)),
        ("Expires", time(session.expires_at)),
        ("Closed", closed(session)),
    ];
    for (name, value) in fields {
        let _ = writeln!(out, "{name:<8} {value}");
    }
    if let Some(reason) = session.fail_reason.as_deref().filter(|r| !r.is_empty()) {
        let _ = writeln!(out, "Reason   {reason}");
    }
    out.push('\n');
    out.push_str(&table(session));
    out
}

/// The status, or `-` when the session has none.
pub fn status(session: &SynchronizationSession) -> String {
    shown(session.status.as_ref())
}

/// One line for the watch progress: status and totals per object type.
pub fn progress_line(session: &SynchronizationSession) -> String {
    let mut line = status(session);
    for entry in &session.progress_entries {
        let counts = entry.totals();
        let _ = write!(
            line,
            "  {} {} ok",
            shown(entry.object_type.as_ref()),
            grouped(counts.successful)
        );
        if counts.failed != 0 {
            let _ = write!(line, ", {} failed", grouped(counts.failed));
        }
    }
    if session.progress_entries.is_empty() {
        line.push_str("  no changes yet");
    }
    line
}

/// Successful and failed changes by object type and change type.
fn table(session: &SynchronizationSession) -> String {
    if session.progress_entries.is_empty() {
        return "No changes reported.\n".to_string();
    }
    let mut rows: Vec<[String; 4]> = vec![[
        "OBJECT".into(),
        "CHANGE".into(),
        "SUCCESSFUL".into(),
        "FAILED".into(),
    ]];
    for entry in &session.progress_entries {
        let object = shown(entry.object_type.as_ref());
        if entry.change_info.is_empty() {
            rows.push([object.clone(), "-".into(), "0".into(), "0".into()]);
        }
        for (i, change) in entry.change_info.iter().enumerate() {
            rows.push([
                if i == 0 {
                    object.clone()
                } else {
                    String::new()
                },
                shown(change.change_type.as_ref()),
                grouped(change.successful.map_or(0, |n| n.get())),
                grouped(change.failed.map_or(0, |n| n.get())),
            ]);
        }
    }
    let totals = session.totals();
    rows.push([
        "TOTAL".into(),
        String::new(),
        grouped(totals.successful),
        grouped(totals.failed),
    ]);
    let width = |col: usize| {
        rows.iter()
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2), width(3)];
    let mut out = String::new();
    for row in &rows {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        );
    }
    out
}

fn shown<T: std::fmt::Display>(value: Option<&T>) -> String {
    value.map_or_else(|| "-".to_string(), ToString::to_string)
}

fn text(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_string()
}

fn time(value: Option<DateTime<Utc>>) -> String {
    value.map_or_else(
        || "-".to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn closed(session: &SynchronizationSession) -> String {
    let mut out = time(session.closed_at);
    if let (Some(created), Some(closed)) = (session.created_at, session.closed_at) {
        let _ = write!(out, " (took {})", elapsed(closed - created));
    }
    out
}

fn elapsed(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

/// `1234567` as `1,234,567`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}
