//! The indexer: a Kafka consumer group that writes events into tantivy
//! splits, exactly once.
//!
//! Each split's tantivy commit payload holds its partition's next offset;
//! on assignment a worker seeks to what its splits say, so a crash or a
//! rebalance neither loses nor duplicates an event. Offsets are committed to
//! the group afterwards, for lag dashboards only.
//!
//! # Layout
//!
//! Schema, on-disk layout, manifests, keys and verification are shared
//! with the readers of splits and live in `logwarden-store`.
//!
//! - `window`: which split an event belongs to; when a window closes.
//! - `split`: one active split (a tantivy index and its writer).
//! - `partition`: a partition's streams and exactly-once bookkeeping
//!   (which offset each split holds, where consumption resumes).
//! - `stream`: one stream of a partition: its active splits and which are
//!   due for sealing.
//! - `sealer`: seals splits off the consumer thread (merge, facts,
//!   manifest at the head of the stream's chain).
//! - `retention`: deletes expired sealed splits, keeping their manifests.
//! - `dlq`: the dead-letter topic for messages that cannot be indexed.
//! - `worker`: a consumer thread and its rebalance handling.
//! - `metrics`: Prometheus metrics of this crate.

mod dlq;
mod error;
mod metrics;
mod partition;
pub mod retention;
mod sealer;
mod split;
mod stream;
mod window;
mod worker;

pub use error::IndexerError;
/// The open split's merge policy, public for the bench's measurement of it.
pub use split::OpenSplitMerges;

use std::sync::Arc;

use logwarden_config::Config;
use tokio_util::sync::CancellationToken;

use crate::partition::SplitSettings;

/// Why splits were committed; a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitReason {
    /// `commit_interval` elapsed: splits with new documents are committed.
    Timeout,
    /// A split holds `MAX_PENDING_DOCS` uncommitted documents.
    DocLimit,
    /// The worker's uncommitted events reached its share of
    /// `indexer.writer_memory_mb`: its largest split is committed.
    MemoryLimit,
    /// The consumer read everything its partition holds (end of
    /// partition: for a `read_committed` consumer, the last committed
    /// transaction), or everything librdkafka had fetched of it: what it
    /// read is committed now rather than at the end of `commit_interval`,
    /// at most every quarter of it.
    CaughtUp,
    /// Partitions are being handed to another consumer.
    Rebalance,
    /// Shutdown: everything consumed is committed before exit.
    Drained,
}

impl CommitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitReason::Timeout => "timeout",
            CommitReason::DocLimit => "doc_limit",
            CommitReason::MemoryLimit => "memory_limit",
            CommitReason::CaughtUp => "caught_up",
            CommitReason::Rebalance => "rebalance",
            CommitReason::Drained => "drained",
        }
    }

    /// Whether every split's payload moves to the partition's next offset,
    /// idle ones included (so a restart resumes right there).
    fn advances_idle_splits(self) -> bool {
        matches!(self, CommitReason::Rebalance | CommitReason::Drained)
    }
}

/// Runs `indexer.workers` consumers until `shutdown`; each commits what it
/// consumed before returning. Each publishes its partitions' lag into
/// `backlog` when given (a file source in the same process reads it).
pub async fn run(
    config: Config,
    backlog: Option<logwarden_kafka::IndexBacklog>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let signer = logwarden_store::keys::ManifestSigner::load_or_create(&config.indexer.signing_key)?;
    let settings = Arc::new(SplitSettings {
        data_dir: config.data_dir.clone(),
        schema: logwarden_store::schema::LogSchema::with_free_fields(
            logwarden_store::schema::FreeFields::new(&config.index.free_fields),
        ),
        writer_memory: config.indexer.writer_memory_bytes,
        windowing: window::Windowing::new(config.indexer.split_window, config.indexer.seal_grace),
        max_events: config.indexer.split_max_events,
        signer,
    });
    let mut handles = Vec::new();
    handles.push(retention::spawn(
        config.clone(),
        settings.clone(),
        shutdown.clone(),
    )?);
    for id in 0..config.indexer.workers {
        let config = config.clone();
        let shutdown = shutdown.clone();
        let settings = settings.clone();
        let slot = backlog.as_ref().map(logwarden_kafka::IndexBacklog::slot);
        handles.push(
            std::thread::Builder::new()
                .name(format!("indexer-{id}"))
                .spawn(move || {
                    let result = worker::run_worker(id, &config, settings, slot, &shutdown)
                        .map_err(anyhow::Error::from);
                    if let Err(e) = &result {
                        tracing::error!(worker = id, error = %e, "indexer worker failed");
                        shutdown.cancel();
                    }
                    result
                })?,
        );
    }
    tracing::info!(workers = config.indexer.workers, group = %config.indexer.group, topic = %config.kafka.topic, "indexer started");
    let results = tokio::task::spawn_blocking(move || {
        handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
    })
    .await?;
    for result in results {
        result.map_err(|_| anyhow::anyhow!("indexer thread panicked"))??;
    }
    Ok(())
}
