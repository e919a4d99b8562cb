//! [`Parsers`]: an ordered chain of parsers, the pattern library, the
//! syslog time zone and the routing rules, built once from configuration
//! and shared by every source.
//!
//! A line goes through the chain until a parser recognizes it. When a
//! syslog header was recognized, the message part then goes through the
//! chain's body parsers (CEF, LEEF, JSON, patterns) in the same order, so
//! `<134>… host CEF:0|…` and `Jan 1 … sshd[1]: Failed password …` are both
//! parsed to the end.

use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use chrono_tz::Tz;
use logwarden_event::Event;

use crate::patterns::PatternLibrary;
use crate::routing::{self, Route};
use crate::syslog::{SyslogOptions, rfc3164, rfc5424};
use crate::{LineContext, access, apache, cef, json, leef, logfmt};

/// One parser of a chain, by its configuration name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParserKind {
    Json,
    Logfmt,
    /// RFC 5424, then RFC 3164 and its vendor variants.
    Syslog,
    Cef,
    Leef,
    Patterns,
    /// Apache httpd error log.
    Apache,
    /// NCSA common/combined access log (Apache, nginx).
    Access,
}

impl ParserKind {
    /// The order `auto` stands for: unambiguous formats first, logfmt
    /// (which prose can resemble) last.
    pub const AUTO: &'static [ParserKind] = &[
        ParserKind::Json,
        ParserKind::Cef,
        ParserKind::Leef,
        ParserKind::Syslog,
        ParserKind::Apache,
        ParserKind::Access,
        ParserKind::Patterns,
        ParserKind::Logfmt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ParserKind::Json => "json",
            ParserKind::Logfmt => "logfmt",
            ParserKind::Syslog => "syslog",
            ParserKind::Cef => "cef",
            ParserKind::Leef => "leef",
            ParserKind::Patterns => "patterns",
            ParserKind::Apache => "apache",
            ParserKind::Access => "access",
        }
    }

    /// Reads a configured chain; `auto` expands to [`ParserKind::AUTO`] in
    /// place. Err is the index and the message for the first bad name.
    pub fn parse_chain<S: AsRef<str>>(names: &[S]) -> Result<Vec<ParserKind>, (usize, String)> {
        let mut chain = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let name = name.as_ref();
            if name == "auto" {
                chain.extend(ParserKind::AUTO.iter().filter(|k| !chain.contains(*k)).collect::<Vec<_>>());
                continue;
            }
            let kind = name.parse::<ParserKind>().map_err(|e| (index, e))?;
            if chain.contains(&kind) {
                return Err((index, format!("`{name}` is listed twice")));
            }
            chain.push(kind);
        }
        if chain.is_empty() {
            return Err((0, "must name at least one parser".into()));
        }
        Ok(chain)
    }
}

impl FromStr for ParserKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Ok(match name {
            "json" => ParserKind::Json,
            "logfmt" => ParserKind::Logfmt,
            "syslog" => ParserKind::Syslog,
            "cef" => ParserKind::Cef,
            "leef" => ParserKind::Leef,
            "patterns" => ParserKind::Patterns,
            "apache" => ParserKind::Apache,
            "access" => ParserKind::Access,
            other => {
                return Err(format!(
                    "unknown parser `{other}`; known: auto, json, logfmt, syslog, cef, leef, patterns, apache, access"
                ));
            }
        })
    }
}

/// A parser chain with everything it needs; cheap to clone (the pattern
/// library and routes are shared).
#[derive(Debug, Clone)]
pub struct Parsers {
    chain: Vec<ParserKind>,
    patterns: Arc<PatternLibrary>,
    syslog: SyslogOptions,
    routes: Arc<Vec<Route>>,
}

impl Default for Parsers {
    /// `auto` with the built-in patterns, UTC and built-in routing.
    fn default() -> Self {
        Parsers::new(ParserKind::AUTO.to_vec())
    }
}

static DEFAULT: LazyLock<Parsers> = LazyLock::new(Parsers::default);

impl Parsers {
    /// `chain` with the built-in patterns, UTC and built-in routing.
    pub fn new(chain: Vec<ParserKind>) -> Parsers {
        Parsers {
            chain,
            patterns: Arc::new(PatternLibrary::builtin()),
            syslog: SyslogOptions::default(),
            routes: Arc::new(Vec::new()),
        }
    }

    /// The shared default chain used by [`crate::parse_line`].
    pub fn shared_default() -> &'static Parsers {
        &DEFAULT
    }

    pub fn with_patterns(mut self, patterns: PatternLibrary) -> Parsers {
        self.patterns = Arc::new(patterns);
        self
    }

    pub fn with_timezone(mut self, timezone: Tz) -> Parsers {
        self.syslog.timezone = timezone;
        self
    }

    pub fn with_routes(mut self, routes: Vec<Route>) -> Parsers {
        self.routes = Arc::new(routes);
        self
    }

    /// The same patterns, zone and routes with another chain (a per-input
    /// override).
    pub fn with_chain(&self, chain: Vec<ParserKind>) -> Parsers {
        Parsers { chain, ..self.clone() }
    }

    pub fn chain(&self) -> &[ParserKind] {
        &self.chain
    }

    /// The stream the configured routes (then the built-in ones) choose for
    /// `event`.
    pub fn route(&self, event: &Event) -> String {
        routing::route(event, &self.routes).into_owned()
    }

    /// Parses one line (without its terminator) into an event: never fails,
    /// never drops; an unrecognized line keeps its text and gets
    /// `parse.error`.
    pub fn parse(&self, line: &str, ctx: &LineContext<'_>) -> Event {
        let mut event = Event::new(line, ctx.ingested);
        event.log_file_path = ctx.file_path.map(str::to_string);
        let mut header = false;
        let mut recognized = false;
        for &kind in &self.chain {
            recognized = match kind {
                ParserKind::Syslog => {
                    header = self.syslog_header(line, ctx, &mut event);
                    header
                }
                ParserKind::Cef | ParserKind::Leef => self.device_line(kind, line, ctx, &mut event),
                other => self.parse_body(other, line, None, &mut event),
            };
            if recognized {
                break;
            }
        }
        if header {
            // The body is the end of the line for most headers: borrowed
            // from the line then, instead of copied out of the event.
            let copied;
            let body = match line.len().checked_sub(event.message.len()) {
                Some(start) if line.is_char_boundary(start) && line[start..] == event.message => &line[start..],
                _ => {
                    copied = event.message.clone();
                    copied.as_str()
                }
            };
            let program = event.process_name.clone();
            for &kind in &self.chain {
                if self.parse_body(kind, body, Some(program.as_deref().unwrap_or("")), &mut event) {
                    break;
                }
            }
        }
        if !recognized {
            event.parse_error = Some("no parser recognized the line; @timestamp is the receipt time".into());
        }
        if event.host_name.is_none() {
            event.host_name = Some(ctx.host_name.to_string());
        }
        event.stream = match ctx.stream {
            Some(stream) => stream.to_string(),
            None => routing::route(&event, &self.routes).into_owned(),
        };
        event
    }

    fn syslog_header(&self, line: &str, ctx: &LineContext<'_>, event: &mut Event) -> bool {
        rfc5424::parse_rfc5424(line, event) || rfc3164::parse_rfc3164(line, ctx.ingested, &self.syslog, event)
    }

    /// CEF/LEEF as a whole line, or after a syslog header even when the
    /// chain has no `syslog` parser.
    fn device_line(&self, kind: ParserKind, line: &str, ctx: &LineContext<'_>, event: &mut Event) -> bool {
        let marker = if kind == ParserKind::Cef { "CEF:" } else { "LEEF:" };
        if self.parse_body(kind, line, None, event) {
            return true;
        }
        if !line.contains(marker) {
            return false;
        }
        let mut trial = event.clone();
        if self.syslog_header(line, ctx, &mut trial) {
            let body = trial.message.clone();
            if self.parse_body(kind, &body, None, &mut trial) {
                *event = trial;
                return true;
            }
        }
        false
    }

    /// Parsers that apply to a syslog message as well as to a whole line.
    /// `program` is `Some` for a syslog message (pattern `program` filters
    /// apply), `None` for a whole line.
    fn parse_body(&self, kind: ParserKind, text: &str, program: Option<&str>, event: &mut Event) -> bool {
        let trimmed = text.trim_start();
        match kind {
            ParserKind::Json => {
                let json = trimmed.strip_prefix("@cee:").map_or(trimmed, str::trim_start);
                json.starts_with('{') && json::parse_json(json, event)
            }
            ParserKind::Cef => cef::parse_cef(trimmed, event),
            ParserKind::Leef => leef::parse_leef(trimmed, event),
            ParserKind::Patterns => self.patterns.apply(text, program, self.syslog.timezone, event).is_some(),
            // Whole-line formats only.
            ParserKind::Logfmt => program.is_none() && logfmt::parse_logfmt(text, event),
            ParserKind::Apache => program.is_none() && apache::parse_error_log(text, event),
            ParserKind::Access => program.is_none() && access::parse_access_log(text, event),
            ParserKind::Syslog => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn ctx() -> LineContext<'static> {
        LineContext {
            ingested: DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().to_utc(),
            host_name: "collector01",
            file_path: None,
            stream: None,
        }
    }

    #[test]
    fn auto_expands_in_place_and_names_are_checked() {
        assert_eq!(ParserKind::parse_chain(&["auto"]).unwrap(), ParserKind::AUTO);
        let chain = ParserKind::parse_chain(&["logfmt", "auto"]).unwrap();
        assert_eq!(chain[0], ParserKind::Logfmt);
        assert_eq!(chain.len(), ParserKind::AUTO.len());
        assert_eq!(ParserKind::parse_chain(&["json", "xml"]).unwrap_err().0, 1);
        assert!(ParserKind::parse_chain(&["cef", "cef"]).unwrap_err().1.contains("twice"));
        assert!(ParserKind::parse_chain::<&str>(&[]).is_err());
        for kind in ParserKind::AUTO {
            assert_eq!(kind.name().parse::<ParserKind>(), Ok(*kind));
        }
    }

    #[test]
    fn cef_after_a_syslog_header() {
        let line = "<134>Feb 28 23:59:58 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.1|TRAFFIC|end|3|src=10.1.1.1 dst=8.8.8.8 spt=5000 dpt=53 act=allow";
        let e = Parsers::default().parse(line, &ctx());
        assert_eq!(e.parse_error, None);
        assert_eq!(e.host_name.as_deref(), Some("fw01"));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-02-28T23:59:58+00:00");
        assert_eq!(e.observer_vendor.as_deref(), Some("Palo Alto Networks"));
        assert_eq!((e.destination_ip.as_deref(), e.destination_port), (Some("8.8.8.8"), Some(53)));
        // Without `syslog` in the chain, CEF still skips the header.
        let e = Parsers::new(vec![ParserKind::Cef]).parse(line, &ctx());
        assert_eq!((e.parse_error, e.event_code.as_deref()), (None, Some("TRAFFIC")));
    }

    #[test]
    fn rfc5424_message_goes_through_patterns() {
        let line = "<38>1 2026-02-28T10:00:00.5+01:00 bastion sshd 4242 - [meta@1 tenant=\"pci-eu\"] Failed password for root from 198.51.100.3 port 2222 ssh2";
        let e = Parsers::default().parse(line, &ctx());
        assert_eq!(e.timestamp.to_rfc3339(), "2026-02-28T09:00:00.500+00:00");
        assert_eq!((e.process_name.as_deref(), e.process_pid), (Some("sshd"), Some(4242)));
        assert_eq!(e.event_outcome.as_deref(), Some("failure"));
        assert_eq!(e.source_ip.as_deref(), Some("198.51.100.3"));
        assert_eq!(e.fields["sd.meta@1.tenant"], "pci-eu");
        assert_eq!(e.stream, "auth");
    }

    #[test]
    fn json_in_a_syslog_message() {
        let line = r#"Feb 28 10:00:00 app1 api[7]: @cee: {"msg":"slow query","level":"warn","duration_ms":1200}"#;
        let e = Parsers::default().parse(line, &ctx());
        assert_eq!(e.message, "slow query");
        assert_eq!(e.log_level.as_deref(), Some("warn"));
        assert_eq!(e.fields["duration_ms"], 1200);
        assert_eq!(e.host_name.as_deref(), Some("app1"));
    }

    #[test]
    fn chain_order_and_override() {
        let line = "level=info msg=hello user=alice";
        let auto = Parsers::default();
        assert_eq!(auto.parse(line, &ctx()).message, "hello");
        let only_json = auto.with_chain(vec![ParserKind::Json]);
        let e = only_json.parse(line, &ctx());
        assert!(e.parse_error.is_some());
        assert_eq!((e.original.as_str(), e.message.as_str()), (line, line));
        assert_eq!(e.host_name.as_deref(), Some("collector01"));
    }

    #[test]
    fn configured_zone_and_routes() {
        let routes = vec![Route {
            field: "host.name".into(),
            condition: crate::RouteCondition::Matches(regex::Regex::new("^pos-").unwrap()),
            stream: "pci".into(),
        }];
        let parsers = Parsers::default().with_timezone(chrono_tz::Asia::Seoul).with_routes(routes);
        let e = parsers.parse("Feb 28 09:00:00 pos-17 app[1]: sale", &ctx());
        assert_eq!(e.timestamp.to_rfc3339(), "2026-02-28T00:00:00+00:00");
        assert_eq!(e.stream, "pci");
        let forced = LineContext { stream: Some("audit"), ..ctx() };
        assert_eq!(parsers.parse("Feb 28 09:00:00 pos-17 app[1]: sale", &forced).stream, "audit");
    }
}
