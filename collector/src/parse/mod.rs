//! Parsers: turn one raw line into a normalized [`Event`].
//!
//! Recognized formats: RFC 3164 syslog, Apache error log, NCSA
//! common/combined access log. Each parser lives in its own file and either recognizes a line or leaves
//! it alone; [`parse_line`] tries them in turn. A line no parser recognizes is
//! still sent, with `parse.error` set and its raw text kept.

mod access;
mod apache;
mod routing;
mod syslog;

use chrono::{DateTime, Utc};
use logwarden_event::Event;

pub use routing::route_stream;

/// What the source knows about a line besides its text.
#[derive(Debug, Clone)]
pub struct LineContext<'a> {
    /// When the collector received the line.
    pub ingested: DateTime<Utc>,
    /// The collector's own host name, for lines that do not name one.
    pub host_name: &'a str,
    pub file_path: Option<&'a str>,
    /// A stream forced by the source's configuration.
    pub stream: Option<&'a str>,
}

/// Parses one line (without its line terminator) into an event.
pub fn parse_line(line: &str, ctx: &LineContext<'_>) -> Event {
    let mut event = Event::new(line, ctx.ingested);
    event.log_file_path = ctx.file_path.map(str::to_string);
    let recognized = syslog::parse_rfc3164(line, ctx.ingested, &mut event)
        || apache::parse_error_log(line, &mut event)
        || access::parse_access_log(line, &mut event);
    if !recognized {
        event.parse_error = Some("no parser recognized the line; @timestamp is the receipt time".into());
    }
    if event.host_name.is_none() {
        event.host_name = Some(ctx.host_name.to_string());
    }
    event.stream = match ctx.stream {
        Some(stream) => stream.to_string(),
        None => route_stream(&event).to_string(),
    };
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> LineContext<'static> {
        LineContext {
            ingested: DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().to_utc(),
            host_name: "collector01",
            file_path: Some("/var/log/x.log"),
            stream: None,
        }
    }

    #[test]
    fn unrecognized_lines_keep_their_text_and_say_so() {
        let event = parse_line("just some text", &ctx());
        assert_eq!(event.original, "just some text");
        assert_eq!(event.message, "just some text");
        assert!(event.parse_error.is_some());
        assert_eq!(event.timestamp, ctx().ingested);
        assert_eq!(event.host_name.as_deref(), Some("collector01"));
        assert_eq!(event.log_file_path.as_deref(), Some("/var/log/x.log"));
    }

    #[test]
    fn configured_stream_wins_over_routing() {
        let mut c = ctx();
        c.stream = Some("audit");
        let event = parse_line("Jun 14 15:16:01 combo sshd[1]: hi", &c);
        assert_eq!(event.stream, "audit");
    }

    #[test]
    fn every_loghub_line_parses_with_a_timestamp() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub");
        for name in ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log"] {
            let text = std::fs::read_to_string(dir.join(name)).expect("loghub data in ../shared");
            let mut lines = 0;
            for line in text.lines() {
                let event = parse_line(line, &ctx());
                assert_eq!(event.parse_error, None, "{name}: {line}");
                assert_ne!(event.timestamp, ctx().ingested, "{name}: {line}");
                lines += 1;
            }
            assert_eq!(lines, 2000, "{name}");
        }
    }

    #[test]
    fn every_generated_line_parses_and_routes() {
        let start = DateTime::parse_from_rfc3339("2026-02-28T00:00:00Z").unwrap().to_utc();
        let lines = logwarden_generator::Generator::new(3, start, chrono::Duration::seconds(1));
        let mut streams = std::collections::BTreeSet::new();
        for (_, line) in lines.take(5000) {
            let event = parse_line(&line, &ctx());
            assert_eq!(event.parse_error, None, "{line}");
            assert!(event.timestamp >= start && event.timestamp < ctx().ingested, "{line}");
            streams.insert(event.stream);
        }
        assert_eq!(streams.into_iter().collect::<Vec<_>>(), ["access", "auth", "system"]);
    }
}
