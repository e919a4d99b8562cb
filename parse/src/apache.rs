//! Apache httpd error log: `[Sun Dec 04 04:47:44 2005] [level] [client ip] message`.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use logwarden_event::Event;
use regex::Regex;

static ERROR_LOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})(?:\.\d+)? (?P<year>\d{4})\] \[(?:[\w-]+:)?(?P<level>\w+)\] (?:\[pid \d+(?::tid \d+)?\] )?(?:\[client (?P<client>[^\]:]+)(?::(?P<port>\d+))?\] )?(?P<msg>.*)$",
    )
    .expect("valid regex")
});

/// Fills `event` from an Apache error-log line; false when it is not one.
pub(super) fn parse_error_log(line: &str, event: &mut Event) -> bool {
    // The expression starts with `\[`: other lines need not run it (its
    // `$` makes the engine scan the whole line backwards first).
    if !line.starts_with('[') {
        return false;
    }
    let Some(caps) = ERROR_LOG.captures(line) else { return false };
    let text = format!("{} {}", &caps["ts"], &caps["year"]);
    let Ok(ts) = NaiveDateTime::parse_from_str(&text, "%a %b %e %H:%M:%S %Y") else { return false };
    let Some(ts) = crate::ecs::in_range(ts.and_utc()) else { return false };
    event.timestamp = ts;
    event.log_level = Some(caps["level"].to_ascii_lowercase());
    event.process_name = Some("httpd".to_string());
    event.source_ip = caps.name("client").map(|c| c.as_str().to_string());
    event.source_port = caps.name("port").and_then(|p| p.as_str().parse().ok());
    event.message = caps["msg"].to_string();
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn parse(line: &str) -> Option<Event> {
        let mut event = Event::new(line, Utc::now());
        parse_error_log(line, &mut event).then_some(event)
    }

    #[test]
    fn notice_line() {
        let e = parse("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties")
            .unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2005-12-04T04:47:44+00:00");
        assert_eq!(e.log_level.as_deref(), Some("notice"));
        assert_eq!(e.message, "workerEnv.init() ok /etc/httpd/conf/workers2.properties");
    }

    #[test]
    fn client_address_becomes_source_ip() {
        let e = parse("[Sat Jun 11 03:03:03 2005] [error] [client 202.133.98.6] File does not exist: /var/www/html/x")
            .unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("202.133.98.6"));
        assert_eq!(e.message, "File does not exist: /var/www/html/x");
    }

    #[test]
    fn apache24_module_level_pid_and_port() {
        let e = parse("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:1234] File does not exist").unwrap();
        assert_eq!(e.log_level.as_deref(), Some("error"));
        assert_eq!(e.source_ip.as_deref(), Some("72.15.99.187"));
        assert_eq!(e.source_port, Some(1234));
    }

    #[test]
    fn other_bracketed_lines_are_not_apache() {
        assert!(parse("[INFO] something").is_none());
        assert!(parse("[Xyz Dec 04 04:47:44 2005] [notice] bad weekday").is_none());
    }
}
