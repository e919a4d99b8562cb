//! The engine over real splits on disk: which splits a time range opens,
//! and date histograms answered from hit counts against tantivy's own.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use logwarden_config::auth::Role;
use logwarden_store::facts::SplitFacts;
use logwarden_store::keys::ManifestSigner;
use logwarden_store::manifest::{FORMAT, Manifest, ManifestBody, SealReason};
use logwarden_store::schema::LogSchema;
use logwarden_store::storage::{self, SplitId, SplitKind, SplitPayload};
use serde_json::{Value, json};
use tantivy::Index;

use super::engine::{self, SearchResult};
use super::request::SearchParams;
use super::{QueryCompiler, SplitCatalog};
use crate::identity::Identity;

const HOUR: i64 = 3600;

/// 2026-11-24T00:00:00Z: hours of test events are counted from here.
fn hour(n: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_478_400 + n * HOUR, 0).unwrap()
}

/// Writes a split of `stream`/p0 holding one event at each of `times`,
/// committed with a payload as the indexer does; returns its directory.
fn write_split(data: &Path, schema: &LogSchema, kind: SplitKind, first: i64, times: &[DateTime<Utc>]) -> std::path::PathBuf {
    let id = SplitId::new(kind, first).to_string();
    let dir = storage::split_path(data, "app", 0, &id);
    std::fs::create_dir_all(&dir).unwrap();
    let index = Index::create_in_dir(&dir, schema.schema.clone()).unwrap();
    let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (i, &time) in times.iter().enumerate() {
        let offset = first as u64 + i as u64;
        let event = json!({
            "@timestamp": time.to_rfc3339(),
            "message": format!("event {offset} of the test"),
            "host.name": if i % 2 == 0 { "web01" } else { "db01" },
        });
        let raw = event.to_string();
        let doc = schema.to_document(event.as_object().unwrap(), &raw, offset, time);
        writer.add_document(doc).unwrap();
    }
    let payload = SplitPayload {
        partition: 0,
        next_offset: first + times.len() as i64,
        sealed: false,
    };
    let mut commit = writer.prepare_commit().unwrap();
    commit.set_payload(&payload.encode());
    commit.commit().unwrap();
    dir
}

/// Seals a split the way the indexer does: a signed manifest stating the
/// facts computed from its index.
fn seal(dir: &Path, schema: &LogSchema, signer: &ManifestSigner) {
    let facts = SplitFacts::compute(dir, schema).unwrap();
    let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();
    let body = ManifestBody {
        format: FORMAT,
        stream: "app".into(),
        partition: 0,
        split_id: id,
        seq: 0,
        window_start: None,
        window_end: None,
        seal_reason: SealReason::WindowClosed,
        first_offset: facts.first_offset,
        last_offset: facts.last_offset,
        next_offset: facts.last_offset.map_or(0, |o| o + 1),
        event_count: facts.event_count,
        min_timestamp: facts.min_timestamp.map(rfc3339),
        max_timestamp: facts.max_timestamp.map(rfc3339),
        records_sha256: facts.records_sha256,
        records_merkle_root: Some(facts.records_merkle_root),
        files_sha256: Default::default(),
        prev_manifest_sha256: None,
        sealed_at: Utc::now().to_rfc3339(),
        key_id: "test".into(),
    };
    Manifest::sign(body, signer).write(dir).unwrap();
}

/// `count` events spread over the hour `n`.
fn in_hour(n: i64, count: i64) -> Vec<DateTime<Utc>> {
    (0..count)
        .map(|i| hour(n) + chrono::Duration::seconds(i * (HOUR - 1) / count.max(1)))
        .collect()
}

fn search(catalog: &SplitCatalog, schema: &LogSchema, params: Value) -> SearchResult {
    let params: SearchParams = serde_json::from_value(params).unwrap();
    let identity = Identity {
        name: "test".into(),
        role: Role::Admin,
        streams: None,
    };
    let request = params
        .check(identity, &QueryCompiler::new(schema), schema, 10_000, hour(100))
        .unwrap_or_else(|(code, message)| panic!("{code}: {message}"));
    match engine::execute(catalog, schema, &request) {
        Ok(result) => result,
        Err(_) => panic!("search failed"),
    }
}

fn buckets(result: &SearchResult, name: &str) -> Vec<(i64, u64)> {
    result.aggregations.as_ref().unwrap()[name]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_f64().unwrap() as i64, b["doc_count"].as_u64().unwrap()))
        .collect()
}

#[test]
fn an_hour_opens_only_that_hours_splits_and_histograms_count_splits_like_tantivy() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path();
    let schema = LogSchema::new();
    let signer = ManifestSigner::load_or_create(&root.path().join("manifest.key")).unwrap();
    // Hours 0..4, one window split each; hours 0 and 1 are sealed.
    let counts = [3, 5, 7, 4];
    let mut offset = 0;
    let mut windows = Vec::new();
    for (n, &count) in counts.iter().enumerate() {
        let times = in_hour(n as i64, count);
        let dir = write_split(data, &schema, SplitKind::Window(hour(n as i64).timestamp()), offset, &times);
        offset += count;
        if n < 2 {
            seal(&dir, &schema, &signer);
        }
        windows.push(dir);
    }
    // A sealed window of hour 0 split by size: its manifest's range is the
    // first half hour only.
    let half = write_split(data, &schema, SplitKind::Window(hour(0).timestamp()), offset, &[hour(0) + chrono::Duration::minutes(10)]);
    seal(&half, &schema, &signer);
    offset += 1;
    // A late split, spanning hours 1 and 3: it must be opened to tell.
    let late_times = [hour(1) + chrono::Duration::minutes(30), hour(3) + chrono::Duration::minutes(5)];
    write_split(data, &schema, SplitKind::Late, offset, &late_times);
    let catalog = SplitCatalog::new(data, Duration::from_secs(HOUR as u64));

    // Hour 2 (active window split): that split and the late one are opened.
    let result = search(&catalog, &schema, json!({"from": hour(2).to_rfc3339(), "to": hour(3).to_rfc3339(), "limit": 0}));
    assert_eq!(result.total, 7);
    assert_eq!(result.splits_total, 6);
    assert_eq!(catalog.opened(), 2, "the hour's window split and the late split");
    assert_eq!(result.splits_searched, 2, "the late split spans hour 2");
    // Hour 1 (sealed, by its manifest), then the same again: only hour 1's
    // split is new, and a cached reader is not opened twice.
    for _ in 0..2 {
        let result = search(&catalog, &schema, json!({"from": hour(1).to_rfc3339(), "to": hour(2).to_rfc3339(), "limit": 0}));
        assert_eq!(result.total, 5 + 1);
        assert_eq!(result.splits_searched, 2);
        assert_eq!(catalog.opened(), 3);
    }
    // The second half of hour 0: the size-split's manifest says it ends at
    // 00:10, so only the hour's main split is opened.
    let result = search(&catalog, &schema, json!({"from": (hour(0) + chrono::Duration::minutes(30)).to_rfc3339(), "to": hour(1).to_rfc3339(), "limit": 0}));
    assert_eq!(result.total, 1, "one of hour 0's three events is in its second half");
    assert_eq!(catalog.opened(), 4);

    // Everything, hourly: the window splits are counted from their hits,
    // the late split by tantivy; the same request with a parameter that
    // makes tantivy compute every split gives the same buckets.
    let hourly = |extra: Value| {
        let mut histogram = json!({"field": "@timestamp", "fixed_interval": "1h"});
        histogram.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        search(&catalog, &schema, json!({"limit": 0, "aggs": {"h": {"date_histogram": histogram}}}))
    };
    let counted = hourly(json!({}));
    let computed = hourly(json!({"extended_bounds": {"min": hour(0).timestamp_millis(), "max": hour(3).timestamp_millis()}}));
    let expected: Vec<(i64, u64)> = (0..4).map(|n| (hour(n).timestamp_millis(), [3 + 1, 5 + 1, 7, 4 + 1][n as usize])).collect();
    assert_eq!(buckets(&counted, "h"), expected);
    assert_eq!(buckets(&computed, "h"), expected);
    assert_eq!(catalog.opened(), 6, "everything opens every split once");
    // Other intervals and time ranges: the splits counted from their hits
    // or from a scan of their column give what tantivy gives.
    let from = (hour(1) + chrono::Duration::minutes(15)).to_rfc3339();
    let to = (hour(3) + chrono::Duration::minutes(10)).to_rfc3339();
    for (interval, range) in [("30m", json!({})), ("1h", json!({"from": from, "to": to})), ("20m", json!({"from": from})), ("1d", json!({"to": to}))] {
        let run = |extra: Value| {
            let mut histogram = json!({"field": "@timestamp", "fixed_interval": interval, "min_doc_count": 1});
            histogram.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let mut params = json!({"limit": 0, "aggs": {"h": {"date_histogram": histogram}}});
            params.as_object_mut().unwrap().extend(range.as_object().unwrap().clone());
            search(&catalog, &schema, params)
        };
        let counted = run(json!({}));
        // Bounds that filter nothing make tantivy compute every split.
        let computed = run(json!({"hard_bounds": {"min": hour(-1000).timestamp_millis(), "max": hour(1000).timestamp_millis()}}));
        assert_eq!(counted.total, computed.total, "{interval} {range}");
        assert_eq!(buckets(&counted, "h"), buckets(&computed, "h"), "{interval} {range}");
        assert!(!buckets(&counted, "h").is_empty());
    }
    // A query narrows the counts, and daily buckets hold whole hours.
    let result = search(&catalog, &schema, json!({"q": "host.name:web01", "limit": 0, "aggs": {"d": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day"}}}}));
    let web01: u64 = counts.iter().map(|&c| (c as u64).div_ceil(2)).sum::<u64>() + 1 + 1;
    assert_eq!(result.total, web01);
    assert_eq!(buckets(&result, "d"), vec![(hour(0).timestamp_millis(), web01)]);

    // A split deleted (retention) and a new one: the catalog notices both.
    std::fs::remove_dir_all(&windows[3]).unwrap();
    write_split(data, &schema, SplitKind::Window(hour(4).timestamp()), 1000, &in_hour(4, 2));
    let result = search(&catalog, &schema, json!({"from": hour(3).to_rfc3339(), "limit": 0}));
    assert_eq!(result.total, 1 + 2, "the late event of hour 3 and hour 4's two");
    assert_eq!(result.splits_total, 6);
    assert_eq!(catalog.opened(), 7);
}

#[test]
fn an_active_split_is_reloaded_after_a_commit_and_only_then() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path();
    let schema = LogSchema::new();
    let dir = write_split(data, &schema, SplitKind::Late, 0, &[hour(1)]);
    let catalog = SplitCatalog::new(data, Duration::from_secs(HOUR as u64));
    let hour_two = json!({"from": hour(2).to_rfc3339(), "limit": 0});
    assert_eq!(search(&catalog, &schema, json!({"limit": 0})).total, 1);
    let result = search(&catalog, &schema, hour_two.clone());
    assert_eq!((result.total, result.splits_searched), (0, 0), "pruned by its events' times");
    assert_eq!(catalog.reloaded(), 0, "nothing committed since it was opened");

    // The indexer commits an event of hour 2 to the open split.
    let index = Index::open_in_dir(&dir).unwrap();
    let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
    let time = hour(2) + chrono::Duration::minutes(1);
    let event = json!({"@timestamp": time.to_rfc3339(), "message": "committed later"});
    writer.add_document(schema.to_document(event.as_object().unwrap(), &event.to_string(), 1, time)).unwrap();
    writer.commit().unwrap();
    drop(writer);

    for _ in 0..2 {
        let result = search(&catalog, &schema, hour_two.clone());
        assert_eq!((result.total, result.splits_searched), (1, 1), "the commit and its time seen");
        assert_eq!(catalog.reloaded(), 1, "reloaded once, for the commit");
    }
    assert_eq!(catalog.opened(), 1);
}
