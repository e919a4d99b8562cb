//! logfmt: `ts=2026-03-01T10:00:00Z level=info msg="user logged in" user=alice`
//! (Heroku, Go's slog text handler, Grafana stack). Values may be quoted with
//! `"` and use `\"` and `\\` escapes; a bare key is a `true` flag.

use logwarden_event::Event;
use serde_json::Value;

use crate::ecs;

/// Splits a logfmt line into pairs; `None` when it is not logfmt (fewer
/// than two `key=value` pairs, a key with odd characters, an open quote).
pub fn pairs(line: &str) -> Option<Vec<(&str, String)>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut with_value = 0;
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b' ' {
            if !(bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'-' | b'@' | b'/')) {
                return None;
            }
            i += 1;
        }
        let key = &line[start..i];
        if key.is_empty() {
            return None;
        }
        if i == bytes.len() || bytes[i] == b' ' {
            out.push((key, "true".to_string()));
            continue;
        }
        i += 1; // '='
        let value = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let mut value = String::new();
            let mut closed = false;
            let mut chars = line[i..].char_indices();
            while let Some((at, c)) = chars.next() {
                match c {
                    '"' => {
                        i += at + 1;
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, e)) => value.push(e),
                        None => value.push('\\'),
                    },
                    c => value.push(c),
                }
            }
            if !closed || bytes.get(i).is_some_and(|&b| b != b' ') {
                return None;
            }
            value
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b' ' {
                i += 1;
            }
            line[start..i].to_string()
        };
        with_value += 1;
        out.push((key, value));
    }
    (with_value >= 2).then_some(out)
}

/// Fills `event` from a logfmt line; false (event untouched) when the line
/// is not logfmt.
pub fn parse_logfmt(line: &str, event: &mut Event) -> bool {
    let Some(pairs) = pairs(line.trim()) else { return false };
    for (key, value) in pairs {
        match key {
            "ts" | "time" | "timestamp" | "t" | "@timestamp" => match ecs::parse_timestamp_str(&value) {
                Some(ts) => event.timestamp = ts,
                None => ecs::set_str(event, key, &value),
            },
            "level" | "lvl" | "severity" | "log.level" => event.log_level = Some(value.to_ascii_lowercase()),
            "msg" | "message" => event.message = value,
            "host" | "hostname" => event.host_name = Some(value),
            "app" | "program" | "service" => event.process_name = Some(value),
            "pid" => ecs::set(event, "process.pid", Value::String(value)),
            "user" | "username" => event.user_name = Some(value),
            "src" | "src_ip" | "client_ip" | "remote_addr" => event.source_ip = Some(value),
            _ => ecs::set(event, key, Value::String(value)),
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn parse(line: &str) -> Option<Event> {
        let mut event = Event::new(line, DateTime::UNIX_EPOCH);
        parse_logfmt(line, &mut event).then_some(event)
    }

    #[test]
    fn heroku_router_line() {
        let e = parse(r#"at=info method=GET path="/users?id=1" host=myapp.herokuapp.com fwd="204.204.204.204" status=200 bytes=1234"#).unwrap();
        assert_eq!(e.host_name.as_deref(), Some("myapp.herokuapp.com"));
        assert_eq!(e.fields["path"], "/users?id=1");
        assert_eq!(e.fields["status"], "200");
    }

    #[test]
    fn slog_text_line_with_escapes() {
        let e = parse(r#"time=2026-03-01T10:00:00.000+01:00 level=WARN msg="said \"no\" twice" user=alice source.ip=10.1.1.1 debug"#).unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2026-03-01T09:00:00+00:00");
        assert_eq!(e.log_level.as_deref(), Some("warn"));
        assert_eq!(e.message, r#"said "no" twice"#);
        assert_eq!(e.user_name.as_deref(), Some("alice"));
        assert_eq!(e.source_ip.as_deref(), Some("10.1.1.1"));
        assert_eq!(e.fields["debug"], "true");
    }

    #[test]
    fn prose_and_broken_quotes_are_not_logfmt() {
        for line in [
            "Accepted password for root from 1.2.3.4",
            "only=one",
            r#"a=1 b="unterminated"#,
            r#"a=1 b="x"y"#,
            "a=1 (b)=2",
        ] {
            assert!(parse(line).is_none(), "{line}");
        }
    }
}
