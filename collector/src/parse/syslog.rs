//! BSD syslog (RFC 3164) lines as written to files by syslogd/rsyslog:
//! `[<PRI>]Mmm dd hh:mm:ss host tag[pid]: message`.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use logwarden_event::Event;
use regex::Regex;

static RFC3164: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:<(?P<pri>\d{1,3})>)?(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<host>\S+) +(?:-- )?(?P<tag>[^:\[\s]+)(?:\[(?P<pid>\d+)\])?:? ?(?P<msg>.*)$",
    )
    .expect("valid regex")
});

/// Fills `event` from an RFC 3164 line; false (and `event` untouched) when
/// the line is not one.
pub(super) fn parse_rfc3164(line: &str, received: DateTime<Utc>, event: &mut Event) -> bool {
    let Some(caps) = RFC3164.captures(line) else { return false };
    let Some(timestamp) = infer_timestamp(&caps["mon"], &caps["day"], &caps["time"], received) else {
        return false;
    };
    event.timestamp = timestamp;
    if let Some(pri) = caps.name("pri").and_then(|p| p.as_str().parse::<u16>().ok()) {
        if pri <= 191 {
            event.syslog_facility = Some((pri / 8) as u8);
            event.syslog_severity = Some((pri % 8) as u8);
        }
    }
    event.host_name = Some(caps["host"].to_string());
    event.process_name = Some(caps["tag"].to_string());
    event.process_pid = caps.name("pid").and_then(|p| p.as_str().parse().ok());
    event.message = caps["msg"].to_string();
    true
}

/// RFC 3164 timestamps carry no year and no zone: take the receipt year (in
/// UTC), or the year before when that would put the event more than a day in
/// the future (a December line read in January).
fn infer_timestamp(mon: &str, day: &str, time: &str, received: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let month = month_number(mon)?;
    let day: u32 = day.parse().ok()?;
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S").ok()?;
    let at = |year| NaiveDate::from_ymd_opt(year, month, day).map(|d| NaiveDateTime::new(d, time).and_utc());
    let this_year = at(received.year());
    match this_year {
        Some(ts) if ts <= received + chrono::Duration::days(1) => Some(ts),
        _ => at(received.year() - 1),
    }
}

fn month_number(mon: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    MONTHS.iter().position(|m| *m == mon).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-05T12:00:00Z").unwrap().to_utc()
    }

    fn parse(line: &str) -> Option<Event> {
        let mut event = Event::new(line, received());
        parse_rfc3164(line, received(), &mut event).then_some(event)
    }

    #[test]
    fn linux_pam_line() {
        let e = parse("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=218.188.2.4 ").unwrap();
        assert_eq!(e.host_name.as_deref(), Some("combo"));
        assert_eq!(e.process_name.as_deref(), Some("sshd(pam_unix)"));
        assert_eq!(e.process_pid, Some(19939));
        assert_eq!(e.message, "authentication failure; rhost=218.188.2.4 ");
        // June is in the future on 5 January: last year.
        assert_eq!(e.timestamp.to_rfc3339(), "2025-06-14T15:16:01+00:00");
    }

    #[test]
    fn kernel_line_without_pid_and_single_digit_day() {
        let e = parse("Jan  1 09:00:55 combo kernel: Linux version 2.6.5").unwrap();
        assert_eq!(e.process_name.as_deref(), Some("kernel"));
        assert_eq!(e.process_pid, None);
        assert_eq!(e.message, "Linux version 2.6.5");
        assert_eq!(e.timestamp.to_rfc3339(), "2026-01-01T09:00:55+00:00");
    }

    #[test]
    fn priority_gives_facility_and_severity() {
        let e = parse("<38>Jan  2 03:04:05 web01 sshd[7]: Accepted password").unwrap();
        assert_eq!((e.syslog_facility, e.syslog_severity), (Some(4), Some(6)));
    }

    #[test]
    fn impossible_dates_are_not_syslog() {
        assert!(parse("Feb 31 03:04:05 web01 sshd[7]: x").is_none());
        assert!(parse("Foo  2 03:04:05 web01 sshd[7]: x").is_none());
        assert!(parse("not syslog at all").is_none());
    }
}
