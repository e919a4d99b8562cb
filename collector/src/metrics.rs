//! Collector metrics (Prometheus names, bounded labels).

use rdkafka::error::KafkaError;

pub fn lines_read(count: u64) {
    metrics::counter!("logwarden_collector_lines_read_total", "source" => "file").increment(count);
}

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

pub fn rewind() {
    metrics::counter!("logwarden_collector_errors_total", "stage" => "file", "error_type" => "rewind").increment(1);
}

pub fn checkpoint_error() {
    metrics::counter!("logwarden_collector_errors_total", "stage" => "checkpoint", "error_type" => "io").increment(1);
}
