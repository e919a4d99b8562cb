//! Query API metrics.

use std::time::Duration;

pub fn search(took: Duration) {
    metrics::histogram!("logwarden_query_search_seconds").record(took.as_secs_f64());
}
