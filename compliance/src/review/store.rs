//! The reviewer's side of a month: each finding's 소명 state (pending →
//! explained / escalated) with its history, and the sign-off, in
//! `DATA_DIR/compliance/review/<YYYY-MM>.json`, shared by every API
//! replica and read by the CLI.
//!
//! Changes are serialized across processes by an exclusive lock (`flock`)
//! on `<YYYY-MM>.lock`, which the kernel releases when its holder dies; the
//! caller takes it ([`ReviewStore::try_lock`]), re-reads, checks, records the
//! change in the `audit` stream and writes the file atomically. Readers
//! take no lock: a rename replaces the file whole.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use chrono::{DateTime, Utc};
use logwarden_store::locked::{JsonFileError, LockedJsonFiles};
use serde::{Deserialize, Serialize};

use crate::ComplianceError;

/// The longest comment accepted, in bytes.
pub const MAX_COMMENT_BYTES: usize = 4096;

/// A finding's 소명 (explanation) state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not yet explained.
    #[default]
    Pending,
    /// Explained by the account's owner and accepted by the reviewer (소명 완료).
    Explained,
    /// Not accepted: escalated for investigation (조치 필요).
    Escalated,
}

impl State {
    pub const ALL: [State; 3] = [State::Pending, State::Explained, State::Escalated];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Explained => "explained",
            State::Escalated => "escalated",
        }
    }

    pub fn ko(self) -> &'static str {
        match self {
            State::Pending => "소명 대기",
            State::Explained => "소명 완료",
            State::Escalated => "조치 필요",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateChange {
    pub state: State,
    pub by: String,
    pub at: DateTime<Utc>,
    pub comment: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingState {
    pub state: State,
    #[serde(default)]
    pub history: Vec<StateChange>,
}

/// The reviewer's sign-off of the month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOff {
    pub by: String,
    pub at: DateTime<Utc>,
    pub comment: String,
    /// Findings at the time of the sign-off, and how many of them were
    /// explained and escalated.
    pub findings: u64,
    pub explained: u64,
    pub escalated: u64,
    /// SHA-256 of the review's findings (ids and states) that was signed.
    pub findings_sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthState {
    pub month: String,
    #[serde(default)]
    pub findings: BTreeMap<String, FindingState>,
    #[serde(default)]
    pub signoff: Option<SignOff>,
}

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the review of {0} is signed off; findings no longer change")]
    SignedOff(String),
    #[error("the review of {0} is already signed off")]
    AlreadySignedOff(String),
    #[error("{0} finding(s) are still pending: explain or escalate each before signing off")]
    Pending(u64),
    #[error("the month {0} is not over yet")]
    MonthNotOver(String),
}

impl MonthState {
    /// Sets finding `id` to `change.state`, keeping the history.
    pub fn change(&mut self, id: &str, change: StateChange) -> Result<State, Refused> {
        if self.signoff.is_some() {
            return Err(Refused::SignedOff(self.month.clone()));
        }
        let entry = self.findings.entry(id.to_string()).or_default();
        let from = entry.state;
        entry.state = change.state;
        entry.history.push(change);
        Ok(from)
    }

    pub fn state_of(&self, id: &str) -> State {
        self.findings.get(id).map_or(State::Pending, |f| f.state)
    }
}

/// Checks a reviewer's comment: required, at most [`MAX_COMMENT_BYTES`].
pub fn check_comment(comment: &str) -> Result<(), String> {
    if comment.trim().is_empty() {
        return Err("`comment` is required: say what was explained or why it is escalated".into());
    }
    if comment.len() > MAX_COMMENT_BYTES {
        return Err(format!("`comment` is longer than {MAX_COMMENT_BYTES} bytes"));
    }
    Ok(())
}

pub struct ReviewStore {
    files: LockedJsonFiles,
}

fn store_error(error: JsonFileError) -> ComplianceError {
    match error {
        JsonFileError::Io { path, source } => ComplianceError::io(&path, source),
        JsonFileError::Corrupt { path, source } => ComplianceError::Corrupt { path, message: source.to_string() },
        JsonFileError::Store(e) => e.into(),
    }
}

impl ReviewStore {
    /// The store under `DATA_DIR/compliance/review` (made on the first change).
    pub fn new(data_dir: &Path) -> ReviewStore {
        ReviewStore { files: LockedJsonFiles::new(data_dir.join("compliance").join("review")) }
    }

    /// The month's states (empty when nothing was ever set).
    pub fn read(&self, month: &str) -> Result<MonthState, ComplianceError> {
        let state = self.files.read(month).map_err(store_error)?;
        Ok(state.unwrap_or_else(|| MonthState { month: month.to_string(), ..MonthState::default() }))
    }

    /// The month's cross-process lock, held while the file is open;
    /// `None` when another process holds it.
    pub fn try_lock(&self, month: &str) -> Result<Option<File>, ComplianceError> {
        self.files.try_lock(month).map_err(store_error)
    }

    /// Writes the month's states atomically (call with the lock held).
    pub fn write(&self, state: &MonthState) -> Result<(), ComplianceError> {
        self.files.write(&state.month, state).map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(state: State, by: &str) -> StateChange {
        StateChange { state, by: by.into(), at: Utc::now(), comment: format!("{by}: {state}") }
    }

    #[test]
    fn states_round_trip_with_history_and_freeze_at_sign_off() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReviewStore::new(dir.path());
        let mut month = store.read("2026-11").unwrap();
        assert_eq!(month.state_of("2026-11-0123456789abcdef"), State::Pending);
        let lock = store.try_lock("2026-11").unwrap().expect("free");
        assert!(store.try_lock("2026-11").unwrap().is_none(), "a second holder waits");
        assert_eq!(month.change("2026-11-0123456789abcdef", change(State::Escalated, "ann")), Ok(State::Pending));
        assert_eq!(month.change("2026-11-0123456789abcdef", change(State::Explained, "bob")), Ok(State::Escalated));
        store.write(&month).unwrap();
        drop(lock);
        let read = store.read("2026-11").unwrap();
        assert_eq!(read, month);
        assert_eq!(read.findings["2026-11-0123456789abcdef"].history.len(), 2);
        month.signoff = Some(SignOff {
            by: "ann".into(),
            at: Utc::now(),
            comment: "ok".into(),
            findings: 1,
            explained: 1,
            escalated: 0,
            findings_sha256: String::new(),
        });
        assert!(matches!(month.change("2026-11-0123456789abcdef", change(State::Escalated, "eve")), Err(Refused::SignedOff(_))));
        assert!(check_comment(" ").is_err() && check_comment("ok").is_ok());
    }
}
