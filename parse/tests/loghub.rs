//! The parsers against real logs from loghub (read in place from the shared
//! data folder, never copied): every line's header fields must equal the
//! columns of loghub's hand-checked `_structured.csv`, and the ECS fields the
//! pattern library extracts must agree with loghub's event templates.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use logwarden_event::Event;
use logwarden_parse::{LineContext, parse_line};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/loghub/");

fn ctx() -> LineContext<'static> {
    LineContext {
        ingested: DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().to_utc(),
        host_name: "collector01",
        file_path: None,
        stream: None,
    }
}

/// One CSV row as (column name → value); RFC 4180 quoting.
struct Row(Vec<(String, String)>);

impl Row {
    fn get(&self, column: &str) -> &str {
        &self.0.iter().find(|(name, _)| name == column).unwrap_or_else(|| panic!("no column {column}")).1
    }
}

fn read_csv(text: &str) -> Vec<Row> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let header = records.remove(0);
    records.into_iter().map(|r| Row(header.iter().cloned().zip(r).collect())).collect()
}

/// The log lines parsed, zipped with their CSV rows.
fn dataset(name: &str) -> Vec<(String, Event, Row)> {
    let log = std::fs::read_to_string(format!("{DIR}{name}")).expect("loghub data in the shared folder");
    let csv = std::fs::read_to_string(format!("{DIR}{name}_structured.csv")).expect("structured csv");
    let rows = read_csv(&csv);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), rows.len(), "{name}: one CSV row per line");
    lines.into_iter().zip(rows).map(|(line, row)| (line.to_string(), parse_line(line, &ctx()), row)).collect()
}

fn check_common(line: &str, event: &Event) {
    assert_eq!(event.original, line);
    assert_eq!(event.parse_error, None, "{line}");
    assert_ne!(event.timestamp, ctx().ingested, "{line}");
}

fn month_day_time(ts: DateTime<Utc>) -> (String, String, String) {
    (ts.format("%b").to_string(), ts.format("%-d").to_string(), ts.format("%H:%M:%S").to_string())
}

#[test]
fn openssh_headers_match_the_csv() {
    for (line, event, row) in dataset("OpenSSH_2k.log") {
        check_common(&line, &event);
        let expected = (row.get("Date").to_string(), row.get("Day").to_string(), row.get("Time").to_string());
        assert_eq!(month_day_time(event.timestamp), expected, "{line}");
        assert_eq!(event.host_name.as_deref(), Some(row.get("Component")), "{line}");
        assert_eq!(event.process_name.as_deref(), Some("sshd"), "{line}");
        assert_eq!(event.process_pid.map(|p| p.to_string()).as_deref(), Some(row.get("Pid")), "{line}");
        assert_eq!(event.message.trim_end(), row.get("Content").trim_end(), "{line}");
        assert_eq!(event.stream, "auth", "{line}");
    }
}

#[test]
fn linux_headers_match_the_csv() {
    for (line, event, row) in dataset("Linux_2k.log") {
        check_common(&line, &event);
        let expected = (row.get("Month").to_string(), row.get("Date").to_string(), row.get("Time").to_string());
        assert_eq!(month_day_time(event.timestamp), expected, "{line}");
        // loghub's "Level" column of this file holds the host name.
        assert_eq!(event.host_name.as_deref(), Some(row.get("Level")), "{line}");
        assert_eq!(event.process_name.as_deref(), Some(row.get("Component")), "{line}");
        let pid = event.process_pid.map(|p| p.to_string()).unwrap_or_default();
        assert_eq!(pid, row.get("PID"), "{line}");
        assert_eq!(event.message.trim(), row.get("Content").trim(), "{line}");
    }
}

#[test]
fn apache_error_log_matches_the_csv() {
    for (line, event, row) in dataset("Apache_2k.log") {
        check_common(&line, &event);
        let time = chrono::NaiveDateTime::parse_from_str(row.get("Time"), "%a %b %d %H:%M:%S %Y").unwrap();
        assert_eq!(event.timestamp, time.and_utc(), "{line}");
        assert_eq!(event.log_level.as_deref(), Some(row.get("Level")), "{line}");
        // loghub's Content keeps `[client IP] `; the parser moves it to source.ip.
        let content = row.get("Content");
        let (client, content) = match content.strip_prefix("[client ").and_then(|c| c.split_once("] ")) {
            Some((ip, rest)) => (Some(ip), rest),
            None => (None, content),
        };
        assert_eq!(event.source_ip.as_deref(), client, "{line}");
        assert_eq!(event.message.trim(), content.trim(), "{line}");
        assert_eq!(event.stream, "access", "{line}");
    }
}

/// Line ids whose loghub template is an authentication attempt that failed:
/// a failed password/none/publickey, an unknown user, a PAM failure.
fn is_failure_template(template: &str) -> bool {
    template.starts_with("Failed ")
        || template.starts_with("Invalid user ")
        || template.starts_with("pam_unix(sshd:auth): authentication failure;")
}

fn ids(rows: impl Iterator<Item = String>) -> BTreeSet<String> {
    rows.collect()
}

#[test]
fn openssh_authentication_outcomes_agree_with_templates() {
    let data = dataset("OpenSSH_2k.log");
    let authentication = |e: &Event, outcome: &str| {
        e.event_category.as_deref() == Some("authentication") && e.event_outcome.as_deref() == Some(outcome)
    };
    let failed_events =
        ids(data.iter().filter(|(_, e, _)| authentication(e, "failure")).map(|(_, _, r)| r.get("LineId").to_string()));
    let failed_rows = ids(data
        .iter()
        .filter(|(_, _, r)| is_failure_template(r.get("EventTemplate")))
        .map(|(_, _, r)| r.get("LineId").into()));
    assert!(!failed_rows.is_empty());
    assert_eq!(failed_events, failed_rows);
    let accepted_events =
        ids(data.iter().filter(|(_, e, _)| authentication(e, "success")).map(|(_, _, r)| r.get("LineId").to_string()));
    let accepted_rows = ids(data
        .iter()
        .filter(|(_, _, r)| r.get("EventTemplate").starts_with("Accepted "))
        .map(|(_, _, r)| r.get("LineId").into()));
    assert!(!accepted_rows.is_empty());
    assert_eq!(accepted_events, accepted_rows);
}

#[test]
fn openssh_failed_logins_name_user_address_and_port() {
    let mut checked = 0;
    for (line, event, row) in dataset("OpenSSH_2k.log") {
        let content = row.get("Content");
        if !content.starts_with("Failed ") {
            continue;
        }
        // `Failed <method> for [invalid user ]<user> from <ip> port <port> ssh2`
        let words: Vec<&str> = content.split(' ').collect();
        let from = words.iter().rposition(|w| *w == "from").unwrap();
        // sshd prints the user as sent: `invalid user  0101` is the name " 0101".
        assert_eq!(event.user_name.as_deref().unwrap_or("").trim_start(), words[from - 1], "{line}");
        assert_eq!(event.source_ip.as_deref(), Some(words[from + 1]), "{line}");
        assert_eq!(event.source_port.map(|p| p.to_string()).as_deref(), Some(words[from + 3]), "{line}");
        assert_eq!(event.event_action.as_deref(), Some("ssh_login"), "{line}");
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn openssh_break_in_attempts_and_pam_users() {
    let mut break_ins = 0;
    let mut pam_users = 0;
    for (line, event, row) in dataset("OpenSSH_2k.log") {
        let content = row.get("Content");
        if row.get("EventTemplate").contains("POSSIBLE BREAK-IN ATTEMPT") {
            let ip = content.split('[').nth(1).and_then(|s| s.split(']').next()).unwrap();
            assert_eq!(event.event_action.as_deref(), Some("ssh_break_in_attempt"), "{line}");
            assert_eq!(event.source_ip.as_deref(), Some(ip), "{line}");
            break_ins += 1;
        }
        if content.starts_with("pam_unix(sshd:auth): authentication failure;") {
            let user = content.split(" user=").nth(1).map(str::trim);
            assert_eq!(event.user_name.as_deref(), user, "{line}");
            let rhost = content.split("rhost=").nth(1).unwrap().split_whitespace().next().unwrap();
            let address =
                event.source_ip.clone().or_else(|| event.fields["source.domain"].as_str().map(str::to_string));
            assert_eq!(address.as_deref(), Some(rhost), "{line}");
            pam_users += 1;
        }
    }
    assert!(break_ins > 0 && pam_users > 0);
}

#[test]
fn linux_pam_sessions_and_failures_agree_with_templates() {
    let data = dataset("Linux_2k.log");
    for (line, event, row) in &data {
        let template = row.get("EventTemplate");
        let content = row.get("Content");
        if template.starts_with("authentication failure;") {
            assert_eq!(event.event_outcome.as_deref(), Some("failure"), "{line}");
            assert_eq!(event.event_category.as_deref(), Some("authentication"), "{line}");
            let user = content.split(" user=").nth(1).map(str::trim).filter(|u| !u.is_empty());
            assert_eq!(event.user_name.as_deref(), user, "{line}");
        } else if template.starts_with("session opened for user ") || template.starts_with("session closed for user ") {
            let user = content.split(' ').nth(4).unwrap();
            assert_eq!(event.event_category.as_deref(), Some("session"), "{line}");
            assert_eq!(event.user_name.as_deref(), Some(user), "{line}");
        } else {
            assert_ne!(event.event_outcome.as_deref(), Some("failure"), "{line}");
        }
    }
}
