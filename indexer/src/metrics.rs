//! Indexer metrics (Prometheus names, bounded labels).

use std::time::Duration;

use crate::CommitReason;

pub fn indexed(stream: &str) {
    metrics::counter!("logwarden_indexer_events_indexed_total", "stream" => stream.to_string()).increment(1);
}

pub fn replay_skipped(stream: &str) {
    metrics::counter!("logwarden_indexer_replay_skipped_total", "stream" => stream.to_string()).increment(1);
}

pub fn invalid_message() {
    metrics::counter!("logwarden_indexer_errors_total", "stage" => "decode", "error_type" => "not_an_event").increment(1);
}

pub fn commit(reason: CommitReason, took: Duration) {
    metrics::histogram!("logwarden_indexer_commit_seconds", "reason" => reason.as_str()).record(took.as_secs_f64());
}

pub fn error(stage: &'static str) {
    metrics::counter!("logwarden_indexer_errors_total", "stage" => stage, "error_type" => "failed").increment(1);
}
