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
//! - `schema`: the tantivy schema and event → document mapping (shared with
//!   the query API).
//! - `storage`: the on-disk layout of splits and their commit payload.
//! - `split`: one active split (a tantivy index and its writer).
//! - `partition`: a partition's active splits and exactly-once bookkeeping.
//! - `worker`: a consumer thread and its rebalance handling.
//! - `metrics`: Prometheus metrics of this crate.

mod error;
mod metrics;
mod partition;
pub mod schema;
mod split;
pub mod storage;
mod worker;

pub use error::IndexerError;

use logwarden_config::Config;
use tokio_util::sync::CancellationToken;

/// Why splits were committed; a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitReason {
    /// `commit_interval` elapsed.
    Timeout,
    /// Partitions are being handed to another consumer.
    Rebalance,
    /// Shutdown: everything consumed is committed before exit.
    Drained,
}

impl CommitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitReason::Timeout => "timeout",
            CommitReason::Rebalance => "rebalance",
            CommitReason::Drained => "drained",
        }
    }
}

/// Runs `indexer.workers` consumers until `shutdown`; each commits what it
/// consumed before returning.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let mut handles = Vec::new();
    for id in 0..config.indexer.workers {
        let config = config.clone();
        let shutdown = shutdown.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("indexer-{id}"))
                .spawn(move || {
                    let result = worker::run_worker(id, &config, &shutdown);
                    if let Err(e) = &result {
                        tracing::error!(worker = id, error = %e, "indexer worker failed");
                        shutdown.cancel();
                    }
                    result
                })?,
        );
    }
    tracing::info!(workers = config.indexer.workers, group = %config.indexer.group, topic = %config.kafka.topic, "indexer started");
    let results = tokio::task::spawn_blocking(move || handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()).await?;
    for result in results {
        result.map_err(|_| anyhow::anyhow!("indexer worker panicked"))??;
    }
    Ok(())
}
