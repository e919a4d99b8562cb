//! Web access logs in the NCSA common/combined format (Apache, nginx):
//! `ip - user [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1" 200 2326 "referer" "agent"`.

use std::sync::LazyLock;

use chrono::DateTime;
use logwarden_event::Event;
use regex::Regex;
use serde_json::Value;

static COMBINED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<method>[A-Z]+) (?P<url>\S+)(?: (?P<proto>[^"]+))?" (?P<status>\d{3}) (?P<bytes>\d+|-)(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?"#,
    )
    .expect("valid regex")
});

/// Fills `event` from an access-log line; false when it is not one.
pub(super) fn parse_access_log(line: &str, event: &mut Event) -> bool {
    let Some(caps) = COMBINED.captures(line) else { return false };
    let Ok(ts) = DateTime::parse_from_str(&caps["ts"], "%d/%b/%Y:%H:%M:%S %z") else { return false };
    let Some(ts) = crate::ecs::in_range(ts.to_utc()) else { return false };
    event.timestamp = ts;
    event.source_ip = Some(caps["ip"].to_string());
    if &caps["user"] != "-" {
        event.user_name = Some(caps["user"].to_string());
    }
    let status: u16 = caps["status"].parse().unwrap_or(0);
    event.event_category = Some("web".into());
    event.event_outcome = Some(if status < 400 { "success" } else { "failure" }.into());
    event.process_name.get_or_insert_with(|| "httpd".into());
    let fields = &mut event.fields;
    fields.insert("http.request.method".into(), Value::from(&caps["method"]));
    fields.insert("url.original".into(), Value::from(&caps["url"]));
    fields.insert("http.response.status_code".into(), Value::from(status));
    if let Ok(bytes) = caps["bytes"].parse::<u64>() {
        fields.insert("http.response.body.bytes".into(), Value::from(bytes));
    }
    if let Some(agent) = caps.name("agent") {
        fields.insert("user_agent.original".into(), Value::from(agent.as_str()));
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
}
