//! On-disk layout of splits and their commit payloads.
//!
//! ```text
//! <data_dir>/<stream>/p<partition>/<split-id>/   one tantivy index per split
//! ```
//!
//! A split id is `s` and the Kafka offset of the split's first event, zero
//! padded, so ids sort in offset order within a partition.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The checkpoint stored in every split's tantivy commit payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPayload {
    pub partition: i32,
    /// Every event of this partition before this offset that belongs to the
    /// split is committed in it.
    pub next_offset: i64,
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

pub fn split_id(first_offset: i64) -> String {
    format!("s{first_offset:020}")
}

pub fn split_path(data_dir: &Path, stream: &str, partition: i32, id: &str) -> PathBuf {
    data_dir.join(stream).join(format!("p{partition}")).join(id)
}

/// Every split under `data_dir` (those with a tantivy `meta.json`), sorted by
/// stream, partition and id.
pub fn list_splits(data_dir: &Path) -> std::io::Result<Vec<SplitLocation>> {
    let mut splits = Vec::new();
    for stream in read_dirs(data_dir)? {
        let Some(stream_name) = file_name(&stream) else { continue };
        if !logwarden_event::is_valid_stream_name(&stream_name) {
            continue;
        }
        for partition_dir in read_dirs(&stream)? {
            let Some(partition) = file_name(&partition_dir)
                .and_then(|n| n.strip_prefix('p').and_then(|p| p.parse::<i32>().ok()))
            else {
                continue;
            };
            for split in read_dirs(&partition_dir)? {
                let Some(id) = file_name(&split) else { continue };
                if id.starts_with('s') && split.join("meta.json").exists() {
                    splits.push(SplitLocation { stream: stream_name.clone(), partition, id, path: split });
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
    path.file_name().and_then(|n| n.to_str()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_well_formed_split_dirs() {
        let root = std::env::temp_dir().join(format!("lw-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let good = split_path(&root, "auth", 1, &split_id(42));
        std::fs::create_dir_all(&good).unwrap();
        std::fs::write(good.join("meta.json"), "{}").unwrap();
        std::fs::create_dir_all(split_path(&root, "auth", 1, "s1")).unwrap(); // no meta.json
        std::fs::create_dir_all(root.join("checkpoints")).unwrap();
        std::fs::create_dir_all(root.join("auth").join("px")).unwrap();
        let splits = list_splits(&root).unwrap();
        assert_eq!(splits.len(), 1);
        assert_eq!((splits[0].stream.as_str(), splits[0].partition), ("auth", 1));
        assert_eq!(splits[0].id, "s00000000000000000042");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn payload_round_trips() {
        let payload = SplitPayload { partition: 3, next_offset: 99 };
        assert_eq!(SplitPayload::decode(&payload.encode()), Some(payload));
        assert_eq!(SplitPayload::decode("garbage"), None);
    }
}
