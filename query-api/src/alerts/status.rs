//! The triage status of alerts (open → acknowledged → closed) and its
//! history, in the data directory every API replica shares:
//! `DATA_DIR/alerts/status/<id>.json`, one file per alert that was ever
//! changed (no file: open, no history).
//!
//! A change is serialized twice: by an in-process lock (one of
//! [`STRIPES`], picked by the id), then across processes by an exclusive
//! lock (`flock`) on `<id>.lock`, which the kernel releases when its holder
//! dies, so a crash leaves no stale lock. Under both, the current file is
//! re-read, the move checked, the change recorded (the audit record) and
//! the new file written atomically: of two simultaneous acknowledges one
//! succeeds and the other finds the alert already acknowledged.
//! Readers take no lock: a rename replaces the file whole. The lock file
//! stays beside the status (removing it would race with a waiting
//! replica, which would then lock a file no longer in the directory).
//! The files and their locks are [`LockedJsonFiles`], shared with the
//! access review's store.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use logwarden_store::locked::{JsonFileError, LockedJsonFiles};
use serde::{Deserialize, Serialize};

/// The longest comment accepted on a change, in bytes.
pub const MAX_COMMENT_BYTES: usize = 4096;

/// How long a change waits for another replica's change of the same alert.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// In-process locks; unrelated alerts rarely share one, and a change holds
/// it only for a file read, an audit record and a file write.
const STRIPES: usize = 64;

/// Whether `id` has the shape of an alert id: 32 lowercase hex digits (the
/// detector's ids are 128-bit digests). Only such ids become file names.
pub fn is_alert_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Acknowledged,
    Closed,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Open, Status::Acknowledged, Status::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of status: to what, by whom (the key's name), when, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: Status,
    pub by: String,
    pub at: DateTime<Utc>,
    pub comment: String,
}

/// An alert's current status and every change that led to it, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStatus {
    pub status: Status,
    #[serde(default)]
    pub history: Vec<StatusChange>,
}

impl Default for AlertStatus {
    fn default() -> Self {
        AlertStatus { status: Status::Open, history: Vec::new() }
    }
}

/// A move the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub from: Status,
    pub to: Status,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.from, self.to) {
            (Status::Closed, _) => write!(f, "the alert is closed, and a closed alert stays closed"),
            (from, to) if from == to => write!(f, "the alert is already {to}"),
            (from, to) => write!(f, "an {from} alert cannot become {to}"),
        }
    }
}

impl AlertStatus {
    /// The status after `change`, or why the lifecycle refuses it: open →
    /// acknowledged → closed, open → closed; closed is final.
    pub fn after(&self, change: StatusChange) -> Result<AlertStatus, Refused> {
        let allowed = matches!(
            (self.status, change.status),
            (Status::Open, Status::Acknowledged) | (Status::Open | Status::Acknowledged, Status::Closed)
        );
        if !allowed {
            return Err(Refused { from: self.status, to: change.status });
        }
        let mut next = self.clone();
        next.status = change.status;
        next.history.push(change);
        Ok(next)
    }
}

/// The file named in the message; the details go to the log.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("`{0}` is not an alert id (32 lowercase hex digits)")]
    InvalidId(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an alert status: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("{0}")]
    Store(#[from] logwarden_store::StoreError),
    /// Another replica held the alert's lock past the timeout.
    #[error("alert {0} is being changed by another request")]
    Busy(String),
}

impl From<JsonFileError> for StatusError {
    fn from(error: JsonFileError) -> StatusError {
        match error {
            JsonFileError::Io { path, source } => StatusError::Io { path, source },
            JsonFileError::Corrupt { path, source } => StatusError::Corrupt { path, source },
            JsonFileError::Store(e) => StatusError::Store(e),
        }
    }
}

/// Why a transition did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("{0}")]
    Refused(Refused),
    /// The change could not be recorded: nothing was changed.
    #[error("the change could not be recorded: {0}")]
    Unrecorded(String),
    #[error(transparent)]
    Store(#[from] StatusError),
}

/// A transition done: from what, and the status now.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub from: Status,
    pub now: AlertStatus,
}

pub struct StatusStore {
    files: LockedJsonFiles,
    stripes: Vec<tokio::sync::Mutex<()>>,
    lock_timeout: Duration,
}

impl StatusStore {
    /// The store under `DATA_DIR/alerts/status` (made on the first change).
    pub fn new(data_dir: &Path) -> StatusStore {
        StatusStore::with_lock_timeout(data_dir, LOCK_TIMEOUT)
    }

    fn with_lock_timeout(data_dir: &Path, lock_timeout: Duration) -> StatusStore {
        StatusStore {
            files: LockedJsonFiles::new(data_dir.join("alerts").join("status")),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            lock_timeout,
        }
    }

    fn check(id: &str) -> Result<(), StatusError> {
        if !is_alert_id(id) {
            return Err(StatusError::InvalidId(id.to_string()));
        }
        Ok(())
    }

    /// The status of `id` (open when it was never changed).
    pub fn read(&self, id: &str) -> Result<AlertStatus, StatusError> {
        StatusStore::check(id)?;
        Ok(self.files.read(id)?.unwrap_or_default())
    }

    /// The ids that were ever changed (every other alert is open).
    pub fn changed_ids(&self) -> Result<HashSet<String>, StatusError> {
        let entries = match std::fs::read_dir(self.files.dir()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
            Err(source) => return Err(StatusError::Io { path: self.files.dir().to_path_buf(), source }),
        };
        Ok(entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter_map(|name| name.strip_suffix(".json").filter(|id| is_alert_id(id)).map(str::to_string))
            .collect())
    }

    /// Moves `id` to `change.status` if its current status allows it.
    /// `record` runs under the lock, after the check and before the write,
    /// with the status being left; when it fails nothing changes.
    pub async fn transition(
        &self,
        id: &str,
        change: StatusChange,
        record: impl AsyncFnOnce(Status) -> Result<(), String>,
    ) -> Result<Transition, TransitionError> {
        StatusStore::check(id)?;
        let _local = self.stripes[stripe(id)].lock().await;
        let _shared = self.lock_file(id).await?;
        let current = self.read(id)?;
        let now = current.after(change).map_err(TransitionError::Refused)?;
        record(current.status).await.map_err(TransitionError::Unrecorded)?;
        let (files, name, written) = (self.files.clone(), id.to_string(), now.clone());
        tokio::task::spawn_blocking(move || files.write(&name, &written))
            .await
            .map_err(|e| StatusError::Io { path: self.files.dir().to_path_buf(), source: std::io::Error::other(e) })?
            .map_err(StatusError::from)?;
        Ok(Transition { from: current.status, now })
    }

    /// The cross-process lock of `id`: held while the file is open.
    async fn lock_file(&self, id: &str) -> Result<File, StatusError> {
        StatusStore::check(id)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match self.files.try_lock(id)? {
                Some(file) => return Ok(file),
                None if started.elapsed() < self.lock_timeout => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                None => return Err(StatusError::Busy(id.to_string())),
            }
        }
    }
}

fn stripe(id: &str) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn change(status: Status, by: &str) -> StatusChange {
        StatusChange { status, by: by.into(), at: Utc::now(), comment: format!("{by} says {status}") }
    }

    async fn move_to(store: &StatusStore, status: Status, by: &str) -> Result<Transition, TransitionError> {
        store.transition(ID, change(status, by), async |_| Ok(())).await
    }

    fn refused(result: Result<Transition, TransitionError>) -> Refused {
        match result {
            Err(TransitionError::Refused(refused)) => refused,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn ids_are_32_lowercase_hex_digits() {
        assert!(is_alert_id(ID));
        for bad in ["", "0123", &ID.to_uppercase(), &format!("{ID}0"), "../../../../etc/passwd0000000000", "0123456789abcdef0123456789abcdeg"] {
            assert!(!is_alert_id(bad), "{bad}");
        }
        let store = StatusStore::new(Path::new("/nonexistent"));
        assert!(matches!(store.read("../x"), Err(StatusError::InvalidId(_))));
    }

    #[tokio::test]
    async fn the_lifecycle_goes_forward_only_and_is_kept_with_its_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatusStore::new(dir.path());
        assert_eq!(store.read(ID).unwrap(), AlertStatus::default());
        assert!(store.changed_ids().unwrap().is_empty());

        let acknowledged = move_to(&store, Status::Acknowledged, "ann").await.unwrap();
        assert_eq!(acknowledged.from, Status::Open);
        assert_eq!(acknowledged.now.status, Status::Acknowledged);
        let again = refused(move_to(&store, Status::Acknowledged, "bob").await);
        assert_eq!(again, Refused { from: Status::Acknowledged, to: Status::Acknowledged });
        assert_eq!(again.to_string(), "the alert is already acknowledged");

        let closed = move_to(&store, Status::Closed, "bob").await.unwrap();
        assert_eq!(closed.from, Status::Acknowledged);
        for status in [Status::Acknowledged, Status::Closed, Status::Open] {
            let refusal = refused(move_to(&store, status, "eve").await);
            assert!(refusal.to_string().contains("closed"), "{refusal}");
        }

        // What a reader (another replica) sees: the file, whole.
        let stored = StatusStore::new(dir.path()).read(ID).unwrap();
        assert_eq!(stored.status, Status::Closed);
        let history: Vec<_> = stored.history.iter().map(|c| (c.status, c.by.as_str(), c.comment.as_str())).collect();
        assert_eq!(
            history,
            [(Status::Acknowledged, "ann", "ann says acknowledged"), (Status::Closed, "bob", "bob says closed")]
        );
        assert_eq!(store.changed_ids().unwrap(), HashSet::from([ID.to_string()]));
        assert!(dir.path().join("alerts/status").join(format!("{ID}.json")).is_file());
    }

    #[tokio::test]
    async fn an_open_alert_may_be_closed_directly() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatusStore::new(dir.path());
        assert_eq!(move_to(&store, Status::Closed, "ann").await.unwrap().from, Status::Open);
        assert_eq!(store.read(ID).unwrap().history.len(), 1);
        assert_eq!(refused(move_to(&store, Status::Open, "ann").await).from, Status::Closed);
    }

    #[tokio::test]
    async fn an_unrecorded_change_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatusStore::new(dir.path());
        let result = store.transition(ID, change(Status::Acknowledged, "ann"), async |_| Err("spool full".to_string())).await;
        assert!(matches!(result, Err(TransitionError::Unrecorded(ref e)) if e == "spool full"), "{result:?}");
        assert_eq!(store.read(ID).unwrap(), AlertStatus::default());
        // The record is told the status being left.
        let mut left = None;
        store.transition(ID, change(Status::Closed, "ann"), async |from| {
            left = Some(from);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(left, Some(Status::Open));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_simultaneous_changes_on_two_replicas_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        // Two stores on one directory: two API replicas, whose in-process
        // locks know nothing of each other.
        let replicas = [Arc::new(StatusStore::new(dir.path())), Arc::new(StatusStore::new(dir.path()))];
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = replicas[i % 2].clone();
                tokio::spawn(async move {
                    let by = format!("key{i}");
                    // A slow audit record widens the window a race would need.
                    store
                        .transition(ID, change(Status::Acknowledged, &by), async |_| {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(TransitionError::Refused(r)) => assert_eq!(r.from, Status::Acknowledged),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(won, 1);
        assert_eq!(replicas[0].read(ID).unwrap().history.len(), 1);
    }

    #[tokio::test]
    async fn a_change_held_by_another_replica_times_out_as_busy() {
        let dir = tempfile::tempdir().unwrap();
        let holder = StatusStore::new(dir.path());
        let held = holder.lock_file(ID).await.unwrap();
        let other = StatusStore::with_lock_timeout(dir.path(), Duration::from_millis(50));
        let result = other.transition(ID, change(Status::Closed, "ann"), async |_| Ok(())).await;
        assert!(matches!(result, Err(TransitionError::Store(StatusError::Busy(_)))), "{result:?}");
        drop(held);
        other.transition(ID, change(Status::Closed, "ann"), async |_| Ok(())).await.unwrap();
    }

    #[test]
    fn a_corrupt_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatusStore::new(dir.path());
        std::fs::create_dir_all(dir.path().join("alerts/status")).unwrap();
        std::fs::write(dir.path().join("alerts/status").join(format!("{ID}.json")), b"{").unwrap();
        let error = store.read(ID).unwrap_err().to_string();
        assert!(error.contains(ID) && error.contains("not an alert status"), "{error}");
    }
}
