//! The event written straight to JSON bytes: the same bytes as serde's
//! derived `Serialize` through `serde_json` (same keys, same order, same
//! escapes, chrono's RFC 3339 timestamps), without its per-field machinery
//! and with string escaping that skips eight clean bytes at a time.
//!
//! The event is destructured field by field, so a field added to
//! [`Event`] does not compile until it is written here too; the tests
//! compare the bytes with `serde_json::to_vec` for every field set.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::{Map, Value};

use super::decimal::Decimal;
use crate::Event;

/// Appends `event` as one JSON object to `buf`.
pub(super) fn write_event(event: &Event, buf: &mut Vec<u8>) {
    let Event {
        timestamp,
        ingested,
        id,
        original,
        message,
        stream,
        host_name,
        host_ip,
        log_file_path,
        log_offset,
        log_source_address,
        log_level,
        syslog_facility,
        syslog_severity,
        process_name,
        process_pid,
        source_ip,
        source_port,
        destination_ip,
        destination_port,
        user_name,
        event_category,
        event_action,
        event_outcome,
        event_code,
        observer_vendor,
        observer_product,
        parse_error,
        fields,
    } = event;
    buf.reserve(original.len() + message.len() + 192);
    buf.extend_from_slice(b"{\"@timestamp\":");
    timestamp_value(buf, timestamp);
    buf.extend_from_slice(b",\"event.ingested\":");
    timestamp_value(buf, ingested);
    text(buf, "event.id", id.as_deref());
    buf.extend_from_slice(b",\"event.original\":");
    string(buf, original);
    buf.extend_from_slice(b",\"message\":");
    string(buf, message);
    buf.extend_from_slice(b",\"stream\":");
    string(buf, stream);
    text(buf, "host.name", host_name.as_deref());
    text(buf, "host.ip", host_ip.as_deref());
    text(buf, "log.file.path", log_file_path.as_deref());
    number(buf, "log.offset", *log_offset);
    text(buf, "log.source.address", log_source_address.as_deref());
    text(buf, "log.level", log_level.as_deref());
    number(
        buf,
        "log.syslog.facility.code",
        syslog_facility.map(u64::from),
    );
    number(
        buf,
        "log.syslog.severity.code",
        syslog_severity.map(u64::from),
    );
    text(buf, "process.name", process_name.as_deref());
    number(buf, "process.pid", process_pid.map(u64::from));
    text(buf, "source.ip", source_ip.as_deref());
    number(buf, "source.port", source_port.map(u64::from));
    text(buf, "destination.ip", destination_ip.as_deref());
    number(buf, "destination.port", destination_port.map(u64::from));
    text(buf, "user.name", user_name.as_deref());
    text(buf, "event.category", event_category.as_deref());
    text(buf, "event.action", event_action.as_deref());
    text(buf, "event.outcome", event_outcome.as_deref());
    text(buf, "event.code", event_code.as_deref());
    text(buf, "observer.vendor", observer_vendor.as_deref());
    text(buf, "observer.product", observer_product.as_deref());
    text(buf, "parse.error", parse_error.as_deref());
    if !fields.is_empty() {
        buf.extend_from_slice(b",\"fields\":");
        object(buf, fields);
    }
    buf.push(b'}');
}

/// `,"key":` (keys are ECS names: nothing to escape).
fn key(buf: &mut Vec<u8>, key: &str) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":");
}

fn text(buf: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        key(buf, name);
        string(buf, value);
    }
}

fn number(buf: &mut Vec<u8>, name: &str, value: Option<u64>) {
    if let Some(value) = value {
        key(buf, name);
        buf.extend_from_slice(Decimal::new(value).as_bytes());
    }
}

fn object(buf: &mut Vec<u8>, map: &Map<String, Value>) {
    buf.push(b'{');
    for (i, (name, value)) in map.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        string(buf, name);
        buf.push(b':');
        match value {
            Value::String(s) => string(buf, s),
            Value::Object(inner) => object(buf, inner),
            // Numbers (ryu/itoa), booleans, null and arrays: serde_json's own.
            other => serde_json::to_writer(&mut *buf, other).expect("JSON value serializes"),
        }
    }
    buf.push(b'}');
}

/// chrono's `Serialize` for `DateTime<Utc>`: RFC 3339, `Z`, fraction as
/// milli-, micro- or nanoseconds (none when zero), a leap second as `:60`.
fn timestamp_value(buf: &mut Vec<u8>, at: &DateTime<Utc>) {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        // Signed years beyond four digits: chrono's own formatting.
        serde_json::to_writer(&mut *buf, at).expect("timestamp serializes");
        return;
    }
    let two = |buf: &mut Vec<u8>, n: u32| {
        buf.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8])
    };
    let mut nano = at.nanosecond();
    let mut second = at.second();
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    buf.push(b'"');
    two(buf, year as u32 / 100);
    two(buf, year as u32 % 100);
    buf.push(b'-');
    two(buf, at.month());
    buf.push(b'-');
    two(buf, at.day());
    buf.push(b'T');
    two(buf, at.hour());
    buf.push(b':');
    two(buf, at.minute());
    buf.push(b':');
    two(buf, second);
    let (value, width) = match nano {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    if width > 0 {
        buf.push(b'.');
        let mut digits = [b'0'; 9];
        let mut rest = value;
        for d in digits[..width].iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        buf.extend_from_slice(&digits[..width]);
    }
    buf.extend_from_slice(b"Z\"");
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, `\b`, `\t`, `\n`,
/// `\f`, `\r`, other control characters as `\u00xx`; everything else as is,
/// copied a run at a time between the bytes that need escaping.
fn string(buf: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    buf.push(b'"');
    let mut run = 0;
    loop {
        let at = crate::json_bytes::next_special(bytes, run);
        buf.extend_from_slice(&bytes[run..at]);
        let Some(&byte) = bytes.get(at) else { break };
        match byte {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            0x08 => buf.extend_from_slice(b"\\b"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            0x0c => buf.extend_from_slice(b"\\f"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
        }
        run = at + 1;
    }
    buf.push(b'"');
}

const HEX: [u8; 16] = *b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    fn written(event: &Event) -> String {
        let mut buf = Vec::new();
        write_event(event, &mut buf);
        String::from_utf8(buf).unwrap()
    }

    fn same_as_serde(event: &Event) {
        assert_eq!(written(event), serde_json::to_string(event).unwrap());
    }

    #[test]
    fn every_field_as_serde_writes_it() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let mut event = Event::new("Jan  2 03:04:05 web01 sshd[1]: hello", at);
        same_as_serde(&event);
        let text = |s: &str| Some(s.to_string());
        (
            event.id,
            event.host_name,
            event.host_ip,
            event.log_file_path,
        ) = (
            text("f:1"),
            text("web01"),
            text("10.0.0.1"),
            text("/var/log/x"),
        );
        (
            event.log_source_address,
            event.log_level,
            event.process_name,
            event.source_ip,
        ) = (
            text("1.2.3.4:5"),
            text("info"),
            text("sshd"),
            text("1.2.3.4"),
        );
        (
            event.destination_ip,
            event.user_name,
            event.event_category,
            event.event_action,
        ) = (
            text("::1"),
            text("bob"),
            text("authentication"),
            text("ssh_login"),
        );
        (
            event.event_outcome,
            event.event_code,
            event.observer_vendor,
            event.observer_product,
        ) = (text("failure"), text("4625"), text("Cisco"), text("ASA"));
        event.parse_error = text("no parser recognized the line");
        (
            event.log_offset,
            event.syslog_facility,
            event.syslog_severity,
            event.process_pid,
        ) = (Some(u64::MAX), Some(0), Some(7), Some(u32::MAX));
        (event.source_port, event.destination_port) = (Some(0), Some(65535));
        event.fields.insert("a".into(), Value::from("x\"y"));
        event.fields.insert("n".into(), serde_json::json!(1.5));
        event.fields.insert("i".into(), serde_json::json!(-3));
        event.fields.insert("b".into(), Value::Bool(true));
        event.fields.insert("z".into(), Value::Null);
        event
            .fields
            .insert("arr".into(), serde_json::json!([1, "two", {"k": "v"}]));
        event
            .fields
            .insert("obj".into(), serde_json::json!({"nested": {"deep": "\n"}}));
        event
            .fields
            .insert("esc\u{1}aped key".into(), Value::from("v"));
        same_as_serde(&event);
    }

    #[test]
    fn strings_escape_as_serde_json_escapes_them() {
        let at = DateTime::UNIX_EPOCH;
        let mut samples: Vec<String> = (0u8..=0x7f)
            .map(|b| format!("abcdefgh{}ijklmnopq", b as char))
            .collect();
        samples.extend(
            [
                "",
                "\"",
                "\\",
                "é",
                "\u{2028}",
                "日本語のテキスト",
                "\u{7f}\u{80}",
                "tab\there",
                "1234567\"",
                "12345678\\",
            ]
            .map(String::from),
        );
        for (i, s) in samples.iter().enumerate() {
            // The special byte at every offset within an 8-byte word.
            let shifted = format!("{}{s}", "x".repeat(i % 9));
            let mut event = Event::new(shifted.as_str(), at);
            event.message = s.clone();
            same_as_serde(&event);
        }
    }

    #[test]
    fn strings_with_many_escapes_anywhere_escape_as_serde_json_does() {
        let at = DateTime::UNIX_EPOCH;
        // Runs of special bytes, next to each other and at word and tail
        // boundaries, from a fixed pseudo-random sequence.
        let alphabet = ['a', '"', '\\', '\n', '\t', '\u{1}', '\u{1f}', ' ', 'é', '{', '日', '\u{7f}'];
        let mut state: u32 = 1;
        for len in 0..64 {
            for _ in 0..20 {
                let text: String = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        alphabet[(state >> 16) as usize % alphabet.len()]
                    })
                    .collect();
                let mut event = Event::new(text.as_str(), at);
                event.message = text.clone();
                same_as_serde(&event);
            }
        }
    }

    #[test]
    fn timestamps_as_chrono_writes_them() {
        for text in [
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.5Z",
            "2026-01-02T03:04:05.123456Z",
            "2026-01-02T03:04:05.123456789Z",
            "2026-01-02T03:04:05.000000001Z",
            "2026-06-30T23:59:60.25Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999Z",
            "1677-09-21T00:12:43.145224192Z",
        ] {
            let at = DateTime::parse_from_rfc3339(text).unwrap().to_utc();
            same_as_serde(&Event::new("x", at));
        }
        let far = chrono::NaiveDate::from_ymd_opt(-12, 3, 4)
            .unwrap()
            .and_hms_opt(1, 2, 3)
            .unwrap()
            .and_utc();
        same_as_serde(&Event::new("x", far));
        let far = chrono::NaiveDate::from_ymd_opt(12345, 3, 4)
            .unwrap()
            .and_hms_opt(1, 2, 3)
            .unwrap()
            .and_utc();
        same_as_serde(&Event::new("x", far));
    }
}
