//! `[collector]`: file inputs (globs, multiline), the parser chain and
//! pattern files, routes, and the push sources (syslog, HTTP ingest, the
//! spool, in `push`): checked into the [`CollectorConfig`] the collector
//! runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use logwarden_parse::{ParserKind, Parsers, PatternLibrary, Route, RouteCondition, Tz};

use crate::ConfigError;
use crate::auth::KeyRing;
use crate::push::{self, HttpIngestConfig, SpoolConfig, SyslogListener};
use crate::raw::{RawCollector, RawFileInput, RawMultiline, RawParse, RawRoute};
use crate::tls::TlsFiles;

#[derive(Debug, Clone)]
pub struct CollectorConfig {
    pub files: Vec<FileInput>,
    pub checkpoint_dir: PathBuf,
    pub scan_interval: Duration,
    pub partial_line_timeout: Duration,
    pub max_line_bytes: usize,
    pub syslog: Vec<SyslogListener>,
    pub tls: Option<TlsFiles>,
    pub http: HttpIngestConfig,
    pub spool: SpoolConfig,
    pub parse: ParseConfig,
}

/// `[collector.parse]` and `[[collector.routes]]`, checked and built: the
/// pattern files are read and compiled at load time, so a bad regex stops
/// the start with its key named.
#[derive(Debug, Clone)]
pub struct ParseConfig {
    pub chain: Vec<ParserKind>,
    /// Built-in patterns followed by those of `collector.parse.patterns`.
    pub patterns: PatternLibrary,
    pub syslog_timezone: Tz,
    pub routes: Vec<Route>,
}

impl ParseConfig {
    /// The parser chain every source uses (a file input may override the
    /// chain with [`Parsers::with_chain`]).
    pub fn parsers(&self) -> Parsers {
        Parsers::new(self.chain.clone())
            .with_patterns(self.patterns.clone())
            .with_timezone(self.syslog_timezone)
            .with_routes(self.routes.clone())
    }
}

#[derive(Debug, Clone)]
pub struct FileInput {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub stream: Option<String>,
    /// Parser chain for these files; `None` = `collector.parse.chain`.
    pub parsers: Option<Vec<ParserKind>>,
    pub multiline: Option<Multiline>,
}

/// `multiline = { start = "REGEX", timeout = "1s", max_lines = 500 }`: lines
/// not matching `start` are appended to the event before them.
#[derive(Debug, Clone)]
pub struct Multiline {
    pub start: regex::Regex,
    /// Inactivity after which the pending event is sent.
    pub timeout: Duration,
    /// An event reaching this many lines is sent, flagged, and the rest of it
    /// starts a new event.
    pub max_lines: usize,
}

pub(crate) fn validate(collector: RawCollector, auth: &KeyRing, data_dir: &Path) -> Result<CollectorConfig, ConfigError> {
    let files = collector
        .files
        .into_iter()
        .enumerate()
        .map(|(i, input)| validate_file_input(i, input))
        .collect::<Result<Vec<_>, _>>()?;
    let max_line_bytes = collector.max_line_bytes.unwrap_or(256 * 1024);
    // An event holds the line twice (event.original and message) plus
    // fields: keep it under Kafka's default 1 MB message limit.
    if !(256..=400 * 1024).contains(&max_line_bytes) {
        return Err(ConfigError::invalid(
            "collector.max_line_bytes",
            "must be between 256 and 409600 (events must fit Kafka's 1 MB message limit)",
        ));
    }
    let syslog = push::validate_syslog(collector.syslog, &collector.tls)?;
    let http = push::validate_http(collector.http, auth)?;
    let spool = push::validate_spool(collector.spool, data_dir)?;
    let parse = validate_parse(collector.parse, collector.routes)?;
    Ok(CollectorConfig {
        parse,
        files,
        checkpoint_dir: collector
            .checkpoint_dir
            .unwrap_or_else(|| data_dir.join("checkpoints")),
        scan_interval: collector.scan_interval.unwrap_or(Duration::from_secs(1)),
        partial_line_timeout: collector
            .partial_line_timeout
            .unwrap_or(Duration::from_secs(1)),
        max_line_bytes,
        syslog,
        tls: push::validate_tls(collector.tls),
        http,
        spool,
    })
}

fn validate_file_input(index: usize, input: RawFileInput) -> Result<FileInput, ConfigError> {
    let key = format!("collector.files[{index}]");
    if input.include.is_empty() {
        return Err(ConfigError::invalid(
            format!("{key}.include"),
            "must list at least one glob",
        ));
    }
    for pattern in input.include.iter().chain(&input.exclude) {
        if let Err(e) = glob::Pattern::new(pattern) {
            return Err(ConfigError::invalid(
                format!("{key}.include"),
                format!("`{pattern}`: {e}"),
            ));
        }
    }
    if let Some(stream) = &input.stream {
        crate::push::check_source_stream(&format!("{key}.stream"), stream)?;
    }
    let parsers = match &input.parsers {
        Some(names) => Some(
            ParserKind::parse_chain(names)
                .map_err(|(i, message)| ConfigError::invalid(format!("{key}.parsers[{i}]"), message))?,
        ),
        None => None,
    };
    let multiline = match input.multiline {
        Some(raw) => Some(validate_multiline(&format!("{key}.multiline"), raw)?),
        None => None,
    };
    Ok(FileInput { include: input.include, exclude: input.exclude, stream: input.stream, parsers, multiline })
}

fn validate_multiline(key: &str, raw: RawMultiline) -> Result<Multiline, ConfigError> {
    let Some(start) = raw.start else {
        return Err(ConfigError::invalid(format!("{key}.start"), "required: a regex matching the first line of an event"));
    };
    let start = regex::Regex::new(&start).map_err(|e| ConfigError::invalid(format!("{key}.start"), e.to_string()))?;
    let timeout = raw.timeout.unwrap_or(Duration::from_secs(1));
    if timeout.is_zero() || timeout > Duration::from_secs(3600) {
        return Err(ConfigError::invalid(format!("{key}.timeout"), "must be between 1ms and 1h"));
    }
    let max_lines = raw.max_lines.unwrap_or(500);
    if !(2..=100_000).contains(&max_lines) {
        return Err(ConfigError::invalid(format!("{key}.max_lines"), "must be between 2 and 100000"));
    }
    Ok(Multiline { start, timeout, max_lines })
}

fn validate_parse(parse: RawParse, routes: Vec<RawRoute>) -> Result<ParseConfig, ConfigError> {
    let chain = match &parse.chain {
        Some(names) => ParserKind::parse_chain(names)
            .map_err(|(i, message)| ConfigError::invalid(format!("collector.parse.chain[{i}]"), message))?,
        None => ParserKind::AUTO.to_vec(),
    };
    let mut patterns = PatternLibrary::builtin();
    for (i, path) in parse.patterns.iter().enumerate() {
        let file = PatternLibrary::load(path)
            .map_err(|e| ConfigError::invalid(format!("collector.parse.patterns[{i}]"), e.to_string()))?;
        patterns.extend(file);
    }
    let syslog_timezone = match &parse.syslog_timezone {
        Some(name) => name.parse::<Tz>().map_err(|_| {
            ConfigError::invalid(
                "collector.parse.syslog_timezone",
                format!("`{name}` is not an IANA time zone name like \"Europe/Berlin\" or \"UTC\""),
            )
        })?,
        None => Tz::UTC,
    };
    let routes = routes.into_iter().enumerate().map(|(i, r)| validate_route(i, r)).collect::<Result<_, _>>()?;
    Ok(ParseConfig { chain, patterns, syslog_timezone, routes })
}

fn validate_route(index: usize, route: RawRoute) -> Result<Route, ConfigError> {
    let key = format!("collector.routes[{index}]");
    if route.field.trim().is_empty() {
        return Err(ConfigError::invalid(format!("{key}.field"), "must name an event field, like \"process.name\""));
    }
    crate::push::check_source_stream(&format!("{key}.stream"), &route.stream)?;
    let condition = match (route.equals, route.matches) {
        (Some(value), None) => RouteCondition::Equals(value),
        (None, Some(pattern)) => RouteCondition::Matches(
            regex::Regex::new(&pattern).map_err(|e| ConfigError::invalid(format!("{key}.matches"), e.to_string()))?,
        ),
        _ => return Err(ConfigError::invalid(key, "needs exactly one of `equals` or `matches`")),
    };
    Ok(Route { field: route.field, condition, stream: route.stream })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use logwarden_parse::{ParserKind, Tz};

    use crate::{Config, ConfigError, RawConfig};

    fn load(text: &str) -> Result<Config, ConfigError> {
        RawConfig::from_toml(text)?.validate()
    }

    #[test]
    fn parse_keys_name_their_key() {
        let cases = [
            ("[collector.parse]\nchain = [\"json\", \"xml\"]\n", "collector.parse.chain[1]"),
            ("[collector.parse]\nchain = []\n", "collector.parse.chain[0]"),
            ("[collector.parse]\nsyslog_timezone = \"Mars/Olympus\"\n", "collector.parse.syslog_timezone"),
            ("[collector.parse]\npatterns = [\"/nonexistent/p.toml\"]\n", "collector.parse.patterns[0]"),
            ("[[collector.routes]]\nfield = \"host.name\"\nstream = \"x\"\n", "collector.routes[0]"),
            (
                "[[collector.routes]]\nfield = \"host.name\"\nequals = \"a\"\nmatches = \"b\"\nstream = \"x\"\n",
                "collector.routes[0]",
            ),
            ("[[collector.routes]]\nfield = \"host.name\"\nmatches = \"(\"\nstream = \"x\"\n", "collector.routes[0].matches"),
            ("[[collector.routes]]\nfield = \"host.name\"\nequals = \"a\"\nstream = \"X\"\n", "collector.routes[0].stream"),
            ("[[collector.routes]]\nfield = \"host.name\"\nequals = \"a\"\nstream = \"audit\"\n", "`collector.routes[0].stream`: stream `audit` is reserved"),
            ("[[collector.files]]\ninclude = [\"/x\"]\nstream = \"alerts\"\n", "`collector.files[0].stream`: stream `alerts` is reserved"),
            ("[[collector.routes]]\nfield = \"\"\nequals = \"a\"\nstream = \"x\"\n", "collector.routes[0].field"),
            ("[[collector.files]]\ninclude = [\"/x\"]\nparsers = [\"cef\", \"nope\"]\n", "collector.files[0].parsers[1]"),
            ("[collector.parse]\nchian = []\n", "chian"),
            ("[[collector.files]]\ninclude = [\"/x\"]\nmultiline = { start = \"(\" }\n", "collector.files[0].multiline.start"),
            ("[[collector.files]]\ninclude = [\"/x\"]\nmultiline = { timeout = \"1s\" }\n", "collector.files[0].multiline.start"),
            ("[[collector.files]]\ninclude = [\"/x\"]\nmultiline = { start = \"^a\", timeout = \"0s\" }\n", "collector.files[0].multiline.timeout"),
            ("[[collector.files]]\ninclude = [\"/x\"]\nmultiline = { start = \"^a\", max_lines = 1 }\n", "collector.files[0].multiline.max_lines"),
            ("[[collector.files]]\ninclude = [\"/x\"]\nmultiline = { start = \"^a\", negate = true }\n", "negate"),
        ];
        for (text, key) in cases {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err}");
        }
    }

    #[test]
    fn multiline_defaults_and_values() {
        let config = load("[[collector.files]]\ninclude = [\"/x\"]\nmultiline = { start = '^\\d{4}-', max_lines = 50 }\n").unwrap();
        let multiline = config.collector.files[0].multiline.as_ref().unwrap();
        assert!(multiline.start.is_match("2026-01-01 boom") && !multiline.start.is_match("\tat x.y(Z.java:1)"));
        assert_eq!((multiline.timeout, multiline.max_lines), (Duration::from_secs(1), 50));
    }

    #[test]
    fn a_bad_user_pattern_is_named_by_file_and_entry() {
        let dir = std::env::temp_dir().join(format!("logwarden-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        let bad = dir.join("bad.toml");
        std::fs::write(&good, "[[pattern]]\nname = \"g\"\nprogram = [\"app\"]\nregex = '^hello (?P<user.name>\\w+)'\n").unwrap();
        std::fs::write(&bad, "[[pattern]]\nname = \"b\"\nregex = '(?P<x>'\n").unwrap();
        let text = format!("[collector.parse]\npatterns = [{:?}, {:?}]\n", good.display().to_string(), bad.display().to_string());
        let err = load(&text).unwrap_err().to_string();
        assert!(err.contains("collector.parse.patterns[1]") && err.contains("pattern[0].regex"), "{err}");
        let text = format!("[collector.parse]\npatterns = [{:?}]\nchain = [\"syslog\", \"patterns\"]\nsyslog_timezone = \"Europe/Berlin\"\n", good.display().to_string());
        let config = load(&text).unwrap();
        let parsers = config.collector.parse.parsers();
        let ctx = logwarden_parse::LineContext {
            ingested: "2026-03-01T00:00:00Z".parse().unwrap(),
            host_name: "h",
            file_path: None,
            stream: None,
        };
        let event = parsers.parse("Feb  1 10:00:00 web app[1]: hello zoe", &ctx);
        assert_eq!(event.user_name.as_deref(), Some("zoe"));
        assert_eq!(event.timestamp.to_rfc3339(), "2026-02-01T09:00:00+00:00");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parse_defaults_and_routes() {
        let config = load(
            "[[collector.routes]]\nfield = \"observer.vendor\"\nequals = \"Fortinet\"\nstream = \"network\"\n\
             [[collector.files]]\ninclude = [\"/x\"]\nparsers = [\"json\"]\n",
        )
        .unwrap();
        assert_eq!(config.collector.parse.chain, ParserKind::AUTO);
        assert_eq!(config.collector.parse.syslog_timezone, Tz::UTC);
        assert_eq!(config.collector.parse.routes.len(), 1);
        assert_eq!(config.collector.files[0].parsers.as_deref(), Some(&[ParserKind::Json][..]));
        assert!(!config.collector.parse.patterns.is_empty());
    }

}
