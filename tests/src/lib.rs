//! Shared helpers for the integration tests: a client wired to a local mock
//! and the reference bodies.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The token every test client sends; tests grep output for it.
pub const SECRET: &str = "t1.super-secret-test-token";

/// The path of one session on the mock.
pub fn session_path(id: &str) -> String {
    format!("/organization-manager/v1/idp/synchronization-sessions/{id}")
}

/// A reference body from `../shared/reference/examples`, as text.
pub fn example(name: &str) -> String {
    let path = reference_dir().join("examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every reference example: (file name, text).
pub fn examples() -> Vec<(String, String)> {
    let dir = reference_dir().join("examples");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("example text");
            (name, text)
        })
        .collect();
    out.sort();
    out
}

/// `../shared/reference`, beside the checkout.
pub fn reference_dir() -> PathBuf {
    workspace_root().join("../shared/reference")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A builder aimed at `uri` with a static token and no pending timers:
/// under a paused clock a pending timer fires whenever the runtime idles on
/// I/O (even the pool's idle sweep), so tests that want a timeout set one.
pub fn builder(uri: &str) -> yc_idp::ClientBuilder {
    yc_idp::Client::builder()
        .endpoint(uri)
        .credentials(yc_idp::Credentials::iam_token(SECRET))
        .connect_timeout(None)
        .attempt_timeout(None)
        .total_timeout(None)
        .pool_idle_timeout(None)
}

/// Log lines (events, and spans with their fields as they close) written on
/// this thread while a [`Logs::capture`] guard lives.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures every level until the guard drops.
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).to_string()
    }
}
