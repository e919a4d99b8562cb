//! Flags of `logwarden bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Corpus size in raw log bytes, e.g. `1GB`, `200MB`, `512MiB`.
    #[arg(long, value_parser = parse_size, default_value = "1GB", conflicts_with = "lines")]
    pub size: u64,
    /// Corpus size in lines instead of bytes.
    #[arg(long)]
    pub lines: Option<usize>,
    /// Share of ECS-style JSON application lines in the corpus (0..1).
    #[arg(long, default_value_t = 0.2)]
    pub json_share: f64,
    /// Time the corpus covers, ending now.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub span: Duration,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Kafka bootstrap servers.
    #[arg(
        long,
        env = "LOGWARDEN_KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// Partitions of each bench topic (default: CPU cores).
    #[arg(long)]
    pub partitions: Option<u32>,
    /// Indexer consumers, and raw tantivy writer threads (default: CPU cores).
    #[arg(long)]
    pub workers: Option<u32>,
    /// Freshness marker lines written per second during the load.
    #[arg(long, default_value_t = 5.0)]
    pub marker_rate: f64,
    /// Fewest freshness markers to write, even when the corpus is ingested sooner.
    #[arg(long, default_value_t = 50)]
    pub min_markers: usize,
    /// Rounds of the collector stages (exactly once, at least once) and the
    /// raw producer, alternating; each figure is the round with the median
    /// events/s, and every round is in the notes and the JSON report (the
    /// same binary moves by 10–20 % between runs on a shared 2-core machine).
    /// `--quick`: 1.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Concurrent search clients.
    #[arg(long, default_value_t = 4)]
    pub search_clients: usize,
    /// Requests per client for each query.
    #[arg(long, default_value_t = 50)]
    pub search_repeats: usize,
    /// A run of seconds for CI: 20 markers, 5 requests per client and query,
    /// perf-test capped at 20,000 records, 20 alerts.
    #[arg(long)]
    pub quick: bool,
    /// A corpus larger than memory (e.g. `--lines 100000000`): only the
    /// collector, the indexer (its RSS sampled throughout) and search
    /// latency, each rate beside its own at the start of the run. The
    /// other stages hold every payload in memory and are skipped.
    #[arg(long)]
    pub large: bool,
    /// Skip kafka-producer-perf-test (needs Java and the Kafka jars).
    #[arg(long)]
    pub skip_perf_test: bool,
    /// Records sent by kafka-producer-perf-test (default: the corpus's event count).
    #[arg(long)]
    pub perf_test_records: Option<usize>,
    /// The `scripts/kafka.sh` that runs kafka-producer-perf-test.
    #[arg(long, env = "LOGWARDEN_KAFKA_SCRIPT", value_name = "FILE")]
    pub kafka_script: Option<PathBuf>,
    /// Where the corpus, data dirs and component logs go (kept), in a
    /// subdirectory `run-<start time>-<pid>` of their own for each run;
    /// default: a temporary directory removed at the end.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// How long one stage may take before the bench gives up.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub stage_timeout: Duration,
    /// Skip the detection stages (detector throughput, its CPU share of the
    /// pipeline, alert latency).
    #[arg(long)]
    pub skip_detect: bool,
    /// The Sigma data read in place: `linux/` (SigmaHQ's Linux rules) and
    /// `regression/*/rule.yml` (SigmaHQ's Windows rules); default:
    /// `../shared/data/sigma` beside the source tree.
    #[arg(long, value_name = "DIR", env = "LOGWARDEN_SIGMA_DIR")]
    pub sigma_dir: Option<PathBuf>,
    /// How many of the Windows rules (`regression/*/rule.yml`, in name
    /// order) the detector loads besides the Linux rules.
    #[arg(long, default_value_t = 100)]
    pub windows_rules: usize,
    /// Lines the detection stages run on: the corpus, or when it is larger
    /// a corpus of this many lines from the same generator (the detector
    /// runs three times over it).
    #[arg(long, default_value_t = 500_000)]
    pub detect_lines: usize,
    /// Failed SSH logins per second from ever new addresses (hits that
    /// never reach the brute-force threshold) written while the alert
    /// triggers are; 0: none, the pipeline is idle but for the triggers.
    #[arg(long, default_value_t = 0.0)]
    pub alert_background: f64,
    /// Alerts triggered for the latency figure (one in ten is an SSH brute
    /// force, the others a line a SigmaHQ Linux rule matches).
    #[arg(long, default_value_t = 200)]
    pub alerts: usize,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also save the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn parse_size(text: &str) -> Result<u64, String> {
    logwarden_generator::parse_size(text)
}

impl BenchArgs {
    pub fn partitions(&self) -> u32 {
        self.partitions.unwrap_or_else(logwarden_config::cpu_cores)
    }

    pub fn workers(&self) -> u32 {
        self.workers.unwrap_or_else(logwarden_config::cpu_cores)
    }

    pub fn min_markers(&self) -> usize {
        if self.quick { 20 } else { self.min_markers }
    }

    pub fn rounds(&self) -> usize {
        if self.quick { 1 } else { self.rounds.max(1) }
    }

    pub fn search_repeats(&self) -> usize {
        if self.quick { 5 } else { self.search_repeats }
    }

    pub fn alerts(&self) -> usize {
        if self.quick { self.alerts.min(20) } else { self.alerts }
    }

    /// `--sigma-dir`, else `shared/data/sigma` beside the source tree this
    /// binary was built from.
    pub fn sigma_dir(&self) -> PathBuf {
        self.sigma_dir.clone().unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/sigma")
        })
    }

    pub fn perf_test_records(&self, events: usize) -> usize {
        let records = self.perf_test_records.unwrap_or(events);
        if self.quick {
            records.min(20_000)
        } else {
            records
        }
    }
}
