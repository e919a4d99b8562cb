//! The configuration file as operators write it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::ConfigError;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where indexes, checkpoints and keys live.
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub kafka: RawKafka,
    #[serde(default)]
    pub collector: RawCollector,
    #[serde(default)]
    pub indexer: RawIndexer,
    /// `[index]`: free fields indexed (shared by the indexer and the query API).
    #[serde(default)]
    pub index: crate::index::RawIndex,
    #[serde(default)]
    pub api: RawApi,
    /// `[detect]`: Sigma rules, correlations and alert hooks.
    #[serde(default)]
    pub detect: crate::detect::RawDetect,
    /// `[telemetry]`: where a process without another HTTP listener serves
    /// `/metrics`, `/healthz` and `/readyz`.
    #[serde(default)]
    pub telemetry: RawTelemetry,
    /// Retention classes, by stream name (`[streams.auth]`).
    #[serde(default)]
    pub streams: BTreeMap<String, RawStream>,
    #[serde(default)]
    pub auth: RawAuth,
    /// `[compliance]`: limits of audit exports.
    #[serde(default)]
    pub compliance: RawCompliance,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCompliance {
    /// The largest audit export (records and manifests) served or written.
    pub max_export_bytes: Option<u64>,
    /// `[compliance.review]`: the monthly access review (제8조②).
    #[serde(default)]
    pub review: crate::review::RawReview,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// `ADDR:PORT`; absent: none (the query API and HTTP ingest serve the
    /// same paths on their own listeners).
    pub listen: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    #[serde(default)]
    pub keys: Vec<RawAuthKey>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthKey {
    pub name: String,
    /// `admin`, `analyst`, `auditor` or `ingest`.
    pub role: String,
    /// `sha256:<hex>` of the key; the key itself is never in the config.
    pub hash: String,
    pub streams: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKafka {
    pub brokers: Option<String>,
    pub topic: Option<String>,
    /// Partitions of a topic the collector creates; 0 or absent = CPU cores.
    pub partitions: Option<u32>,
    pub compression: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub linger: Option<Duration>,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`; absent: from
    /// whether `[kafka.sasl]` and `[kafka.tls]` are given.
    pub security_protocol: Option<String>,
    pub sasl: Option<RawKafkaSasl>,
    pub tls: Option<RawKafkaTls>,
    /// Extra librdkafka properties per client kind, for tuning.
    #[serde(default)]
    pub producer: BTreeMap<String, String>,
    #[serde(default)]
    pub consumer: BTreeMap<String, String>,
    #[serde(default)]
    pub admin: BTreeMap<String, String>,
}

/// `[kafka.sasl]`: the password comes from the environment or a file,
/// never from the config itself.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKafkaSasl {
    pub mechanism: Option<String>,
    pub username: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// `[kafka.tls]`: PEM files.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKafkaTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCollector {
    /// This collector's identity: its positions in the checkpoints topic
    /// and its Kafka `transactional.id` derive from it. Absent: host name
    /// and data directory.
    pub id: Option<String>,
    /// The compacted topic of positions (files, spool), written in the
    /// same Kafka transaction as the events before them.
    pub checkpoints_topic: Option<String>,
    /// How often the collector commits its Kafka transaction (events and
    /// positions together; default 250 ms); a transaction also commits at
    /// `transaction_max_events`.
    #[serde(default, with = "humantime_serde")]
    pub commit_interval: Option<Duration>,
    pub transaction_max_events: Option<usize>,
    /// In `logwarden run` (collector and indexer in one process): file
    /// sources hold back while the indexer has more events than this left
    /// to read; 0 never holds back.
    pub max_index_backlog: Option<u64>,
    /// How file lines reach Kafka: `exactly_once` (the default: events and
    /// positions in one Kafka transaction) or `at_least_once` (an
    /// idempotent producer without transactions; positions written once
    /// the events before them are acknowledged).
    pub delivery: Option<String>,
    #[serde(default)]
    pub files: Vec<RawFileInput>,
    /// Where the at-least-once collector kept `files.json`; read once to
    /// carry its positions over into the checkpoints topic.
    pub checkpoint_dir: Option<PathBuf>,
    #[serde(default, with = "humantime_serde")]
    pub scan_interval: Option<Duration>,
    /// How long a last line without a newline waits before it is sent as is.
    #[serde(default, with = "humantime_serde")]
    pub partial_line_timeout: Option<Duration>,
    pub max_line_bytes: Option<usize>,
    /// Syslog listeners (`udp://`, `tcp://`, `tls://` addresses).
    #[serde(default)]
    pub syslog: Vec<RawSyslogListener>,
    /// Certificate and key of `tls://` syslog listeners.
    pub tls: Option<RawTls>,
    #[serde(default)]
    pub http: RawHttpIngest,
    #[serde(default)]
    pub spool: RawSpool,
    /// `[collector.parse]`: parser chain, pattern files, syslog time zone.
    #[serde(default)]
    pub parse: RawParse,
    /// `[[collector.routes]]`: stream routing rules, tried in order before
    /// the built-in ones.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParse {
    /// Parser names in order (`auto`, `json`, `logfmt`, `syslog`, `cef`,
    /// `leef`, `patterns`, `apache`, `access`); absent = `["auto"]`.
    pub chain: Option<Vec<String>>,
    /// Pattern files added after the built-in library.
    #[serde(default)]
    pub patterns: Vec<PathBuf>,
    /// IANA zone of syslog timestamps that carry none; absent = UTC.
    pub syslog_timezone: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSyslogListener {
    pub listen: String,
    pub stream: Option<String>,
    pub max_message_bytes: Option<usize>,
    pub max_connections: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    pub idle_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub frame_timeout: Option<Duration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpIngest {
    pub listen: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub memory_budget: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    pub body_timeout: Option<Duration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpool {
    pub dir: Option<PathBuf>,
    pub max_bytes: Option<u64>,
    /// `always` (fsync every write before acknowledging) or `never`.
    pub fsync: Option<String>,
    /// How long a delivery to Kafka may take before events go to the spool.
    #[serde(default, with = "humantime_serde")]
    pub kafka_timeout: Option<Duration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// ECS field name (`process.name`, `observer.vendor`, a `fields` key).
    pub field: String,
    pub equals: Option<String>,
    /// A regex the field must match.
    pub matches: Option<String>,
    pub stream: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileInput {
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Stream for every event of these files; absent = chosen by routing.
    pub stream: Option<String>,
    /// Parser chain for these files; absent = `collector.parse.chain`.
    pub parsers: Option<Vec<String>>,
    /// Joins continuation lines (stack traces) to the line that started them.
    pub multiline: Option<RawMultiline>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMultiline {
    /// Regex matching the first line of an event; other lines continue it.
    pub start: Option<String>,
    /// Inactivity after which the pending event is sent.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    pub max_lines: Option<usize>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndexer {
    pub group: Option<String>,
    /// Consumers in this process; 0 or absent = CPU cores.
    pub workers: Option<u32>,
    /// Splits with new events commit this often at the latest (default
    /// 1s); sooner once a consumer has read its partition to the end.
    #[serde(default, with = "humantime_serde")]
    pub commit_interval: Option<Duration>,
    /// Uncommitted events (payload bytes) of all the process's consumers
    /// in total, each consumer committing its largest split at its share;
    /// also each split writer's tantivy budget (default 64).
    pub writer_memory_mb: Option<usize>,
    /// Event-time window of a split (default 1h).
    #[serde(default, with = "humantime_serde")]
    pub split_window: Option<Duration>,
    /// How long after its window ends a split stays open for stragglers.
    #[serde(default, with = "humantime_serde")]
    pub seal_grace: Option<Duration>,
    /// A split is sealed early once it holds this many events.
    pub split_max_events: Option<u64>,
    /// Ed25519 key that signs manifests (PKCS#8 PEM); created if missing.
    pub signing_key: Option<PathBuf>,
    /// Topic for messages that cannot be indexed.
    pub dlq_topic: Option<String>,
    /// How often the retention job runs.
    #[serde(default, with = "humantime_serde")]
    pub retention_interval: Option<Duration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStream {
    /// How long events are kept; absent = forever.
    #[serde(default, with = "humantime_serde")]
    pub retention: Option<Duration>,
    /// How long events stay immediately searchable.
    #[serde(default, with = "humantime_serde")]
    pub hot: Option<Duration>,
    /// Regulation presets this stream must satisfy (e.g. "kr-pipa-access").
    #[serde(default)]
    pub presets: Vec<String>,
    /// Nothing of this stream is deleted while set.
    #[serde(default)]
    pub legal_hold: bool,
    /// Why the hold is in place (case number, request), for reports.
    pub legal_hold_reason: Option<String>,
    /// Since when the hold is in force (`2026-11-01` or an RFC 3339 time),
    /// written into audit bundles and reports.
    pub legal_hold_since: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<String>,
    pub max_hits: Option<usize>,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<RawTls>,
    /// A search running longer gets a 504.
    #[serde(default, with = "humantime_serde")]
    pub query_timeout: Option<Duration>,
}

impl RawConfig {
    pub fn from_toml(text: &str) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    /// Applies the environment's overrides: `LOGWARDEN_KAFKA_BROKERS` sets
    /// `kafka.brokers`, `LOGWARDEN_DATA_DIR` sets `data_dir`; `lookup` reads
    /// one variable.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        if let Some(brokers) = lookup("LOGWARDEN_KAFKA_BROKERS").filter(|v| !v.is_empty()) {
            self.kafka.brokers = Some(brokers);
        }
        if let Some(dir) = lookup("LOGWARDEN_DATA_DIR").filter(|v| !v.is_empty()) {
            self.data_dir = Some(PathBuf::from(dir));
        }
        if let Some(id) = lookup("LOGWARDEN_COLLECTOR_ID").filter(|v| !v.is_empty()) {
            self.collector.id = Some(id);
        }
    }
}
