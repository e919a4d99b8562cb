//! Kafka side of the bench: topics, high watermarks, the raw librdkafka
//! producer baseline and `kafka-producer-perf-test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use logwarden_config::{KafkaConfig, RawConfig};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use serde::Serialize;

use crate::corpus::Payloads;
use crate::process::check_interrupted;

/// The producer settings the collector runs with (its defaults), for `topic`.
pub fn kafka_config(brokers: &str, topic: &str) -> anyhow::Result<KafkaConfig> {
    let mut raw = RawConfig::default();
    raw.kafka.brokers = Some(brokers.to_string());
    raw.kafka.topic = Some(topic.to_string());
    Ok(raw.validate().context("default config")?.kafka)
}

/// The bench's topics on the shared broker, deleted when the run ends (or
/// fails), so repeated runs do not fill the broker's disk.
pub struct Topics {
    brokers: String,
    partitions: u32,
    created: Vec<String>,
}

impl Topics {
    pub fn new(brokers: &str, partitions: u32) -> Topics {
        Topics {
            brokers: brokers.to_string(),
            partitions,
            created: Vec::new(),
        }
    }

    pub fn create(&mut self, topic: &str) -> anyhow::Result<()> {
        tokio::runtime::Handle::current().block_on(logwarden_kafka::ensure_topic(
            &logwarden_config::KafkaConfig::for_brokers(&self.brokers),
            topic,
            self.partitions,
        ))?;
        self.created.push(topic.to_string());
        Ok(())
    }

    /// Deletes `topic` at the end too: one a component created.
    pub fn adopt(&mut self, topic: &str) {
        self.created.push(topic.to_string());
    }
}

impl Drop for Topics {
    fn drop(&mut self) {
        if self.created.is_empty() {
            return;
        }
        let admin: Result<AdminClient<DefaultClientContext>, _> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create();
        let Ok(admin) = admin else { return };
        let names: Vec<&str> = self.created.iter().map(String::as_str).collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let deleted =
            tokio::runtime::Handle::current().block_on(admin.delete_topics(&names, &options));
        if let Err(e) = deleted {
            eprintln!("bench: could not delete topics {names:?}: {e}");
        }
    }
}

/// The collector's checkpoints topic (`collector.checkpoints_topic`'s
/// default; the bench's collectors do not set it).
const CHECKPOINTS_TOPIC: &str = "logwarden.checkpoints";

/// What a cluster does once, before its first transactional producer: the
/// broker creates and loads `__transaction_state` (50 partitions; seconds on
/// a broker just started, while `init_transactions` answers "coordinator
/// load in progress") and the collector's first start creates its
/// checkpoints topic. A deployed collector finds both; done here before the
/// collector is timed, so its figure is its own work. Returns how long it
/// took.
pub fn warm_transactions(brokers: &str) -> anyhow::Result<Duration> {
    use rdkafka::producer::{BaseProducer, Producer};
    let started = Instant::now();
    let config = KafkaConfig::for_brokers(brokers);
    tokio::runtime::Handle::current()
        .block_on(logwarden_kafka::transaction::ensure_checkpoints_topic(&config, CHECKPOINTS_TOPIC))
        .context("creating the checkpoints topic")?;
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("transactional.id", format!("logwarden-bench-warm-up-{}", std::process::id()))
        .create()
        .context("creating the warm-up transactional producer")?;
    producer
        .init_transactions(Duration::from_secs(120))
        .context("initialising a transactional producer (the broker's transaction coordinator)")?;
    logwarden_kafka::let_go(producer);
    Ok(started.elapsed())
}

/// Reads the sum of a topic's high watermarks (messages ever produced).
pub struct Watermarks {
    consumer: BaseConsumer,
    topic: String,
    partitions: Vec<i32>,
}

impl Watermarks {
    pub fn new(brokers: &str, topic: &str) -> anyhow::Result<Watermarks> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", "logwarden-bench-watermarks")
            .create()
            .context("creating watermark consumer")?;
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .with_context(|| format!("metadata of topic {topic}"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            bail!("topic {topic} has no partitions");
        }
        Ok(Watermarks {
            consumer,
            topic: topic.to_string(),
            partitions,
        })
    }

    pub fn total(&self) -> anyhow::Result<i64> {
        let mut total = 0;
        for &partition in &self.partitions {
            let (low, high) = self.of(partition)?;
            total += high - low.min(high);
        }
        Ok(total)
    }

    /// The high watermark of each partition, in partition order.
    pub fn highs(&self) -> anyhow::Result<Vec<i64>> {
        self.partitions
            .iter()
            .map(|&partition| {
                let (_, high) = self.of(partition)?;
                Ok(high)
            })
            .collect()
    }

    /// One partition's low and high watermarks.
    fn of(&self, partition: i32) -> anyhow::Result<(i64, i64)> {
        settled(&format!("watermarks of {}/{partition}", self.topic), || {
            self.consumer.fetch_watermarks(&self.topic, partition, Duration::from_secs(10))
        })
    }

    /// Polls until the topic holds `count` messages; returns when that was seen.
    pub fn wait_for(
        &self,
        count: i64,
        timeout: Duration,
        mut alive: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<Instant> {
        let started = Instant::now();
        let mut last_report = Instant::now();
        loop {
            check_interrupted()?;
            let total = self.total()?;
            if total >= count {
                return Ok(Instant::now());
            }
            alive()?;
            if started.elapsed() > timeout {
                bail!(
                    "topic {} holds {total} of {count} messages after {timeout:?}",
                    self.topic
                );
            }
            if last_report.elapsed() >= Duration::from_secs(5) {
                eprintln!("bench:   {} {total}/{count} messages", self.topic);
                last_report = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Runs a metadata request again while the broker answers that a
/// partition's leader or a group's coordinator is not settled yet (right
/// after a topic or group is created, or while leadership moves): for up to
/// 30 s, each retry printed. Any other error is returned at once.
fn settled<T>(what: &str, mut request: impl FnMut() -> KafkaResult<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match request() {
            Ok(answer) => return Ok(answer),
            Err(e) if unsettled(&e) && Instant::now() < deadline => {
                eprintln!("bench:   {what}: {e}; retrying");
                check_interrupted()?;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e).with_context(|| what.to_string()),
        }
    }
}

/// Whether a Kafka error only says that a leader or coordinator is not
/// settled yet.
fn unsettled(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::CoordinatorLoadInProgress
        )
    )
}

/// The offsets a consumer group committed on a topic. Reads them only: the
/// reader never joins the group.
pub struct GroupOffsets {
    consumer: BaseConsumer,
    topic: String,
    partitions: Vec<i32>,
    pub group: String,
}

impl GroupOffsets {
    pub fn new(brokers: &str, group: &str, marks: &Watermarks) -> anyhow::Result<GroupOffsets> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .with_context(|| format!("creating an offset reader for group {group}"))?;
        Ok(GroupOffsets {
            consumer,
            topic: marks.topic.clone(),
            partitions: marks.partitions.clone(),
            group: group.to_string(),
        })
    }

    /// The committed offset (the next to read) of each partition, in
    /// partition order; 0 where the group committed nothing yet.
    pub fn committed(&self) -> anyhow::Result<Vec<i64>> {
        let mut list = rdkafka::TopicPartitionList::new();
        for &partition in &self.partitions {
            list.add_partition(&self.topic, partition);
        }
        let what = format!("offsets of group {} on {}", self.group, self.topic);
        let committed =
            settled(&what, || self.consumer.committed_offsets(list.clone(), Duration::from_secs(10)))?;
        Ok(self
            .partitions
            .iter()
            .map(|&p| match committed.find_partition(&self.topic, p).map(|e| e.offset()) {
                Some(rdkafka::Offset::Offset(o)) => o,
                _ => 0,
            })
            .collect())
    }

    /// Messages before `ends` (per partition) the group has not committed.
    pub fn behind(&self, ends: &[i64]) -> anyhow::Result<i64> {
        Ok(self
            .committed()?
            .iter()
            .zip(ends)
            .map(|(done, end)| (end - done).max(0))
            .sum())
    }
}

/// Whether a group that commits through transactions has read everything
/// in a topic every partition of which ends with a transaction marker:
/// its committed offset can sit one below the high watermark (the marker
/// is no message; nothing is read after it).
pub fn caught_up_transactional(committed: &[i64], highs: &[i64]) -> bool {
    committed.iter().zip(highs).all(|(done, high)| *done >= high - 1)
}

/// Sends every payload to `topic` with the collector's own producer settings
/// (`create_producer`: idempotent, acks=all, lz4, same linger and batching)
/// and waits for every acknowledgement; returns the elapsed time.
pub fn produce_raw(
    config: &KafkaConfig,
    payloads: &Payloads,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    use logwarden_collector::kafka::{Batch, create_producer, flush, send};
    let producer = create_producer(config).context("creating the baseline producer")?;
    let batch = Batch::new(payloads.len() as u64, payloads.len());
    let started = Instant::now();
    for (i, record) in payloads.iter().enumerate() {
        if i % 100_000 == 0 {
            check_interrupted()?;
        }
        send(&producer, &config.topic, record.key, record.payload, &batch);
    }
    if !flush(&producer, timeout) {
        bail!("the baseline producer did not get every acknowledgement within {timeout:?}");
    }
    let elapsed = started.elapsed();
    match batch.outcome() {
        Some(Ok(())) => Ok(elapsed),
        Some(Err(e)) => bail!("baseline producer delivery failed: {e}"),
        None => bail!("baseline producer: messages still in flight after flush"),
    }
}

/// What kafka-producer-perf-test printed on its summary line.
#[derive(Debug, Clone, Serialize)]
pub struct PerfTest {
    pub records: u64,
    pub records_per_sec: f64,
    pub mb_per_sec: f64,
    pub avg_latency_ms: f64,
    pub max_latency_ms: f64,
    pub command: String,
}

/// Runs `kafka.sh perf-test` (org.apache.kafka.tools.ProducerPerformance)
/// with the collector's producer settings and the bench payloads as records.
pub fn perf_test(
    script: &Path,
    config: &KafkaConfig,
    records: usize,
    payload_file: &Path,
) -> anyhow::Result<PerfTest> {
    let props = [
        format!("bootstrap.servers={}", config.brokers),
        "acks=all".to_string(),
        "enable.idempotence=true".to_string(),
        format!("compression.type={}", config.compression.as_librdkafka()),
        format!("linger.ms={}", config.linger.as_millis()),
        "batch.size=1000000".to_string(),
    ];
    let mut args = vec![
        "perf-test".to_string(),
        "--topic".to_string(),
        config.topic.clone(),
        "--num-records".to_string(),
        records.to_string(),
        "--throughput".to_string(),
        "-1".to_string(),
        "--payload-file".to_string(),
        payload_file.display().to_string(),
        "--producer-props".to_string(),
    ];
    args.extend(props);
    let command = format!("{} {}", script.display(), args.join(" "));
    let output = Command::new(script)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {command}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "{command} failed ({}):\n{}\n{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let summary = stdout
        .lines()
        .rev()
        .find(|line| line.contains("records sent,"))
        .with_context(|| format!("no summary line in perf-test output:\n{stdout}"))?;
    parse_summary(summary, command)
}

/// Parses `N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, ...`.
fn parse_summary(line: &str, command: String) -> anyhow::Result<PerfTest> {
    let number_before = |marker: &str| -> anyhow::Result<f64> {
        let end = line
            .find(marker)
            .with_context(|| format!("`{marker}` missing in `{line}`"))?;
        let head = line[..end].trim_end();
        let start = head.rfind([' ', '(', ',']).map_or(0, |i| i + 1);
        head[start..]
            .parse()
            .with_context(|| format!("number before `{marker}` in `{line}`"))
    };
    Ok(PerfTest {
        records: number_before("records sent")? as u64,
        records_per_sec: number_before("records/sec")?,
        mb_per_sec: number_before("MB/sec")?,
        avg_latency_ms: number_before("ms avg latency")?,
        max_latency_ms: number_before("ms max latency")?,
        command,
    })
}

/// `--kafka-script`, else `scripts/kafka.sh` of the source tree this binary
/// was built from, else of the current directory.
pub fn find_script(flag: Option<&PathBuf>) -> Option<PathBuf> {
    if let Some(path) = flag {
        return Some(path.clone());
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka.sh");
    [built, PathBuf::from("scripts/kafka.sh")]
        .into_iter()
        .find(|p| p.is_file())
}

/// The broker's version, from the Kafka jars next to `kafka.sh`'s cache
/// (the script pins it); `None` when unknown.
pub fn broker_version(script: Option<&Path>) -> Option<String> {
    let text = std::fs::read_to_string(script?).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("KAFKA_VERSION="))
        .map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unsettled_leader_or_coordinator_is_retried() {
        let error = |code| KafkaError::MetadataFetch(code);
        assert!(unsettled(&error(RDKafkaErrorCode::NotLeaderForPartition)));
        assert!(unsettled(&error(RDKafkaErrorCode::LeaderNotAvailable)));
        assert!(unsettled(&KafkaError::OffsetFetch(RDKafkaErrorCode::CoordinatorLoadInProgress)));
        assert!(!unsettled(&error(RDKafkaErrorCode::TopicAuthorizationFailed)));
        assert!(!unsettled(&error(RDKafkaErrorCode::BrokerTransportFailure)));

        let mut answers = vec![
            Ok(7),
            Err(KafkaError::MetadataFetch(RDKafkaErrorCode::LeaderNotAvailable)),
        ];
        assert_eq!(settled("a partition", || answers.pop().unwrap()).unwrap(), 7);
        let failed = settled::<i64>("a partition", || {
            Err(KafkaError::MetadataFetch(RDKafkaErrorCode::TopicAuthorizationFailed))
        });
        assert!(format!("{:#}", failed.unwrap_err()).starts_with("a partition: "));
    }

    #[test]
    fn parses_the_perf_test_summary() {
        let line = "20000 records sent, 14705.882353 records/sec (4.21 MB/sec), 512.43 ms avg latency, 1020.00 ms max latency, 480 ms 50th, 990 ms 95th, 1010 ms 99th, 1020 ms 99.9th.";
        let perf = parse_summary(line, String::new()).unwrap();
        assert_eq!(perf.records, 20000);
        assert!((perf.records_per_sec - 14705.882353).abs() < 1e-6);
        assert!((perf.mb_per_sec - 4.21).abs() < 1e-9);
        assert!((perf.avg_latency_ms - 512.43).abs() < 1e-9);
        assert!((perf.max_latency_ms - 1020.0).abs() < 1e-9);
    }
}

/// Bytes the broker keeps for the collector's topic and for the raw
/// producer's (log segments: batches as compressed, with their headers),
/// from `kafka.sh run org.apache.kafka.tools.LogDirsCommand`.
#[derive(Debug, Clone, Serialize)]
pub struct KafkaBytes {
    pub collector: Option<u64>,
    pub raw_producer: Option<u64>,
    /// Why they were not measured.
    pub note: Option<String>,
}

impl KafkaBytes {
    pub fn measure(script: Option<&Path>, brokers: &str, collector: &str, raw: &str) -> KafkaBytes {
        let measured = script
            .context("scripts/kafka.sh not found: give --kafka-script")
            .and_then(|script| Ok((topic_bytes(script, brokers, collector)?, topic_bytes(script, brokers, raw)?)));
        match measured {
            Ok((collector, raw_producer)) => {
                KafkaBytes { collector: Some(collector), raw_producer: Some(raw_producer), note: None }
            }
            Err(error) => {
                eprintln!("bench:   bytes on Kafka not measured: {error:#}");
                KafkaBytes { collector: None, raw_producer: None, note: Some(format!("{error:#}")) }
            }
        }
    }
}

/// The size of `topic`'s partitions in the broker's log directories.
fn topic_bytes(script: &Path, brokers: &str, topic: &str) -> anyhow::Result<u64> {
    let output = Command::new(script)
        .args(["run", "org.apache.kafka.tools.LogDirsCommand", "--bootstrap-server", brokers])
        .args(["--describe", "--topic-list", topic])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} run LogDirsCommand", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "LogDirsCommand failed: {}",
        String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("LogDirsCommand printed no JSON: {stdout}"))?;
    let report: serde_json::Value = serde_json::from_str(line).context("LogDirsCommand's JSON")?;
    let prefix = format!("{topic}-");
    let mut total = 0;
    let mut found = false;
    for dir in report["brokers"].as_array().into_iter().flatten().flat_map(|b| b["logDirs"].as_array().into_iter().flatten()) {
        for partition in dir["partitions"].as_array().into_iter().flatten() {
            let name = partition["partition"].as_str().unwrap_or_default();
            if name.strip_prefix(&prefix).is_some_and(|p| p.parse::<u32>().is_ok()) {
                total += partition["size"].as_u64().context("a partition without size")?;
                found = true;
            }
        }
    }
    anyhow::ensure!(found, "LogDirsCommand shows no partition of {topic}");
    Ok(total)
}
