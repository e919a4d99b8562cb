//! Web access logs in the NCSA common/combined format (Apache, nginx):
//! `ip - user [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1" 200 2326 "referer" "agent"`.

use std::sync::LazyLock;

use chrono::DateTime;
use logwarden_event::Event;
use regex::Regex;
use serde_json::Value;

use crate::clock;

// What [`combined`] matches by hand; asked only when a Unicode class
// (`\S`, `\d`) meets a non-ASCII character.
static COMBINED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<method>[A-Z]+) (?P<url>\S+)(?: (?P<proto>[^"]+))?" (?P<status>\d{3}) (?P<bytes>\d+|-)(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?"#,
    )
    .expect("valid regex")
});

/// The groups of [`COMBINED`] the event uses.
#[derive(Debug, PartialEq, Eq)]
struct Combined<'a> {
    ip: &'a str,
    user: &'a str,
    ts: &'a str,
    method: &'a str,
    url: &'a str,
    status: &'a str,
    bytes: &'a str,
    agent: Option<&'a str>,
}

/// A `\S` or `\d` of [`COMBINED`] was about to be tested on a non-ASCII
/// character: the expression's Unicode classes decide.
#[derive(Debug, PartialEq, Eq)]
struct NonAscii;

/// [`COMBINED`] matched by hand: the same groups, chosen in the same
/// (leftmost-first) order.
fn combined(line: &str) -> Result<Option<Combined<'_>>, NonAscii> {
    let s = line.as_bytes();
    let at = |i: usize, b: u8| s.get(i) == Some(&b);
    // The end of the run of `\S` from `i` (its ASCII part).
    let non_space = |i: usize| -> Result<usize, NonAscii> {
        let mut end = i;
        while let Some(&b) = s.get(end) {
            match b {
                b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => break,
                b if !b.is_ascii() => return Err(NonAscii),
                _ => end += 1,
            }
        }
        Ok(end)
    };
    let digit = |i: usize| -> Result<bool, NonAscii> {
        match s.get(i) {
            Some(b) if !b.is_ascii() => Err(NonAscii),
            Some(b) => Ok(b.is_ascii_digit()),
            None => Ok(false),
        }
    };
    // `\S+ ` three times: ip, ident, user; a shorter run would leave a
    // `\S` where the space must be.
    let ip_end = non_space(0)?;
    if ip_end == 0 || !at(ip_end, b' ') {
        return Ok(None);
    }
    let ident_end = non_space(ip_end + 1)?;
    if ident_end == ip_end + 1 || !at(ident_end, b' ') {
        return Ok(None);
    }
    let user_at = ident_end + 1;
    let user_end = non_space(user_at)?;
    if user_end == user_at || !at(user_end, b' ') || !at(user_end + 1, b'[') {
        return Ok(None);
    }
    let ts_at = user_end + 2;
    let Some(ts_len) = s[ts_at.min(s.len())..].iter().position(|&b| b == b']') else { return Ok(None) };
    let ts_end = ts_at + ts_len;
    if ts_len == 0 || !at(ts_end + 1, b' ') || !at(ts_end + 2, b'"') {
        return Ok(None);
    }
    let method_at = ts_end + 3;
    let method_end = method_at + s[method_at.min(s.len())..].iter().take_while(|b| b.is_ascii_uppercase()).count();
    if method_end == method_at || !at(method_end, b' ') {
        return Ok(None);
    }
    let url_at = method_end + 1;
    let url_max = non_space(url_at)?;
    if url_max == url_at {
        return Ok(None);
    }
    // `(?P<url>\S+)(?: (?P<proto>[^"]+))?"`: the whole run with a protocol
    // first, then shorter URLs ending right before a `"` of the run.
    let with_proto = if at(url_max, b' ') {
        let proto_at = url_max + 1;
        s[proto_at.min(s.len())..]
            .iter()
            .position(|&b| b == b'"')
            .filter(|&n| n > 0)
            .map(|n| (url_max, proto_at + n + 1))
    } else {
        None
    };
    let quoted = (url_at + 1..url_max).rev().filter(|&e| s[e] == b'"').map(|e| (e, e + 1));
    for (url_end, rest) in with_proto.into_iter().chain(quoted) {
        // ` (?P<status>\d{3}) (?P<bytes>\d+|-)`
        if !(at(rest, b' ') && digit(rest + 1)? && digit(rest + 2)? && digit(rest + 3)? && at(rest + 4, b' ')) {
            continue;
        }
        let bytes_at = rest + 5;
        let mut bytes_end = bytes_at;
        while digit(bytes_end)? {
            bytes_end += 1;
        }
        if bytes_end == bytes_at {
            if !at(bytes_at, b'-') {
                continue;
            }
            bytes_end += 1;
        }
        // `(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?`
        let quoted_at = |i: usize| -> Option<usize> {
            if !(at(i, b' ') && at(i + 1, b'"')) {
                return None;
            }
            s[(i + 2).min(s.len())..].iter().position(|&b| b == b'"').map(|n| i + 2 + n)
        };
        let agent = quoted_at(bytes_end).and_then(|referer_end| {
            let agent_end = quoted_at(referer_end + 1)?;
            Some(&line[referer_end + 3..agent_end])
        });
        return Ok(Some(Combined {
            ip: &line[..ip_end],
            user: &line[user_at..user_end],
            ts: &line[ts_at..ts_end],
            method: &line[method_at..method_end],
            url: &line[url_at..url_end],
            status: &line[rest + 1..rest + 4],
            bytes: &line[bytes_at..bytes_end],
            agent,
        }));
    }
    Ok(None)
}

fn combined_by_regex(line: &str) -> Option<Combined<'_>> {
    let caps = COMBINED.captures(line)?;
    let group = |name: &str| caps.name(name).map_or("", |m| m.as_str());
    Some(Combined {
        ip: group("ip"),
        user: group("user"),
        ts: group("ts"),
        method: group("method"),
        url: group("url"),
        status: group("status"),
        bytes: group("bytes"),
        agent: caps.name("agent").map(|m| m.as_str()),
    })
}

/// Fills `event` from an access-log line; false when it is not one.
pub(super) fn parse_access_log(line: &str, event: &mut Event) -> bool {
    let caps = match combined(line) {
        Ok(caps) => caps,
        Err(NonAscii) => combined_by_regex(line),
    };
    let Some(caps) = caps else { return false };
    let ts = match clock::ncsa_time(caps.ts) {
        Some(parsed) => parsed,
        None => DateTime::parse_from_str(caps.ts, "%d/%b/%Y:%H:%M:%S %z").ok(),
    };
    let Some(ts) = ts.and_then(|ts| crate::ecs::in_range(ts.to_utc())) else { return false };
    event.timestamp = ts;
    event.source_ip = Some(caps.ip.to_string());
    if caps.user != "-" {
        event.user_name = Some(caps.user.to_string());
    }
    let status: u16 = caps.status.parse().unwrap_or(0);
    event.event_category = Some("web".into());
    event.event_outcome = Some(if status < 400 { "success" } else { "failure" }.into());
    event.process_name.get_or_insert_with(|| "httpd".into());
    let fields = &mut event.fields;
    fields.insert("http.request.method".into(), Value::from(caps.method));
    fields.insert("url.original".into(), Value::from(caps.url));
    fields.insert("http.response.status_code".into(), Value::from(status));
    if let Ok(bytes) = caps.bytes.parse::<u64>() {
        fields.insert("http.response.body.bytes".into(), Value::from(bytes));
    }
    if let Some(agent) = caps.agent {
        fields.insert("user_agent.original".into(), Value::from(agent));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn combined_line() {
        let line = r#"10.1.2.3 - alice [10/Oct/2026:13:55:36 +0200] "GET /login?x=1 HTTP/1.1" 401 512 "-" "curl/8.0""#;
        let mut e = Event::new(line, Utc::now());
        assert!(parse_access_log(line, &mut e));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-10-10T11:55:36+00:00");
        assert_eq!(e.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(e.user_name.as_deref(), Some("alice"));
        assert_eq!(e.event_outcome.as_deref(), Some("failure"));
        assert_eq!(e.fields["http.response.status_code"], 401);
        assert_eq!(e.fields["url.original"], "/login?x=1");
    }

    #[test]
    fn syslog_is_not_access() {
        let line = "Jun 14 15:16:01 combo sshd[1]: hi";
        assert!(!parse_access_log(line, &mut Event::new(line, Utc::now())));
    }

    #[test]
    fn hand_match_agrees_with_the_expression() {
        let lines = [
            r#"10.1.2.3 - alice [10/Oct/2026:13:55:36 +0200] "GET /login?x=1 HTTP/1.1" 401 512 "-" "curl/8.0""#,
            r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /a"b" 200 12 "r" "a""#,
            r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /a"b"c HTTP/1.0" 200 -"#,
            r#"h - - [x] "A /" 123 4 "" """#,
        ];
        let mut inputs = Vec::new();
        for line in lines {
            for end in 0..=line.len() {
                inputs.push(line[..end].to_string());
            }
            for at in 0..line.len() {
                for b in *b" \t\"[]-0aA/:" {
                    let mut bytes = line.as_bytes().to_vec();
                    bytes[at] = b;
                    inputs.push(String::from_utf8(bytes).unwrap());
                }
            }
        }
        let mut matched = 0;
        for input in &inputs {
            let hand = combined(input).expect("ASCII input");
            matched += usize::from(hand.is_some());
            assert_eq!(hand, combined_by_regex(input), "{input:?}");
        }
        assert!(matched > inputs.len() / 4, "{matched} of {}", inputs.len());
        assert_eq!(combined("10.1.2.3 - bö [x] \"GET / H\" 200 1"), Err(NonAscii));
        let line = "10.1.2.3 - bö [10/Oct/2026:13:55:36 +0000] \"GET / H\" 200 1";
        let mut e = Event::new(line, Utc::now());
        assert!(parse_access_log(line, &mut e));
        assert_eq!(e.user_name.as_deref(), Some("bö"));
    }
}
