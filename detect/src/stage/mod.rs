//! The detector's stages on Kafka, each on its own thread.
//!
//! - `kafka`: consumer, transactional producer, one transaction per batch.
//! - `detect`: events → detection rules → alerts and hits.
//! - `correlate`: hits → correlation windows → alerts, checkpointed.

pub mod correlate;
pub mod detect;
pub mod kafka;

use std::time::Duration;

use logwarden_config::Config;
use tokio_util::sync::CancellationToken;

/// The compacted topic of correlation checkpoints.
pub fn state_topic(config: &Config) -> String {
    format!("{}.state", config.detect.hits_topic)
}

/// Creates the detector's topics (hits: partitions = cores; alerts, their
/// dead letters and the checkpoints: one partition).
pub async fn ensure_topics(config: &Config) -> anyhow::Result<()> {
    let kafka = &config.kafka;
    let detect = &config.detect;
    logwarden_kafka::ensure_topic(kafka, &kafka.topic, kafka.partitions).await?;
    logwarden_kafka::ensure_topic_with(kafka, &detect.hits_topic, kafka.partitions, &[("max.message.bytes", "16778240")]).await?;
    logwarden_kafka::ensure_topic(kafka, &detect.alerts_topic, 1).await?;
    logwarden_kafka::ensure_topic(kafka, &detect.alerts_dlq_topic, 1).await?;
    logwarden_kafka::ensure_topic_with(
        kafka,
        &state_topic(config),
        1,
        // Compacted often: a restart reads the topic to find each
        // partition's newest checkpoint.
        &[
            ("cleanup.policy", "compact"),
            ("max.message.bytes", "16778240"),
            ("segment.ms", "600000"),
            ("min.cleanable.dirty.ratio", "0.1"),
            ("delete.retention.ms", "600000"),
        ],
    )
    .await?;
    Ok(())
}

/// Runs `stage` again after an error (Kafka away, a transaction fenced by
/// a rebalance), with backoff, until `shutdown`.
pub fn restarting(
    name: &str,
    shutdown: &CancellationToken,
    mut stage: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(500);
    loop {
        match stage() {
            Ok(()) => return Ok(()),
            Err(e) => {
                metrics::counter!("logwarden_detect_stage_restarts_total", "stage" => name.to_string()).increment(1);
                tracing::warn!(stage = name, error = format!("{e:#}"), "detector stage restarting from its committed position");
            }
        }
        let deadline = std::time::Instant::now() + backoff;
        while std::time::Instant::now() < deadline {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
