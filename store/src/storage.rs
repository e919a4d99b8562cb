//! On-disk layout of splits and their commit payloads.
//!
//! ```text
//! <data_dir>/streams/<stream>/p<partition>/<split-id>/                one tantivy index per split
//! <data_dir>/streams/<stream>/p<partition>/<split-id>/manifest.json   written when the split is sealed
//! <data_dir>/streams/<stream>/p<partition>/<split-id>/deletion.json   written when retention deleted its data
//! ```
//!
//! Streams live in their own folder, apart from the process's own state
//! beside it (`keys/`, `spool/`, `spool-audit/`, `checkpoints/`,
//! `admin.key`), so no stream name can reach into that state.
//!
//! A split id names what the split holds and where it starts:
//! `20261124T190000Z-00000000000000000042` is the window starting at that
//! UTC time, from Kafka offset 42; `late-00000000000000000042` holds events
//! too old or too far in the future for a window; `20261124T190000Z-empty`
//! is the manifest of a window that had no events (no index).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::Index;

use crate::StoreError;

/// The checkpoint stored in every split's tantivy commit payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPayload {
    pub partition: i32,
    /// Every event of this partition before this offset that belongs to the
    /// split is committed in it.
    pub next_offset: i64,
    /// Set by the last commit before the manifest is written: the split
    /// takes no more events.
    #[serde(default)]
    pub sealed: bool,
}

impl SplitPayload {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("payload serializes")
    }

    pub fn decode(text: &str) -> Option<SplitPayload> {
        serde_json::from_str(text).ok()
    }
}

/// Where a split lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitLocation {
    pub stream: String,
    pub partition: i32,
    pub id: String,
    pub path: PathBuf,
}

/// What a split holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SplitKind {
    /// Events whose `@timestamp` falls in the window starting at this Unix
    /// second.
    Window(i64),
    /// Events too old or too far in the future for a window.
    Late,
}

/// A parsed split id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitId {
    pub kind: SplitKind,
    /// Offset of the split's first event; `None` for an empty window.
    pub first_offset: Option<i64>,
}

const WINDOW_FORMAT: &str = "%Y%m%dT%H%M%SZ";

impl SplitId {
    pub fn new(kind: SplitKind, first_offset: i64) -> SplitId {
        SplitId {
            kind,
            first_offset: Some(first_offset),
        }
    }

    pub fn empty_window(start: i64) -> SplitId {
        SplitId {
            kind: SplitKind::Window(start),
            first_offset: None,
        }
    }

    pub fn parse(text: &str) -> Option<SplitId> {
        let (kind, offset) = text.split_once('-')?;
        let kind = match kind {
            "late" => SplitKind::Late,
            window => SplitKind::Window(
                chrono::NaiveDateTime::parse_from_str(window, WINDOW_FORMAT)
                    .ok()?
                    .and_utc()
                    .timestamp(),
            ),
        };
        let first_offset = match offset {
            "empty" if matches!(kind, SplitKind::Window(_)) => None,
            digits if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Some(digits.parse().ok()?)
            }
            _ => return None,
        };
        Some(SplitId { kind, first_offset })
    }
}

impl std::fmt::Display for SplitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            SplitKind::Late => f.write_str("late")?,
            SplitKind::Window(start) => {
                let time = chrono::DateTime::from_timestamp(start, 0).unwrap_or_default();
                write!(f, "{}", time.format(WINDOW_FORMAT))?;
            }
        }
        match self.first_offset {
            Some(offset) => write!(f, "-{offset:020}"),
            None => f.write_str("-empty"),
        }
    }
}

/// Reads the payload of a split's last commit, if it has one.
pub fn read_payload(index: &Index) -> Result<Option<SplitPayload>, StoreError> {
    let metas = index.load_metas()?;
    Ok(metas.payload.as_deref().and_then(SplitPayload::decode))
}

/// A temporary name beside `path`, unique to this process and call.
pub fn unique_tmp(path: &Path) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or
/// the new one: a temporary file, fsync, rename, fsync of the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = unique_tmp(path);
    let io = |e| StoreError::io(path, e);
    {
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// Where a split's manifest lives.
pub fn manifest_path(split_dir: &Path) -> PathBuf {
    split_dir.join("manifest.json")
}

/// Where the record of a split's deletion by retention lives.
pub fn deletion_path(split_dir: &Path) -> PathBuf {
    split_dir.join("deletion.json")
}

/// Whether a split directory still holds a tantivy index.
pub fn has_index(split_dir: &Path) -> bool {
    split_dir.join("meta.json").exists()
}

/// The folder holding every stream's splits.
pub fn streams_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("streams")
}

pub fn split_path(data_dir: &Path, stream: &str, partition: i32, id: &str) -> PathBuf {
    streams_dir(data_dir).join(stream).join(format!("p{partition}")).join(id)
}

/// Every split under `data_dir` that holds an index (a tantivy
/// `meta.json`), sorted by stream, partition and id.
pub fn list_splits(data_dir: &Path) -> std::io::Result<Vec<SplitLocation>> {
    let mut splits = list_split_dirs(data_dir, None)?;
    splits.retain(|s| has_index(&s.path));
    Ok(splits)
}

/// Every split directory (with an index, a manifest or both), optionally of
/// one partition only, sorted by stream, partition and id.
pub fn list_split_dirs(
    data_dir: &Path,
    only_partition: Option<i32>,
) -> std::io::Result<Vec<SplitLocation>> {
    let mut splits = Vec::new();
    for stream in read_dirs(&streams_dir(data_dir))? {
        let Some(stream_name) = file_name(&stream) else {
            continue;
        };
        if !logwarden_event::is_valid_stream_name(&stream_name) {
            continue;
        }
        for partition_dir in read_dirs(&stream)? {
            let Some(partition) = file_name(&partition_dir)
                .and_then(|n| n.strip_prefix('p').and_then(|p| p.parse::<i32>().ok()))
            else {
                continue;
            };
            if only_partition.is_some_and(|p| p != partition) {
                continue;
            }
            for split in read_dirs(&partition_dir)? {
                let Some(id) = file_name(&split) else {
                    continue;
                };
                if SplitId::parse(&id).is_some()
                    && (has_index(&split) || manifest_path(&split).exists())
                {
                    splits.push(SplitLocation {
                        stream: stream_name.clone(),
                        partition,
                        id,
                        path: split,
                    });
                }
            }
        }
    }
    splits.sort_by(|a, b| (&a.stream, a.partition, &a.id).cmp(&(&b.stream, b.partition, &b.id)));
    Ok(splits)
}

fn read_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_well_formed_split_dirs() {
        let root = std::env::temp_dir().join(format!("lw-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let id = SplitId::new(SplitKind::Window(1_764_010_800), 42).to_string();
        let good = split_path(&root, "auth", 1, &id);
        std::fs::create_dir_all(&good).unwrap();
        std::fs::write(good.join("meta.json"), "{}").unwrap();
        std::fs::create_dir_all(split_path(&root, "auth", 1, "late-00000000000000000001")).unwrap(); // no meta.json
        std::fs::create_dir_all(split_path(&root, "auth", 1, "s1")).unwrap(); // not an id
        std::fs::create_dir_all(root.join("checkpoints")).unwrap();
        std::fs::create_dir_all(streams_dir(&root).join("auth").join("px")).unwrap();
        // Internal state beside the streams is never taken for a stream.
        std::fs::create_dir_all(root.join("keys").join("p0").join(&id)).unwrap();
        std::fs::write(root.join("keys").join("p0").join(&id).join("meta.json"), "{}").unwrap();
        let splits = list_splits(&root).unwrap();
        assert_eq!(splits.len(), 1);
        assert_eq!(
            (splits[0].stream.as_str(), splits[0].partition),
            ("auth", 1)
        );
        assert_eq!(splits[0].id, "20251124T190000Z-00000000000000000042");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn payload_round_trips() {
        let payload = SplitPayload {
            partition: 3,
            next_offset: 99,
            sealed: true,
        };
        assert_eq!(SplitPayload::decode(&payload.encode()), Some(payload));
        assert_eq!(SplitPayload::decode("garbage"), None);
        // Payloads written before `sealed` existed still read.
        assert_eq!(
            SplitPayload::decode(r#"{"partition":1,"next_offset":5}"#).map(|p| p.sealed),
            Some(false)
        );
    }

    #[test]
    fn split_ids_round_trip_and_sort_by_offset() {
        for id in [
            SplitId::new(SplitKind::Window(1_764_010_800), 42),
            SplitId::new(SplitKind::Late, 0),
            SplitId::empty_window(1_764_014_400),
        ] {
            assert_eq!(SplitId::parse(&id.to_string()), Some(id), "{id}");
        }
        assert_eq!(
            SplitId::new(SplitKind::Window(1_764_010_800), 7).to_string(),
            "20251124T190000Z-00000000000000000007"
        );
        for bad in [
            "s00000000000000000042",
            "late-empty",
            "late-12",
            "2025-00000000000000000001",
            "20251124T190000Z-x",
        ] {
            assert_eq!(SplitId::parse(bad), None, "{bad}");
        }
    }
}
