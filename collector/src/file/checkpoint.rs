//! On-disk checkpoints: how far each file has been acknowledged by Kafka.
//!
//! Written atomically (write a temporary file, fsync, rename, fsync the
//! directory), so a crash leaves either the old or the new checkpoints, never
//! a torn file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// A file's identity on this machine: device and inode, stable across renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn key(self) -> String {
        format!("{:x}:{:x}", self.dev, self.ino)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Last path the file was seen under (for operators; identity is the id).
    pub path: String,
    pub id: FileId,
    /// Every byte before this offset has been acknowledged by Kafka.
    pub offset: u64,
}

#[derive(Debug)]
pub struct CheckpointStore {
    path: PathBuf,
    entries: BTreeMap<String, Checkpoint>,
    dirty: bool,
}

impl CheckpointStore {
    /// Opens (or starts) the checkpoint file in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<CheckpointStore> {
        fs::create_dir_all(dir).with_context(|| format!("creating checkpoint dir {}", dir.display()))?;
        let path = dir.join("files.json");
        let entries = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Vec<Checkpoint>>(&bytes)
                .with_context(|| format!("corrupt checkpoint file {}", path.display()))?
                .into_iter()
                .map(|c| (c.id.key(), c))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(CheckpointStore { path, entries, dirty: false })
    }

    pub fn get(&self, id: FileId) -> Option<&Checkpoint> {
        self.entries.get(&id.key())
    }

    pub fn set(&mut self, id: FileId, path: &str, offset: u64) {
        let entry = Checkpoint { path: path.to_string(), id, offset };
        if self.entries.get(&id.key()) != Some(&entry) {
            self.entries.insert(id.key(), entry);
            self.dirty = true;
        }
    }

    pub fn remove(&mut self, id: FileId) {
        if self.entries.remove(&id.key()).is_some() {
            self.dirty = true;
        }
    }

    /// Writes the checkpoints if they changed since the last save.
    pub fn save(&mut self) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let entries: Vec<&Checkpoint> = self.entries.values().collect();
        let bytes = serde_json::to_vec_pretty(&entries)?;
        let tmp = self.path.with_extension("json.tmp");
        let mut file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(&bytes)?;
        file.sync_all().with_context(|| format!("fsync {}", tmp.display()))?;
        fs::rename(&tmp, &self.path).with_context(|| format!("renaming to {}", self.path.display()))?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_reopen() {
        let dir = std::env::temp_dir().join(format!("lw-ckpt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let id = FileId { dev: 1, ino: 42 };
        let mut store = CheckpointStore::open(&dir).unwrap();
        store.set(id, "/var/log/a.log", 1234);
        store.save().unwrap();
        let store = CheckpointStore::open(&dir).unwrap();
        assert_eq!(store.get(id).map(|c| c.offset), Some(1234));
        assert!(!dir.join("files.json.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
