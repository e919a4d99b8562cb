//! Collector metrics (Prometheus names, bounded labels).

pub fn lines_read(count: u64) {
    metrics::counter!("logwarden_collector_lines_read_total", "source" => "file").increment(count);
}

/// Time file sources waited for the indexer in the same process to read
/// its backlog down (`collector.max_index_backlog`).
pub fn held_back(wait: std::time::Duration) {
    metrics::counter!("logwarden_collector_held_back_milliseconds_total", "source" => "file")
        .increment(wait.as_millis() as u64);
}

pub fn rewind() {
    metrics::counter!("logwarden_collector_errors_total", "stage" => "file", "error_type" => "rewind").increment(1);
}

pub fn received(source: &'static str, count: u64) {
    metrics::counter!("logwarden_collector_lines_read_total", "source" => source).increment(count);
}

pub fn dropped(source: &'static str, reason: &'static str, count: u64) {
    metrics::counter!("logwarden_collector_dropped_total", "source" => source, "reason" => reason)
        .increment(count);
}

pub fn connection_refused(transport: &'static str) {
    metrics::counter!("logwarden_collector_connections_refused_total", "transport" => transport)
        .increment(1);
}

pub fn connections_open(transport: &'static str, delta: f64) {
    metrics::gauge!("logwarden_collector_connections_open", "transport" => transport)
        .increment(delta);
}

pub fn http_request(route: &'static str, status: u16) {
    metrics::counter!("logwarden_collector_http_requests_total", "route" => route, "status" => status.to_string())
        .increment(1);
}

/// An HTTP ingest request refused because the memory budget was spent.
pub fn http_budget_refused() {
    metrics::counter!("logwarden_collector_http_budget_refused_total").increment(1);
}

/// A syslog connection closed because a message did not arrive whole in time.
pub fn slow_sender(transport: &'static str) {
    metrics::counter!("logwarden_collector_connections_closed_slow_total", "transport" => transport)
        .increment(1);
}

/// Another collector with the same id fenced this one's producer.
pub fn fenced() {
    metrics::counter!("logwarden_collector_errors_total", "stage" => "transaction", "error_type" => "fenced").increment(1);
}
