//! Sigma rule text the detector's tests and the black-box tests
//! (`tests/support/detect.rs`) share.

/// An `event_count` correlation rule (Sigma spec 2.1) at level high:
/// `gte` or more events of `rules` from one `source.ip` within
/// `timespan`. `extra` holds more top-level keys (`status`,
/// `description`, …), one per line, or is empty.
pub fn event_count(title: &str, id: &str, extra: &str, rules: &[&str], timespan: &str, gte: u32) -> String {
    let rules: String = rules.iter().map(|rule| format!("        - {rule}\n")).collect();
    format!(
        "title: {title}\nid: {id}\n{extra}correlation:\n    type: event_count\n    rules:\n{rules}    group-by:\n        - source.ip\n    timespan: {timespan}\n    condition:\n        gte: {gte}\nlevel: high\n"
    )
}
