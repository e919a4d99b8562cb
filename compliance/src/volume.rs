//! Events and bytes per day per stream, read from the splits still held,
//! and the days whose volume fell far under the usual: a source that went
//! silent is the first sign of lost logs.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use logwarden_store::schema::{LogSchema, from_tantivy};
use serde::Serialize;
use tantivy::schema::Value;
use tantivy::{Index, TantivyDocument};

use crate::ComplianceError;
use crate::scan::Period;

/// A day is flagged when it holds fewer events than this share of the
/// stream's usual (median) day.
pub const DROP_SHARE: f64 = 0.1;
/// Streams whose usual day is smaller than this are too quiet to judge.
pub const MIN_USUAL_EVENTS: u64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayVolume {
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    pub events: u64,
    /// Bytes of the events as received (their stored JSON).
    pub bytes: u64,
    /// Far under the usual level.
    pub low: bool,
}

/// Every stream's daily volume within `period`, each day from its first
/// to its last day with events (days without any listed as 0).
pub fn daily_volume(
    data_dir: &Path,
    period: Period,
) -> Result<BTreeMap<String, Vec<DayVolume>>, ComplianceError> {
    let schema = LogSchema::new();
    let splits = logwarden_store::storage::list_splits(data_dir)
        .map_err(|e| ComplianceError::io(data_dir, e))?;
    let mut per_stream: BTreeMap<String, BTreeMap<NaiveDate, (u64, u64)>> = BTreeMap::new();
    for split in splits {
        let days = per_stream.entry(split.stream.clone()).or_default();
        let index = Index::open_in_dir(&split.path)?;
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        for segment in searcher.segment_readers() {
            let times = segment
                .fast_fields()
                .date(logwarden_event::fields::TIMESTAMP)?;
            let store = segment
                .get_store_reader(16)
                .map_err(|e| ComplianceError::io(&split.path, e))?;
            for doc in segment.doc_ids_alive() {
                let Some(time) = times.first(doc).map(from_tantivy) else {
                    continue;
                };
                if !period_contains(&period, time) {
                    continue;
                }
                let document: TantivyDocument = store.get(doc)?;
                let bytes = document
                    .get_first(schema.source)
                    .and_then(|v| v.as_str())
                    .map_or(0, |s| s.len() as u64);
                let entry = days.entry(time.date_naive()).or_default();
                entry.0 += 1;
                entry.1 += bytes;
            }
        }
    }
    Ok(per_stream
        .into_iter()
        .map(|(stream, days)| (stream, fill_and_flag(&days)))
        .collect())
}

fn period_contains(period: &Period, t: DateTime<Utc>) -> bool {
    t <= period.at && period.from.is_none_or(|f| t >= f)
}

/// Lists every day from the first to the last, and flags the days far
/// under the median. The first and last days are partial by nature (the
/// data starts or the period ends within them): listed, never flagged.
pub fn fill_and_flag(days: &BTreeMap<NaiveDate, (u64, u64)>) -> Vec<DayVolume> {
    let (Some(&first), Some(&last)) = (days.keys().next(), days.keys().next_back()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let (events, bytes) = days.get(&day).copied().unwrap_or_default();
        out.push(DayVolume {
            day: day.to_string(),
            events,
            bytes,
            low: false,
        });
        day = day.succ_opt().expect("a day within range");
    }
    if out.len() >= 3 {
        let mut interior: Vec<u64> = out[1..out.len() - 1].iter().map(|d| d.events).collect();
        interior.sort_unstable();
        let usual = interior[interior.len() / 2];
        if usual >= MIN_USUAL_EVENTS {
            let n = out.len();
            for d in &mut out[1..n - 1] {
                d.low = (d.events as f64) < usual as f64 * DROP_SHARE;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, n).unwrap()
    }

    #[test]
    fn a_silent_day_is_listed_and_flagged_partial_ends_are_not() {
        let mut days = BTreeMap::new();
        days.insert(day(1), (5, 500)); // partial first day
        days.insert(day(2), (1000, 100_000));
        days.insert(day(3), (1100, 110_000));
        // day 4: nothing at all
        days.insert(day(5), (30, 3000)); // far under
        days.insert(day(6), (950, 95_000));
        days.insert(day(7), (2, 200)); // partial last day
        let out = fill_and_flag(&days);
        assert_eq!(out.len(), 7);
        let low: Vec<&str> = out
            .iter()
            .filter(|d| d.low)
            .map(|d| d.day.as_str())
            .collect();
        assert_eq!(low, vec!["2026-11-04", "2026-11-05"]);
        assert_eq!(out[3].events, 0);
    }

    #[test]
    fn steady_or_quiet_streams_are_not_flagged() {
        let steady: BTreeMap<_, _> = (1..=5).map(|n| (day(n), (1000 + n as u64, 10))).collect();
        assert!(fill_and_flag(&steady).iter().all(|d| !d.low));
        let quiet: BTreeMap<_, _> = [(day(1), (3, 1)), (day(3), (4, 1)), (day(5), (2, 1))]
            .into_iter()
            .collect();
        assert!(fill_and_flag(&quiet).iter().all(|d| !d.low));
    }
}
