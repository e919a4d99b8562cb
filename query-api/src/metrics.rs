//! Query API metrics.

use std::time::Duration;

pub fn search(took: Duration) {
    metrics::histogram!("logwarden_query_search_seconds").record(took.as_secs_f64());
}

/// A request refused by authentication or authorization.
pub fn refused(error: &crate::ApiError) {
    let reason = match error {
        crate::ApiError::Unauthorized(_) => "unauthorized",
        crate::ApiError::Forbidden(_) => "forbidden",
        _ => "other",
    };
    metrics::counter!("logwarden_query_refused_total", "reason" => reason).increment(1);
}

/// An alert's status changed through the API.
pub fn alert_transition(from: crate::alerts::status::Status, to: crate::alerts::status::Status) {
    metrics::counter!("logwarden_query_alert_transitions_total", "from" => from.as_str(), "to" => to.as_str()).increment(1);
}
