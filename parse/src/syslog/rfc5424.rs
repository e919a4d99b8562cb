//! RFC 5424 syslog:
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`,
//! `-` for a missing value. Structured-data parameters become
//! `fields["sd.<id>.<param>"]`; the header fields map to ECS.

use chrono::DateTime;
use logwarden_event::Event;
use serde_json::Value;

use super::{apply_pri, split_pri};

/// Fills `event` from an RFC 5424 line; false (event untouched) when the
/// line is not one.
pub fn parse_rfc5424(line: &str, event: &mut Event) -> bool {
    match parse(line) {
        Some(parsed) => {
            parsed.apply(event);
            true
        }
        None => false,
    }
}

struct Parsed<'a> {
    pri: u8,
    timestamp: Option<DateTime<chrono::FixedOffset>>,
    host: Option<&'a str>,
    app: Option<&'a str>,
    procid: Option<&'a str>,
    msgid: Option<&'a str>,
    params: Vec<(String, String)>,
    message: &'a str,
}

fn parse(line: &str) -> Option<Parsed<'_>> {
    let (pri, rest) = split_pri(line)?;
    let rest = rest.strip_prefix("1 ")?;
    let (timestamp, rest) = rest.split_once(' ')?;
    let timestamp = match timestamp {
        "-" => None,
        text => {
            let ts = DateTime::parse_from_rfc3339(text).ok()?;
            crate::ecs::in_range(ts.to_utc())?;
            Some(ts)
        }
    };
    let (host, rest) = header_field(rest, 255)?;
    let (app, rest) = header_field(rest, 48)?;
    let (procid, rest) = header_field(rest, 128)?;
    let (msgid, rest) = header_field(rest, 32)?;
    let (params, rest) = structured_data(rest)?;
    let message = match rest {
        "" => "",
        rest => rest.strip_prefix(' ')?,
    };
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Some(Parsed { pri, timestamp, host, app, procid, msgid, params, message })
}

/// One space-terminated header field of printable ASCII, `-` = absent.
fn header_field(text: &str, max: usize) -> Option<(Option<&str>, &str)> {
    let (field, rest) = text.split_once(' ')?;
    if field.is_empty() || field.len() > max || !field.bytes().all(|b| (33..=126).contains(&b)) {
        return None;
    }
    Some(((field != "-").then_some(field), rest))
}

/// `-` or `[id k="v" …][id2 …]`; values unescape `\"`, `\\` and `\]`.
fn structured_data(text: &str) -> Option<(Vec<(String, String)>, &str)> {
    if let Some(rest) = text.strip_prefix('-') {
        return Some((Vec::new(), rest));
    }
    let mut params = Vec::new();
    let mut rest = text;
    if !rest.starts_with('[') {
        return None;
    }
    while let Some(element) = rest.strip_prefix('[') {
        let id_end = element.find([' ', ']'])?;
        let id = &element[..id_end];
        if id.is_empty() || !id.bytes().all(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b'"')) {
            return None;
        }
        let mut cursor = &element[id_end..];
        loop {
            if let Some(after) = cursor.strip_prefix(']') {
                rest = after;
                break;
            }
            cursor = cursor.strip_prefix(' ')?;
            let eq = cursor.find('=')?;
            let name = &cursor[..eq];
            if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && !matches!(b, b']' | b'"' | b' ')) {
                return None;
            }
            let body = cursor[eq + 1..].strip_prefix('"')?;
            let mut value = String::new();
            let mut end = None;
            let mut chars = body.char_indices();
            while let Some((at, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(at + 1);
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, e @ ('"' | '\\' | ']'))) => value.push(e),
                        // Other backslashes are kept as they are (section 6.3.3).
                        Some((_, e)) => {
                            value.push('\\');
                            value.push(e);
                        }
                        None => return None,
                    },
                    c => value.push(c),
                }
            }
            cursor = &body[end?..];
            params.push((format!("sd.{id}.{name}"), value));
        }
    }
    Some((params, rest))
}

impl Parsed<'_> {
    fn apply(self, event: &mut Event) {
        apply_pri(self.pri, event);
        if let Some(ts) = self.timestamp {
            event.timestamp = ts.to_utc();
        }
        if let Some(host) = self.host {
            event.host_name = Some(host.to_string());
        }
        event.process_name = self.app.map(str::to_string);
        if let Some(procid) = self.procid {
            match procid.parse() {
                Ok(pid) => event.process_pid = Some(pid),
                Err(_) => {
                    event.fields.insert("log.syslog.procid".into(), Value::from(procid));
                }
            }
        }
        if let Some(msgid) = self.msgid {
            event.fields.insert("log.syslog.msgid".into(), Value::from(msgid));
        }
        for (key, value) in self.params {
            event.fields.insert(key, Value::String(value));
        }
        event.set_message(self.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<Event> {
        let mut event = Event::new(line, DateTime::UNIX_EPOCH);
        parse_rfc5424(line, &mut event).then_some(event)
    }

    // RFC 5424 section 6.5, example 1 (with the BOM before the message).
    #[test]
    fn rfc_example_1_su_failure() {
        let e = parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8").unwrap();
        assert_eq!((e.syslog_facility, e.syslog_severity), (Some(4), Some(2)));
        assert_eq!(e.log_level.as_deref(), Some("critical"));
        assert_eq!(e.timestamp.to_rfc3339(), "2003-10-11T22:14:15.003+00:00");
        assert_eq!(e.host_name.as_deref(), Some("mymachine.example.com"));
        assert_eq!(e.process_name.as_deref(), Some("su"));
        assert_eq!(e.process_pid, None);
        assert_eq!(e.fields["log.syslog.msgid"], "ID47");
        assert_eq!(e.message, "'su root' failed for lonvick on /dev/pts/8");
    }

    // Example 2: offset time, numeric procid, no SD.
    #[test]
    fn rfc_example_2_offset_and_pid() {
        let e = parse(
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        )
        .unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2003-08-24T12:14:15.000003+00:00");
        assert_eq!(e.syslog_facility, Some(20));
        assert_eq!(e.process_pid, Some(8710));
        assert_eq!(e.message, "%% It's time to make the do-nuts.");
    }

    // Examples 3 and 4: structured data, several elements, no message.
    #[test]
    fn rfc_examples_3_and_4_structured_data() {
        let e = parse(r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry..."#).unwrap();
        assert_eq!(e.fields["sd.exampleSDID@32473.iut"], "3");
        assert_eq!(e.fields["sd.exampleSDID@32473.eventSource"], "Application");
        assert_eq!(e.message, "An application event log entry...");
        let e = parse(r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#).unwrap();
        assert_eq!(e.fields["sd.examplePriority@32473.class"], "high");
        assert_eq!(e.fields["sd.exampleSDID@32473.eventID"], "1011");
        assert_eq!(e.message, "");
    }

    #[test]
    fn escaped_structured_data_values() {
        let e = parse(r#"<13>1 - - app - - [x@1 a="q\"uote" b="brack\]et" c="back\\slash" d="keep\n"] m"#).unwrap();
        assert_eq!(e.fields["sd.x@1.a"], "q\"uote");
        assert_eq!(e.fields["sd.x@1.b"], "brack]et");
        assert_eq!(e.fields["sd.x@1.c"], "back\\slash");
        assert_eq!(e.fields["sd.x@1.d"], "keep\\n");
        assert_eq!(e.timestamp, DateTime::UNIX_EPOCH, "NILVALUE time keeps the receipt time");
        assert_eq!(e.host_name, None);
        assert_eq!(e.message, "m");
    }

    #[test]
    fn malformed_lines_are_not_5424() {
        for line in [
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
            "<34>1 2003-10-11T22:14:15.003Z host",
            "<34>1 yesterday host app - - - msg",
            r#"<34>1 - host app - - [id a="unterminated] msg"#,
            "<34>1 - host app - - [id a=b] m",
            "<34>1 - host app - - nosd msg",
            "<999>1 - h a - - - m",
        ] {
            assert!(parse(line).is_none(), "{line}");
        }
    }
}
