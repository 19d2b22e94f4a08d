//! The embedded mock server and its demo sessions, for trying the example
//! without an account or a network.

use chrono::{DateTime, Duration, Utc};
use yc_idp::Code;
use yc_idp::Int64;
use yc_idp::mock::MockServer;
use yc_idp::types::{
    ChangeInfo, ChangeType, ProgressEntry, RelatedObjectType, SessionStatus, SessionType, SyncMode,
    SynchronizationSession,
};

/// A finished full sync of Active Directory.
pub const COMPLETED: &str = "ek0sync7p1m5c2rb4qz1";
/// A password-hash sync that failed.
pub const FAILED: &str = "ek0syncfailed0000001";
/// A delta sync that moves on with every request: try `watch` on it.
pub const RUNNING: &str = "ek0sync9a8b7c6d5e4f3";
/// An LDAP sync whose agent went quiet.
pub const EXPIRED: &str = "ek0syncexpired000001";
/// An id the caller may not read.
pub const DENIED: &str = "ek0syncdenied0000001";

const AGENT: &str = "ek0agent3vd2h8x1l0fw";

/// Starts the mock with the demo sessions, timed around now.
pub async fn start() -> MockServer {
    // Whole seconds, as the API mostly writes them.
    let now = Utc::now();
    let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    MockServer::start()
        .await
        .with_session(completed(now))
        .with_session(failed(now))
        .with_session(expired(now))
        .with_session_sequence(RUNNING, running(now))
        .with_error(
            DENIED,
            Code::PermissionDenied,
            "Permission denied to access synchronization session ek0syncdenied0000001",
        )
}

/// What the example prints first when it runs on the mock.
pub fn banner(uri: &str, asked: bool) -> String {
    let why = if asked {
        "--mock given"
    } else {
        "no credentials in the environment (YC_IAM_TOKEN, YC_TOKEN, YC_SERVICE_ACCOUNT_KEY_FILE)"
    };
    format!(
        "yc-idp: {why}:\n\
         running against the embedded mock server at {uri}, with demo sessions:\n  \
         {COMPLETED}  COMPLETED  full sync of Active Directory\n  \
         {FAILED}  FAILED     password hashes; LDAP bind failed\n  \
         {RUNNING}  OPENED     delta sync in progress: try `watch {RUNNING}`\n  \
         {EXPIRED}  EXPIRED    LDAP sync whose agent went quiet\n  \
         {DENIED}  answers PERMISSION_DENIED\n\
         Set YC_IAM_TOKEN (from `yc iam create-token`) to use the real API.\n"
    )
}

fn base(id: &str, status: SessionStatus, created: DateTime<Utc>) -> SynchronizationSession {
    SynchronizationSession {
        session_id: Some(id.into()),
        agent_id: Some(AGENT.into()),
        created_at: Some(created),
        expires_at: Some(created + Duration::hours(1)),
        status: Some(status),
        ..Default::default()
    }
}

/// Proto3 JSON leaves out zero counts; so does the demo.
fn change(change_type: ChangeType, successful: i64, failed: i64) -> ChangeInfo {
    let count = |n: i64| (n != 0).then_some(Int64(n));
    ChangeInfo {
        change_type: Some(change_type),
        successful: count(successful),
        failed: count(failed),
    }
}

fn entry(object_type: RelatedObjectType, changes: Vec<ChangeInfo>) -> ProgressEntry {
    ProgressEntry {
        object_type: Some(object_type),
        change_info: changes,
    }
}

fn completed(now: DateTime<Utc>) -> SynchronizationSession {
    let created = now - Duration::minutes(42);
    SynchronizationSession {
        closed_at: Some(created + Duration::seconds(761)),
        sync_mode: Some(SyncMode::FullSync),
        session_type: Some(SessionType::AdSync),
        progress_entries: vec![
            entry(
                RelatedObjectType::User,
                vec![
                    change(ChangeType::Create, 1520, 3),
                    change(ChangeType::Update, 240, 0),
                    change(ChangeType::Deactivate, 12, 0),
                ],
            ),
            entry(
                RelatedObjectType::Group,
                vec![change(ChangeType::Create, 87, 0)],
            ),
            entry(
                RelatedObjectType::Membership,
                vec![
                    change(ChangeType::Create, 4311, 17),
                    change(ChangeType::Delete, 9, 0),
                ],
            ),
        ],
        ..base(COMPLETED, SessionStatus::Completed, created)
    }
}

fn failed(now: DateTime<Utc>) -> SynchronizationSession {
    let created = now - Duration::hours(26);
    SynchronizationSession {
        closed_at: Some(created + Duration::seconds(190)),
        sync_mode: Some(SyncMode::FullSync),
        session_type: Some(SessionType::AdPasswordHash),
        // Counters are int64 and stay exact above 2^53.
        progress_entries: vec![entry(
            RelatedObjectType::User,
            vec![change(
                ChangeType::PasswordHashUpdate,
                9_007_199_254_740_993,
                2,
            )],
        )],
        fail_reason: Some("LDAP bind failed: invalid credentials".into()),
        ..base(FAILED, SessionStatus::Failed, created)
    }
}

fn expired(now: DateTime<Utc>) -> SynchronizationSession {
    let created = now - Duration::hours(3);
    SynchronizationSession {
        sync_mode: Some(SyncMode::Delta),
        session_type: Some(SessionType::LdapSync),
        progress_entries: vec![entry(
            RelatedObjectType::User,
            vec![change(ChangeType::Update, 17, 0)],
        )],
        fail_reason: Some("the agent sent no heartbeat before the session expired".into()),
        ..base(EXPIRED, SessionStatus::Expired, created)
    }
}

/// Snapshots of a delta sync: users first, then groups, then memberships.
fn running(now: DateTime<Utc>) -> Vec<SynchronizationSession> {
    let created = now - Duration::seconds(20);
    let steps = 8;
    let mut snapshots = Vec::new();
    for step in 0..=steps {
        // How far each object type is, from 0 to 1.
        let phase = |start: i64| ((step - start) as f64 / 4.0).clamp(0.0, 1.0);
        let part = |total: i64, done: f64| (total as f64 * done).round() as i64;
        let (users, groups, members) = (phase(0), phase(2), phase(4));
        let mut entries = Vec::new();
        if users > 0.0 {
            entries.push(entry(
                RelatedObjectType::User,
                vec![
                    change(ChangeType::Create, part(214, users), part(2, users)),
                    change(ChangeType::Update, part(1380, users), 0),
                    change(ChangeType::Deactivate, part(9, users), 0),
                ],
            ));
        }
        if groups > 0.0 {
            entries.push(entry(
                RelatedObjectType::Group,
                vec![change(ChangeType::Update, part(36, groups), 0)],
            ));
        }
        if members > 0.0 {
            entries.push(entry(
                RelatedObjectType::Membership,
                vec![
                    change(ChangeType::Create, part(622, members), part(5, members)),
                    change(ChangeType::Delete, part(148, members), 0),
                ],
            ));
        }
        let status = match step {
            s if s == steps => SessionStatus::Completed,
            s if s == steps - 1 => SessionStatus::Pending,
            _ => SessionStatus::Opened,
        };
        let mut snapshot = SynchronizationSession {
            sync_mode: Some(SyncMode::Delta),
            session_type: Some(SessionType::AdSync),
            progress_entries: entries,
            ..base(RUNNING, status, created)
        };
        if step == steps {
            snapshot.closed_at = Some(now + Duration::seconds(3));
        }
        snapshots.push(snapshot);
    }
    snapshots
}
