//! Metrics of Kafka delivery and the spool. The names keep the collector's
//! prefix: dashboards and alerts already watch them.

use rdkafka::error::KafkaError;

pub fn events_acked(topic: &str) {
    metrics::counter!("logwarden_collector_events_sent_total", "topic" => topic.to_string())
        .increment(1);
}

pub fn delivery_error(topic: &str, error: &KafkaError) {
    let error_type = match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => "other".to_string(),
    };
    metrics::counter!(
        "logwarden_collector_errors_total",
        "stage" => "produce", "topic" => topic.to_string(), "error_type" => error_type
    )
    .increment(1);
}

pub fn backpressure() {
    metrics::counter!("logwarden_collector_backpressure_total").increment(1);
}

pub fn spool_bytes(bytes: u64) {
    metrics::gauge!("logwarden_collector_spool_bytes").set(bytes as f64);
}

pub fn spool_full() {
    metrics::counter!("logwarden_collector_spool_full_total").increment(1);
}

pub fn spooled(count: u64) {
    metrics::counter!("logwarden_collector_spool_records_total", "op" => "write").increment(count);
}

pub fn drained(count: u64) {
    metrics::counter!("logwarden_collector_spool_records_total", "op" => "drain").increment(count);
}

pub fn spool_io_error() {
    metrics::counter!("logwarden_collector_errors_total", "stage" => "spool", "error_type" => "io")
        .increment(1);
}

pub fn spool_unreadable(bytes: u64) {
    metrics::counter!("logwarden_collector_spool_unreadable_bytes_total").increment(bytes);
}

/// A record Kafka refused for good, kept in a dead-letter file.
pub fn dead_lettered(topic: &str) {
    metrics::counter!("logwarden_collector_dead_lettered_total", "topic" => topic.to_string())
        .increment(1);
}

/// Events of a committed transaction, now visible to `read_committed` consumers.
pub fn events_committed(topic: &str, count: u64) {
    metrics::counter!("logwarden_collector_events_sent_total", "topic" => topic.to_string())
        .increment(count);
}

pub fn transaction_committed(took: std::time::Duration) {
    metrics::counter!("logwarden_collector_transactions_total", "outcome" => "committed").increment(1);
    metrics::histogram!("logwarden_collector_transaction_commit_seconds").record(took.as_secs_f64());
}

pub fn transaction_aborted() {
    metrics::counter!("logwarden_collector_transactions_total", "outcome" => "aborted").increment(1);
}
