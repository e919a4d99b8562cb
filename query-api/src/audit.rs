//! The access record of every API call — who, when, from where, what, how
//! many results — as an event in the `audit` stream: produced to the events
//! topic like any other event (so it is indexed, sealed, signed and kept
//! per the `audit` stream's retention), through the same delivery as pushed
//! events, which spools to disk while Kafka is away. This is the access
//! record that 개인정보의 안전성 확보조치 기준 제8조 asks a system to keep.
//!
//! Exactly once, as pushed events: a transactional producer whose
//! `transactional.id` derives from the instance's id (`collector.id`, or
//! host name and data directory) and role `audit` (the API) or `audit-cli`
//! (the `logwarden` command); spooled segments are committed with their
//! number, so a crash between Kafka's commit and the spool's cleanup
//! sends nothing twice. Concurrent API calls share transactions.
//!
//! A call that changes something (an alert acknowledged or closed) also
//! gets a record of the change itself ([`AuditChange`]): who, what, from
//! and to, why, written before the change is committed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use logwarden_kafka::delivery::{Delivered, Delivery, ExactlyOnce};
use logwarden_kafka::spool::Record;
use logwarden_config::Config;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::identity::{AUDIT_STREAM, Identity};

/// The header a caller states its reason (사유) in, for the access record;
/// UTF-8, or percent-encoded UTF-8.
pub const REASON_HEADER: &str = "x-logwarden-reason";

/// The reason in `headers`, decoded; `None` when absent or blank.
pub fn reason(headers: &axum::http::HeaderMap) -> Option<String> {
    let raw = headers.get(REASON_HEADER)?.as_bytes();
    let text = String::from_utf8_lossy(raw);
    let decoded = percent_decode(&text).unwrap_or_else(|| text.to_string());
    let decoded = decoded.trim();
    (!decoded.is_empty()).then(|| decoded.to_string())
}

/// `%XX` sequences decoded as UTF-8; `None` when there are none or they
/// are not valid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What a handler found, for the audit record (a response extension).
#[derive(Debug, Clone, Default)]
pub struct AuditResults {
    /// Matching events.
    pub total: u64,
    /// Events returned in this response.
    pub returned: u64,
    /// The query as the caller wrote it.
    pub query: Option<String>,
    /// The stream searched, when one was named.
    pub stream: Option<String>,
}

/// One API call.
pub struct AuditEntry {
    pub identity: Option<Identity>,
    pub client: SocketAddr,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub took: Duration,
    pub results: Option<AuditResults>,
    /// The reason (사유) the caller gave (`X-Logwarden-Reason`).
    pub reason: Option<String>,
}

/// A change made through the API, recorded apart from the call.
pub struct AuditChange {
    pub identity: Identity,
    pub client: SocketAddr,
    /// What was done, as `event.action` (`alert-acknowledge`).
    pub action: &'static str,
    /// One line for people.
    pub message: String,
    /// What changed, as free fields (`alert.id`, `alert.status.from`, …);
    /// long values are cut as in every record.
    pub fields: Vec<(&'static str, String)>,
}

/// A change made outside the API, by the `logwarden` command (an export):
/// who is the OS user running it; there is no client address.
pub struct LocalChange {
    /// The OS user, as `cli:NAME`.
    pub user: String,
    pub action: &'static str,
    pub message: String,
    pub fields: Vec<(&'static str, String)>,
}

pub struct Auditor {
    delivery: Delivery,
    host: String,
    /// The command line's hold on its spool (see [`Auditor::open_local`]).
    _lock: Option<std::fs::File>,
}

impl Auditor {
    /// Opens the audit delivery; its spool is `DATA_DIR/spool-audit`, its
    /// producer's role `audit`.
    pub fn open(config: &Config) -> anyhow::Result<Auditor> {
        let mut spool = config.collector.spool.clone();
        spool.dir = config.data_dir.join("spool-audit");
        let delivery = Delivery::open(&config.kafka, &spool, ExactlyOnce::of(&config.collector, "audit"))?;
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        Ok(Auditor { delivery, host, _lock: None })
    }

    /// Opens an audit delivery for a command-line process, spooling to
    /// `spool_dir` while Kafka is away (never the API's spool: two
    /// processes must not share one), its producer's role `audit-cli`.
    /// Commands run at once take turns: the second waits for the first's
    /// lock on the spool, rather than sharing the spool and fencing the
    /// first one's producer (they share its `transactional.id`).
    pub fn open_local(config: &Config, spool_dir: PathBuf) -> anyhow::Result<Auditor> {
        use anyhow::Context;
        std::fs::create_dir_all(&spool_dir).with_context(|| format!("creating {}", spool_dir.display()))?;
        let lock_path = spool_dir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            eprintln!("waiting for another logwarden command to finish with {}", spool_dir.display());
            lock.lock().with_context(|| format!("locking {}", lock_path.display()))?;
        }
        let mut spool = config.collector.spool.clone();
        spool.dir = spool_dir;
        let delivery = Delivery::open(&config.kafka, &spool, ExactlyOnce::of(&config.collector, "audit-cli"))?;
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        Ok(Auditor { delivery, host, _lock: Some(lock) })
    }

    /// Whether records wait in the spool for Kafka.
    pub fn spooling(&self) -> bool {
        self.delivery.spooling()
    }

    /// Records a change made by the `logwarden` command; says whether the
    /// record reached Kafka or waits in the spool.
    pub async fn record_local(&self, change: LocalChange) -> Result<Delivered, String> {
        let mut free = Map::new();
        for (key, value) in &change.fields {
            bounded(&mut free, key, value);
        }
        free.insert("process.name".into(), "logwarden".into());
        let record = Recorded { category: "intrusion_detection", action: change.action, outcome: "success", message: change.message, client: None, free };
        let mut event = self.to_event(record, None);
        event["user.name"] = change.user.clone().into();
        event["observer.product"] = "logwarden cli".into();
        let record = Record { key: self.host.clone(), payload: event.to_string().into_bytes() };
        self.delivery.deliver(vec![record]).await.map_err(|e| e.to_string())
    }

    pub fn spawn_drainer(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        self.delivery.spawn_drainer(shutdown)
    }

    /// Returns once the record is committed in Kafka or in the spool.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), String> {
        let event = self.event(&entry);
        let record = Record { key: self.host.clone(), payload: event.to_string().into_bytes() };
        self.delivery.deliver(vec![record]).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// Records a change; returns once the record is acknowledged by Kafka
    /// or in the spool.
    pub async fn record_change(&self, change: AuditChange) -> Result<(), String> {
        let event = self.change_event(&change);
        let record = Record { key: self.host.clone(), payload: event.to_string().into_bytes() };
        self.delivery.deliver(vec![record]).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// Waits for records in a transaction (at shutdown).
    pub fn flush(&self, timeout: Duration) -> bool {
        self.delivery.flush(timeout)
    }

    fn event(&self, entry: &AuditEntry) -> Value {
        let who = entry.identity.as_ref().map_or("-", |i| i.name.as_str());
        let outcome = if entry.status < 400 { "success" } else { "failure" };
        let action = match entry.status {
            401 => "api-unauthenticated",
            403 => "api-forbidden",
            _ => "api-call",
        };
        let mut free = Map::new();
        let path = bounded(&mut free, "url.path", &entry.path);
        let mut message = format!("{who} {} {path} {}", entry.method, entry.status);
        if let Some(results) = &entry.results {
            message.push_str(&format!(" ({} of {} results)", results.returned, results.total));
            free.insert("results.total".into(), results.total.into());
            free.insert("results.returned".into(), results.returned.into());
            if let Some(query) = &results.query {
                bounded(&mut free, "search.query", query);
            }
            if let Some(stream) = &results.stream {
                free.insert("search.stream".into(), stream.clone().into());
            }
        }
        if let Some(query) = &entry.query {
            bounded(&mut free, "url.query", query);
        }
        if let Some(reason) = &entry.reason {
            bounded(&mut free, "access.reason", reason);
        }
        free.insert("http.response.status_code".into(), entry.status.into());
        free.insert("event.duration".into(), (entry.took.as_nanos() as u64).into());
        if let Some(identity) = &entry.identity {
            free.insert("user.roles".into(), identity.role.as_str().into());
        }
        let method = entry.method.chars().take(16).collect::<String>();
        free.insert("http.request.method".into(), method.into());
        let record = Recorded { category: "web", action, outcome, message, client: Some(entry.client), free };
        self.to_event(record, entry.identity.as_ref())
    }

    fn change_event(&self, change: &AuditChange) -> Value {
        let mut free = Map::new();
        for (key, value) in &change.fields {
            bounded(&mut free, key, value);
        }
        free.insert("user.roles".into(), change.identity.role.as_str().into());
        let message = change.message.clone();
        let record = Recorded { category: "intrusion_detection", action: change.action, outcome: "success", message, client: Some(change.client), free };
        self.to_event(record, Some(&change.identity))
    }

    fn to_event(&self, record: Recorded, identity: Option<&Identity>) -> Value {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        let mut event = json!({
            "@timestamp": now,
            "event.ingested": now,
            "event.id": format!("audit-{:032x}", rand::random::<u128>()),
            "event.kind": "event",
            "event.category": record.category,
            "event.action": record.action,
            "event.outcome": record.outcome,
            "message": record.message,
            "event.original": record.message,
            "stream": AUDIT_STREAM,
            "host.name": self.host,
            "observer.product": "logwarden query-api",
            "fields": record.free,
        });
        if let Some(client) = record.client {
            event["source.ip"] = client.ip().to_string().into();
            event["source.port"] = client.port().into();
        }
        if let Some(identity) = identity {
            event["user.name"] = identity.name.clone().into();
        }
        event
    }
}

/// The parts of an audit event that differ between records.
struct Recorded {
    category: &'static str,
    action: &'static str,
    outcome: &'static str,
    message: String,
    /// The caller's address; `None` for the command line.
    client: Option<SocketAddr>,
    free: Map<String, Value>,
}

/// The longest value an audit record copies whole (a query, a path). Past
/// it the value is cut, and the record keeps its full length and SHA-256
/// and says it was cut, so the record stays well under Kafka's message
/// size and still identifies what was asked.
pub const MAX_AUDIT_VALUE_BYTES: usize = 4096;

/// Inserts `value` under `key`, cut to [`MAX_AUDIT_VALUE_BYTES`] when
/// longer (with `KEY.bytes`, `KEY.sha256` and `KEY.truncated`); returns
/// what was inserted.
fn bounded(free: &mut Map<String, Value>, key: &str, value: &str) -> String {
    use sha2::{Digest, Sha256};
    if value.len() <= MAX_AUDIT_VALUE_BYTES {
        free.insert(key.into(), value.into());
        return value.to_string();
    }
    let mut end = MAX_AUDIT_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    free.insert(key.into(), value[..end].into());
    free.insert(format!("{key}.bytes"), value.len().into());
    free.insert(format!("{key}.sha256"), hex.into());
    free.insert(format!("{key}.truncated"), true.into());
    value[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_read_raw_or_percent_encoded() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(reason(&headers), None);
        headers.insert(REASON_HEADER, axum::http::HeaderValue::from_static("%EA%B0%90%EC%82%AC%20%EB%8C%80%EC%9D%91"));
        assert_eq!(reason(&headers).as_deref(), Some("감사 대응"));
        headers.insert(REASON_HEADER, axum::http::HeaderValue::from_bytes("민원 처리".as_bytes()).unwrap());
        assert_eq!(reason(&headers).as_deref(), Some("민원 처리"));
        headers.insert(REASON_HEADER, axum::http::HeaderValue::from_static("100% sure"));
        assert_eq!(reason(&headers).as_deref(), Some("100% sure"));
    }

    #[test]
    fn long_values_are_cut_hashed_and_flagged() {
        let mut free = Map::new();
        let query = format!("{}é", "(".repeat(MAX_AUDIT_VALUE_BYTES - 1));
        let kept = bounded(&mut free, "search.query", &query);
        assert_eq!(kept.len(), MAX_AUDIT_VALUE_BYTES - 1, "cut at a character boundary");
        assert_eq!(free["search.query.bytes"], query.len());
        assert_eq!(free["search.query.truncated"], true);
        assert_eq!(free["search.query.sha256"].as_str().unwrap().len(), 64);
        let mut short = Map::new();
        assert_eq!(bounded(&mut short, "url.query", "q=a"), "q=a");
        assert_eq!(short.len(), 1);
    }
}
