//! File positions: how far each file's content has been committed to Kafka.
//!
//! A position lives in the compacted checkpoints topic, written in the same
//! Kafka transaction as the events before it (see
//! `logwarden_kafka::transaction`), under an opaque key of its own. It names
//! the file's device and inode, stable across renames, and carries a
//! [`Fingerprint`] of the file's first bytes, which is what identifies the
//! *content*: an inode reused by a new file does not inherit the old
//! file's offset, a renamed file keeps it, and a copy of a file (logrotate
//! `copytruncate`) takes over the position of the content it copies, so
//! what was committed from the original is not sent again from the copy.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::Path;

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
    /// The fingerprint of a content's first bytes (at most
    /// [`FINGERPRINT_BYTES`] of `head` count); `None` when empty.
    pub fn of_bytes(head: &[u8]) -> Option<Fingerprint> {
        let head = &head[..head.len().min(FINGERPRINT_BYTES as usize)];
        (!head.is_empty()).then(|| Fingerprint { bytes: head.len() as u64, crc32: crc32fast::hash(head) })
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

/// The first bytes of a file, to compare with fingerprints.
pub struct Prefix(Vec<u8>);

impl Prefix {
    pub fn of(file: &File) -> std::io::Result<Prefix> {
        let mut buf = vec![0u8; FINGERPRINT_BYTES as usize];
        let n = read_prefix(file, &mut buf)?;
        buf.truncate(n);
        Ok(Prefix(buf))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Fingerprint {
    /// Whether `prefix` starts with the bytes this fingerprint covers.
    pub fn matches_prefix(&self, prefix: &Prefix) -> bool {
        let n = self.bytes.min(FINGERPRINT_BYTES) as usize;
        prefix.0.len() >= n && crc32fast::hash(&prefix.0[..n]) == self.crc32
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Last path the file was seen under (for operators).
    pub path: String,
    pub id: FileId,
    /// Every byte before this offset is in committed events.
    pub offset: u64,
    /// The file's first bytes when written; absent for a file that was empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
}

#[derive(Debug)]
struct Position {
    /// As committed to Kafka; `None` for a position new in the open transaction.
    committed: Option<Checkpoint>,
    /// As of the open transaction.
    current: Checkpoint,
    /// The tracked file reading this content, if any.
    claimed_by: Option<FileId>,
}

/// How a newly seen file relates to the known positions.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Resume this position's content at this offset.
    Resume(String, u64),
    /// A copy of content another tracked file is reading: not read (it would
    /// send the same lines twice); looked at again on the next scan.
    Shadowed,
    /// Content not seen before.
    New,
}

/// The name of a file position in the checkpoints topic.
pub fn position_name(key: &str) -> String {
    format!("file/{key}")
}

/// Every file position of this collector, committed and in the open
/// transaction.
#[derive(Debug, Default)]
pub struct Positions {
    entries: BTreeMap<String, Position>,
    /// Changed in the open transaction.
    dirty: BTreeSet<String>,
    /// Let go in the open transaction (tombstones), with what to restore
    /// if it aborts.
    removed: BTreeMap<String, Position>,
    next: u64,
}

impl Positions {
    /// The positions read from the checkpoints topic (name → payload; other
    /// names are ignored).
    pub fn load(committed: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<Positions> {
        let mut positions = Positions::default();
        for (name, payload) in committed {
            let Some(key) = name.strip_prefix("file/") else { continue };
            let checkpoint: Checkpoint = serde_json::from_slice(payload)
                .with_context(|| format!("the committed position {name} is not a file checkpoint"))?;
            positions.entries.insert(
                key.to_string(),
                Position { committed: Some(checkpoint.clone()), current: checkpoint, claimed_by: None },
            );
        }
        Ok(positions)
    }

    /// Takes over the checkpoints of `DIR/files.json`, which the
    /// at-least-once collector kept, when Kafka holds none yet: they are
    /// written with the first transaction.
    pub fn import_legacy(&mut self, dir: &Path) -> anyhow::Result<usize> {
        let path = dir.join("files.json");
        let legacy = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Vec<Checkpoint>>(&bytes)
                .with_context(|| format!("corrupt checkpoint file {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let count = legacy.len();
        for checkpoint in legacy {
            let key = self.new_key(checkpoint.id);
            self.dirty.insert(key.clone());
            self.entries.insert(key, Position { committed: None, current: checkpoint, claimed_by: None });
        }
        Ok(count)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn new_key(&mut self, id: FileId) -> String {
        self.next += 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        format!("{}-{nanos:x}-{}", id.key(), self.next)
    }

    /// Same inode and same first bytes: the file a position was written for
    /// (renamed or not). Tried for every new file before [`Positions::claim_copy`].
    /// A position without a fingerprint (written by the at-least-once
    /// collector before fingerprints) is trusted by inode alone, and only
    /// when no position of the inode has matching first bytes.
    pub fn claim_same(&mut self, id: FileId, prefix: &Prefix) -> Option<(String, u64)> {
        let (key, position) = self
            .entries
            .iter_mut()
            .filter(|(_, p)| {
                p.claimed_by.is_none()
                    && p.current.id == id
                    && p.current.fingerprint.is_none_or(|f| f.matches_prefix(prefix))
            })
            .max_by_key(|(_, p)| (p.current.fingerprint.map_or(0, |f| f.bytes + 1), p.current.offset))?;
        position.claimed_by = Some(id);
        Some((key.clone(), position.current.offset))
    }

    /// Another inode with the same first bytes: a copy or a move of the
    /// content (copytruncate, a move across file systems).
    pub fn claim_copy(&mut self, id: FileId, prefix: &Prefix) -> Claim {
        let mut shadowed = false;
        let mut best: Option<(&String, &mut Position)> = None;
        for (key, position) in self.entries.iter_mut() {
            let Some(fingerprint) = position.current.fingerprint else { continue };
            if !fingerprint.matches_prefix(prefix) {
                continue;
            }
            if position.claimed_by.is_some() {
                shadowed = true;
            } else if best.as_ref().is_none_or(|(_, b)| {
                b.current.fingerprint.map_or(0, |f| f.bytes) < fingerprint.bytes
            }) {
                best = Some((key, position));
            }
        }
        match best {
            Some((key, position)) => {
                position.claimed_by = Some(id);
                Claim::Resume(key.clone(), position.current.offset)
            }
            None if shadowed => Claim::Shadowed,
            None => Claim::New,
        }
    }

    /// A position for content seen for the first time, claimed by `id`.
    pub fn create(&mut self, id: FileId, path: &str, offset: u64) -> String {
        let key = self.new_key(id);
        let current = Checkpoint { path: path.to_string(), id, offset, fingerprint: None };
        self.entries.insert(key.clone(), Position { committed: None, current, claimed_by: Some(id) });
        self.dirty.insert(key.clone());
        key
    }

    /// The content now lives in the file `id` at `path`, committed (once
    /// the open transaction commits) up to `offset`.
    pub fn advance(&mut self, key: &str, id: FileId, path: &str, offset: u64, fingerprint: Option<Fingerprint>) {
        let Some(position) = self.entries.get_mut(key) else { return };
        let current = &mut position.current;
        if current.offset != offset || current.id != id || current.path != path || current.fingerprint != fingerprint {
            *current = Checkpoint { path: path.to_string(), id, offset, fingerprint };
            self.dirty.insert(key.to_string());
        }
    }

    /// The offset of `key` as of the open transaction.
    pub fn offset(&self, key: &str) -> u64 {
        self.entries.get(key).map_or(0, |p| p.current.offset)
    }

    pub fn fingerprint(&self, key: &str) -> Option<Fingerprint> {
        self.entries.get(key).and_then(|p| p.current.fingerprint)
    }

    /// The file stops reading this content (truncated, or gone and read to
    /// the end); the position stays for a copy of it to take over. A
    /// position at offset 0 goes: nothing of its content was read, so a
    /// copy starts from the beginning anyway, and left behind it could
    /// later be claimed by its inode's next content.
    pub fn release(&mut self, key: &str) {
        let Some(position) = self.entries.get_mut(key) else { return };
        position.claimed_by = None;
        if position.current.offset == 0 {
            self.remove(key);
        }
    }

    /// Drops a position: a tombstone in the open transaction when Kafka
    /// holds it (restored if the transaction aborts).
    fn remove(&mut self, key: &str) {
        if let Some(position) = self.entries.remove(key) {
            self.dirty.remove(key);
            if position.committed.is_some() {
                self.removed.insert(key.to_string(), position);
            }
        }
    }

    /// Lets go of positions no file reads and no file seen in this scan
    /// starts with (`prefixes`): a tombstone in the open transaction.
    pub fn forget_unclaimed(&mut self, seen: &[(FileId, Prefix)]) {
        let gone: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, p)| p.claimed_by.is_none())
            .filter(|(_, p)| {
                !seen.iter().any(|(id, prefix)| {
                    *id == p.current.id || p.current.fingerprint.is_some_and(|f| f.matches_prefix(prefix))
                })
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.remove(&key);
        }
    }

    /// Whether some position awaits a claim.
    pub fn has_unclaimed(&self) -> bool {
        self.entries.values().any(|p| p.claimed_by.is_none())
    }

    /// The records to write in the open transaction: (name, payload or
    /// `None` for a tombstone).
    pub fn changes(&self) -> Vec<(String, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        for key in &self.dirty {
            if let Some(position) = self.entries.get(key) {
                let payload = serde_json::to_vec(&position.current).expect("a checkpoint serializes");
                out.push((position_name(key), Some(payload)));
            }
        }
        for key in self.removed.keys() {
            out.push((position_name(key), None));
        }
        out
    }

    /// The open transaction committed.
    pub fn committed(&mut self) {
        for key in std::mem::take(&mut self.dirty) {
            if let Some(position) = self.entries.get_mut(&key) {
                position.committed = Some(position.current.clone());
            }
        }
        self.removed.clear();
    }

    /// The open transaction aborted: every position goes back to what Kafka
    /// holds (a position new in it, to the start of its file).
    pub fn rewind(&mut self) {
        for (key, position) in std::mem::take(&mut self.removed) {
            self.entries.insert(key, position);
        }
        for key in std::mem::take(&mut self.dirty) {
            if let Some(position) = self.entries.get_mut(&key) {
                match &position.committed {
                    Some(committed) => position.current = committed.clone(),
                    None => position.current.offset = 0,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(bytes: &[u8]) -> Prefix {
        Prefix(bytes[..bytes.len().min(FINGERPRINT_BYTES as usize)].to_vec())
    }

    fn fingerprint(bytes: &[u8]) -> Fingerprint {
        Fingerprint { bytes: bytes.len() as u64, crc32: crc32fast::hash(bytes) }
    }

    #[test]
    fn positions_commit_rewind_and_survive_a_reload() {
        let mut positions = Positions::default();
        let id = FileId { dev: 1, ino: 42 };
        let key = positions.create(id, "/var/log/a.log", 0);
        positions.advance(&key, id, "/var/log/a.log", 100, Some(fingerprint(b"line 1\n")));
        positions.committed();
        positions.advance(&key, id, "/var/log/a.log", 250, Some(fingerprint(b"line 1\n")));
        positions.rewind();
        assert_eq!(positions.offset(&key), 100, "an aborted transaction's position is forgotten");
        positions.advance(&key, id, "/var/log/a.log", 300, Some(fingerprint(b"line 1\n")));
        let committed: BTreeMap<String, Vec<u8>> =
            positions.changes().into_iter().map(|(name, payload)| (name, payload.unwrap())).collect();
        positions.committed();
        let mut reloaded = Positions::load(&committed).unwrap();
        let claimed = reloaded.claim_same(id, &prefix(b"line 1\nline 2\n"));
        assert_eq!(claimed, Some((key, 300)));
    }

    #[test]
    fn a_copy_takes_over_the_position_of_its_content_once_the_original_lets_go() {
        let mut positions = Positions::default();
        let original = FileId { dev: 1, ino: 1 };
        let copy = FileId { dev: 1, ino: 2 };
        let content = b"seq=1\nseq=2\nseq=3\n";
        let key = positions.create(original, "/l/app.log", 0);
        positions.advance(&key, original, "/l/app.log", 12, Some(fingerprint(content)));
        // While the original is read, a copy of it is not.
        assert_eq!(positions.claim_copy(copy, &prefix(content)), Claim::Shadowed);
        // The original is truncated: the copy resumes where it was.
        positions.release(&key);
        assert_eq!(positions.claim_copy(copy, &prefix(content)), Claim::Resume(key.clone(), 12));
        // Other content is new.
        assert_eq!(positions.claim_copy(FileId { dev: 1, ino: 3 }, &prefix(b"other\n")), Claim::New);
        // A reused inode with other content is not the file of the position.
        positions.release(&key);
        assert_eq!(positions.claim_same(original, &prefix(b"new content\n")), None);
        positions.forget_unclaimed(&[]);
        assert!(positions.is_empty());
    }

    #[test]
    fn a_position_released_before_anything_was_read_goes() {
        // The storm's duplicate: a file claimed as new at offset 0 and
        // truncated before its first read kept an offset-0 position with no
        // fingerprint; after a restart it claimed the inode's next content
        // by inode alone, beside that content's own position, and the
        // content was read again from its start.
        let mut positions = Positions::default();
        let id = FileId { dev: 1, ino: 7 };
        let old = positions.create(id, "/l/app.log", 0);
        positions.committed();
        positions.release(&old);
        let new = positions.create(id, "/l/app.log", 0);
        positions.advance(&new, id, "/l/app.log", 12, Some(fingerprint(b"new 1\nnew 2\n")));
        let changes = positions.changes();
        assert!(changes.contains(&(position_name(&old), None)), "a tombstone for the empty position: {changes:?}");
        positions.committed();
        let committed: BTreeMap<String, Vec<u8>> =
            changes.into_iter().filter_map(|(name, payload)| Some((name, payload?))).collect();
        let mut reloaded = Positions::load(&committed).unwrap();
        assert_eq!(reloaded.claim_same(id, &prefix(b"new 1\nnew 2\nnew 3\n")), Some((new, 12)));
    }

    #[test]
    fn the_first_bytes_win_over_a_position_trusted_by_inode_alone() {
        let mut positions = Positions::default();
        let id = FileId { dev: 1, ino: 8 };
        let legacy = positions.create(id, "/l/app.log", 0);
        positions.advance(&legacy, id, "/l/app.log", 3, None);
        let known = positions.create(id, "/l/app.log", 0);
        positions.advance(&known, id, "/l/app.log", 9, Some(fingerprint(b"abc\n")));
        positions.release(&legacy);
        positions.release(&known);
        assert_eq!(positions.claim_same(id, &prefix(b"abc\ndef\n")), Some((known, 9)));
        assert_eq!(positions.claim_same(id, &prefix(b"abc\ndef\n")), Some((legacy, 3)));
    }

    #[test]
    fn legacy_checkpoints_are_imported() {
        let dir = std::env::temp_dir().join(format!("lw-ckpt-old-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let old = r#"[{"path": "/var/log/a.log", "id": {"dev": 1, "ino": 42}, "offset": 77}]"#;
        fs::write(dir.join("files.json"), old).unwrap();
        let mut positions = Positions::default();
        assert_eq!(positions.import_legacy(&dir).unwrap(), 1);
        let claimed = positions.claim_same(FileId { dev: 1, ino: 42 }, &prefix(b"anything"));
        assert_eq!(claimed.map(|c| c.1), Some(77));
        assert_eq!(positions.changes().len(), 1, "written with the first transaction");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fingerprint_tells_content_apart() {
        let dir = std::env::temp_dir().join(format!("lw-fp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        fs::write(&path, b"first line\n").unwrap();
        let short = Fingerprint::of_bytes(Prefix::of(&File::open(&path).unwrap()).unwrap().bytes()).unwrap();
        assert_eq!(short.bytes, 11);
        assert!(!short.is_complete());
        // The file grows: still the same file.
        fs::write(&path, "first line\n".repeat(200)).unwrap();
        let file = File::open(&path).unwrap();
        assert!(short.matches(&file).unwrap());
        let full = Fingerprint::of_bytes(Prefix::of(&file).unwrap().bytes()).unwrap();
        assert!(full.is_complete() && full.matches(&file).unwrap());
        // Other content, or a shorter file: another file.
        fs::write(&path, b"other line\n").unwrap();
        assert!(!short.matches(&File::open(&path).unwrap()).unwrap());
        fs::write(&path, b"first").unwrap();
        assert!(!short.matches(&File::open(&path).unwrap()).unwrap());
        fs::write(&path, b"").unwrap();
        assert_eq!(Fingerprint::of_bytes(Prefix::of(&File::open(&path).unwrap()).unwrap().bytes()), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
