//! On-disk checkpoints: how far each file has been acknowledged by Kafka.
//!
//! Written atomically (write a temporary file, fsync, rename, fsync the
//! directory), so a crash leaves either the old or the new checkpoints, never
//! a torn file.
//!
//! A checkpoint is keyed by device and inode and carries a [`Fingerprint`] of
//! the file's first bytes: an inode reused by a new file after a delete does
//! not inherit the old file's offset, while a renamed file keeps it.
//! Checkpoints written before fingerprints existed are trusted by inode and
//! get their fingerprint on the next save.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::FileExt;
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

/// How many leading bytes identify a file's content.
pub const FINGERPRINT_BYTES: u64 = 1024;

/// A checksum of a file's first `bytes` bytes (at most
/// [`FINGERPRINT_BYTES`]; fewer while the file is shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub bytes: u64,
    pub crc32: u32,
}

impl Fingerprint {
    /// The fingerprint of the file's current first bytes; `None` when empty.
    pub fn of(file: &File) -> std::io::Result<Option<Fingerprint>> {
        let mut buf = vec![0u8; FINGERPRINT_BYTES as usize];
        let n = read_prefix(file, &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(Fingerprint { bytes: n as u64, crc32: crc32fast::hash(&buf[..n]) }))
    }

    /// Whether the file still starts with the bytes this fingerprint covers.
    pub fn matches(&self, file: &File) -> std::io::Result<bool> {
        let mut buf = vec![0u8; self.bytes.min(FINGERPRINT_BYTES) as usize];
        let n = read_prefix(file, &mut buf)?;
        Ok(n == buf.len() && crc32fast::hash(&buf) == self.crc32)
    }

    /// Covers every byte it can: growing it further changes nothing.
    pub fn is_complete(&self) -> bool {
        self.bytes >= FINGERPRINT_BYTES
    }
}

fn read_prefix(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64)? {
            0 => break,
            read => n += read,
        }
    }
    Ok(n)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Last path the file was seen under (for operators; identity is the id).
    pub path: String,
    pub id: FileId,
    /// Every byte before this offset has been acknowledged by Kafka.
    pub offset: u64,
    /// The file's first bytes when saved; absent in checkpoints from before
    /// fingerprints, or for a file that was empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
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

    pub fn set(&mut self, id: FileId, path: &str, offset: u64, fingerprint: Option<Fingerprint>) {
        let entry = Checkpoint { path: path.to_string(), id, offset, fingerprint };
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
        store.set(id, "/var/log/a.log", 1234, None);
        store.save().unwrap();
        let store = CheckpointStore::open(&dir).unwrap();
        assert_eq!(store.get(id).map(|c| c.offset), Some(1234));
        assert!(!dir.join("files.json.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checkpoints_without_a_fingerprint_still_load() {
        let dir = std::env::temp_dir().join(format!("lw-ckpt-old-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let old = r#"[{"path": "/var/log/a.log", "id": {"dev": 1, "ino": 42}, "offset": 77}]"#;
        fs::write(dir.join("files.json"), old).unwrap();
        let mut store = CheckpointStore::open(&dir).unwrap();
        let id = FileId { dev: 1, ino: 42 };
        assert_eq!(store.get(id).map(|c| (c.offset, c.fingerprint)), Some((77, None)));
        let fingerprint = Fingerprint { bytes: 10, crc32: 7 };
        store.set(id, "/var/log/a.log", 80, Some(fingerprint));
        store.save().unwrap();
        let store = CheckpointStore::open(&dir).unwrap();
        assert_eq!(store.get(id).and_then(|c| c.fingerprint), Some(fingerprint));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fingerprint_tells_content_apart() {
        let dir = std::env::temp_dir().join(format!("lw-fp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        fs::write(&path, b"first line\n").unwrap();
        let short = Fingerprint::of(&File::open(&path).unwrap()).unwrap().unwrap();
        assert_eq!(short.bytes, 11);
        assert!(!short.is_complete());
        // The file grows: still the same file.
        fs::write(&path, "first line\n".repeat(200)).unwrap();
        let file = File::open(&path).unwrap();
        assert!(short.matches(&file).unwrap());
        let full = Fingerprint::of(&file).unwrap().unwrap();
        assert!(full.is_complete() && full.matches(&file).unwrap());
        // Other content, or a shorter file: another file.
        fs::write(&path, b"other line\n").unwrap();
        assert!(!short.matches(&File::open(&path).unwrap()).unwrap());
        fs::write(&path, b"first").unwrap();
        assert!(!short.matches(&File::open(&path).unwrap()).unwrap());
        fs::write(&path, b"").unwrap();
        assert_eq!(Fingerprint::of(&File::open(&path).unwrap()).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
