//! IBM QRadar Log Event Extended Format:
//! `LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v…` and
//! `LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|k=v<D>k=v…`, where the
//! 2.0 delimiter is one character or its hex code (`x09`, `0x5E`); absent
//! means tab. Attributes map to ECS like CEF extensions.

use logwarden_event::Event;
use serde_json::Value;

use crate::{cef::split_header, device};

/// Fills `event` from a LEEF record (the text must start with `LEEF:`);
/// false (event untouched) when it is not one.
pub fn parse_leef(text: &str, event: &mut Event) -> bool {
    let Some(body) = text.trim_end_matches(['\r', '\n']).strip_prefix("LEEF:") else { return false };
    let Some((header, rest)) = split_header(body, 5) else { return false };
    let [version, vendor, product, device_version, event_id] =
        <[String; 5]>::try_from(header).expect("five header fields");
    let (delimiter, attributes) = match version.trim() {
        "1.0" | "1" => ('\t', rest),
        "2.0" | "2" => match rest.split_once('|') {
            Some((field, attributes)) if !field.contains('=') => match delimiter(field) {
                Some(d) => (d, attributes),
                None => return false,
            },
            _ => ('\t', rest),
        },
        _ => return false,
    };
    let mut pairs = Vec::new();
    for item in attributes.split(delimiter).filter(|s| !s.trim().is_empty()) {
        let Some((key, value)) = item.split_once('=') else { return false };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
            return false;
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    event.observer_vendor = Some(vendor);
    event.observer_product = Some(product);
    event.fields.insert("observer.version".into(), Value::String(device_version));
    event.fields.insert("leef.version".into(), Value::String(version));
    event.event_code = Some(event_id);
    for (key, value) in pairs {
        match key.as_str() {
            "sev" => {
                event.fields.insert("event.severity".into(), Value::String(value));
            }
            // Formats other than epoch ms and the default are vendor-specific:
            // keep the raw time next to its format rather than guess.
            "devTimeFormat" => {
                event.fields.insert("leef.devTimeFormat".into(), Value::String(value));
            }
            _ => device::map_key(event, "leef", &key, value),
        }
    }
    true
}

/// `^`, `x5E`, `0x5E`, `\t` → the delimiter character.
fn delimiter(field: &str) -> Option<char> {
    let hex = field.strip_prefix("0x").or_else(|| field.strip_prefix('x')).or_else(|| field.strip_prefix("\\x"));
    if let Some(hex) = hex.filter(|h| !h.is_empty() && h.len() <= 4 && h.bytes().all(|b| b.is_ascii_hexdigit())) {
        return char::from_u32(u32::from_str_radix(hex, 16).ok()?);
    }
    if field == "\\t" {
        return Some('\t');
    }
    let mut chars = field.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        (None, _) => Some('\t'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn parse(line: &str) -> Option<Event> {
        let mut event = Event::new(line, DateTime::UNIX_EPOCH);
        parse_leef(line, &mut event).then_some(event)
    }

    // QRadar LEEF guide, LEEF 1.0 example (tab separated).
    #[test]
    fn leef_1_tab_separated() {
        let line = "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black";
        let e = parse(line).unwrap();
        assert_eq!(e.observer_vendor.as_deref(), Some("Microsoft"));
        assert_eq!(e.observer_product.as_deref(), Some("MSExchange"));
        assert_eq!(e.event_code.as_deref(), Some("15345"));
        assert_eq!(e.source_ip.as_deref(), Some("192.0.2.0"));
        assert_eq!(e.destination_ip.as_deref(), Some("172.50.123.1"));
        assert_eq!((e.source_port, e.destination_port), (Some(81), Some(21)));
        assert_eq!(e.user_name.as_deref(), Some("joe.black"));
        assert_eq!(e.fields["event.severity"], "5");
        assert_eq!(e.fields["leef.cat"], "anomaly");
    }

    // LEEF 2.0 examples: a caret delimiter, and a hex one.
    #[test]
    fn leef_2_custom_and_hex_delimiters() {
        let e = parse("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21")
            .unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("10.0.1.8"));
        assert_eq!(e.destination_port, Some(21));
        let e = parse("LEEF:2.0|Lancope|StealthWatch|1.0|41|x09|src=10.0.1.9\tdst=10.0.0.6\tdevTime=1772360430000")
            .unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("10.0.1.9"));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-03-01T10:20:30+00:00");
        let e = parse("LEEF:2.0|V|P|1|7|0x7C|src=10.0.1.10|dst=10.0.0.7").unwrap();
        assert_eq!(e.destination_ip.as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn leef_2_without_delimiter_field_defaults_to_tab() {
        let e = parse("LEEF:2.0|V|P|1|7|src=10.0.1.11\tusrName=ann").unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("10.0.1.11"));
        assert_eq!(e.user_name.as_deref(), Some("ann"));
    }

    #[test]
    fn not_leef() {
        for line in
            ["LEEF:1.0|a|b|c", "LEEF:3.0|a|b|c|d|src=1", "LEEF:1.0|a|b|c|d|noequals", "LEEF:2.0|a|b|c|d|xyz|src=1"]
        {
            assert!(parse(line).is_none(), "{line}");
        }
    }
}
