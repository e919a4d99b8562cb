//! A JSON document (NDJSON line or `_bulk` source) to an event: its
//! `message` goes through the configured [`Parsers`], the event's own ECS
//! keys ([`fields::EVENT_FIELDS`], flat `host.name` or nested
//! `{"host":{"name":…}}`) fill the event, the rest goes to `fields`; the
//! configured routes pick the stream.

use chrono::DateTime;
use logwarden_event::{Event, fields};
use serde_json::{Map, Value};

use crate::parse::{LineContext, Parsers};

/// Keys of the document the event sets itself.
const OWN_KEYS: &[&str] = &[
    fields::MESSAGE,
    fields::TIMESTAMP,
    fields::ORIGINAL,
    fields::INGESTED,
    fields::STREAM,
    fields::PARSE_ERROR,
    fields::LOG_SOURCE_ADDRESS,
    fields::ID,
];

pub fn document_event(parsers: &Parsers, line: &str, doc: Map<String, Value>, ctx: &LineContext<'_>) -> Event {
    let mut flat = Map::new();
    flatten("", doc, &mut flat);
    let text = ["message", "event.original", "log"]
        .iter()
        .find_map(|k| flat.get(*k).and_then(Value::as_str));
    let mut event = parsers.parse(text.unwrap_or(line), ctx);
    event.original = line.to_string();
    if let Some(text) = flat.get("@timestamp").and_then(Value::as_str) {
        match DateTime::parse_from_rfc3339(text).map(|t| logwarden_event::time::in_range(t.to_utc())) {
            Ok(Some(ts)) => {
                event.timestamp = ts;
                // The document dated itself: no parser was needed.
                event.parse_error = None;
            }
            Ok(None) => {
                event.parse_error = Some(format!(
                    "@timestamp `{text}` is outside the times logwarden stores ({}); receipt time used",
                    logwarden_event::time::RANGE_TEXT
                ))
            }
            Err(_) => {}
        }
    }
    let mut ecs = serde_json::to_value(&event)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let mut fields = std::mem::take(&mut event.fields);
    for (key, value) in flat {
        if OWN_KEYS.contains(&key.as_str()) {
            continue;
        }
        if fields::EVENT_FIELDS.contains(&key.as_str()) {
            let previous = ecs.insert(key.clone(), value.clone());
            if serde_json::from_value::<Event>(Value::Object(ecs.clone())).is_ok() {
                continue;
            }
            match previous {
                Some(previous) => ecs.insert(key.clone(), previous),
                None => ecs.remove(&key),
            };
        }
        fields.insert(key, value);
    }
    let mut event = serde_json::from_value::<Event>(Value::Object(ecs)).unwrap_or(event);
    event.stream = match ctx.stream {
        Some(stream) => stream.to_string(),
        None => parsers.route(&event),
    };
    event.fields = fields;
    event
}

/// `{"a":{"b":1}}` → `{"a.b":1}`; arrays stay values.
fn flatten(prefix: &str, object: Map<String, Value>, out: &mut Map<String, Value>) {
    for (key, value) in object {
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(&name, inner, out),
            other => {
                out.insert(name, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn event(doc: Value, stream: Option<&str>) -> Event {
        let line = doc.to_string();
        let ctx = LineContext {
            ingested: Utc::now(),
            host_name: "10.0.0.9",
            file_path: None,
            stream,
        };
        document_event(Parsers::shared_default(), &line, doc.as_object().unwrap().clone(), &ctx)
    }

    #[test]
    fn ecs_keys_fill_the_event_and_the_rest_goes_to_fields() {
        let e = event(
            json!({"@timestamp":"2026-03-01T10:00:00Z","message":"user login","host":{"name":"app01"},
                   "user.name":"kim","process.pid":"not a number","kubernetes":{"pod":"web-1"}}),
            Some("app"),
        );
        assert_eq!(e.timestamp.to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert_eq!(e.message, "user login");
        assert_eq!(e.host_name.as_deref(), Some("app01"));
        assert_eq!(e.user_name.as_deref(), Some("kim"));
        assert_eq!(e.process_pid, None);
        assert_eq!(e.fields["process.pid"], "not a number");
        assert_eq!(e.fields["kubernetes.pod"], "web-1");
        assert_eq!(e.stream, "app");
        assert_eq!(e.parse_error, None);
        assert!(e.original.contains("kubernetes"));
    }

    #[test]
    fn a_syslog_message_inside_json_is_parsed() {
        let e = event(
            json!({"message":"Jan  2 03:04:05 web01 sshd[7]: Failed password"}),
            None,
        );
        assert_eq!(e.host_name.as_deref(), Some("web01"));
        assert_eq!(e.process_pid, Some(7));
        assert_eq!(e.stream, "auth");
    }

    #[test]
    fn every_field_of_the_event_is_filled_from_its_ecs_key() {
        // destination.port and event.code were missing from a copied list.
        let e = event(json!({"message":"x","destination":{"port":443},"event.code":"4625","log.offset":7}), None);
        assert_eq!(e.destination_port, Some(443));
        assert_eq!(e.event_code.as_deref(), Some("4625"));
        assert_eq!(e.log_offset, Some(7));
        assert!(e.fields.is_empty(), "{:?}", e.fields);
    }

    #[test]
    fn a_time_the_index_cannot_hold_is_flagged_not_taken() {
        let e = event(json!({"@timestamp":"2263-01-01T00:00:00Z","message":"x"}), Some("app"));
        assert!(e.timestamp.timestamp() < logwarden_event::time::MAX_SECONDS);
        assert!(e.parse_error.as_deref().unwrap().contains("outside the times"), "{:?}", e.parse_error);
    }

    #[test]
    fn a_document_without_message_keeps_its_text() {
        let e = event(json!({"level":"info"}), None);
        assert_eq!(e.host_name.as_deref(), Some("10.0.0.9"));
        assert_eq!(e.fields["level"], "info");
        assert!(e.message.contains("level"));
    }
}
