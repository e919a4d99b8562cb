//! Parsers and normalization: turn one raw log line into a normalized
//! [`Event`] with ECS field names. No I/O beyond reading pattern files, no
//! tokio, no Kafka: fast to build, and fuzzed (`fuzz/`).
//!
//! Every parser either recognizes its input and fills the event, or leaves
//! the event untouched. A line no parser of the chain recognizes is still
//! produced, with `parse.error` set; `event.original` always holds the raw
//! line.
//!
//! # Layout
//!
//! - [`chain`]: [`Parsers`], the configured chain (`auto` = default order),
//!   and [`ParserKind`], the parser names used in configuration.
//! - [`json`]: JSON lines (ECS dotted or nested keys, Windows events).
//! - `windows`: Windows Security event IDs mapped to ECS categorization.
//! - [`logfmt`]: `key=value` lines.
//! - [`syslog`]: RFC 5424 and RFC 3164 headers (vendor variants, zones).
//! - [`cef`]: ArcSight CEF; [`leef`]: QRadar LEEF 1.0/2.0; `device`: the
//!   ECS mapping and time formats they share.
//! - [`patterns`]: named-capture regex patterns as data
//!   (`config/patterns.toml` built in, operators' files added).
//! - `apache`, `access`: Apache error log and NCSA access log.
//! - [`routing`]: configured routes and the built-in stream rules.
//! - [`ecs`]: setting an event field by its ECS name; timestamp shapes.
//! - `clock`: the hot timestamp shapes (syslog `hh:mm:ss`, the NCSA
//!   access-log time) read by hand, as chrono would read them.

mod access;
mod apache;
pub mod cef;
pub mod chain;
mod clock;
mod device;
pub mod ecs;
pub mod json;
pub mod leef;
pub mod logfmt;
pub mod patterns;
pub mod routing;
pub mod syslog;
mod windows;

use chrono::{DateTime, Utc};
use logwarden_event::Event;

pub use chain::{ParserKind, Parsers};
pub use chrono_tz::Tz;
pub use patterns::{PatternError, PatternLibrary};
pub use routing::{Route, RouteCondition, route_stream};

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

/// Parses one line (without its line terminator) with the default chain
/// (`auto`, built-in patterns, UTC, built-in routing).
pub fn parse_line(line: &str, ctx: &LineContext<'_>) -> Event {
    Parsers::shared_default().parse(line, ctx)
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
            if line.contains(" SRC=") {
                // Firewall lines: the kernel pattern makes them network events.
                assert_eq!(event.stream, "network", "{line}");
                assert!(event.source_ip.is_some() && event.destination_port.is_some(), "{line}");
            }
            streams.insert(event.stream);
        }
        assert_eq!(streams.into_iter().collect::<Vec<_>>(), ["access", "auth", "network", "system"]);
    }
}
