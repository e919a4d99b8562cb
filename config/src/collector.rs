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

/// `collector.commit_interval` by default.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(250);

/// `collector.max_index_backlog` by default: on 2 cores about a quarter of
/// a second of the indexer's work, about what a file source reads in one
/// round of four busy files. Against 50,000 under full load (the bench's
/// 200 MB corpus, `scripts/freshness.py`, alternating): the freshness p50
/// 0.4-1.1 s lower in 3 pairs of 3, the rate the same; 12,500 lowered
/// neither the lag nor the freshness further (BENCHMARKS.md).
pub const DEFAULT_MAX_INDEX_BACKLOG: u64 = 25_000;

#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// This collector's identity (`collector.id`, or host name and data
    /// directory): its positions' keys and its `transactional.id`s.
    pub id: CollectorId,
    /// The compacted topic of positions (`collector.checkpoints_topic`).
    pub checkpoints_topic: String,
    /// A transaction commits this often, or at `transaction_max_events`.
    pub commit_interval: Duration,
    pub transaction_max_events: usize,
    /// In `logwarden run`: file sources hold back while the indexer in the
    /// same process has more events than this left to read (0: never).
    pub max_index_backlog: u64,
    /// How file lines reach Kafka (`collector.delivery`).
    pub delivery: Delivery,
    pub files: Vec<FileInput>,
    /// Where the at-least-once collector kept `files.json` (read once).
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

/// `collector.delivery`: what a consumer of the events topic sees after a
/// collector crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Events and the file positions past them in one Kafka transaction:
    /// a `read_committed` consumer sees every line exactly once.
    #[default]
    ExactlyOnce,
    /// An idempotent producer without transactions; a file's position is
    /// written once the events before it are acknowledged, so lines read
    /// after the last position written are sent again after a crash.
    AtLeastOnce,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::ExactlyOnce => "exactly_once",
            Delivery::AtLeastOnce => "at_least_once",
        }
    }
}

/// A collector's identity and where it came from (said in the logs at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorId {
    pub id: String,
    /// `collector.id` or `host name and data directory`.
    pub source: &'static str,
}

impl CollectorId {
    /// The `transactional.id` of this collector's producer of `role`
    /// (`files`, `push`): the same after a restart, so a new process fences
    /// the transactions its killed predecessor left open, and a second
    /// process with the same id fences the first.
    pub fn transactional_id(&self, role: &str) -> String {
        format!("logwarden-collector-{}-{role}", self.id)
    }
}

impl std::fmt::Display for CollectorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// `collector.id`, or `<host name>-<8 hex digits of the data directory's
/// absolute path>`: two collectors on one host with their own data
/// directories get their own ids, a restart keeps its id.
fn validate_id(id: Option<String>, data_dir: &Path) -> Result<CollectorId, ConfigError> {
    let valid = |id: &str| {
        !id.is_empty() && id.len() <= 180 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if let Some(id) = id {
        if !valid(&id) {
            return Err(ConfigError::invalid(
                "collector.id",
                format!("`{id}` must be 1 to 180 letters, digits, '.', '_' or '-'"),
            ));
        }
        return Ok(CollectorId { id, source: "collector.id" });
    }
    use sha2::Digest;
    let dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let host: String = gethostname::gethostname()
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .take(120)
        .collect();
    let host = if host.is_empty() { "host".to_string() } else { host };
    let id = format!("{host}-{:02x}{:02x}{:02x}{:02x}", digest[0], digest[1], digest[2], digest[3]);
    Ok(CollectorId { id, source: "host name and data directory" })
}

pub(crate) fn validate(collector: RawCollector, auth: &KeyRing, data_dir: &Path) -> Result<CollectorConfig, ConfigError> {
    let id = validate_id(collector.id, data_dir)?;
    let checkpoints_topic = collector.checkpoints_topic.unwrap_or_else(|| "logwarden.checkpoints".to_string());
    if !crate::kafka::is_valid_topic(&checkpoints_topic) {
        return Err(ConfigError::invalid(
            "collector.checkpoints_topic",
            format!("`{checkpoints_topic}` is not a valid Kafka topic name"),
        ));
    }
    // 250 ms: under full load in `logwarden run` it took 0.2–0.6 s off the
    // freshness p50 against 1 s, at the same rate (BENCHMARKS.md, "Start-up
    // waits removed"); Kafka Streams commits exactly-once every 100 ms.
    let commit_interval = collector.commit_interval.unwrap_or(DEFAULT_COMMIT_INTERVAL);
    if commit_interval < Duration::from_millis(10) || commit_interval > Duration::from_secs(30) {
        return Err(ConfigError::invalid(
            "collector.commit_interval",
            "must be between 10ms and 30s (a transaction open longer holds back every read_committed consumer)",
        ));
    }
    let transaction_max_events = collector.transaction_max_events.unwrap_or(100_000);
    if !(1..=10_000_000).contains(&transaction_max_events) {
        return Err(ConfigError::invalid("collector.transaction_max_events", "must be between 1 and 10000000"));
    }
    let max_index_backlog = collector.max_index_backlog.unwrap_or(DEFAULT_MAX_INDEX_BACKLOG);
    let delivery = match collector.delivery.as_deref() {
        None | Some("exactly_once") => Delivery::ExactlyOnce,
        Some("at_least_once") => Delivery::AtLeastOnce,
        Some(other) => {
            return Err(ConfigError::invalid(
                "collector.delivery",
                format!("`{other}` is not a delivery mode: use \"exactly_once\" or \"at_least_once\""),
            ));
        }
    };
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
        id,
        checkpoints_topic,
        commit_interval,
        transaction_max_events,
        max_index_backlog,
        delivery,
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
    fn the_delivery_mode_is_exactly_once_unless_said_otherwise() {
        use crate::Delivery;
        assert_eq!(load("").unwrap().collector.delivery, Delivery::ExactlyOnce);
        let given = load("[collector]\ndelivery = \"at_least_once\"\n").unwrap().collector;
        assert_eq!(given.delivery, Delivery::AtLeastOnce);
        assert_eq!(load("[collector]\ndelivery = \"exactly_once\"\n").unwrap().collector.delivery, Delivery::ExactlyOnce);
        let err = load("[collector]\ndelivery = \"at_most_once\"\n").unwrap_err().to_string();
        assert!(err.contains("collector.delivery") && err.contains("at_most_once"), "{err}");
    }

    #[test]
    fn the_collector_id_is_given_or_derived_from_host_and_data_dir() {
        let derived = load("data_dir = \"/srv/a\"\n").unwrap().collector;
        assert_eq!(derived.id.source, "host name and data directory");
        assert_eq!(derived.id, load("data_dir = \"/srv/a\"\n").unwrap().collector.id, "stable across starts");
        assert_ne!(derived.id, load("data_dir = \"/srv/b\"\n").unwrap().collector.id, "another data dir, another id");
        assert_eq!(derived.checkpoints_topic, "logwarden.checkpoints");
        assert_eq!((derived.commit_interval, derived.transaction_max_events), (Duration::from_millis(250), 100_000));
        let given = load("[collector]\nid = \"web-01\"\ncommit_interval = \"200ms\"\n").unwrap().collector;
        assert_eq!((given.id.id.as_str(), given.id.source), ("web-01", "collector.id"));
        assert_eq!(given.id.transactional_id("files"), "logwarden-collector-web-01-files");
        assert_eq!(given.commit_interval, Duration::from_millis(200));
        assert_eq!(derived.max_index_backlog, crate::collector::DEFAULT_MAX_INDEX_BACKLOG);
        assert_eq!(load("[collector]\nmax_index_backlog = 0\n").unwrap().collector.max_index_backlog, 0);
        let err = load("[collector]\nmax_index_backlog = -1\n").unwrap_err().to_string();
        assert!(err.contains("max_index_backlog"), "{err}");
        for (text, key) in [
            ("[collector]\nid = \"a b\"\n", "collector.id"),
            ("[collector]\nid = \"\"\n", "collector.id"),
            ("[collector]\ncommit_interval = \"1m\"\n", "collector.commit_interval"),
            ("[collector]\ntransaction_max_events = 0\n", "collector.transaction_max_events"),
            ("[collector]\ncheckpoints_topic = \"a/b\"\n", "collector.checkpoints_topic"),
        ] {
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
