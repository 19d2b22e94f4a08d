//! The command-line example (`sdk/examples/yc-idp`), run as a user runs it.
//! Without credentials it answers from its embedded mock on loopback.

use assert_cmd::Command;
use yc_idp::mock::MockServer;
use yc_idp::types::{SessionStatus, SynchronizationSession};

/// The example with no credentials in its environment.
fn example() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yc-idp-example"));
    for name in [
        "YC_IAM_TOKEN",
        "YC_TOKEN",
        "YC_SERVICE_ACCOUNT_KEY_FILE",
        "YC_ENDPOINT",
        "YC_METADATA_ADDR",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn get_prints_a_summary_from_the_embedded_mock() {
    let out = example()
        .args(["get", "ek0sync7p1m5c2rb4qz1"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("embedded mock server at http://127.0.0.1:"),
        "{stderr}"
    );
    for expected in [
        "Session  ek0sync7p1m5c2rb4qz1",
        "Status   COMPLETED",
        "Type     AD_SYNC",
        "Mode     FULL_SYNC",
        "(took 12m 41s)",
        "OBJECT      CHANGE      SUCCESSFUL  FAILED",
        "USER        CREATE           1,520       3",
        "            DEACTIVATE          12       0",
        "MEMBERSHIP  CREATE           4,311      17",
        "TOTAL                        6,179      20",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("Reason"),
        "no fail reason on a completed session"
    );
}

#[test]
fn get_shows_the_fail_reason_and_exact_int64_counts() {
    let out = example()
        .args(["get", "ek0syncfailed0000001"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Status   FAILED"), "{stdout}");
    assert!(
        stdout.contains("Reason   LDAP bind failed: invalid credentials"),
        "{stdout}"
    );
    assert!(stdout.contains("9,007,199,254,740,993"), "{stdout}");
}

#[test]
fn output_json_parses_back_into_a_session() {
    let out = example()
        .args(["get", "ek0syncfailed0000001", "--output", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let session: SynchronizationSession = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(session.session_id.as_deref(), Some("ek0syncfailed0000001"));
    assert_eq!(session.status, Some(SessionStatus::Failed));
    assert_eq!(session.totals().successful, 9_007_199_254_740_993);
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        raw["progressEntries"][0]["changeInfo"][0]["successful"], "9007199254740993",
        "int64 stays a JSON string"
    );
}

#[test]
fn watch_exits_non_zero_on_a_failed_or_expired_session() {
    let out = example()
        .args(["watch", "ek0syncfailed0000001"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    assert!(text(&out.stdout).contains("Status   FAILED"));
    example()
        .args(["watch", "ek0syncexpired000001"])
        .assert()
        .code(4);
}

#[test]
fn watch_follows_a_running_session_to_completion() {
    let out = example()
        .args([
            "watch",
            "ek0sync9a8b7c6d5e4f3",
            "--interval",
            "0s",
            "--output",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let snapshots: Vec<SynchronizationSession> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(snapshots.len() >= 3, "{snapshots:?}");
    assert_eq!(snapshots[0].status, Some(SessionStatus::Opened));
    let last = snapshots.last().unwrap();
    assert_eq!(last.status, Some(SessionStatus::Completed));
    let totals: Vec<i64> = snapshots.iter().map(|s| s.totals().total()).collect();
    assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{totals:?}");
    assert!(totals[0] < *totals.last().unwrap());
    // Not a terminal: progress goes to stderr as plain lines.
    assert!(
        text(&out.stderr).contains("PENDING"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn api_errors_exit_1_with_the_code_and_request_id() {
    let out = example()
        .args(["get", "ek0syncdenied0000001"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = text(&out.stderr);
    assert!(stderr.contains("PERMISSION_DENIED"), "{stderr}");
    assert!(stderr.contains("request id "), "{stderr}");
}

#[test]
fn an_explicit_endpoint_without_credentials_is_an_error() {
    let out = example()
        .args([
            "--endpoint",
            "http://127.0.0.1:9",
            "get",
            "ek0sync7p1m5c2rb4qz1",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = text(&out.stderr);
    assert!(stderr.contains("credentials"), "{stderr}");
    assert!(!stderr.contains("mock"), "{stderr}");
}

#[test]
fn a_bad_command_line_exits_2() {
    example().args(["get"]).assert().code(2);
    example()
        .args(["watch", "x", "--interval", "soon"])
        .assert()
        .code(2);
}

#[tokio::test]
async fn credentials_from_the_environment_go_to_the_endpoint() {
    const SECRET: &str = "t1.cli-secret-token";
    let mock = MockServer::start().await.with_error(
        "ek0sync7p1m5c2rb4qz1",
        yc_idp::Code::NotFound,
        "gone",
    );
    // The mock runs on its own thread, so this blocking run is fine here.
    let out = example()
        .env("YC_IAM_TOKEN", SECRET)
        .args(["--endpoint", &mock.uri(), "get", "ek0sync7p1m5c2rb4qz1"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = text(&out.stderr);
    assert!(stderr.contains("NOT_FOUND"), "{stderr}");
    assert!(!stderr.contains("embedded mock"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the token leaked: {stderr}");
    let requests = mock.requests();
    let bearer = format!("Bearer {SECRET}");
    assert_eq!(requests[0].header("authorization"), Some(bearer.as_str()));
    assert!(
        requests[0]
            .header("user-agent")
            .is_some_and(|ua| ua.ends_with("yc-idp-example")),
        "{requests:?}"
    );

    // `--mock` wins over credentials.
    example()
        .env("YC_IAM_TOKEN", SECRET)
        .args(["--mock", "get", "ek0sync7p1m5c2rb4qz1"])
        .assert()
        .success();
}
