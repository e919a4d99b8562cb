//! Access records as the review reads them: from the `audit` stream
//! (logwarden's own API use) and from the streams the operator marks as
//! access-record streams with a field mapping, each turned into one
//! [`AccessRecord`] (who, when, from where, whose data, what task).

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use logwarden_config::review::{AccessSource, Task};
use logwarden_event::AUDIT_STREAM;
use logwarden_store::schema::{LogSchema, from_tantivy, parse_time};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tantivy::schema::Value as _;
use tantivy::{Index, TantivyDocument};

use crate::ComplianceError;

/// One access to personal data (or an attempt), normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRecord {
    pub stream: String,
    /// `event.id`, or a digest of the stored event when it has none.
    pub id: String,
    pub time: DateTime<Utc>,
    pub account: Option<String>,
    pub origin: Option<String>,
    /// Data subjects handled (identifiers).
    pub subjects: Vec<String>,
    /// `None`: a value the mapping does not know (still counts as activity).
    pub task: Option<Task>,
    /// Records returned or handled.
    pub records: Option<u64>,
    /// The reason (사유) given.
    pub reason: Option<String>,
    pub failed: bool,
    /// One line: what was done (`GET /api/v1/search`, `export access …`).
    pub what: String,
}

/// Where the records come from: the `audit` stream, and the mapped streams.
pub struct Sources<'a> {
    pub mapped: &'a [AccessSource],
    /// Fields whose `FIELD:VALUE` terms in a search name a data subject.
    pub audit_subject_fields: &'a [String],
}

/// Every access record before `until` (all history: the dormant check needs
/// each account's last action before the month).
pub fn read(data_dir: &Path, sources: &Sources, until: DateTime<Utc>) -> Result<Vec<AccessRecord>, ComplianceError> {
    let mut streams: BTreeSet<&str> = sources.mapped.iter().map(|s| s.stream.as_str()).collect();
    streams.insert(AUDIT_STREAM);
    let schema = LogSchema::new();
    let splits = logwarden_store::storage::list_splits(data_dir).map_err(|e| ComplianceError::io(data_dir, e))?;
    let mut out = Vec::new();
    for split in splits.iter().filter(|s| streams.contains(s.stream.as_str())) {
        let mapping = sources.mapped.iter().find(|s| s.stream == split.stream);
        // The index time is the record time unless the mapping says otherwise.
        let index_time = mapping.is_none_or(|m| m.time == logwarden_event::fields::TIMESTAMP);
        let index = Index::open_in_dir(&split.path)?;
        let reader = index.reader_builder().reload_policy(tantivy::ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        for segment in searcher.segment_readers() {
            let times = segment.fast_fields().date(logwarden_event::fields::TIMESTAMP)?;
            let store = segment.get_store_reader(16).map_err(|e| ComplianceError::io(&split.path, e))?;
            for doc in segment.doc_ids_alive() {
                let indexed = times.first(doc).map(from_tantivy);
                if index_time && indexed.is_none_or(|t| t >= until) {
                    continue;
                }
                let document: TantivyDocument = store.get(doc)?;
                let Some(source) = document.get_first(schema.source).and_then(|v| v.as_str()) else { continue };
                let Ok(event) = serde_json::from_str::<Value>(source) else { continue };
                let id = event_id(&event, source);
                let record = match mapping {
                    None => from_audit(&event, id, indexed, sources.audit_subject_fields),
                    Some(mapping) => from_mapped(&event, id, indexed, mapping),
                };
                if let Some(record) = record.filter(|r| r.time < until) {
                    out.push(record);
                }
            }
        }
    }
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    out.dedup_by(|a, b| a.id == b.id && a.stream == b.stream);
    Ok(out)
}

fn event_id(event: &Value, source: &str) -> String {
    match event.get(logwarden_event::fields::ID).and_then(Value::as_str) {
        Some(id) => id.to_string(),
        None => format!("sha256:{:x}", Sha256::digest(source.as_bytes())),
    }
}

/// A field of an event: a top-level (dotted) key, a free field, or a path
/// into nested objects.
pub fn field<'a>(event: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = event.get(name) {
        return Some(v);
    }
    if let Some(v) = event.get(logwarden_event::fields::FIELDS).and_then(|f| f.get(name)) {
        return Some(v);
    }
    let mut at = event;
    for part in name.split('.') {
        at = at.get(part)?;
    }
    Some(at)
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn is_failure(text: &str) -> bool {
    matches!(text.trim().to_lowercase().as_str(), "failure" | "fail" | "failed" | "denied" | "실패")
}

fn from_mapped(event: &Value, id: String, indexed: Option<DateTime<Utc>>, m: &AccessSource) -> Option<AccessRecord> {
    let time = if m.time == logwarden_event::fields::TIMESTAMP {
        indexed?
    } else {
        field(event, &m.time).and_then(Value::as_str).and_then(parse_time)?
    };
    let task_text = text(field(event, &m.task));
    let task = task_text.as_deref().and_then(|t| m.tasks.get(t).copied().or_else(|| Task::parse(t)));
    let subject = m.subject.as_deref().and_then(|s| text(field(event, s)));
    Some(AccessRecord {
        stream: m.stream.clone(),
        id,
        time,
        account: text(field(event, &m.account)),
        origin: text(field(event, &m.origin)),
        subjects: subject.into_iter().collect(),
        task,
        records: m.records.as_deref().and_then(|r| number(field(event, r))),
        reason: m.reason.as_deref().and_then(|r| text(field(event, r))),
        failed: m.outcome.as_deref().and_then(|o| text(field(event, o))).is_some_and(|o| is_failure(&o)),
        what: task_text.unwrap_or_else(|| "-".into()),
    })
}

fn is_search_path(path: &str) -> bool {
    path == "/api/v1/search" || path.ends_with("/_search")
}

/// An `audit` record as an access: API calls (by method and path), the
/// export records (downloads), refused keys (failed sign-ins). Records of
/// changes are left out: the call that made them is already there.
fn from_audit(event: &Value, id: String, indexed: Option<DateTime<Utc>>, subject_fields: &[String]) -> Option<AccessRecord> {
    let time = indexed?;
    let free = |key: &str| event.get(logwarden_event::fields::FIELDS).and_then(|f| f.get(key));
    let action = event.get("event.action").and_then(Value::as_str)?;
    let account = text(event.get("user.name"));
    let origin = text(event.get("source.ip"));
    let path = text(free("url.path")).unwrap_or_default();
    let method = text(free("http.request.method")).unwrap_or_default();
    let mut record = AccessRecord {
        stream: AUDIT_STREAM.into(),
        id,
        time,
        account,
        origin,
        subjects: Vec::new(),
        task: None,
        records: number(free("results.returned")),
        reason: text(free("access.reason")),
        failed: false,
        what: format!("{method} {path}"),
    };
    match action {
        "api-unauthenticated" => {
            record.task = Some(Task::Login);
            record.failed = true;
        }
        "api-forbidden" | "api-call" => {
            if path == "/api/v1/exports" {
                // The `audit-export` record is this download, with its size.
                return None;
            }
            record.failed = action == "api-forbidden";
            record.task = Some(if method == "GET" || is_search_path(&path) { Task::Read } else { Task::Update });
            if let Some(query) = text(free("search.query")) {
                record.subjects = subjects_in_query(&query, subject_fields);
                record.what = format!("{method} {path} q={}", shorten(&query, 120));
            }
        }
        "audit-export" => {
            record.task = Some(Task::Download);
            record.records = number(free("export.records"));
            record.reason = text(free("export.reason"));
            record.what = format!(
                "export {} {}..{}",
                text(free("export.stream")).unwrap_or_default(),
                text(free("export.from")).unwrap_or_default(),
                text(free("export.to")).unwrap_or_default()
            );
        }
        _ => return None,
    }
    Some(record)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

/// `FIELD:VALUE` terms of a query for the given fields (`user.name:kim`,
/// `customer.id:"C-1"`), as `FIELD:VALUE`.
pub fn subjects_in_query(query: &str, fields: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for field in fields {
        let needle = format!("{field}:");
        let mut rest = query;
        while let Some(at) = rest.find(&needle) {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + needle.len()..];
            rest = after;
            if before.is_some_and(|c| !(c.is_whitespace() || c == '(' || c == '+' || c == '-')) {
                continue;
            }
            let value = if let Some(quoted) = after.strip_prefix('"') {
                quoted.split('"').next().unwrap_or_default().to_string()
            } else {
                after.split(|c: char| c.is_whitespace() || c == ')').next().unwrap_or_default().to_string()
            };
            if !value.is_empty() && value != "*" && !value.contains('*') {
                let subject = format!("{field}:{value}");
                if !out.contains(&subject) {
                    out.push(subject);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_are_the_named_fields_terms() {
        let fields = vec!["user.name".to_string(), "customer.id".to_string()];
        assert_eq!(
            subjects_in_query("user.name:kim AND (customer.id:\"C 1\" OR x.user.name:lee) user.name:kim", &fields),
            vec!["user.name:kim".to_string(), "customer.id:C 1".to_string()]
        );
        assert!(subjects_in_query("user.name:* message:error", &fields).is_empty());
    }

    #[test]
    fn audit_records_become_accesses() {
        let time = Some(Utc::now());
        let search = json!({"event.action": "api-call", "user.name": "ann", "source.ip": "10.0.0.1",
            "fields": {"url.path": "/api/v1/search", "http.request.method": "GET", "results.returned": 7, "search.query": "user.name:kim"}});
        let r = from_audit(&search, "a".into(), time, &["user.name".into()]).unwrap();
        assert_eq!((r.task, r.records, r.subjects.clone(), r.failed), (Some(Task::Read), Some(7), vec!["user.name:kim".to_string()], false));
        let export = json!({"event.action": "audit-export", "user.name": "ann", "fields": {"export.records": "120", "export.reason": "감사 대응"}});
        let r = from_audit(&export, "b".into(), time, &[]).unwrap();
        assert_eq!((r.task, r.records, r.reason.as_deref()), (Some(Task::Download), Some(120), Some("감사 대응")));
        let refused = json!({"event.action": "api-unauthenticated", "source.ip": "10.9.9.9", "fields": {"url.path": "/api/v1/search"}});
        let r = from_audit(&refused, "c".into(), time, &[]).unwrap();
        assert!(r.failed && r.task == Some(Task::Login) && r.account.is_none());
        let call = json!({"event.action": "api-call", "fields": {"url.path": "/api/v1/exports", "http.request.method": "POST"}});
        assert!(from_audit(&call, "d".into(), time, &[]).is_none());
        let change = json!({"event.action": "alert-acknowledge", "user.name": "ann"});
        assert!(from_audit(&change, "e".into(), time, &[]).is_none());
    }

    #[test]
    fn mapped_records_follow_the_mapping() {
        let source = AccessSource {
            stream: "hr".into(),
            account: "emp".into(),
            time: "at".into(),
            origin: "ip".into(),
            subject: Some("person".into()),
            task: "op".into(),
            tasks: [("dl".to_string(), Task::Download)].into_iter().collect(),
            records: Some("rows".into()),
            reason: Some("why".into()),
            outcome: Some("result".into()),
        };
        let event = json!({"at": "2026-11-03T01:00:00Z", "fields": {"emp": "kim", "ip": "10.1.1.1", "person": 42, "op": "dl", "rows": "300", "result": "FAILED"}});
        let r = from_mapped(&event, "x".into(), None, &source).unwrap();
        assert_eq!(r.time, parse_time("2026-11-03T01:00:00Z").unwrap());
        assert_eq!((r.account.as_deref(), r.origin.as_deref(), r.subjects.clone()), (Some("kim"), Some("10.1.1.1"), vec!["42".to_string()]));
        assert_eq!((r.task, r.records, r.reason.clone(), r.failed), (Some(Task::Download), Some(300), None, true));
        let nested = json!({"at": "2026-11-03T01:00:00Z", "emp": {"id": "lee"}});
        assert_eq!(field(&nested, "emp.id"), Some(&json!("lee")));
    }
}
