//! What CEF and LEEF share: their extension/attribute keys mapped to ECS,
//! and the device time formats they use.

use chrono::{DateTime, NaiveDateTime, Utc};
use logwarden_event::Event;
use serde_json::Value;

use crate::ecs;

/// Maps one CEF extension or LEEF attribute; keys without an ECS name are
/// kept as `fields["<prefix>.<key>"]` (`cef.cs1`, `leef.identSrc`).
pub(crate) fn map_key(event: &mut Event, prefix: &str, key: &str, value: String) {
    let target = match key {
        "src" | "sourceAddress" => "source.ip",
        "dst" | "destinationAddress" => "destination.ip",
        "spt" | "srcPort" | "sourcePort" => "source.port",
        "dpt" | "dstPort" | "destinationPort" => "destination.port",
        "suser" | "sourceUserName" | "usrName" | "accountName" => {
            event.user_name.get_or_insert_with(|| value.clone());
            "source.user.name"
        }
        "duser" | "destinationUserName" => {
            event.user_name.get_or_insert_with(|| value.clone());
            "destination.user.name"
        }
        "act" | "deviceAction" | "action" => "event.action",
        "outcome" | "eventOutcome" => {
            event.event_outcome = Some(normalize_outcome(&value));
            return;
        }
        "msg" | "message" => "message",
        "shost" | "srcHost" => "source.domain",
        "dhost" | "dstHost" => "destination.domain",
        "dvchost" | "identHostName" => "observer.hostname",
        "dvc" | "devIp" => "observer.ip",
        "proto" | "transportProtocol" => "network.transport",
        "app" | "applicationProtocol" => "network.protocol",
        "request" | "url" => "url.original",
        "requestMethod" => "http.request.method",
        "spid" => "process.pid",
        "sproc" => "process.name",
        "in" | "bytesIn" | "srcBytes" => "source.bytes",
        "out" | "bytesOut" | "dstBytes" => "destination.bytes",
        "rt" | "devTime" | "end" => match device_time(&value) {
            Some(ts) => {
                event.timestamp = ts;
                return;
            }
            None => key,
        },
        _ => key,
    };
    if target == key {
        event.fields.insert(format!("{prefix}.{key}"), Value::String(value));
    } else {
        ecs::set(event, target, Value::String(value));
    }
}

/// ECS allows `success`, `failure`, `unknown`; devices write many shapes.
fn normalize_outcome(value: &str) -> String {
    match value.to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "successful" | "allowed" | "allow" | "accept" | "accepted" | "ok" => "success",
        "failure" | "failed" | "fail" | "denied" | "deny" | "blocked" | "block" | "reject" | "rejected" => "failure",
        _ => "unknown",
    }
    .to_string()
}

/// `rt`/`devTime`: epoch milliseconds, `MMM dd yyyy HH:mm:ss[.SSS][ zone]`,
/// or ISO 8601.
pub(crate) fn device_time(text: &str) -> Option<DateTime<Utc>> {
    device_time_any(text.trim()).and_then(ecs::in_range)
}

fn device_time_any(text: &str) -> Option<DateTime<Utc>> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp_millis(text.parse().ok()?);
    }
    if let Some(ts) = ecs::parse_timestamp_str(text) {
        return Some(ts);
    }
    let (main, zone) = match text.rsplit_once(' ') {
        Some((main, zone)) if matches!(zone, "UTC" | "GMT" | "Z") => (main, Some(zone)),
        Some((main, zone)) if zone.starts_with(['+', '-']) => {
            let ts = DateTime::parse_from_str(&format!("{main} {zone}"), "%b %d %Y %H:%M:%S%.f %z").ok()?;
            return Some(ts.to_utc());
        }
        _ => (text, None),
    };
    let _ = zone; // zone-less device times are read as UTC
    NaiveDateTime::parse_from_str(main, "%b %d %Y %H:%M:%S%.f").ok().map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_time_formats() {
        let expect = "2026-03-01T10:20:30+00:00";
        for text in ["1772360430000", "Mar 01 2026 10:20:30", "Mar 01 2026 10:20:30 UTC", "Mar 01 2026 11:20:30 +0100"]
        {
            assert_eq!(device_time(text).map(|t| t.to_rfc3339()).as_deref(), Some(expect), "{text}");
        }
        assert_eq!(device_time("Mar 01 2026 10:20:30.250").unwrap().timestamp_subsec_millis(), 250);
        assert!(device_time("tomorrow").is_none());
    }

    #[test]
    fn outcomes_are_normalized() {
        assert_eq!(normalize_outcome("Denied"), "failure");
        assert_eq!(normalize_outcome("success"), "success");
        assert_eq!(normalize_outcome("maybe"), "unknown");
    }
}
