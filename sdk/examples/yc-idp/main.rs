//! `yc-idp`: look at directory synchronization sessions from a terminal.
//!
//! ```text
//! cargo run --example yc-idp -- get ek0sync7p1m5c2rb4qz1
//! cargo run --example yc-idp -- get ek0sync7p1m5c2rb4qz1 --output json
//! cargo run --example yc-idp -- watch ek0sync9a8b7c6d5e4f3
//! ```
//!
//! Credentials come from the environment (`YC_IAM_TOKEN`, `YC_TOKEN` or
//! `YC_SERVICE_ACCOUNT_KEY_FILE`). With none set, it runs against the SDK's
//! embedded mock server with a few demo sessions, so it works offline.

mod demo;
mod render;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use yc_idp::mock::MockServer;
use yc_idp::types::{SessionStatus, SynchronizationSession};
use yc_idp::{AuthErrorKind, Client, Credentials, Error, WaitOptions};

const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `watch`, the session COMPLETED
  1  the call failed (credentials, network, API error)
  2  bad command line
  3  `watch`: the session FAILED
  4  `watch`: the session EXPIRED, or its expiresAt passed without a final status";

#[derive(Parser)]
#[command(
    name = "yc-idp",
    version,
    about = "Show Yandex Cloud Identity Provider synchronization sessions.",
    long_about = "Show Yandex Cloud Identity Provider synchronization sessions.\n\n\
        Credentials come from YC_IAM_TOKEN, YC_TOKEN or YC_SERVICE_ACCOUNT_KEY_FILE. \
        With none set, the embedded mock server answers, with demo sessions.",
    after_help = EXIT_CODES
)]
struct Cli {
    /// The API endpoint (default: the production one).
    #[arg(long, global = true, conflicts_with = "mock")]
    endpoint: Option<String>,

    /// Use the embedded mock server even when credentials are set.
    #[arg(long, global = true)]
    mock: bool,

    /// How to print sessions.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// A readable summary.
    Text,
    /// The session as the API returns it (proto3 JSON).
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Show one session: status, times and changes per object type.
    Get {
        /// The session id.
        session_id: String,
    },
    /// Follow a session until it ends, showing progress.
    Watch {
        /// The session id.
        session_id: String,
        /// The first pause between polls, like `500ms` or `2s` (default 2s;
        /// 300ms on the mock).
        #[arg(long, value_parser = humantime::parse_duration)]
        interval: Option<Duration>,
        /// Give up after this long, like `90s` or `30m`.
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: &Cli) -> Result<ExitCode, Error> {
    // Kept alive until the command is done: dropping it stops the server.
    let (client, mock) = connect(cli).await?;
    match &cli.command {
        Command::Get { session_id } => {
            let session = client.get_session(session_id).await?;
            print_session(cli.output, &session)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch {
            session_id,
            interval,
            timeout,
        } => {
            let default_interval = if mock.is_some() {
                Duration::from_millis(300)
            } else {
                Duration::from_secs(2)
            };
            let options = WaitOptions::default()
                .poll_interval(interval.unwrap_or(default_interval))
                .timeout(*timeout);
            watch(cli.output, &client, session_id, options).await
        }
    }
}

/// A client for the real API when credentials are set, or else one for the
/// embedded mock, which is returned too.
async fn connect(cli: &Cli) -> Result<(Client, Option<MockServer>), Error> {
    if !cli.mock {
        match Credentials::from_env() {
            Ok(credentials) => {
                let mut builder = Client::builder()
                    .credentials(credentials)
                    .user_agent_suffix("yc-idp-example");
                if let Some(endpoint) = &cli.endpoint {
                    builder = builder.endpoint(endpoint);
                }
                return Ok((builder.build()?, None));
            }
            // With an explicit endpoint, the real API is meant: say what's missing.
            Err(Error::Auth(e)) if e.kind == AuthErrorKind::Missing && cli.endpoint.is_none() => {}
            Err(e) => return Err(e),
        }
    }
    let mock = demo::start().await;
    eprintln!("{}", demo::banner(&mock.uri(), cli.mock));
    Ok((mock.client()?, Some(mock)))
}

fn print_session(output: Output, session: &SynchronizationSession) -> Result<(), Error> {
    match output {
        Output::Text => print!("{}", render::summary(session)),
        Output::Json => println!("{}", to_json(session, true)?),
    }
    Ok(())
}

fn to_json(session: &SynchronizationSession, pretty: bool) -> Result<String, Error> {
    let json = if pretty {
        serde_json::to_string_pretty(session)
    } else {
        serde_json::to_string(session)
    };
    json.map_err(|e| Error::InvalidArgument {
        argument: "session",
        reason: format!("cannot print it as JSON: {e}"),
    })
}

async fn watch(
    output: Output,
    client: &Client,
    session_id: &str,
    options: WaitOptions,
) -> Result<ExitCode, Error> {
    let bar = spinner();
    let mut snapshots = client.watch_session(session_id, options);
    let mut last: Option<SynchronizationSession> = None;
    while let Some(snapshot) = snapshots.next().await {
        let snapshot = match snapshot {
            Ok(snapshot) => snapshot,
            Err(e) => {
                bar.finish_and_clear();
                return Err(e);
            }
        };
        let line = render::progress_line(&snapshot);
        let status_changed = last.as_ref().map(|s| &s.status) != Some(&snapshot.status);
        if let Some(bar) = &bar {
            if status_changed {
                let secs = bar.elapsed().as_secs();
                let (m, s) = (secs / 60, secs % 60);
                bar.println(format!("[{m:02}:{s:02}] {}", render::status(&snapshot)));
            }
            bar.set_message(line);
        } else {
            eprintln!("{line}");
        }
        if output == Output::Json {
            // One JSON document per line, one line per change.
            println!("{}", to_json(&snapshot, false)?);
        }
        last = Some(snapshot);
    }
    bar.finish_and_clear();
    let Some(session) = last else {
        return Err(Error::InvalidArgument {
            argument: "session_id",
            reason: "the watch ended without an answer".into(),
        });
    };
    if output == Output::Text {
        print!("{}", render::summary(&session));
    }
    Ok(match session.status.unwrap_or_default() {
        SessionStatus::Completed => ExitCode::SUCCESS,
        SessionStatus::Failed => ExitCode::from(3),
        SessionStatus::Expired => ExitCode::from(4),
        other => {
            eprintln!("the session's expiresAt passed while it was still {other}");
            ExitCode::from(4)
        }
    })
}

/// A spinner on a terminal; `None` when stderr is not one, where progress
/// goes out as plain lines instead.
fn spinner() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner:.cyan} [{elapsed_precise}] {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

trait FinishAndClear {
    fn finish_and_clear(&self);
}

impl FinishAndClear for Option<ProgressBar> {
    fn finish_and_clear(&self) {
        if let Some(bar) = self {
            bar.finish_and_clear();
        }
    }
}
