//! JSON lines: one object per line, with ECS dotted (`"source.ip"`) or
//! nested (`{"source":{"ip":…}}`) keys, as written by structured loggers,
//! Beats and NXLog. Windows events forwarded as JSON (winlogbeat and NXLog
//! `im_msvistalog` shapes) get their well-known IDs mapped to ECS
//! `event.category`/`event.action`/`event.outcome` (see [`crate::windows`]).

use logwarden_event::Event;
use serde_json::{Map, Value};

use crate::{ecs, windows};

/// Fills `event` from a JSON object line; false (event untouched) when the
/// line is not a JSON object.
pub fn parse_json(line: &str, event: &mut Event) -> bool {
    let text = line.trim();
    if !text.starts_with('{') {
        return false;
    }
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else { return false };
    let mut flat = Vec::with_capacity(object.len());
    flatten("", object, &mut flat);
    apply(flat, event);
    true
}

/// `{"a":{"b":1}}` → `("a.b", 1)`; arrays and scalars are leaves.
fn flatten(prefix: &str, object: Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (key, value) in object {
        let key = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(&key, inner, out),
            value => out.push((key, value)),
        }
    }
}

fn apply(flat: Vec<(String, Value)>, event: &mut Event) {
    let mut windows = false;
    let has_host =
        flat.iter().any(|(k, v)| matches!(k.as_str(), "host.name" | "host" | "hostname" | "Hostname") && v.is_string());
    for (key, value) in flat {
        // Windows event data sits under a prefix that depends on the shipper.
        let name = windows::data_name(&key);
        if name.is_some() || key.starts_with("winlog.") {
            windows = true;
        }
        let target = match name.unwrap_or(key.as_str()) {
            "@timestamp" | "timestamp" | "time" | "ts" | "EventTime" | "TimeCreated" => {
                match ecs::parse_timestamp(&value) {
                    Some(ts) => {
                        event.timestamp = ts;
                        continue;
                    }
                    None => key.as_str(),
                }
            }
            "msg" | "message" | "Message" => "message",
            "level" | "lvl" | "severity" | "log.level" | "SeverityValue" if value.is_string() => {
                if let Some(level) = value.as_str() {
                    event.log_level = Some(level.to_ascii_lowercase());
                }
                continue;
            }
            "host" | "hostname" | "Hostname" if value.is_string() => "host.name",
            // The Windows computer name fills host.name only when the
            // shipper did not set it (winlogbeat sends both).
            "Computer" | "winlog.computer_name" if event.host_name.is_none() && !has_host => "host.name",
            "EventID" | "winlog.event_id" | "event.code" => {
                windows |= key == "EventID" || key == "winlog.event_id";
                "event.code"
            }
            "TargetUserName" | "user" | "username" => "user.name",
            "IpAddress" | "src_ip" | "client_ip" => "source.ip",
            "IpPort" | "src_port" => "source.port",
            "pid" => "process.pid",
            "event.original" => "fields.event.original",
            _ => key.as_str(),
        };
        if matches!(target, "source.ip" | "user.name") && matches!(value.as_str(), Some("-" | "")) {
            continue; // Windows writes "-" for "none"
        }
        if let Some(free) = target.strip_prefix("fields.") {
            event.fields.insert(free.to_string(), value);
        } else {
            let target = target.to_string();
            ecs::set(event, &target, value);
        }
    }
    if windows {
        windows::enrich(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn parse(line: &str) -> Option<Event> {
        let mut event = Event::new(line, DateTime::UNIX_EPOCH);
        parse_json(line, &mut event).then_some(event)
    }

    #[test]
    fn ecs_dotted_and_nested_keys() {
        let e = parse(r#"{"@timestamp":"2026-03-01T10:00:00Z","message":"login ok","source":{"ip":"10.0.0.5","port":5514},"user.name":"alice","log.level":"INFO","trace":{"id":"abc"}}"#).unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert_eq!(e.message, "login ok");
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(e.source_port, Some(5514));
        assert_eq!(e.user_name.as_deref(), Some("alice"));
        assert_eq!(e.log_level.as_deref(), Some("info"));
        assert_eq!(e.fields["trace.id"], "abc");
    }

    #[test]
    fn app_logger_shape_with_epoch_time() {
        let e = parse(r#"{"time":1772359200,"level":"error","msg":"db down","pid":77,"host":"app3"}"#).unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert_eq!(e.log_level.as_deref(), Some("error"));
        assert_eq!(e.message, "db down");
        assert_eq!(e.process_pid, Some(77));
        assert_eq!(e.host_name.as_deref(), Some("app3"));
    }

    #[test]
    fn unparseable_time_is_kept_as_a_field() {
        let e = parse(r#"{"time":"soon","msg":"x"}"#).unwrap();
        assert_eq!(e.timestamp, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(e.fields["time"], "soon");
    }

    #[test]
    fn winlogbeat_failed_logon() {
        let line = r#"{"@timestamp":"2026-02-11T08:15:01.123Z","event":{"code":"4625","provider":"Microsoft-Windows-Security-Auditing"},"host":{"name":"DC01"},"winlog":{"channel":"Security","computer_name":"DC01.corp.local","event_id":"4625","event_data":{"TargetUserName":"bob","IpAddress":"192.0.2.10","IpPort":"51234","LogonType":"3","Status":"0xc000006d"}},"message":"An account failed to log on."}"#;
        let e = parse(line).unwrap();
        assert_eq!(e.event_code.as_deref(), Some("4625"));
        assert_eq!(e.host_name.as_deref(), Some("DC01"));
        assert_eq!(e.fields["winlog.computer_name"], "DC01.corp.local");
        assert_eq!(e.user_name.as_deref(), Some("bob"));
        assert_eq!(e.source_ip.as_deref(), Some("192.0.2.10"));
        assert_eq!(e.source_port, Some(51234));
        assert_eq!(e.event_category.as_deref(), Some("authentication"));
        assert_eq!(e.event_action.as_deref(), Some("logon-failed"));
        assert_eq!(e.event_outcome.as_deref(), Some("failure"));
        assert_eq!(e.fields["winlog.event_data.LogonType"], "3");
        assert_eq!(e.timestamp.to_rfc3339(), "2026-02-11T08:15:01.123+00:00");
    }

    #[test]
    fn nxlog_successful_logon() {
        let line = r#"{"EventTime":"2026-02-11 09:00:00","Hostname":"WS042.corp.local","EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","TargetUserName":"carol","IpAddress":"-","LogonType":"2","Message":"An account was successfully logged on."}"#;
        let e = parse(line).unwrap();
        assert_eq!(e.host_name.as_deref(), Some("WS042.corp.local"));
        assert_eq!(e.event_code.as_deref(), Some("4624"));
        assert_eq!(e.user_name.as_deref(), Some("carol"));
        assert_eq!(e.source_ip, None, "a dash is no address");
        assert_eq!(e.event_outcome.as_deref(), Some("success"));
        assert_eq!(e.event_action.as_deref(), Some("logged-in"));
        assert_eq!(e.message, "An account was successfully logged on.");
    }

    #[test]
    fn non_objects_are_left_alone() {
        for line in ["[1,2]", "\"text\"", "{not json", "plain", "{\"a\":1} trailing"] {
            assert!(parse(line).is_none(), "{line}");
        }
    }
}
