//! The normalized log event and its Kafka wire format.
//!
//! Every component agrees on this one shape: the collector builds it, the
//! indexer maps it into tantivy, the query API returns it. Field names follow
//! the Elastic Common Schema (ECS) so that Sigma rules and analysts' habits
//! carry over.
//!
//! # Layout
//!
//! - [`Event`]: the event itself, serialized as one flat JSON object whose keys
//!   are dotted ECS names (`host.name`, `log.file.path`, …).
//! - [`fields`]: the ECS names as constants, shared by the indexer schema and
//!   the query API so a rename cannot drift between them.
//! - [`wire`]: encoding to and decoding from a Kafka message payload.
//! - [`time`]: the range of event times logwarden stores (what tantivy's
//!   nanosecond dates hold).
//! - [`json_bytes`]: the scan for where a JSON string's plain run ends, which
//!   the wire writer and the indexer's reader share.

pub mod fields;
pub mod json_bytes;
pub mod time;
pub mod wire;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A normalized event.
///
/// `original` always holds the raw line: a parser may fail, the line is never
/// lost. When the event time could not be parsed, `timestamp` is the receipt
/// time and equals `ingested`, and `parse_error` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "@timestamp")]
    pub timestamp: DateTime<Utc>,
    #[serde(rename = "event.ingested")]
    pub ingested: DateTime<Utc>,
    /// Stable identity of the event at its source (file fingerprint and byte
    /// offset, for instance): the same line sent twice carries the same id.
    #[serde(rename = "event.id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "event.original")]
    pub original: String,
    #[serde(default)]
    pub message: String,
    /// Retention class: `auth`, `access`, `system`, `network`, `app`, `audit`…
    #[serde(default = "default_stream")]
    pub stream: String,
    #[serde(rename = "host.name", default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(rename = "host.ip", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(rename = "log.file.path", default, skip_serializing_if = "Option::is_none")]
    pub log_file_path: Option<String>,
    #[serde(rename = "log.offset", default, skip_serializing_if = "Option::is_none")]
    pub log_offset: Option<u64>,
    /// Network peer that sent the event (`ip:port`), for pushed events.
    #[serde(rename = "log.source.address", default, skip_serializing_if = "Option::is_none")]
    pub log_source_address: Option<String>,
    #[serde(rename = "log.level", default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(rename = "log.syslog.facility.code", default, skip_serializing_if = "Option::is_none")]
    pub syslog_facility: Option<u8>,
    #[serde(rename = "log.syslog.severity.code", default, skip_serializing_if = "Option::is_none")]
    pub syslog_severity: Option<u8>,
    #[serde(rename = "process.name", default, skip_serializing_if = "Option::is_none")]
    pub process_name: Option<String>,
    #[serde(rename = "process.pid", default, skip_serializing_if = "Option::is_none")]
    pub process_pid: Option<u32>,
    #[serde(rename = "source.ip", default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(rename = "source.port", default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    #[serde(rename = "destination.ip", default, skip_serializing_if = "Option::is_none")]
    pub destination_ip: Option<String>,
    #[serde(rename = "destination.port", default, skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<u16>,
    #[serde(rename = "user.name", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(rename = "event.category", default, skip_serializing_if = "Option::is_none")]
    pub event_category: Option<String>,
    #[serde(rename = "event.action", default, skip_serializing_if = "Option::is_none")]
    pub event_action: Option<String>,
    #[serde(rename = "event.outcome", default, skip_serializing_if = "Option::is_none")]
    pub event_outcome: Option<String>,
    /// Identifier of the event kind at its source (Windows event ID, CEF
    /// signature ID, …).
    #[serde(rename = "event.code", default, skip_serializing_if = "Option::is_none")]
    pub event_code: Option<String>,
    #[serde(rename = "observer.vendor", default, skip_serializing_if = "Option::is_none")]
    pub observer_vendor: Option<String>,
    #[serde(rename = "observer.product", default, skip_serializing_if = "Option::is_none")]
    pub observer_product: Option<String>,
    #[serde(rename = "parse.error", default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// Free fields a parser extracted that have no ECS name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub fields: Map<String, Value>,
}

fn default_stream() -> String {
    DEFAULT_STREAM.to_string()
}

/// The stream an event lands in when no routing rule chose one.
pub const DEFAULT_STREAM: &str = "app";

impl Event {
    /// Sets `message` to `text`, reusing the allocation `message` holds
    /// (a copy of the raw line from [`Event::new`], as long as the line):
    /// a header parser that cuts the message out of the line then costs a
    /// copy, not an allocation and a free.
    pub fn set_message(&mut self, text: &str) {
        self.message.clear();
        self.message.push_str(text);
    }

    /// A new event for a raw line received at `ingested`; the event time is
    /// the receipt time until a parser finds a better one.
    pub fn new(original: impl Into<String>, ingested: DateTime<Utc>) -> Self {
        let original = original.into();
        Event {
            timestamp: ingested,
            ingested,
            id: None,
            message: original.clone(),
            original,
            stream: default_stream(),
            host_name: None,
            host_ip: None,
            log_file_path: None,
            log_offset: None,
            log_source_address: None,
            log_level: None,
            syslog_facility: None,
            syslog_severity: None,
            process_name: None,
            process_pid: None,
            source_ip: None,
            source_port: None,
            destination_ip: None,
            destination_port: None,
            user_name: None,
            event_category: None,
            event_action: None,
            event_outcome: None,
            event_code: None,
            observer_vendor: None,
            observer_product: None,
            parse_error: None,
            fields: Map::new(),
        }
    }
}

/// The stream of logwarden's own access records (every API call).
pub const AUDIT_STREAM: &str = "audit";
/// The stream of alerts raised by detection rules.
pub const ALERTS_STREAM: &str = "alerts";
/// Streams logwarden writes itself: no ingest key, source or route may
/// write to them, so what they hold cannot be forged from outside.
pub const RESERVED_STREAMS: &[&str] = &[AUDIT_STREAM, ALERTS_STREAM];

pub fn is_reserved_stream(name: &str) -> bool {
    RESERVED_STREAMS.contains(&name)
}

/// The stream an Elasticsearch index name means: `auth` and
/// `logwarden-auth` are both the stream `auth`, on ingest (`_bulk`) and on
/// search (`/{index}/_search`) alike; `None` when it names no valid stream.
pub fn stream_of_index(index: &str) -> Option<&str> {
    let stream = index.strip_prefix("logwarden-").unwrap_or(index);
    is_valid_stream_name(stream).then_some(stream)
}

/// Whether `name` can be used as a stream name (it becomes a directory name).
pub fn is_valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_flat_ecs_names_and_skips_empty_fields() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().with_timezone(&Utc);
        let mut event = Event::new("Jan  2 03:04:05 web01 sshd[1]: hello", at);
        event.host_name = Some("web01".into());
        event.process_pid = Some(1);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["host.name"], "web01");
        assert_eq!(json["process.pid"], 1);
        assert_eq!(json["@timestamp"], "2026-01-02T03:04:05Z");
        assert!(json.get("user.name").is_none());
        assert!(json.get("fields").is_none());
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn stream_names_are_directory_safe() {
        assert!(is_valid_stream_name("auth"));
        assert!(is_valid_stream_name("pci_cde-1"));
        assert!(!is_valid_stream_name("../etc"));
        assert!(!is_valid_stream_name("Auth"));
        assert!(!is_valid_stream_name(""));
    }

    #[test]
    fn the_event_fields_list_is_every_field_of_the_event() {
        let mut event = Event::new("x", Utc::now());
        let text = Some("x".to_string());
        (event.id, event.host_name, event.host_ip, event.log_file_path) = (text.clone(), text.clone(), text.clone(), text.clone());
        (event.log_source_address, event.log_level, event.process_name, event.source_ip) = (text.clone(), text.clone(), text.clone(), text.clone());
        (event.destination_ip, event.user_name, event.event_category, event.event_action) = (text.clone(), text.clone(), text.clone(), text.clone());
        (event.event_outcome, event.event_code, event.observer_vendor, event.observer_product) = (text.clone(), text.clone(), text.clone(), text.clone());
        event.parse_error = text;
        (event.log_offset, event.syslog_facility, event.syslog_severity, event.process_pid) = (Some(1), Some(1), Some(1), Some(1));
        (event.source_port, event.destination_port) = (Some(1), Some(1));
        let json = serde_json::to_value(&event).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut listed = fields::EVENT_FIELDS.to_vec();
        keys.sort_unstable();
        listed.sort_unstable();
        assert_eq!(keys, listed, "fields::EVENT_FIELDS must name every field of Event");
    }

    #[test]
    fn index_names_map_to_streams_the_same_way_everywhere() {
        assert_eq!(stream_of_index("logwarden-audit"), Some("audit"));
        assert_eq!(stream_of_index("auth"), Some("auth"));
        assert_eq!(stream_of_index("logwarden-"), None);
        assert_eq!(stream_of_index("Logs"), None);
        assert!(is_reserved_stream("audit") && is_reserved_stream("alerts") && !is_reserved_stream("auth"));
    }
}
