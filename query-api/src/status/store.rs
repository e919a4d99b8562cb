//! What the data directory tells: recent ingest per stream, spool use and
//! the newest seal of each partition.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use logwarden_store::manifest::Manifest;
use logwarden_store::schema::{LogSchema, to_tantivy};
use logwarden_store::storage::{self, SplitLocation};
use tantivy::collector::Count;
use tantivy::query::RangeQuery;
use tantivy::{Index, Term};

use super::report::{IngestRates, LastSeal, Seals, SpoolUse, StreamRate};

/// The window ingest rates are measured over.
pub const RATE_WINDOW_SECONDS: u64 = 300;

/// Events per stream whose `event.ingested` is within the last minute and
/// the last [`RATE_WINDOW_SECONDS`]. Only splits committed within the
/// window are opened (their `meta.json` is newer), so the cost does not
/// grow with the store.
pub fn ingest_rates(data_dir: &Path, now: DateTime<Utc>, problems: &mut Vec<String>) -> IngestRates {
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let splits = match storage::list_splits(data_dir) {
        Ok(splits) => splits,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            problems.push(format!("listing splits in {}: {e}", data_dir.display()));
            Vec::new()
        }
    };
    let window_start = SystemTime::now() - std::time::Duration::from_secs(RATE_WINDOW_SECONDS + 5);
    let schema = LogSchema::new();
    for split in &splits {
        counts.entry(split.stream.clone()).or_default();
        let modified = std::fs::metadata(split.path.join("meta.json")).and_then(|m| m.modified());
        if modified.is_ok_and(|m| m < window_start) {
            continue;
        }
        match count_recent(split, &schema, now) {
            Ok((minute, window)) => {
                let entry = counts.entry(split.stream.clone()).or_default();
                entry.0 += minute;
                entry.1 += window;
            }
            Err(e) => problems.push(format!("counting recent events of split {}: {e}", split.path.display())),
        }
    }
    let streams = counts
        .into_iter()
        .map(|(stream, (last_1m, last_window))| StreamRate {
            stream,
            last_1m,
            last_window,
            per_second: last_window as f64 / RATE_WINDOW_SECONDS as f64,
        })
        .collect();
    IngestRates { window_seconds: RATE_WINDOW_SECONDS, streams }
}

fn count_recent(split: &SplitLocation, schema: &LogSchema, now: DateTime<Utc>) -> anyhow::Result<(u64, u64)> {
    let index = Index::open_in_dir(&split.path)?;
    let searcher = index.reader()?.searcher();
    let count = |seconds: i64| -> anyhow::Result<u64> {
        let since = now - chrono::Duration::seconds(seconds);
        let term = |t: DateTime<Utc>| Term::from_field_date_for_search(schema.ingested, to_tantivy(t));
        let query = RangeQuery::new(Bound::Included(term(since)), Bound::Unbounded);
        Ok(searcher.search(&query, &Count)? as u64)
    };
    Ok((count(60)?, count(RATE_WINDOW_SECONDS as i64)?))
}

/// Bytes and segment files in a spool directory (absent: empty).
pub fn spool_use(name: &str, dir: &Path, max_bytes: u64) -> SpoolUse {
    let (mut used_bytes, mut segments) = (0, 0);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                used_bytes += meta.len();
                segments += 1;
            }
        }
    }
    SpoolUse { name: name.to_string(), dir: dir.display().to_string(), used_bytes, max_bytes, segments }
}

/// The newest manifest of each stream and partition, and the splits not
/// sealed yet. Per partition, manifests are read newest split first until
/// one is found (window splits and late splits apart).
pub fn seals(data_dir: &Path, problems: &mut Vec<String>) -> Seals {
    let dirs = match storage::list_split_dirs(data_dir, None) {
        Ok(dirs) => dirs,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            problems.push(format!("listing splits in {}: {e}", data_dir.display()));
            Vec::new()
        }
    };
    let mut by_partition: BTreeMap<(String, i32), Vec<&SplitLocation>> = BTreeMap::new();
    let mut open_splits = 0;
    for dir in &dirs {
        if !storage::manifest_path(&dir.path).exists() {
            open_splits += 1;
        }
        by_partition.entry((dir.stream.clone(), dir.partition)).or_default().push(dir);
    }
    let mut partitions = Vec::new();
    for ((stream, partition), splits) in by_partition {
        let mut newest: Option<Manifest> = None;
        for late in [false, true] {
            let kind = splits.iter().rev().filter(|s| s.id.starts_with("late-") == late);
            for split in kind {
                match Manifest::read(&split.path) {
                    Ok(Some(manifest)) => {
                        if newest.as_ref().is_none_or(|n| n.body.sealed_at < manifest.body.sealed_at) {
                            newest = Some(manifest);
                        }
                        break;
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        problems.push(format!("manifest of {}: {e}", split.path.display()));
                        break;
                    }
                }
            }
        }
        if let Some(m) = newest {
            let reason = serde_json::to_value(m.body.seal_reason).ok().and_then(|v| v.as_str().map(str::to_string));
            partitions.push(LastSeal {
                stream,
                partition,
                split_id: m.body.split_id.clone(),
                sealed_at: m.body.sealed_at.clone(),
                seal_reason: reason.unwrap_or_default(),
                event_count: m.body.event_count,
            });
        }
    }
    let last_sealed_at = partitions.iter().map(|p| p.sealed_at.clone()).max();
    Seals { last_sealed_at, partitions, open_splits }
}
