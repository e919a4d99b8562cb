//! ArcSight Common Event Format:
//! `CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`.
//! Header fields escape `\|` and `\\`; the extension is `key=value` pairs
//! separated by spaces, values may hold spaces and escape `\=`, `\\`, `\n`,
//! `\r`. A syslog header before `CEF:` is parsed by the chain first.

use logwarden_event::Event;
use serde_json::Value;

use crate::device;

/// Fills `event` from a CEF record (the text must start with `CEF:`);
/// false (event untouched) when it is not one.
pub fn parse_cef(text: &str, event: &mut Event) -> bool {
    let Some(body) = text.trim_end_matches(['\r', '\n']).strip_prefix("CEF:") else { return false };
    let Some((header, extension)) = split_header(body, 7) else { return false };
    let [version, vendor, product, device_version, signature, name, severity] =
        <[String; 7]>::try_from(header).expect("seven header fields");
    if version.trim().parse::<u8>().is_err() {
        return false;
    }
    let Some(pairs) = extension_pairs(extension) else { return false };
    event.observer_vendor = Some(vendor);
    event.observer_product = Some(product);
    event.fields.insert("observer.version".into(), Value::String(device_version));
    event.fields.insert("cef.version".into(), Value::String(version));
    event.event_code = Some(signature);
    event.fields.insert("cef.name".into(), Value::String(name.clone()));
    if let Some(level) = severity_level(&severity) {
        event.log_level = Some(level.to_string());
    }
    event.fields.insert("event.severity".into(), Value::String(severity));
    event.message = name;
    let labels: Vec<(String, String)> =
        pairs.iter().filter_map(|(k, v)| k.strip_suffix("Label").map(|base| (base.to_string(), v.clone()))).collect();
    for (key, value) in pairs {
        if key.ends_with("Label") && labels.iter().any(|(base, _)| format!("{base}Label") == key) {
            continue;
        }
        // cs1=… with cs1Label=Foo → fields["cef.Foo"].
        if let Some((_, label)) = labels.iter().find(|(base, _)| *base == key) {
            event.fields.insert(format!("cef.{label}"), Value::String(value));
            continue;
        }
        device::map_key(event, "cef", &key, value);
    }
    true
}

/// The first `count` `|`-separated header fields (unescaped) and the rest.
pub(crate) fn split_header(text: &str, count: usize) -> Option<(Vec<String>, &str)> {
    let mut fields = Vec::with_capacity(count);
    let mut current = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('|' | '\\'))) => current.push(e),
                Some((_, e)) => {
                    current.push('\\');
                    current.push(e);
                }
                None => current.push('\\'),
            },
            '|' => {
                fields.push(std::mem::take(&mut current));
                if fields.len() == count {
                    return Some((fields, &text[at + 1..]));
                }
            }
            c => current.push(c),
        }
    }
    None
}

/// Splits `k1=v1 k2=some value k3=v3`: a key is the word right before an
/// unescaped `=`; its value runs to the space before the next key.
fn extension_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let bytes = text.as_bytes();
    // (key start, '=' index) of each key.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' => {
                let start = text[..i].rfind(' ').map_or(0, |s| s + 1);
                let floor = keys.last().map_or(0, |&(_, eq)| eq + 1);
                let key = &text[start.max(floor)..i];
                let valid = !key.is_empty()
                    && start >= floor
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']'));
                if valid {
                    keys.push((start, i));
                } else if keys.is_empty() {
                    return None; // text before the first key is not an extension
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if keys.is_empty() {
        return text.trim().is_empty().then(Vec::new);
    }
    if !text[..keys[0].0].trim().is_empty() {
        return None;
    }
    let mut pairs = Vec::with_capacity(keys.len());
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(text.len(), |&(next, _)| next);
        let value = text[eq + 1..end].trim_end_matches(' ');
        pairs.push((text[start..eq].to_string(), unescape_value(value)));
    }
    Some(pairs)
}

fn unescape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(e @ ('=' | '\\' | '|')) => out.push(e),
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// CEF severity 0-10 or Low/Medium/High/Very-High.
fn severity_level(severity: &str) -> Option<&'static str> {
    match severity.trim().to_ascii_lowercase().as_str() {
        "0" | "1" | "2" | "3" | "low" => Some("low"),
        "4" | "5" | "6" | "medium" => Some("medium"),
        "7" | "8" | "high" => Some("high"),
        "9" | "10" | "very-high" => Some("very-high"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn parse(line: &str) -> Option<Event> {
        let mut event = Event::new(line, DateTime::UNIX_EPOCH);
        parse_cef(line, &mut event).then_some(event)
    }

    // ArcSight CEF implementation standard, "CEF Examples".
    #[test]
    fn spec_example_with_escaped_pipe_and_spaces() {
        let e = parse(r"CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a | dst=1.1.1.1").unwrap();
        assert_eq!(e.observer_vendor.as_deref(), Some("security"));
        assert_eq!(e.observer_product.as_deref(), Some("threatmanager"));
        assert_eq!(e.event_code.as_deref(), Some("100"));
        assert_eq!(e.message, "detected a | in message");
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(e.event_action.as_deref(), Some("blocked a |"));
        assert_eq!(e.destination_ip.as_deref(), Some("1.1.1.1"));
        assert_eq!(e.log_level.as_deref(), Some("very-high"));
    }

    #[test]
    fn spec_example_escaped_equals_and_backslash() {
        let e = parse(r"CEF:0|security|threatmanager|1.0|100|detected a \\ in packet|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1").unwrap();
        assert_eq!(e.message, r"detected a \ in packet");
        assert_eq!(e.event_action.as_deref(), Some("blocked a ="));
        assert_eq!(e.destination_ip.as_deref(), Some("1.1.1.1"));
    }

    #[test]
    fn ports_users_outcome_time_and_labels() {
        let e = parse("CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvchost=hostname suser=alice duser=root spt=51515 dpt=22 outcome=Failure rt=1772360430000 cs1=Quarantined cs1Label=Quarantine Status msg=multi word message").unwrap();
        assert_eq!(e.user_name.as_deref(), Some("alice"));
        assert_eq!(e.fields["source.user.name"], "alice");
        assert_eq!(e.fields["destination.user.name"], "root");
        assert_eq!((e.source_port, e.destination_port), (Some(51515), Some(22)));
        assert_eq!(e.event_outcome.as_deref(), Some("failure"));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-03-01T10:20:30+00:00");
        assert_eq!(e.fields["cef.Quarantine Status"], "Quarantined");
        assert_eq!(e.fields["cef.Host ID"], "1");
        assert_eq!(e.fields["observer.hostname"], "hostname");
        assert_eq!(e.message, "multi word message");
    }

    #[test]
    fn empty_extension_is_fine() {
        let e = parse("CEF:1|V|P|1|sig|Name|Low|").unwrap();
        assert_eq!(e.event_code.as_deref(), Some("sig"));
        assert_eq!(e.log_level.as_deref(), Some("low"));
    }

    #[test]
    fn not_cef() {
        for line in [
            "CEF:0|too|few|fields",
            "CEF:x|a|b|c|d|e|f|g=1",
            "cef:0|a|b|c|d|e|f|",
            "CEF:0|a|b|c|d|e|f|garbage before=1",
            "Jan 1 host CEF:0|a",
        ] {
            assert!(parse(line).is_none(), "{line}");
        }
    }
}
