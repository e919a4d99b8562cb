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
        Parsers { chain: chain.to_vec(), ..self.clone() }
    }

    pub fn chain(&self) -> &[ParserKind] {
        &self.chain
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
            let body = event.message.clone();
            let program = event.process_name.clone();
            for &kind in &self.chain {
                if self.parse_body(kind, &body, Some(program.as_deref().unwrap_or("")), &mut event) {
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
