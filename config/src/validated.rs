//! The checked configuration that components receive.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::KeyRing;
use crate::collector::CollectorConfig;
use crate::push;
use crate::tls::TlsFiles;
use crate::retention::{StreamPolicy, validate_streams};

use crate::raw::RawConfig;
use crate::kafka::KafkaConfig;
use crate::{ConfigError, cpu_cores};

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub kafka: KafkaConfig,
    pub collector: CollectorConfig,
    pub indexer: IndexerConfig,
    /// `[index]`: what is indexed beyond the ECS fields.
    pub index: crate::index::IndexConfig,
    pub api: ApiConfig,
    pub detect: crate::detect::DetectConfig,
    /// `[telemetry] listen`: `/metrics`, `/healthz`, `/readyz` of this process.
    pub telemetry_listen: Option<SocketAddr>,
    /// Retention classes by stream; streams not listed are kept forever.
    pub streams: BTreeMap<String, StreamPolicy>,
    /// Keys that authenticate HTTP clients (ingest and query API).
    pub auth: KeyRing,
    pub compliance: ComplianceConfig,
}

/// `[compliance]`.
#[derive(Debug, Clone)]
pub struct ComplianceConfig {
    /// An audit export larger than this is refused.
    pub max_export_bytes: u64,
    /// `[compliance.review]`: the monthly access review.
    pub review: crate::review::ReviewConfig,
}

/// `compliance.max_export_bytes` when the config does not set it: 1 GiB.
pub const DEFAULT_MAX_EXPORT_BYTES: u64 = 1 << 30;

impl Config {
    /// The retention class of `stream`.
    pub fn stream_policy(&self, stream: &str) -> StreamPolicy {
        self.streams
            .get(stream)
            .cloned()
            .unwrap_or_else(StreamPolicy::keep_forever)
    }
}

#[derive(Debug, Clone)]
pub struct IndexerConfig {
    pub group: String,
    pub workers: u32,
    pub commit_interval: Duration,
    pub writer_memory_bytes: usize,
    pub split_window: Duration,
    pub seal_grace: Duration,
    pub split_max_events: u64,
    pub signing_key: PathBuf,
    pub dlq_topic: String,
    pub retention_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    pub max_hits: usize,
    pub query_timeout: Duration,
    pub tls: Option<TlsFiles>,
}

impl RawConfig {
    pub fn validate(self) -> Result<Config, ConfigError> {
        self.validate_with_env(&|name| std::env::var(name).ok())
    }

    /// [`RawConfig::validate`] reading secrets' environment variables
    /// through `read_env`.
    pub fn validate_with_env(self, read_env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let kafka = crate::kafka::validate(self.kafka, read_env)?;

        let auth = push::validate_auth(self.auth)?;
        let collector = crate::collector::validate(self.collector, &auth, &data_dir)?;

        let indexer = self.indexer;
        let commit_interval = indexer.commit_interval.unwrap_or(Duration::from_secs(1));
        if commit_interval.is_zero() {
            return Err(ConfigError::invalid(
                "indexer.commit_interval",
                "must be greater than zero",
            ));
        }
        let writer_memory_mb = indexer.writer_memory_mb.unwrap_or(64);
        if !(16..=4096).contains(&writer_memory_mb) {
            return Err(ConfigError::invalid(
                "indexer.writer_memory_mb",
                "must be between 16 and 4096 (tantivy needs at least 15 MB per writer)",
            ));
        }
        let split_window = indexer.split_window.unwrap_or(Duration::from_secs(3600));
        if split_window < Duration::from_secs(1)
            || split_window > Duration::from_secs(7 * 24 * 3600)
        {
            return Err(ConfigError::invalid(
                "indexer.split_window",
                "must be between 1s and 7d",
            ));
        }
        if split_window.subsec_nanos() != 0 {
            return Err(ConfigError::invalid(
                "indexer.split_window",
                "must be a whole number of seconds",
            ));
        }
        let seal_grace = indexer
            .seal_grace
            .unwrap_or(Duration::from_secs(300).min(split_window));
        let split_max_events = indexer.split_max_events.unwrap_or(20_000_000);
        if split_max_events == 0 {
            return Err(ConfigError::invalid(
                "indexer.split_max_events",
                "must be greater than zero",
            ));
        }
        let dlq_topic = indexer
            .dlq_topic
            .unwrap_or_else(|| "logwarden.dlq".to_string());
        if !crate::kafka::is_valid_topic(&dlq_topic) || dlq_topic == kafka.topic {
            return Err(ConfigError::invalid(
                "indexer.dlq_topic",
                format!("`{dlq_topic}` must be a valid Kafka topic name other than kafka.topic"),
            ));
        }
        let retention_interval = indexer
            .retention_interval
            .unwrap_or(Duration::from_secs(600));
        if retention_interval.is_zero() {
            return Err(ConfigError::invalid(
                "indexer.retention_interval",
                "must be greater than zero",
            ));
        }
        let indexer = IndexerConfig {
            group: indexer
                .group
                .unwrap_or_else(|| "logwarden-indexer".to_string()),
            workers: indexer.workers.filter(|&w| w > 0).unwrap_or_else(cpu_cores),
            commit_interval,
            writer_memory_bytes: writer_memory_mb * 1024 * 1024,
            split_window,
            seal_grace,
            split_max_events,
            signing_key: indexer
                .signing_key
                .unwrap_or_else(|| data_dir.join("keys").join("manifest-signing.pem")),
            dlq_topic,
            retention_interval,
        };
        let streams = validate_streams(self.streams)?;
        let detect = crate::detect::validate(self.detect, &kafka.topic, read_env)?;
        let telemetry_listen = match self.telemetry.listen {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                ConfigError::invalid("telemetry.listen", format!("`{text}` is not an address like 0.0.0.0:9464"))
            })?),
        };

        let api = self.api;
        let listen_text = api.listen.unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen = listen_text.parse().map_err(|_| {
            ConfigError::invalid(
                "api.listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
            )
        })?;
        let max_hits = api.max_hits.unwrap_or(10_000);
        if max_hits == 0 {
            return Err(ConfigError::invalid(
                "api.max_hits",
                "must be greater than zero",
            ));
        }

        let query_timeout = api.query_timeout.unwrap_or(Duration::from_secs(30));
        if query_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "api.query_timeout",
                "must be greater than zero",
            ));
        }
        let tls = push::validate_tls(api.tls);
        let api = ApiConfig { listen, max_hits, query_timeout, tls };
        let max_export_bytes = self.compliance.max_export_bytes.unwrap_or(DEFAULT_MAX_EXPORT_BYTES);
        if max_export_bytes == 0 {
            return Err(ConfigError::invalid("compliance.max_export_bytes", "must be greater than zero"));
        }
        let review = crate::review::validate(self.compliance.review)?;
        let index = crate::index::validate(self.index)?;
        let compliance = ComplianceConfig { max_export_bytes, review };
        Ok(Config {
            data_dir,
            kafka,
            collector,
            indexer,
            index,
            api,
            detect,
            telemetry_listen,
            streams,
            auth,
            compliance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        RawConfig::from_toml(text)?.validate()
    }

    #[test]
    fn defaults_fill_an_empty_file() {
        let config = load("").unwrap();
        assert_eq!(config.kafka.topic, "logwarden.events");
        assert_eq!(config.kafka.partitions, cpu_cores());
        assert_eq!(config.indexer.group, "logwarden-indexer");
        assert_eq!(config.indexer.commit_interval, Duration::from_secs(1));
        assert_eq!(
            config.collector.checkpoint_dir,
            PathBuf::from("data/checkpoints")
        );
    }

    #[test]
    fn max_export_bytes_defaults_and_refuses_zero() {
        assert_eq!(load("").unwrap().compliance.max_export_bytes, DEFAULT_MAX_EXPORT_BYTES);
        assert_eq!(load("[compliance]\nmax_export_bytes = 1000\n").unwrap().compliance.max_export_bytes, 1000);
        let err = load("[compliance]\nmax_export_bytes = 0\n").unwrap_err().to_string();
        assert!(err.contains("compliance.max_export_bytes"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load("[kafka]\nbroker = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("broker"), "{err}");
    }

    #[test]
    fn overriding_the_delivery_guarantee_is_refused() {
        let err = load("[kafka.producer]\nacks = \"1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kafka.producer.acks"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[kafka]\ncompression = \"snappy\"\n", "kafka.compression"),
            ("[kafka]\ntopic = \"a b\"\n", "kafka.topic"),
            ("[api]\nlisten = \"nowhere\"\n", "api.listen"),
            (
                "[indexer]\ncommit_interval = \"0s\"\n",
                "indexer.commit_interval",
            ),
            (
                "[[collector.files]]\ninclude = []\n",
                "collector.files[0].include",
            ),
            (
                "[[collector.files]]\ninclude = [\"/var/log/[a.log\"]\n",
                "collector.files[0].include",
            ),
            (
                "[[collector.files]]\ninclude = [\"/x\"]\nstream = \"A\"\n",
                "collector.files[0].stream",
            ),
        ];
        for (text, key) in cases {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err}");
        }
    }

    #[test]
    fn durations_are_human_text() {
        let config =
            load("[indexer]\ncommit_interval = \"250ms\"\n[kafka]\nlinger = \"20ms\"\n").unwrap();
        assert_eq!(config.indexer.commit_interval, Duration::from_millis(250));
        assert_eq!(config.kafka.linger, Duration::from_millis(20));
    }

    #[test]
    fn environment_overrides_file_values() {
        let mut raw =
            RawConfig::from_toml("data_dir = \"/a\"\n[kafka]\nbrokers = \"h:1\"\n").unwrap();
        raw.apply_env(|name| match name {
            "LOGWARDEN_KAFKA_BROKERS" => Some("k:9".into()),
            _ => None,
        });
        let config = raw.validate().unwrap();
        assert_eq!(config.kafka.brokers, "k:9");
        assert_eq!(config.data_dir, PathBuf::from("/a"));
    }
}

#[cfg(test)]
mod example_file {
    #[test]
    fn the_example_config_is_valid() {
        let text = include_str!("../logwarden.example.toml");
        let config = crate::RawConfig::from_toml(text)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(config.collector.files.len(), 1);
        assert_eq!(config.collector.syslog.len(), 2);
        assert!(config.collector.http.listen.is_some());
        assert_eq!(config.auth.keys().len(), 1);
        assert_eq!(config.collector.parse.chain, logwarden_parse::ParserKind::AUTO);
        assert_eq!(config.collector.parse.syslog_timezone, logwarden_parse::Tz::UTC);
        assert_eq!(config.collector.delivery, crate::Delivery::ExactlyOnce);
    }

    #[test]
    fn the_example_names_the_delivery_mode_and_its_other_choice() {
        let text = include_str!("../logwarden.example.toml");
        assert!(text.contains("\ndelivery = \"exactly_once\""), "[collector] delivery is in the example");
        let text = text.replace("\ndelivery = \"exactly_once\"", "\ndelivery = \"at_least_once\"");
        let config = crate::RawConfig::from_toml(&text).unwrap().validate().unwrap();
        assert_eq!(config.collector.delivery, crate::Delivery::AtLeastOnce);
    }

    #[test]
    fn the_commented_multiline_example_is_valid() {
        let text = include_str!("../logwarden.example.toml").replace("# multiline = ", "multiline = ");
        let config = crate::RawConfig::from_toml(&text).unwrap().validate().unwrap();
        let multiline = config.collector.files[0].multiline.as_ref().expect("the example sets multiline");
        assert!(multiline.start.is_match("2026-11-24 21:00:00 ERROR boom"));
        assert!(!multiline.start.is_match("\tat com.example.Service.handle(Service.java:10)"));
    }
}
