//! BSD syslog (RFC 3164) as written to files by syslogd/rsyslog and sent by
//! network devices: `[<PRI>]Mmm dd hh:mm:ss host tag[pid]: message`, plus
//! the variants seen in the field:
//!
//! - no `<PRI>` (files), or no host name (`Mmm dd hh:mm:ss tag: msg`);
//! - an ISO 8601 timestamp in the date's place (rsyslog's high-precision
//!   template), with or without zone;
//! - Cisco IOS: a sequence number, an optional origin host, `*`/`.` clock
//!   markers, milliseconds, a zone name and a `%FAC-SEV-MNEMONIC:` tag
//!   (`<189>45: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured …`);
//! - Cisco ASA: a year after the day (`Jan 05 2026 10:00:00 fw01 : %ASA-…`).
//!
//! Zone-less timestamps are read in [`SyslogOptions::timezone`]; a missing
//! year is the receipt year, or the year before when that would put the
//! event more than a day in the future (a December line read in January).

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use logwarden_event::Event;
use regex::Regex;
use serde_json::Value;

use super::bsd_header::{self, Header, NonAscii, Tag};
use super::{SyslogOptions, apply_pri};
use crate::clock;

// The expressions [`bsd_header`] matches by hand; asked only when a Unicode
// class (`\d`, `\w`, `\s`) meets a non-ASCII character.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:<(?P<pri>\d{1,3})>)?",
        r"(?:(?P<seq>\d{1,10}): )?",
        r"(?:(?P<origin>[A-Za-z0-9][\w.\-]*): )?",
        r"[*.]?",
        r"(?:(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(?P<offset>Z|[+-]\d{2}:?\d{2})?",
        r"|(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2})(?: (?P<year>\d{4}))? (?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d{1,9})?(?: (?P<zone>[A-Z]{3,4}))?)",
        // No capture of the rest: the engines stop at the header's end.
        r":? +",
    ))
    .expect("valid regex")
});

static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<tag>(?:-- )?[^:\[\s]{1,128}(?: \d+(?:\.\d+)+)?)(?:\[(?P<pid>[^\]\s]{0,32})\]:?|:)(?: |$)")
        .expect("valid regex")
});

/// Fills `event` from an RFC 3164 line; false (and `event` untouched) when
/// the line is not one.
pub fn parse_rfc3164(line: &str, received: DateTime<Utc>, options: &SyslogOptions, event: &mut Event) -> bool {
    let header = match bsd_header::header(line) {
        Ok(header) => header,
        Err(NonAscii) => HEADER.captures(line).map(|caps| header_of(&caps)),
    };
    let Some(header) = header else { return false };
    let pri = match header.pri {
        Some(p) => match p.parse::<u8>() {
            Ok(pri) if pri <= 191 => Some(pri),
            _ => return false,
        },
        None => None,
    };
    let timestamp = if let Some(iso) = header.iso {
        iso_timestamp(iso, header.offset, options)
    } else {
        let utc_zone = matches!(header.zone, Some("UTC" | "GMT"));
        bsd_timestamp(&header, received, if utc_zone { chrono_tz::UTC } else { options.timezone })
    };
    let Some(timestamp) = timestamp else { return false };
    let rest = &line[header.end..];

    event.timestamp = timestamp;
    if let Some(pri) = pri {
        apply_pri(pri, event);
    }
    if let Some(seq) = header.seq {
        event.fields.insert("log.syslog.sequence".into(), Value::from(seq));
    }
    event.host_name = header.origin.map(str::to_string);
    let mut body = rest;
    if let Some(cisco) = bsd_header::cisco(body) {
        event.event_code = Some(cisco.code.to_string());
        if pri.is_none() {
            event.syslog_severity = Some(cisco.severity);
        }
        event.set_message(&body[cisco.end..]);
        return true;
    }
    // The first word is the host unless it already looks like the tag
    // (`sshd[42]:`, `kernel:`): then the host name was left out.
    let first = body.split(' ').next().unwrap_or("");
    let first_is_tag = first.ends_with(':') || first.contains('[');
    if !first_is_tag && event.host_name.is_none() {
        event.host_name = Some(first.to_string());
        body = body[first.len()..].trim_start_matches(' ');
        if let Some(after) = body.strip_prefix(": ") {
            body = after; // ASA: `fw01 : %ASA-…`
        }
        if let Some(cisco) = bsd_header::cisco(body) {
            event.event_code = Some(cisco.code.to_string());
            event.set_message(&body[cisco.end..]);
            return true;
        }
    }
    let tag = match bsd_header::tag(body) {
        Ok(tag) => tag,
        Err(NonAscii) => TAG.captures(body).map(|caps| Tag {
            tag: caps.name("tag").map_or("", |m| m.as_str()),
            pid: caps.name("pid").map(|m| m.as_str()),
            end: caps.get(0).map_or(body.len(), |m| m.end()),
        }),
    };
    match tag {
        Some(tag) => {
            event.process_name = Some(tag.tag.to_string());
            if let Some(pid) = tag.pid.filter(|p| !p.is_empty()) {
                match pid.parse() {
                    Ok(pid) => event.process_pid = Some(pid),
                    Err(_) => {
                        event.fields.insert("log.syslog.procid".into(), Value::from(pid));
                    }
                }
            }
            event.set_message(&body[tag.end..]);
        }
        None => event.set_message(body),
    }
    true
}

/// The header expression's groups, when the Unicode classes had to decide.
fn header_of<'a>(caps: &regex::Captures<'a>) -> Header<'a> {
    let group = |name: &str| caps.name(name).map(|m| m.as_str());
    Header {
        pri: group("pri"),
        seq: group("seq"),
        origin: group("origin"),
        iso: group("iso"),
        offset: group("offset"),
        mon: group("mon"),
        day: group("day"),
        year: group("year"),
        time: group("time"),
        frac: group("frac"),
        zone: group("zone"),
        end: caps.get(0).map_or(0, |m| m.end()),
    }
}

fn iso_timestamp(text: &str, offset: Option<&str>, options: &SyslogOptions) -> Option<DateTime<Utc>> {
    match offset {
        Some(offset) => {
            let offset =
                if offset.len() == 5 { format!("{}:{}", &offset[..3], &offset[3..]) } else { offset.to_string() };
            DateTime::parse_from_rfc3339(&format!("{text}{offset}")).ok().and_then(|t| crate::ecs::in_range(t.to_utc()))
        }
        None => {
            let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
            local_to_utc(naive, options.timezone)
        }
    }
}

fn bsd_timestamp(header: &Header<'_>, received: DateTime<Utc>, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let month = clock::month_number(header.mon?)?;
    let day: u32 = header.day?.parse().ok()?;
    let mut time = clock::clock_time(header.time?)?;
    if let Some(frac) = header.frac {
        time = time.with_nanosecond(fraction_nanos(&frac[1..])?)?;
    }
    let at =
        |year| NaiveDate::from_ymd_opt(year, month, day).and_then(|d| local_to_utc(NaiveDateTime::new(d, time), zone));
    if let Some(year) = header.year {
        return at(year.parse().ok()?);
    }
    match at(received.year()) {
        Some(ts) if ts <= received + chrono::Duration::days(1) => Some(ts),
        _ => at(received.year() - 1),
    }
}

/// 1 to 9 fraction digits as nanoseconds (`5` is 500 ms).
fn fraction_nanos(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    Some(value * 10u32.pow(9 - digits.len() as u32))
}

/// Local wall time to UTC; a time skipped by a DST change is read one hour
/// later, an ambiguous one as the earlier instant.
fn local_to_utc(naive: NaiveDateTime, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    if zone == chrono_tz::UTC {
        // What the zone lookup below gives for UTC, without the lookup.
        return crate::ecs::in_range(naive.and_utc());
    }
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest())
        .and_then(|t| crate::ecs::in_range(t.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-05T12:00:00Z").unwrap().to_utc()
    }

    fn parse_in(line: &str, timezone: chrono_tz::Tz) -> Option<Event> {
        let mut event = Event::new(line, received());
        parse_rfc3164(line, received(), &SyslogOptions { timezone }, &mut event).then_some(event)
    }

    fn parse(line: &str) -> Option<Event> {
        parse_in(line, chrono_tz::UTC)
    }

    #[test]
    fn linux_pam_line() {
        let e =
            parse("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=218.188.2.4 ").unwrap();
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
        assert_eq!(e.log_level.as_deref(), Some("informational"));
    }

    // RFC 3164 section 5.4, examples 1 and 3.
    #[test]
    fn rfc_examples() {
        let e = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8").unwrap();
        assert_eq!((e.syslog_facility, e.syslog_severity), (Some(4), Some(2)));
        assert_eq!(e.host_name.as_deref(), Some("mymachine"));
        assert_eq!(e.process_name.as_deref(), Some("su"));
        assert_eq!(e.message, "'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(e.timestamp.to_rfc3339(), "2025-10-11T22:14:15+00:00");
        let e = parse("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!").unwrap();
        assert_eq!(e.host_name.as_deref(), Some("10.0.0.99"));
        assert_eq!(e.process_name, None);
        assert_eq!(e.message, "Use the BFG!");
    }

    #[test]
    fn configured_zone_applies_to_zone_less_times() {
        let e = parse_in("Jan  2 03:04:05 web01 cron[1]: x", chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2026-01-02T02:04:05+00:00");
        let e = parse_in("Jul  2 03:04:05 web01 cron[1]: x", chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2025-07-02T01:04:05+00:00", "summer time");
    }

    #[test]
    fn tag_with_a_version() {
        let e = parse("Jun 19 04:09:11 combo syslogd 1.4.1: restart.").unwrap();
        assert_eq!(e.process_name.as_deref(), Some("syslogd 1.4.1"));
        assert_eq!(e.message, "restart.");
        // login(1) on old Linux: the process title is `-- root`.
        let e = parse("Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2").unwrap();
        assert_eq!((e.process_name.as_deref(), e.process_pid), (Some("-- root"), Some(2421)));
    }

    #[test]
    fn missing_host_name() {
        let e = parse("<86>Jan  3 10:00:00 sshd[99]: Connection closed").unwrap();
        assert_eq!(e.host_name, None);
        assert_eq!(e.process_name.as_deref(), Some("sshd"));
        assert_eq!(e.process_pid, Some(99));
        assert_eq!(e.message, "Connection closed");
    }

    #[test]
    fn iso_timestamp_in_the_date_place() {
        let e = parse("<30>2026-01-03T10:00:00.123456+01:00 web01 systemd[1]: Started x.").unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2026-01-03T09:00:00.123456+00:00");
        assert_eq!(e.host_name.as_deref(), Some("web01"));
        let e = parse_in("2026-01-03T10:00:00 web01 app: x", chrono_tz::Asia::Seoul).unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2026-01-03T01:00:00+00:00");
    }

    #[test]
    fn cisco_ios_sequence_number_and_unsynced_clock() {
        let e = parse("<189>123: *Jan  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.1.1.1)")
            .unwrap();
        assert_eq!(e.fields["log.syslog.sequence"], "123");
        assert_eq!(e.event_code.as_deref(), Some("SYS-5-CONFIG_I"));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-01-01T18:46:11.123+00:00");
        assert_eq!(e.message, "Configured from console by vty0 (10.1.1.1)");
        assert_eq!(e.syslog_severity, Some(5));
        let e =
            parse("<187>45: router1: Jan  2 00:27:49.243 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down")
                .unwrap();
        assert_eq!(e.host_name.as_deref(), Some("router1"));
        assert_eq!(e.event_code.as_deref(), Some("LINK-3-UPDOWN"));
    }

    #[test]
    fn cisco_asa_with_year() {
        let e = parse(
            "<166>Jan 05 2026 10:00:00 fw01 : %ASA-6-302013: Built outbound TCP connection 1 for outside:1.2.3.4/443",
        )
        .unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2026-01-05T10:00:00+00:00");
        assert_eq!(e.host_name.as_deref(), Some("fw01"));
        assert_eq!(e.event_code.as_deref(), Some("ASA-6-302013"));
        assert!(e.message.starts_with("Built outbound"));
    }

    #[test]
    fn impossible_dates_are_not_syslog() {
        assert!(parse("Feb 31 03:04:05 web01 sshd[7]: x").is_none());
        assert!(parse("Foo  2 03:04:05 web01 sshd[7]: x").is_none());
        assert!(parse("<200>Jan  2 03:04:05 web01 sshd[7]: x").is_none());
        assert!(parse("not syslog at all").is_none());
    }

    /// The hand-written matchers against the expressions they stand for,
    /// on vendor lines and their truncations and one-byte substitutions.
    #[test]
    fn hand_matchers_agree_with_the_expressions() {
        let cisco_regex = Regex::new(r"^%(?P<code>[A-Z0-9_]+-(?P<sev>[0-7])-[A-Z0-9_]+): ?").unwrap();
        let lines = [
            "<189>123: *Jan  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console",
            "<187>45: router1: Jan  2 00:27:49.243 UTC: %LINK-3-UPDOWN: Interface Gi0/1",
            "<166>Jan 05 2026 10:00:00 fw01 : %ASA-6-302013: Built outbound",
            "<30>2026-01-03T10:00:00.123456+01:00 web01 systemd[1]: Started x.",
            "2026-01-03T10:00:00Z: web01 app: x",
            "2026-01-03T10:00:00.1234567891 web01 app: x",
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure",
            "Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2",
            "Jun 19 04:09:11 combo syslogd 1.4.1: restart.",
            "Jan  2 03:04:05.1234567891 PSTXY web01 x[1234567890123456789012345678901234]: y",
            "Jan  2 03:04:05 ABCD: %A_1-7-B_2:x",
        ];
        let mut inputs: Vec<String> = Vec::new();
        for line in lines {
            for end in 0..=line.len() {
                inputs.push(line[..end].to_string());
            }
            for at in 0..line.len() {
                for b in *b" :0a9A[]().*%<>-T+Z\t" {
                    let mut bytes = line.as_bytes().to_vec();
                    bytes[at] = b;
                    inputs.push(String::from_utf8(bytes).unwrap());
                }
            }
        }
        for input in &inputs {
            if let Ok(hand) = bsd_header::header(input) {
                assert_eq!(hand, HEADER.captures(input).map(|c| header_of(&c)), "header of {input:?}");
            }
            if let Ok(hand) = bsd_header::tag(input) {
                let regex = TAG.captures(input).map(|c| Tag {
                    tag: c.name("tag").unwrap().as_str(),
                    pid: c.name("pid").map(|m| m.as_str()),
                    end: c.get(0).unwrap().end(),
                });
                assert_eq!(hand, regex, "tag of {input:?}");
            }
            for body in [input.as_str(), input.get(input.find('%').unwrap_or(0)..).unwrap_or("")] {
                let regex = cisco_regex
                    .captures(body)
                    .map(|c| (c["code"].to_string(), c["sev"].parse::<u8>().unwrap(), c[0].len()));
                let hand = bsd_header::cisco(body).map(|c| (c.code.to_string(), c.severity, c.end));
                assert_eq!(hand, regex, "cisco of {body:?}");
            }
        }
        // Non-ASCII where a Unicode class decides: the expressions are asked.
        assert_eq!(bsd_header::header("<١٢>Jan  2 03:04:05 h x: y"), Err(NonAscii));
        assert_eq!(bsd_header::tag("prög[1]: x"), Err(NonAscii));
        let e = parse("Jan  2 03:04:05 wéb01 prög[1]: x").unwrap();
        assert_eq!((e.host_name.as_deref(), e.process_name.as_deref()), (Some("wéb01"), Some("prög")));
    }
}
