//! One row per stream (RFC 4180 quoting). The daily volume is summed up in
//! two columns; the full table is in the JSON and the HTML page.

use crate::Report;

const HEADER: &[&str] = &[
    "stream",
    "status",
    "reason_codes",
    "presets",
    "required_retention",
    "binding_law",
    "configured_retention",
    "retention_margin",
    "required_hot",
    "configured_hot",
    "legal_hold",
    "legal_hold_reason",
    "oldest_event",
    "newest_event",
    "windows_expected",
    "windows_present",
    "missing_windows",
    "manifests",
    "sealed_splits",
    "verified_splits",
    "deleted_splits",
    "chain_problems",
    "deletions_in_period",
    "unsealed_past_grace",
    "signing_keys",
    "key_pinned",
    "volume_days",
    "volume_events",
    "volume_bytes",
    "low_volume_days",
];

fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

pub fn render(report: &Report) -> String {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for s in &report.streams {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let missing: Vec<String> = s
            .windows
            .missing
            .iter()
            .map(|m| format!("p{} {}..{}", m.partition, m.from, m.to))
            .collect();
        let row = [
            s.stream.clone(),
            s.status.to_string(),
            s.reasons
                .iter()
                .map(|r| r.code.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            s.presets
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(";"),
            opt(&s.retention.required),
            opt(&s.retention.binding_law),
            opt(&s.retention.configured),
            opt(&s.retention.margin),
            opt(&s.retention.hot_required),
            opt(&s.retention.hot_configured),
            s.legal_hold.to_string(),
            opt(&s.legal_hold_reason),
            opt(&s.oldest_event),
            opt(&s.newest_event),
            s.windows.expected.to_string(),
            s.windows.present.to_string(),
            missing.join(";"),
            s.chain.manifests.to_string(),
            s.chain.sealed_splits.to_string(),
            s.chain.verified_splits.to_string(),
            s.chain.deleted_splits.to_string(),
            s.chain.problems.len().to_string(),
            s.deletions.len().to_string(),
            s.unsealed_past_grace.len().to_string(),
            s.signing_keys.join(";"),
            report.key.pinned.to_string(),
            s.volume.len().to_string(),
            s.volume.iter().map(|d| d.events).sum::<u64>().to_string(),
            s.volume.iter().map(|d| d.bytes).sum::<u64>().to_string(),
            s.volume
                .iter()
                .filter(|d| d.low)
                .map(|d| d.day.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        ];
        out.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_with_separators_are_quoted() {
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(super::field("plain"), "plain");
    }
}
