//! What the store says about each stream, as of a report time: manifests
//! and their windows (with the missing ones), deletion records, the time
//! range still retained, splits not sealed in time, the keys that signed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use logwarden_store::keys::ManifestVerifier;
use logwarden_store::manifest::{DeletionRecord, Manifest};
use logwarden_store::schema::parse_time;
use logwarden_store::storage::{self, SplitId, SplitKind};
use serde::Serialize;

use crate::ComplianceError;

/// The period a report covers: `[from, at]`; no `from` = all history.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

impl Period {
    fn contains(&self, t: DateTime<Utc>) -> bool {
        t <= self.at && self.from.is_none_or(|f| t >= f)
    }
}

/// How windows are cut and how long a closed window may stay unsealed.
#[derive(Debug, Clone, Copy)]
pub struct Windowing {
    /// `None`: read from the manifests.
    pub window_secs: Option<i64>,
    /// `None`: one window.
    pub grace_secs: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamScan {
    pub manifests: u64,
    /// Sealed splits with data still present.
    pub sealed_splits: u64,
    pub empty_windows: u64,
    pub deleted_splits: u64,
    pub partitions: Vec<i32>,
    pub oldest_event: Option<String>,
    pub newest_event: Option<String>,
    pub windows: Windows,
    pub deletions: Vec<Deletion>,
    /// Active splits (and windows after the chain head) past their seal time.
    pub unsealed_past_grace: Vec<String>,
    /// Key ids that signed this stream's manifests.
    pub signing_keys: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Windows {
    pub window_seconds: Option<i64>,
    /// Windows from the first window manifest to the head of each chain.
    pub expected: u64,
    /// Of those, windows with a manifest (empty windows count as present).
    pub present: u64,
    pub missing: Vec<MissingRange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingRange {
    pub partition: i32,
    pub from: String,
    /// Exclusive.
    pub to: String,
    pub windows: u64,
}

/// A deletion by retention, with its signed record.
#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    pub partition: i32,
    pub split: String,
    pub deleted_at: String,
    /// The newest event of the deleted data.
    pub newest_event: Option<String>,
    pub events: u64,
    /// Age of the newest event when deleted, in seconds.
    pub age_seconds: Option<i64>,
    pub signature_valid: bool,
    pub record: DeletionRecord,
}

fn time(text: &Option<String>) -> Option<DateTime<Utc>> {
    text.as_deref().and_then(parse_time)
}

/// Scans every stream under `data_dir`.
pub fn scan(
    data_dir: &Path,
    period: Period,
    windowing: Windowing,
    verifier: &ManifestVerifier,
) -> Result<BTreeMap<String, StreamScan>, ComplianceError> {
    let locations =
        storage::list_split_dirs(data_dir, None).map_err(|e| ComplianceError::io(data_dir, e))?;
    let mut streams: BTreeMap<String, StreamScan> = BTreeMap::new();
    // Per stream and partition: window starts with a manifest, and active window splits.
    let mut windows: BTreeMap<(String, i32), BTreeSet<i64>> = BTreeMap::new();
    let mut active: Vec<(String, i32, String, i64)> = Vec::new();
    let mut window_lengths: BTreeMap<i64, u64> = BTreeMap::new();
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut partitions: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for location in locations {
        let scan = streams.entry(location.stream.clone()).or_default();
        partitions
            .entry(location.stream.clone())
            .or_default()
            .insert(location.partition);
        let manifest = match Manifest::read(&location.path) {
            Ok(Some(manifest)) => manifest,
            Ok(None) => {
                if let Some(SplitId {
                    kind: SplitKind::Window(start),
                    ..
                }) = SplitId::parse(&location.id)
                {
                    active.push((
                        location.stream.clone(),
                        location.partition,
                        location.id.clone(),
                        start,
                    ));
                }
                continue;
            }
            // Unreadable: `verify` reports it as a broken chain.
            Err(_) => continue,
        };
        let body = &manifest.body;
        let Some(sealed_at) = parse_time(&body.sealed_at) else {
            continue;
        };
        if sealed_at > period.at {
            continue;
        }
        let newest = time(&body.max_timestamp)
            .or(time(&body.window_end))
            .unwrap_or(sealed_at);
        if period.from.is_some_and(|f| newest < f && sealed_at < f) {
            continue;
        }
        scan.manifests += 1;
        keys.entry(location.stream.clone())
            .or_default()
            .insert(body.key_id.clone());
        if let (Some(start), Some(end)) = (time(&body.window_start), time(&body.window_end)) {
            windows
                .entry((location.stream.clone(), location.partition))
                .or_default()
                .insert(start.timestamp());
            *window_lengths
                .entry(end.timestamp() - start.timestamp())
                .or_default() += 1;
        }
        if body.event_count == 0 {
            scan.empty_windows += 1;
            continue;
        }
        let deletion = DeletionRecord::read(&location.path).ok().flatten();
        match deletion {
            Some(record) => {
                scan.deleted_splits += 1;
                let deleted_at = parse_time(&record.body.deleted_at);
                if deleted_at.is_some_and(|t| period.contains(t)) {
                    let signature_valid = record.signature_is_valid(verifier)
                        && record.body.manifest_sha256 == manifest.sha256();
                    scan.deletions.push(Deletion {
                        partition: location.partition,
                        split: location.id.clone(),
                        deleted_at: record.body.deleted_at.clone(),
                        newest_event: body.max_timestamp.clone(),
                        events: body.event_count,
                        age_seconds: deleted_at
                            .zip(time(&body.max_timestamp))
                            .map(|(d, n)| (d - n).num_seconds()),
                        signature_valid,
                        record,
                    });
                }
            }
            None if storage::has_index(&location.path) => {
                scan.sealed_splits += 1;
                if let Some(min) = time(&body.min_timestamp)
                    && scan.oldest_event.as_deref().and_then(parse_time).is_none_or(|o| min < o)
                {
                    scan.oldest_event = body.min_timestamp.clone();
                }
                if let Some(max) = time(&body.max_timestamp)
                    && scan.newest_event.as_deref().and_then(parse_time).is_none_or(|n| max > n)
                {
                    scan.newest_event = body.max_timestamp.clone();
                }
            }
            // Data gone without a record: `verify` reports it.
            None => {}
        }
    }
    let window = windowing
        .window_secs
        .or_else(|| {
            window_lengths
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(len, _)| *len)
        })
        .filter(|w| *w > 0);
    let grace = windowing.grace_secs.or(window).unwrap_or(0);
    let rfc = |secs: i64| {
        logwarden_store::facts::rfc3339(DateTime::from_timestamp(secs, 0).unwrap_or_default())
    };
    // A closed window is overdue once its grace and one more window (the
    // seal cycle's slack) have passed.
    let overdue =
        |start: i64, window: i64| start + window + grace + window <= period.at.timestamp();
    if let Some(window) = window {
        for ((stream, partition), starts) in &windows {
            let scan = streams.get_mut(stream).expect("scanned above");
            let (Some(&first), Some(&head)) = (starts.first(), starts.last()) else {
                continue;
            };
            let first = match period.from {
                Some(from) => first.max(from.timestamp().div_euclid(window) * window),
                None => first,
            };
            let mut start = first;
            let mut missing_from: Option<i64> = None;
            while start <= head {
                scan.windows.expected += 1;
                if starts.contains(&start) {
                    scan.windows.present += 1;
                    if let Some(from) = missing_from.take() {
                        scan.windows.missing.push(MissingRange {
                            partition: *partition,
                            from: rfc(from),
                            to: rfc(start),
                            windows: ((start - from) / window) as u64,
                        });
                    }
                } else {
                    missing_from.get_or_insert(start);
                }
                start += window;
            }
            // Windows after the head that should have been sealed by now
            // (the indexer stopped or fell behind).
            let after = head + window;
            let last_due = period.at.timestamp() - 2 * window - grace;
            if overdue(after, window)
                && active
                    .iter()
                    .all(|a| !(a.0 == *stream && a.1 == *partition && a.3 == after))
            {
                let count = (last_due - after) / window + 1;
                scan.unsealed_past_grace.push(format!(
                    "p{partition}: {count} window(s) from {} not sealed",
                    rfc(after)
                ));
            }
        }
        for (stream, partition, id, start) in &active {
            if overdue(*start, window)
                && let Some(scan) = streams.get_mut(stream)
            {
                scan.unsealed_past_grace.push(format!("p{partition}/{id}"));
            }
        }
    }
    for (stream, scan) in streams.iter_mut() {
        scan.windows.window_seconds = window;
        scan.signing_keys = keys
            .remove(stream)
            .unwrap_or_default()
            .into_iter()
            .collect();
        scan.partitions = partitions
            .remove(stream)
            .unwrap_or_default()
            .into_iter()
            .collect();
    }
    Ok(streams)
}
