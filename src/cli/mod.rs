//! Command-line interface. Flags override the config file, which overrides
//! the defaults; `LOGWARDEN_*` environment variables override the file too.

mod config;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "logwarden",
    version,
    about = "Log management pipeline for SIEM ingestion: collectors → Kafka → tantivy indexers → query API"
)]
pub struct Cli {
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "LOGWARDEN_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax, e.g. `info,logwarden_indexer=debug`).
    #[arg(long, global = true, default_value = "info", env = "LOGWARDEN_LOG")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run collector, indexer and query API in one process (single machine).
    Run(PipelineArgs),
    /// Collect logs (files, syslog, HTTP ingest) and produce them to Kafka.
    Collector(PipelineArgs),
    /// Consume from Kafka into tantivy splits (consumer group member).
    Indexer(PipelineArgs),
    /// Serve the search HTTP API over the splits in the data directory.
    QueryApi(PipelineArgs),
    /// Evaluate Sigma rules and correlations on the events topic; deliver alerts to hooks.
    Detect(PipelineArgs),
    /// Rules as code: check rule files, or backtest them over events.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write realistic sample logs (sshd, sudo, PAM, cron, kernel, nginx).
    Generate(GenerateArgs),
    /// Check every manifest chain, signature and sealed split (`--data-dir`),
    /// or an audit bundle offline (`BUNDLE`); exit 1 at the first broken link.
    Verify(VerifyArgs),
    /// Write a signed audit bundle of one stream over a time range.
    Export(ExportArgs),
    /// Delete the data of sealed splits past their stream's retention (manifests stay).
    Retention(RetentionArgs),
    /// Compliance evidence: the retention report, the monthly access review, pinning the signing key.
    #[command(subcommand)]
    Compliance(ComplianceCommand),
    /// Load and validate a config file as `run --config` would; print OK or the error naming the key (exit 1).
    CheckConfig(CheckConfigArgs),
    /// API keys: create one (printed once, hash kept), list them, revoke one.
    #[command(subcommand)]
    Keys(crate::keys::KeysCommand),
    /// End-to-end benchmark: real components and broker, each figure beside its baseline.
    Bench(logwarden_bench::BenchArgs),
    /// The pipeline's health: consumer lag per partition, dead letters, ingest
    /// rate per stream, spool use, last seal, last full verify (as GET /api/v1/status).
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Print the report as JSON (the body of GET /api/v1/status).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An audit bundle directory (`logwarden export --out`) to check offline.
    #[arg(value_name = "BUNDLE")]
    pub bundle: Option<PathBuf>,
    /// Data directory to verify.
    #[arg(long, value_name = "DIR", env = "LOGWARDEN_DATA_DIR", required_unless_present = "bundle")]
    pub data_dir: Option<PathBuf>,
    /// Ed25519 public key (PEM) the manifests must be signed with; pin the
    /// one you exported. Default: DIR/keys/manifest-signing.pem.pub.pem.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Configuration file: data dir, signing key, `compliance.max_export_bytes`, presets for the report.
    #[arg(long, short, env = "LOGWARDEN_CONFIG", required_unless_present = "data_dir")]
    pub config: Option<PathBuf>,
    /// Data directory; alone (no --config) the report checks no law.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub stream: String,
    /// Start of the range (RFC 3339, inclusive).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// End of the range (RFC 3339, exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// Only the records matching this query (search syntax) in the range,
    /// each with a Merkle inclusion proof against its split's manifest.
    #[arg(long, value_name = "Q")]
    pub query: Option<String>,
    /// Why the data is exported (사유): in the audit record, listed by the
    /// monthly access review, which flags exports without one.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// The bundle directory to create.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// TOML configuration file; `LOGWARDEN_*` variables and the secrets it
    /// names (password_env, headers_env, files) are read as at start.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Per stream: laws cited, retention required vs configured, legal hold,
    /// windows, chain, deletions, daily volume, and a status with reasons.
    Report(ComplianceReportArgs),
    /// Pin the manifest public key: reports verify with this copy from now on.
    PinKey(PinKeyArgs),
    /// The monthly access review (개인정보의 안전성 확보조치 기준 제8조②):
    /// findings of `[compliance.review]`'s checks with their 소명 states,
    /// the sign-off, and the month's integrity result (제8조③).
    Review(ComplianceReviewArgs),
}

#[derive(Debug, Args)]
pub struct ComplianceReviewArgs {
    /// Configuration file: `[compliance.review]` (thresholds, calendar,
    /// access-record streams), windowing and the signing key.
    #[arg(long, short, env = "LOGWARDEN_CONFIG", required_unless_present = "data_dir")]
    pub config: Option<PathBuf>,
    /// Data directory; alone (no --config) the default thresholds are used
    /// and only the `audit` stream is reviewed.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The calendar month under review, `YYYY-MM`.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// Time zone of the month and of business hours (default:
    /// `compliance.review.timezone`, else Asia/Seoul).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    #[command(flatten)]
    pub document: DocumentArgs,
}

/// How `compliance report` and `compliance review` write their document,
/// and the key they verify the store with.
#[derive(Debug, Args)]
pub struct DocumentArgs {
    /// pdf prints the HTML page with a headless Chromium (needs --out).
    #[arg(long, default_value = "json", value_parser = ["json", "csv", "html", "pdf"])]
    pub format: String,
    /// Language of the HTML page.
    #[arg(long, default_value = "en", value_parser = ["ko", "en"])]
    pub lang: String,
    /// Write it here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The public key to verify with (an auditor's own copy; counts as pinned).
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ComplianceReportArgs {
    /// Configuration file: the streams' presets, retention and legal hold.
    #[arg(long, short, env = "LOGWARDEN_CONFIG", required_unless_present = "data_dir")]
    pub config: Option<PathBuf>,
    /// Data directory; alone (no --config) no law is checked.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Report as of this time (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Start of the period (RFC 3339); default all history.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    #[command(flatten)]
    pub document: DocumentArgs,
    /// The last full `logwarden verify --data-dir` may be this old.
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    pub verify_max_age: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct PinKeyArgs {
    #[arg(long, value_name = "DIR", env = "LOGWARDEN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The public key to pin. Default: DIR/keys/manifest-signing.pem.pub.pem.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Apply retention as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Report what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Settings shared by the pipeline commands; each flag overrides the config file.
#[derive(Debug, Args, Default, Clone)]
pub struct PipelineArgs {
    /// TOML configuration file (see config/logwarden.example.toml).
    #[arg(long, short, env = "LOGWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Files to tail (glob, repeatable).
    #[arg(long = "input", value_name = "GLOB")]
    pub inputs: Vec<String>,
    /// Syslog listener: `udp://ADDR`, `tcp://ADDR`, or `tls://ADDR` with
    /// [collector.tls] in the config (repeatable; port 0 picks a free port).
    #[arg(long = "syslog", value_name = "URL")]
    pub syslog: Vec<String>,
    /// HTTP ingest listen address (NDJSON and Elasticsearch `_bulk`); takes
    /// the keys of [[auth.keys]], `logwarden keys create`, or the created admin key.
    #[arg(long, value_name = "ADDR")]
    pub http_ingest: Option<String>,
    /// Where splits, checkpoints and keys are stored.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// This collector's identity (`[collector] id`): its positions in Kafka
    /// and its transactional ids; default: host name and data directory.
    #[arg(long, value_name = "ID", env = "LOGWARDEN_COLLECTOR_ID")]
    pub collector_id: Option<String>,
    /// Query API listen address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub http_addr: Option<String>,
    /// Kafka bootstrap servers.
    #[arg(long, value_name = "LIST", env = "LOGWARDEN_KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// Kafka topic for events.
    #[arg(long)]
    pub topic: Option<String>,
    /// Indexer consumer group.
    #[arg(long)]
    pub group: Option<String>,
    /// Indexer consumers in this process (default: CPU cores).
    #[arg(long)]
    pub workers: Option<u32>,
    /// How often the indexer commits, e.g. `1s`, `250ms`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub commit_interval: Option<std::time::Duration>,
    /// Sigma rules to run: a file, a directory or a glob (repeatable);
    /// `run` starts the detector when rules are given.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<String>,
    /// Deliver alerts to this URL as Prometheus Alertmanager webhooks (repeatable).
    #[arg(long = "alert-webhook", value_name = "URL")]
    pub alert_webhooks: Vec<String>,
    /// Serve `/metrics`, `/healthz` and `/readyz` here (`[telemetry] listen`;
    /// port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Parse and lint rules; list unsupported rules (with reasons) and rules
    /// whose logsource matches no source logwarden ingests. Exit 1 on an error.
    Check(RulesCheckArgs),
    /// Run rules over events (a file, or stored history) and print one alert per line.
    Test(RulesTestArgs),
}

#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// Rule files, directories or globs.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Extra field-mapping pipelines (pySigma YAML), after the built-in ones.
    #[arg(long = "pipeline", value_name = "FILE")]
    pub pipelines: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// Rule files, directories or globs (repeatable).
    #[arg(long = "rules", required = true, value_name = "PATH")]
    pub rules: Vec<String>,
    /// Extra field-mapping pipelines (pySigma YAML), after the built-in ones.
    #[arg(long = "pipeline", value_name = "FILE")]
    pub pipelines: Vec<PathBuf>,
    /// Events: a JSON document (one event or an array), NDJSON, or log
    /// lines; parsed as the collector parses them. `-` reads stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "data_dir", required_unless_present = "data_dir")]
    pub events: Option<PathBuf>,
    /// Stored history to run the rules over, in time order.
    #[arg(long, value_name = "DIR", requires_all = ["from", "to"])]
    pub data_dir: Option<PathBuf>,
    /// Start of the history (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the history (RFC 3339, exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// How late (event time) an event may arrive for a correlation window.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub allowed_lateness: std::time::Duration,
    /// Print each alert as JSON.
    #[arg(long)]
    pub json: bool,
    /// Configuration file whose parser settings ([collector.parse]) apply.
    #[arg(long, short, env = "LOGWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write auth.log, syslog and nginx-access.log into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of lines in all.
    #[arg(long, default_value_t = 10_000)]
    pub lines: usize,
    /// Stop at this many bytes instead of `--lines`, e.g. `1GB`, `512MiB`.
    #[arg(long, value_parser = logwarden_generator::parse_size, value_name = "SIZE")]
    pub bytes: Option<u64>,
    /// Share of ECS-style JSON lines, written to app.json (0..1; default none).
    #[arg(long, default_value_t = 0.0)]
    pub json_share: f64,
    /// Random seed (same seed, same lines).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time of the first line (RFC 3339); default: `--span` before now.
    #[arg(long)]
    pub start: Option<String>,
    /// Time the lines cover, e.g. `24h`.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub span: std::time::Duration,
}
