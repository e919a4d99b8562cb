//! The spool directory: segment files, the byte budget, fsync.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use logwarden_config::FsyncPolicy;
use thiserror::Error;

use super::segment::{Record, encode_record};

#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("spool {dir} is full: {used} of {limit} bytes used, {needed} more needed")]
    Full {
        dir: String,
        used: u64,
        limit: u64,
        needed: u64,
    },
    #[error("spool {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A segment no longer appended to, ready to be drained.
#[derive(Debug, Clone)]
pub struct SealedSegment {
    pub seq: u64,
    pub path: PathBuf,
    pub bytes: u64,
}

struct Active {
    seq: u64,
    file: File,
    bytes: u64,
}

pub struct Spool {
    dir: PathBuf,
    /// This spool's incarnation: a new one whenever the spool is opened
    /// empty, so a committed position (`<id>`, segment number) can only
    /// refer to segments of this incarnation (numbers restart with it).
    id: String,
    max_bytes: u64,
    segment_bytes: u64,
    fsync: FsyncPolicy,
    sealed: VecDeque<SealedSegment>,
    active: Option<Active>,
    next_seq: u64,
    used: u64,
}

impl Spool {
    /// Opens the spool, taking every segment a previous run left (they are
    /// drained first, in order).
    pub fn open(dir: &Path, max_bytes: u64, fsync: FsyncPolicy) -> Result<Spool, SpoolError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            let path = entry.path();
            let Some(seq) = segment_seq(&path) else {
                continue;
            };
            let bytes = entry.metadata().map_err(io_error(&path))?.len();
            found.push(SealedSegment { seq, path, bytes });
        }
        found.sort_by_key(|s| s.seq);
        let used = found.iter().map(|s| s.bytes).sum();
        let next_seq = found.last().map_or(0, |s| s.seq + 1);
        let id_path = dir.join("spool.id");
        let kept = if found.is_empty() { None } else { std::fs::read_to_string(&id_path).ok() };
        let id = match kept.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
            Some(id) => id,
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos();
                let id = format!("{nanos:x}-{:x}", std::process::id());
                let tmp = dir.join("spool.id.tmp");
                std::fs::write(&tmp, &id)
                    .and_then(|()| File::open(&tmp)?.sync_all())
                    .and_then(|()| std::fs::rename(&tmp, &id_path))
                    .and_then(|()| File::open(dir)?.sync_all())
                    .map_err(io_error(&id_path))?;
                id
            }
        };
        Ok(Spool {
            id,
            dir: dir.to_path_buf(),
            max_bytes,
            segment_bytes: (max_bytes / 8).clamp(4096, 64 * 1024 * 1024),
            fsync,
            sealed: found.into(),
            active: None,
            next_seq,
            used,
        })
    }

    /// This spool's incarnation (see [`Spool::open`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends the records in a segment of their own, with `note` beside
    /// it (`<seq>.note`, fsynced): what a drainer must know about exactly
    /// these records (the transaction they may already be committed in).
    pub fn append_alone(&mut self, records: &[Record], note: &str) -> Result<u64, SpoolError> {
        self.seal();
        let seq = self.next_seq;
        let note_path = self.dir.join(format!("{seq:016}.note"));
        std::fs::write(&note_path, note)
            .and_then(|()| File::open(&note_path)?.sync_all())
            .map_err(io_error(&note_path))?;
        if let Err(error) = self.append(records) {
            let _ = std::fs::remove_file(&note_path);
            return Err(error);
        }
        self.seal();
        Ok(seq)
    }

    /// The sealed segments, oldest first.
    pub fn sealed_segments(&self) -> Vec<SealedSegment> {
        self.sealed.iter().cloned().collect()
    }

    /// The note written with a segment by [`Spool::append_alone`].
    pub fn note(&self, seq: u64) -> Option<String> {
        std::fs::read_to_string(self.dir.join(format!("{seq:016}.note"))).ok()
    }

    /// Forgets a segment's note (the records are like any others now).
    pub fn clear_note(&self, seq: u64) {
        let _ = std::fs::remove_file(self.dir.join(format!("{seq:016}.note")));
    }

    /// Bytes on disk.
    pub fn used_bytes(&self) -> u64 {
        self.used
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Appends the records in one write; all or none. Durable on return
    /// when the policy is `always`.
    pub fn append(&mut self, records: &[Record]) -> Result<(), SpoolError> {
        let mut buf = Vec::new();
        for record in records {
            encode_record(record, &mut buf);
        }
        let needed = buf.len() as u64;
        if self.used + needed > self.max_bytes {
            return Err(SpoolError::Full {
                dir: self.dir.display().to_string(),
                used: self.used,
                limit: self.max_bytes,
                needed,
            });
        }
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.bytes >= self.segment_bytes)
        {
            self.seal();
        }
        if self.active.is_none() {
            let seq = self.next_seq;
            let path = self.segment_path(seq);
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(io_error(&path))?;
            if self.fsync == FsyncPolicy::Always {
                File::open(&self.dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io_error(&self.dir))?;
            }
            self.next_seq += 1;
            self.active = Some(Active {
                seq,
                file,
                bytes: 0,
            });
        }
        let path = self.segment_path(self.active.as_ref().map_or(0, |a| a.seq));
        let active = self.active.as_mut().expect("active segment just opened");
        let written = active.file.write_all(&buf).and_then(|()| match self.fsync {
            FsyncPolicy::Always => active.file.sync_data(),
            FsyncPolicy::Never => Ok(()),
        });
        if let Err(source) = written {
            // Cut a partial write off so the segment stays framed.
            let _ = active.file.set_len(active.bytes);
            return Err(SpoolError::Io {
                path: path.display().to_string(),
                source,
            });
        }
        active.bytes += needed;
        self.used += needed;
        Ok(())
    }

    /// The oldest segment to drain; seals the active one when it is all
    /// there is. `None` when the spool is empty.
    pub fn oldest(&mut self) -> Option<SealedSegment> {
        if self.sealed.is_empty() && self.active.as_ref().is_some_and(|a| a.bytes > 0) {
            self.seal();
        }
        self.sealed.front().cloned()
    }

    /// Deletes a drained segment (every record acknowledged by Kafka).
    pub fn remove(&mut self, seq: u64) -> Result<(), SpoolError> {
        let Some(index) = self.sealed.iter().position(|s| s.seq == seq) else {
            return Ok(());
        };
        let path = self.sealed[index].path.clone();
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
        if let Some(segment) = self.sealed.remove(index) {
            self.used -= segment.bytes.min(self.used);
        }
        self.clear_note(seq);
        Ok(())
    }

    fn seal(&mut self) {
        if let Some(active) = self.active.take() {
            let path = self.segment_path(active.seq);
            self.sealed.push_back(SealedSegment {
                seq: active.seq,
                path,
                bytes: active.bytes,
            });
        }
    }

    fn segment_path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:016}.seg"))
    }
}

fn segment_seq(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".seg")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::decode_segment;
    use super::*;

    fn records(from: usize, n: usize) -> Vec<Record> {
        (from..from + n)
            .map(|i| Record {
                key: "h".into(),
                payload: format!("event {i:04}").into_bytes(),
            })
            .collect()
    }

    /// A directory removed when the returned guard is dropped.
    fn temp_dir() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("lw-spool-test-").tempdir().unwrap()
    }

    fn drain(spool: &mut Spool) -> Vec<Record> {
        let mut out = Vec::new();
        while let Some(segment) = spool.oldest() {
            let contents = decode_segment(&std::fs::read(&segment.path).unwrap());
            assert_eq!(contents.unreadable_bytes, 0);
            out.extend(contents.records);
            spool.remove(segment.seq).unwrap();
        }
        out
    }

    #[test]
    fn drains_in_order_across_segments_and_frees_space() {
        let scratch = temp_dir();
        let dir = scratch.path().to_path_buf();
        let mut spool = Spool::open(&dir, 64 * 1024, FsyncPolicy::Always).unwrap();
        for batch in 0..100 {
            spool.append(&records(batch * 10, 10)).unwrap();
        }
        assert!(spool.sealed.len() > 1, "rolled over to several segments");
        let used = spool.used_bytes();
        assert!(used > 0);
        assert_eq!(drain(&mut spool), records(0, 1000));
        assert_eq!(spool.used_bytes(), 0);
        assert_eq!(std::fs::read_dir(&dir).unwrap().filter(|e| segment_seq(&e.as_ref().unwrap().path()).is_some()).count(), 0);
    }

    #[test]
    fn full_spool_refuses_whole_batches_and_says_how_full() {
        let scratch = temp_dir();
        let dir = scratch.path().to_path_buf();
        let mut spool = Spool::open(&dir, 1024, FsyncPolicy::Never).unwrap();
        let mut accepted = 0;
        loop {
            match spool.append(&records(accepted, 5)) {
                Ok(()) => accepted += 5,
                Err(SpoolError::Full { used, limit, .. }) => {
                    assert_eq!(limit, 1024);
                    assert!(used <= limit);
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(accepted > 0);
        assert_eq!(drain(&mut spool), records(0, accepted));
        spool.append(&records(0, 5)).unwrap();
    }

    #[test]
    fn a_restarted_spool_drains_what_the_last_run_left() {
        let scratch = temp_dir();
        let dir = scratch.path().to_path_buf();
        {
            let mut spool = Spool::open(&dir, 1 << 20, FsyncPolicy::Always).unwrap();
            spool.append(&records(0, 50)).unwrap();
            spool.append(&records(50, 50)).unwrap();
            // Dropped without draining: a crash.
        }
        let mut spool = Spool::open(&dir, 1 << 20, FsyncPolicy::Always).unwrap();
        assert!(!spool.is_empty());
        spool.append(&records(100, 10)).unwrap();
        assert_eq!(drain(&mut spool), records(0, 110));
    }
}
