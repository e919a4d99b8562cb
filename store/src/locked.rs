//! A directory of JSON files that several processes change
//! read-modify-write: the alerts' triage status, the access review's 소명
//! states.
//!
//! A change takes the file's exclusive lock (`flock` on `NAME.lock` beside
//! `NAME.json`; the kernel releases it when its holder dies, so a crash
//! leaves no stale lock), re-reads the file, checks, and writes it
//! atomically (temporary file, fsync, rename). Readers take no lock: a
//! rename replaces the file whole. The lock file stays (removing it would
//! race with a waiting process, which would then lock a file no longer in
//! the directory).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;

/// What went wrong, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum JsonFileError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file is not the JSON its reader expects.
    #[error("{path}: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    /// The atomic write failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The JSON files `DIR/NAME.json` and their locks `DIR/NAME.lock`. Names
/// are the caller's to check: they become file names as given.
#[derive(Debug, Clone)]
pub struct LockedJsonFiles {
    dir: PathBuf,
}

impl LockedJsonFiles {
    /// The files under `dir` (made on the first lock or write).
    pub fn new(dir: PathBuf) -> LockedJsonFiles {
        LockedJsonFiles { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `name`'s JSON file is.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    fn make_dir(&self) -> Result<(), JsonFileError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| JsonFileError::Io { path: self.dir.clone(), source })
    }

    /// `name`'s value; `None` when it was never written.
    pub fn read<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, JsonFileError> {
        let path = self.path(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(JsonFileError::Io { path, source }),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|source| JsonFileError::Corrupt { path, source })
    }

    /// `name`'s cross-process lock, held while the returned file is open;
    /// `None` when another holder has it.
    pub fn try_lock(&self, name: &str) -> Result<Option<File>, JsonFileError> {
        self.make_dir()?;
        let path = self.dir.join(format!("{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| JsonFileError::Io { path: path.clone(), source })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(JsonFileError::Io { path, source }),
        }
    }

    /// Writes `name`'s value atomically, pretty-printed with a final
    /// newline (call with its lock held).
    pub fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<(), JsonFileError> {
        self.make_dir()?;
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| JsonFileError::Corrupt { path: self.path(name), source })?;
        bytes.push(b'\n');
        Ok(crate::storage::write_atomically(&self.path(name), &bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_round_trips_under_a_lock_that_one_holder_has_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let files = LockedJsonFiles::new(dir.path().join("things"));
        assert_eq!(files.read::<Vec<u32>>("a").unwrap(), None);
        let held = files.try_lock("a").unwrap().expect("free");
        assert!(files.try_lock("a").unwrap().is_none(), "a second holder waits");
        assert!(files.try_lock("b").unwrap().is_some(), "another name has its own lock");
        files.write("a", &vec![1u32, 2]).unwrap();
        drop(held);
        assert!(files.try_lock("a").unwrap().is_some(), "closing the file releases the lock");
        assert_eq!(files.read::<Vec<u32>>("a").unwrap(), Some(vec![1, 2]));
        assert!(std::fs::read_to_string(files.path("a")).unwrap().ends_with("]\n"));
        std::fs::write(files.path("c"), b"{").unwrap();
        let error = files.read::<Vec<u32>>("c").unwrap_err();
        assert!(matches!(error, JsonFileError::Corrupt { ref path, .. } if path.ends_with("c.json")), "{error}");
    }
}
