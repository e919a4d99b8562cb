//! Setting an [`Event`] field by its ECS name: the one place that knows
//! which dotted names are typed members of the event and which go to the
//! free `fields` map.

use chrono::{DateTime, Utc};
use logwarden_event::Event;
use serde_json::Value;

/// Sets the ECS field `key` to `value`. Typed fields (`source.port`,
/// `process.pid`, …) take numbers or numeric strings; a value that does not
/// fit its field (port "abc") is kept in `fields` under the same key instead
/// of being lost. Keys without a typed member go to `fields`.
pub fn set(event: &mut Event, key: &str, value: Value) {
    let slot: Option<&mut Option<String>> = match key {
        "message" => match into_text(value) {
            Ok(t) => {
                event.message = t;
                return;
            }
            // Not text: kept in `fields` under its key.
            Err(value) => return free(event, key, value),
        },
        "host.name" | "host.hostname" => Some(&mut event.host_name),
        "host.ip" => Some(&mut event.host_ip),
        "log.level" => Some(&mut event.log_level),
        "log.file.path" => Some(&mut event.log_file_path),
        "log.source.address" => Some(&mut event.log_source_address),
        "process.name" => Some(&mut event.process_name),
        "source.address" | "destination.address" => {
            // An address is an IP or a host name: split into ECS `ip`/`domain`.
            let side = key.split('.').next().unwrap_or(key);
            match into_text(value) {
                Ok(t) if t.parse::<std::net::IpAddr>().is_ok() => set(event, &format!("{side}.ip"), Value::String(t)),
                Ok(t) if !t.is_empty() => set(event, &format!("{side}.domain"), Value::String(t)),
                _ => {}
            }
            return;
        }
        "source.ip" => Some(&mut event.source_ip),
        "destination.ip" => Some(&mut event.destination_ip),
        "user.name" => Some(&mut event.user_name),
        "event.category" => Some(&mut event.event_category),
        "event.action" => Some(&mut event.event_action),
        "event.outcome" => Some(&mut event.event_outcome),
        "event.code" => Some(&mut event.event_code),
        "observer.vendor" => Some(&mut event.observer_vendor),
        "observer.product" => Some(&mut event.observer_product),
        _ => None,
    };
    if let Some(slot) = slot {
        match into_text(value) {
            Ok(t) if !t.is_empty() => *slot = Some(t),
            Ok(_) => {}
            Err(value) => free(event, key, value),
        }
        return;
    }
    let number = as_u64(&value);
    let fits = match key {
        "source.port" => number.and_then(|n| u16::try_from(n).ok()).map(|n| event.source_port = Some(n)),
        "destination.port" => number.and_then(|n| u16::try_from(n).ok()).map(|n| event.destination_port = Some(n)),
        "process.pid" => number.and_then(|n| u32::try_from(n).ok()).map(|n| event.process_pid = Some(n)),
        "log.syslog.facility.code" => {
            number.and_then(|n| u8::try_from(n).ok()).map(|n| event.syslog_facility = Some(n))
        }
        "log.syslog.severity.code" => {
            number.and_then(|n| u8::try_from(n).ok()).map(|n| event.syslog_severity = Some(n))
        }
        "log.offset" => number.map(|n| event.log_offset = Some(n)),
        _ => None,
    };
    if fits.is_none() {
        free(event, key, value);
    }
}

/// Convenience for string values.
pub fn set_str(event: &mut Event, key: &str, value: &str) {
    set(event, key, Value::String(value.to_string()));
}

/// A string value as it is (moved, not copied), a number or a boolean as
/// its JSON text; anything else back as the error.
fn into_text(value: Value) -> Result<String, Value> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(other),
    }
}

fn free(event: &mut Event, key: &str, value: Value) {
    if !value.is_null() {
        event.fields.insert(key.to_string(), value);
    }
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `ts` when logwarden can store it (1678 to 2261, what the index's
/// nanosecond dates hold); other times come from garbage, not from logs,
/// and are treated as no time at all.
pub fn in_range(ts: DateTime<Utc>) -> Option<DateTime<Utc>> {
    logwarden_event::time::in_range(ts)
}

/// Parses the timestamp formats found in structured logs: RFC 3339 (with or
/// without zone: zone-less is UTC), `YYYY-MM-DD HH:MM:SS[.f]`, and Unix
/// epoch seconds or milliseconds as a number or numeric string.
pub fn parse_timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => epoch(n.as_f64()?),
        Value::String(s) => parse_timestamp_str(s),
        _ => None,
    }
}

pub fn parse_timestamp_str(text: &str) -> Option<DateTime<Utc>> {
    parse_timestamp_any(text.trim()).and_then(in_range)
}

fn parse_timestamp_any(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(ts) = DateTime::parse_from_rfc3339(text) {
        return Some(ts.to_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f %z"] {
        if let Ok(ts) = DateTime::parse_from_str(text, format) {
            return Some(ts.to_utc());
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(ts) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(ts.and_utc());
        }
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch(text.parse().ok()?);
    }
    None
}

/// Epoch seconds, or milliseconds when the number is too large to be
/// seconds of a plausible date (after year 5138).
fn epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let millis = if n >= 1e11 { n } else { n * 1000.0 };
    if millis > 1e15 {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64).and_then(in_range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event::new("x", DateTime::UNIX_EPOCH)
    }

    #[test]
    fn typed_fields_take_numbers_and_numeric_strings() {
        let mut e = event();
        set(&mut e, "source.port", Value::from("22"));
        set(&mut e, "process.pid", Value::from(4242));
        set(&mut e, "destination.port", Value::from(443));
        assert_eq!((e.source_port, e.process_pid, e.destination_port), (Some(22), Some(4242), Some(443)));
    }

    #[test]
    fn text_fields_take_strings_numbers_and_booleans_and_keep_the_rest_in_fields() {
        let mut e = event();
        set(&mut e, "user.name", Value::from("alice"));
        set(&mut e, "event.code", Value::from(4625));
        set(&mut e, "log.level", Value::from(true));
        assert_eq!((e.user_name.as_deref(), e.event_code.as_deref(), e.log_level.as_deref()), (Some("alice"), Some("4625"), Some("true")));
        set(&mut e, "user.name", Value::from(""));
        assert_eq!(e.user_name.as_deref(), Some("alice"), "an empty string sets nothing");
        set(&mut e, "host.name", serde_json::json!({"x": 1}));
        assert_eq!(e.host_name, None);
        assert_eq!(e.fields.get("host.name"), Some(&serde_json::json!({"x": 1})));
        set(&mut e, "message", Value::from(7));
        assert_eq!(e.message, "7");
        set(&mut e, "message", serde_json::json!(["a"]));
        assert_eq!(e.message, "7");
        assert_eq!(e.fields.get("message"), Some(&serde_json::json!(["a"])));
    }

    #[test]
    fn values_that_do_not_fit_are_kept_in_fields() {
        let mut e = event();
        set(&mut e, "source.port", Value::from("70000"));
        set(&mut e, "user.name", serde_json::json!({"a": 1}));
        set(&mut e, "http.request.method", Value::from("GET"));
        assert_eq!(e.source_port, None);
        assert_eq!(e.fields["source.port"], "70000");
        assert_eq!(e.fields["user.name"]["a"], 1);
        assert_eq!(e.fields["http.request.method"], "GET");
    }

    #[test]
    fn addresses_split_into_ip_or_domain() {
        let mut e = event();
        set_str(&mut e, "source.address", "2001:db8::1");
        set_str(&mut e, "destination.address", "db.example.com");
        assert_eq!(e.source_ip.as_deref(), Some("2001:db8::1"));
        assert_eq!(e.destination_ip, None);
        assert_eq!(e.fields["destination.domain"], "db.example.com");
    }

    #[test]
    fn timestamps_in_common_shapes() {
        let expect = "2026-03-01T10:20:30.500+00:00";
        for text in ["2026-03-01T10:20:30.5Z", "2026-03-01T11:20:30.5+01:00", "2026-03-01 10:20:30.5", "1772360430.5"] {
            let ts = parse_timestamp_str(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(ts.to_rfc3339(), expect, "{text}");
        }
        assert_eq!(parse_timestamp(&Value::from(1_772_360_430_500_u64)).unwrap().to_rfc3339(), expect);
        assert!(parse_timestamp_str("yesterday").is_none());
        assert!(parse_timestamp(&Value::from(-1)).is_none());
        // Years the wire format cannot carry are refused, not stored.
        assert!(parse_timestamp(&Value::from(999_999_999_999_999_u64)).is_none());
        assert!(parse_timestamp_str("0000-01-01T00:00:00+01:00").is_none());
    }
}
