//! The collector: reads logs from their sources, parses them into normalized
//! events, and produces them to Kafka with at-least-once delivery.
//!
//! A source position (a file offset) moves only after Kafka acknowledged
//! every event before it, in order; when Kafka is unreachable, sources pause
//! instead of dropping.
//!
//! # Layout
//!
//! - `file`: the file source (globs, tailing, rotation, checkpoints).
//! - `parse`: re-export of the `logwarden-parse` crate (parsers, chain, routing).
//! - `kafka`: topic creation and the acknowledging producer.
//! - `metrics`: Prometheus counters of this crate.

pub mod file;
pub mod kafka;
mod metrics;
pub use logwarden_parse as parse;

use std::sync::Arc;

use anyhow::Context;
use logwarden_config::Config;
use tokio_util::sync::CancellationToken;

/// Runs the collector until `shutdown` is cancelled; returns once every
/// source has flushed and saved its checkpoints.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    kafka::ensure_topic(&config.kafka.brokers, &config.kafka.topic, config.kafka.partitions).await?;
    let producer = Arc::new(kafka::create_producer(&config.kafka).context("creating kafka producer")?);
    let host_name = gethostname::gethostname().to_string_lossy().into_owned();
    let source = file::FileSource::new(&config.collector, &config.kafka.topic, host_name)?;
    tracing::info!(inputs = config.collector.files.len(), topic = %config.kafka.topic, "collector started");
    let handle = file::source::spawn(source, producer, shutdown);
    tokio::task::spawn_blocking(move || handle.join())
        .await?
        .map_err(|_| anyhow::anyhow!("file source thread panicked"))??;
    tracing::info!("collector stopped");
    Ok(())
}
