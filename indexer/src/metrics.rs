//! Indexer metrics (Prometheus names, bounded labels).

use std::time::Duration;

use crate::CommitReason;
use logwarden_store::manifest::SealReason;

pub fn indexed(stream: &str, events: u64) {
    metrics::counter!("logwarden_indexer_events_indexed_total", "stream" => stream.to_string())
        .increment(events);
}

pub fn replay_skipped(stream: &str) {
    metrics::counter!("logwarden_indexer_replay_skipped_total", "stream" => stream.to_string())
        .increment(1);
}

pub fn dead_lettered() {
    metrics::counter!("logwarden_indexer_dead_lettered_total").increment(1);
}

pub fn sealed(stream: &str, reason: SealReason, took: Duration) {
    let reason = match reason {
        SealReason::WindowClosed => "window_closed",
        SealReason::Size => "size",
        SealReason::LateRotation => "late_rotation",
    };
    metrics::counter!("logwarden_indexer_splits_sealed_total", "stream" => stream.to_string(), "reason" => reason).increment(1);
    metrics::histogram!("logwarden_indexer_seal_seconds").record(took.as_secs_f64());
}

pub fn retention_deleted(stream: &str) {
    metrics::counter!("logwarden_indexer_splits_deleted_total", "stream" => stream.to_string())
        .increment(1);
}

/// One commit round of a partition: `splits` committed for `reason`.
pub fn commit(reason: CommitReason, splits: u64, took: Duration) {
    metrics::histogram!("logwarden_indexer_commit_seconds", "reason" => reason.as_str())
        .record(took.as_secs_f64());
    metrics::counter!("logwarden_indexer_commits_total", "reason" => reason.as_str()).increment(1);
    metrics::counter!("logwarden_indexer_split_commits_total", "reason" => reason.as_str())
        .increment(splits);
}

/// A partition's events not read yet (its end offset as librdkafka last
/// saw it, minus the next offset to read), for lag dashboards and alerts.
pub fn partition_lag(partition: i32, events: u64) {
    metrics::gauge!("logwarden_indexer_partition_lag_events", "partition" => partition.to_string())
        .set(events as f64);
}

pub fn error(stage: &'static str) {
    metrics::counter!("logwarden_indexer_errors_total", "stage" => stage, "error_type" => "failed")
        .increment(1);
}
