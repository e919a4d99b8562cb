//! The review as CSV: one row per finding (RFC 4180 quoting), for the
//! spreadsheet a reviewer works through.

use crate::review::Review;

const HEADER: &[&str] = &[
    "month",
    "id",
    "check",
    "state",
    "account",
    "origin",
    "local_time",
    "day",
    "actions",
    "records",
    "subject",
    "reason",
    "reason_missing",
    "streams",
    "finding_en",
    "finding_ko",
    "last_comment",
    "last_by",
];

pub(super) fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

pub fn render(review: &Review) -> String {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for f in &review.findings {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let last = f.history.last();
        let row = [
            review.month.clone(),
            f.id.clone(),
            f.check.to_string(),
            f.state.to_string(),
            opt(&f.account),
            opt(&f.origin),
            f.local_time.clone(),
            f.day.clone(),
            f.actions.to_string(),
            f.records.map(|n| n.to_string()).unwrap_or_default(),
            opt(&f.subject),
            opt(&f.reason),
            f.reason_missing.to_string(),
            f.streams.join(";"),
            f.en.clone(),
            f.ko.clone(),
            last.map(|c| c.comment.clone()).unwrap_or_default(),
            last.map(|c| c.by.clone()).unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}
