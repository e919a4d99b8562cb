//! Counters of notification delivery, labelled by hook (bounded: hooks
//! come from the configuration).

pub fn sent(hook: &str) {
    metrics::counter!("logwarden_detect_hook_sent_total", "hook" => hook.to_string()).increment(1);
}

pub fn retried(hook: &str) {
    metrics::counter!("logwarden_detect_hook_retried_total", "hook" => hook.to_string()).increment(1);
}

/// An alert the hook could not take: refused for good or retries exhausted.
pub fn failed(hook: &str) {
    metrics::counter!("logwarden_detect_hook_failed_total", "hook" => hook.to_string()).increment(1);
}

pub fn dead_lettered(hook: &str) {
    metrics::counter!("logwarden_detect_hook_dead_lettered_total", "hook" => hook.to_string()).increment(1);
}

pub fn suppressed(hook: &str) {
    metrics::counter!("logwarden_detect_hook_suppressed_total", "hook" => hook.to_string()).increment(1);
}
