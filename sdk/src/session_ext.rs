//! Conveniences on the generated session types, written by hand so that
//! `generated.rs` stays a pure function of the spec.

use std::ops::{Add, AddAssign};

use crate::types::{
    ChangeInfo, ChangeType, ProgressEntry, RelatedObjectType, SessionStatus, SynchronizationSession,
};

impl SessionStatus {
    /// Whether the session is over: `COMPLETED`, `FAILED` or `EXPIRED`.
    ///
    /// A status this version of the SDK does not know is not terminal, so a
    /// watcher keeps polling until a known terminal status or the session's
    /// `expiresAt`.
    ///
    /// ```
    /// use yc_idp::types::SessionStatus;
    /// assert!(SessionStatus::Failed.is_terminal());
    /// assert!(!SessionStatus::Opened.is_terminal());
    /// assert!(!SessionStatus::from("SOMETHING_NEW").is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SessionStatus::Completed | SessionStatus::Failed | SessionStatus::Expired
        )
    }
}

impl SynchronizationSession {
    /// Whether the session's status is terminal; see
    /// [`SessionStatus::is_terminal`]. A session without a status is not.
    ///
    /// ```
    /// use yc_idp::types::{SessionStatus, SynchronizationSession};
    /// let mut session = SynchronizationSession::default();
    /// assert!(!session.is_terminal());
    /// session.status = Some(SessionStatus::Completed);
    /// assert!(session.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        self.status.as_ref().is_some_and(SessionStatus::is_terminal)
    }

    /// The successful and failed changes of every object and change type,
    /// added up.
    ///
    /// ```
    /// let body = r#"{"progressEntries": [
    ///     {"objectType": "USER", "changeInfo": [{"changeType": "CREATE", "successful": "5", "failed": "1"}]},
    ///     {"objectType": "GROUP", "changeInfo": [{"changeType": "CREATE", "successful": "2"}]}
    /// ]}"#;
    /// let session: yc_idp::types::SynchronizationSession = serde_json::from_str(body).unwrap();
    /// assert_eq!(session.totals(), yc_idp::ChangeCounts { successful: 7, failed: 1 });
    /// ```
    pub fn totals(&self) -> ChangeCounts {
        self.progress_entries
            .iter()
            .map(ProgressEntry::totals)
            .sum()
    }

    /// The changes of one object type and change type: how many users were
    /// created, memberships deleted, and so on. An absent entry counts as
    /// zero, as does an absent type on the wire (proto3's `*_UNSPECIFIED`).
    ///
    /// ```
    /// use yc_idp::types::{ChangeType, RelatedObjectType, SynchronizationSession};
    /// let body = r#"{"progressEntries": [
    ///     {"objectType": "USER", "changeInfo": [
    ///         {"changeType": "CREATE", "successful": "1520", "failed": "3"},
    ///         {"changeType": "UPDATE", "successful": "240"}]}
    /// ]}"#;
    /// let session: SynchronizationSession = serde_json::from_str(body).unwrap();
    /// let created = session.changes(RelatedObjectType::User, ChangeType::Create);
    /// assert_eq!((created.successful, created.failed), (1520, 3));
    /// assert_eq!(session.changes(RelatedObjectType::Group, ChangeType::Create).total(), 0);
    /// ```
    pub fn changes(&self, object_type: RelatedObjectType, change_type: ChangeType) -> ChangeCounts {
        self.progress_entries
            .iter()
            .filter(|e| e.object_type.clone().unwrap_or_default() == object_type)
            .map(|e| e.changes(change_type.clone()))
            .sum()
    }
}

impl ProgressEntry {
    /// The successful and failed changes of this object type, added up over
    /// its change types.
    pub fn totals(&self) -> ChangeCounts {
        self.change_info.iter().map(ChangeCounts::of).sum()
    }

    /// The changes of one change type for this object type.
    pub fn changes(&self, change_type: ChangeType) -> ChangeCounts {
        self.change_info
            .iter()
            .filter(|c| c.change_type.clone().unwrap_or_default() == change_type)
            .map(ChangeCounts::of)
            .sum()
    }
}

/// Counts of successful and failed changes. Sums saturate instead of
/// overflowing: the counters are int64 on the wire and a server may send
/// anything.
///
/// ```
/// use yc_idp::ChangeCounts;
/// let a = ChangeCounts { successful: 3, failed: 1 };
/// assert_eq!(a + a, ChangeCounts { successful: 6, failed: 2 });
/// assert_eq!(a.total(), 4);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChangeCounts {
    /// Changes that were applied.
    pub successful: i64,
    /// Changes that failed.
    pub failed: i64,
}

impl ChangeCounts {
    fn of(change: &ChangeInfo) -> ChangeCounts {
        ChangeCounts {
            successful: change.successful.map_or(0, |n| n.get()),
            failed: change.failed.map_or(0, |n| n.get()),
        }
    }

    /// Successful and failed changes together.
    pub fn total(self) -> i64 {
        self.successful.saturating_add(self.failed)
    }
}

impl Add for ChangeCounts {
    type Output = ChangeCounts;

    fn add(self, rhs: ChangeCounts) -> ChangeCounts {
        ChangeCounts {
            successful: self.successful.saturating_add(rhs.successful),
            failed: self.failed.saturating_add(rhs.failed),
        }
    }
}

impl AddAssign for ChangeCounts {
    fn add_assign(&mut self, rhs: ChangeCounts) {
        *self = *self + rhs;
    }
}

impl std::iter::Sum for ChangeCounts {
    fn sum<I: Iterator<Item = ChangeCounts>>(iter: I) -> ChangeCounts {
        iter.fold(ChangeCounts::default(), Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_saturate() {
        let body = r#"{"progressEntries": [
            {"objectType": "USER", "changeInfo": [{"successful": "9223372036854775807"}]},
            {"objectType": "GROUP", "changeInfo": [{"successful": "1", "failed": "2"}]}
        ]}"#;
        let session: SynchronizationSession = serde_json::from_str(body).unwrap();
        assert_eq!(
            session.totals(),
            ChangeCounts {
                successful: i64::MAX,
                failed: 2
            }
        );
    }
}
