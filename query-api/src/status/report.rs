//! The status report and where it comes from.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use logwarden_config::{Config, KafkaConfig};
use serde::{Deserialize, Serialize};

use super::{kafka, store};

/// What the status is read from: taken from the configuration once.
#[derive(Debug, Clone)]
pub struct StatusSources {
    pub data_dir: PathBuf,
    pub kafka: KafkaConfig,
    /// The events topic.
    pub topic: String,
    /// Consumer groups on the events topic whose lag is shown: the
    /// indexers', and the detector's when rules are configured.
    pub groups: Vec<String>,
    /// Dead-letter topics: the indexer's and the alert hooks'.
    pub dead_letter_topics: Vec<String>,
    /// Spools, by name: pushed events and audit records.
    pub spools: Vec<(String, PathBuf)>,
    pub spool_max_bytes: u64,
    /// How long each Kafka request may take.
    pub kafka_timeout: Duration,
}

impl StatusSources {
    pub fn of(config: &Config) -> StatusSources {
        let mut groups = vec![config.indexer.group.clone()];
        if !config.detect.rules.is_empty() {
            groups.push(config.detect.group.clone());
        }
        StatusSources {
            data_dir: config.data_dir.clone(),
            kafka: config.kafka.clone(),
            topic: config.kafka.topic.clone(),
            groups,
            dead_letter_topics: vec![config.indexer.dlq_topic.clone(), config.detect.alerts_dlq_topic.clone()],
            spools: vec![
                ("ingest".into(), config.collector.spool.dir.clone()),
                ("audit".into(), config.data_dir.join("spool-audit")),
            ],
            spool_max_bytes: config.collector.spool.max_bytes,
            kafka_timeout: Duration::from_secs(3),
        }
    }
}

/// The pipeline's health at `generated_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineStatus {
    pub generated_at: String,
    pub kafka: KafkaStatus,
    /// Lag of each consumer group on the events topic, per partition.
    pub consumer_groups: Vec<GroupLag>,
    /// Messages held in each dead-letter topic.
    pub dead_letters: Vec<DeadLetters>,
    /// Events indexed recently, per stream (by `event.ingested`).
    pub ingest: IngestRates,
    pub spools: Vec<SpoolUse>,
    pub seals: Seals,
    /// The last full `logwarden verify --data-dir` (`DATA_DIR/verify/last.json`);
    /// `null` when none ran.
    pub last_verify: Option<serde_json::Value>,
    /// What could not be read, one sentence each.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KafkaStatus {
    pub brokers: String,
    pub topic: String,
    pub reachable: bool,
    /// Why it is not.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupLag {
    pub group: String,
    pub topic: String,
    /// Sum over partitions; a partition the group never committed counts
    /// its whole retained log.
    pub total_lag: i64,
    pub partitions: Vec<PartitionLag>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionLag {
    pub partition: i32,
    /// The group's committed offset; `null` when it never committed.
    pub committed: Option<i64>,
    pub low_watermark: i64,
    pub high_watermark: i64,
    pub lag: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetters {
    pub topic: String,
    /// Messages retained in the topic (high minus low watermark); `null`
    /// when the topic does not exist (nothing was ever dead-lettered).
    pub messages: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IngestRates {
    /// The window the rates are measured over.
    pub window_seconds: u64,
    pub streams: Vec<StreamRate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamRate {
    pub stream: String,
    /// Events whose `event.ingested` is within the last minute.
    pub last_1m: u64,
    /// Within the last `window_seconds`.
    pub last_window: u64,
    /// `last_window / window_seconds`.
    pub per_second: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpoolUse {
    pub name: String,
    pub dir: String,
    pub used_bytes: u64,
    pub max_bytes: u64,
    pub segments: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Seals {
    /// The newest `sealed_at` of any manifest.
    pub last_sealed_at: Option<String>,
    /// Per stream and partition: the newest manifest.
    pub partitions: Vec<LastSeal>,
    /// Splits taking events (no manifest yet).
    pub open_splits: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastSeal {
    pub stream: String,
    pub partition: i32,
    pub split_id: String,
    pub sealed_at: String,
    pub seal_reason: String,
    pub event_count: u64,
}

/// Gathers the status (blocking: Kafka requests and file reads).
pub fn gather(sources: &StatusSources, now: DateTime<Utc>) -> PipelineStatus {
    let mut problems = Vec::new();
    let kafka = kafka::read(sources, &mut problems);
    let ingest = store::ingest_rates(&sources.data_dir, now, &mut problems);
    let spools = sources
        .spools
        .iter()
        .map(|(name, dir)| store::spool_use(name, dir, sources.spool_max_bytes))
        .collect();
    let seals = store::seals(&sources.data_dir, &mut problems);
    let last_verify = match logwarden_compliance::records::LastVerify::read(&sources.data_dir) {
        Ok(record) => record.and_then(|r| serde_json::to_value(r).ok()),
        Err(e) => {
            problems.push(format!("last verify: {e}"));
            None
        }
    };
    PipelineStatus {
        generated_at: logwarden_store::facts::rfc3339(now),
        kafka: kafka.status,
        consumer_groups: kafka.groups,
        dead_letters: kafka.dead_letters,
        ingest,
        spools,
        seals,
        last_verify,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With Kafka away and nothing stored, the status says so in its
    /// fields and problems instead of failing.
    #[test]
    fn kafka_away_and_an_empty_store_are_reported_not_failed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        std::fs::create_dir_all(&spool).unwrap();
        std::fs::write(spool.join("00000001.seg"), vec![0u8; 1000]).unwrap();
        let sources = StatusSources {
            data_dir: dir.path().to_path_buf(),
            kafka: KafkaConfig::for_brokers("127.0.0.1:1"),
            topic: "logwarden.events".into(),
            groups: vec!["logwarden-indexer".into()],
            dead_letter_topics: vec!["logwarden.dlq".into()],
            spools: vec![("ingest".into(), spool), ("audit".into(), dir.path().join("spool-audit"))],
            spool_max_bytes: 1 << 20,
            kafka_timeout: Duration::from_millis(300),
        };
        let status = gather(&sources, Utc::now());
        assert!(!status.kafka.reachable);
        assert!(status.kafka.error.as_deref().unwrap_or("").contains("127.0.0.1:1"), "{:?}", status.kafka);
        assert!(status.consumer_groups.is_empty() && status.dead_letters.is_empty());
        assert!(!status.problems.is_empty());
        assert_eq!((status.spools[0].used_bytes, status.spools[0].segments), (1000, 1));
        assert_eq!(status.spools[1].used_bytes, 0);
        assert!(status.ingest.streams.is_empty());
        assert_eq!(status.seals.last_sealed_at, None);
        assert!(status.last_verify.is_none());
        let json = serde_json::to_value(&status).unwrap();
        for key in ["generated_at", "kafka", "consumer_groups", "dead_letters", "ingest", "spools", "seals", "last_verify", "problems"] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
