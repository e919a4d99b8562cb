//! The events an indexer in this process has yet to read from the topic,
//! shared with a file source in the same process (`logwarden run`), which
//! holds back while there are more than its bound.
//!
//! Without it, a `run` that tails more than it can index on its cores
//! (a backfill of old files, a burst) fills Kafka ahead of the indexer: a
//! line written now is searchable only after everything produced before
//! it, seconds or minutes later (the bench measured 4.6 s at p50 on a
//! 200 MB corpus). Held back, the files keep the backlog instead, where it
//! costs nothing, and each round of the file source still reads every
//! file: a new line in a quiet file waits for one round, not for the
//! backfill. Push sources (syslog, HTTP ingest) are never held back: their
//! senders cannot wait.
//!
//! Each indexer consumer publishes the lag of the partitions it owns (the
//! end offset librdkafka last saw, minus the next offset to read); the sum
//! is the backlog. An indexer that owns no partition (another process of
//! the group has them) publishes nothing, so a file source never waits on
//! partitions nobody here reads.

use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::client::{Client, ClientContext};
use rdkafka::types::RDKafkaErrorCode;

/// The backlog of this process's indexer consumers; cloned into the
/// indexer (one [`BacklogSlot`] per consumer) and the file source.
#[derive(Clone, Debug, Default)]
pub struct IndexBacklog {
    slots: Arc<Mutex<Vec<Arc<AtomicU64>>>>,
}

impl IndexBacklog {
    pub fn new() -> IndexBacklog {
        IndexBacklog::default()
    }

    /// A consumer's own share of the backlog, zero until it publishes.
    pub fn slot(&self) -> BacklogSlot {
        let slot = Arc::new(AtomicU64::new(0));
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).push(slot.clone());
        BacklogSlot(slot)
    }

    /// Events the consumers have yet to read, as last published.
    pub fn events(&self) -> u64 {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.iter().map(|slot| slot.load(Ordering::Relaxed)).sum()
    }
}

/// One consumer's lag; it counts for nothing once dropped (the consumer
/// stopped, its partitions go to another).
#[derive(Debug)]
pub struct BacklogSlot(Arc<AtomicU64>);

impl BacklogSlot {
    pub fn publish(&self, events: u64) {
        self.0.store(events, Ordering::Relaxed);
    }
}

impl Drop for BacklogSlot {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// A partition's low and high watermarks as the client last saw them in
/// fetch responses (no request of its own: cheap enough for every poll);
/// `None` before the first fetch. The high watermark counts records of
/// transactions still open, and of aborted ones, which a `read_committed`
/// consumer never gets: a partition it has read to the end (`PartitionEOF`)
/// has nothing left, whatever the watermark says.
pub fn cached_watermarks<C: ClientContext>(client: &Client<C>, topic: &CStr, partition: i32) -> Option<(i64, i64)> {
    let (mut low, mut high) = (-1_i64, -1_i64);
    // SAFETY: the pointer is the live client `client` owns; the topic is
    // NUL-terminated and outlives the call; `low` and `high` are valid for
    // writes. rd_kafka_get_watermark_offsets only reads the client's cache.
    let code = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            client.native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (RDKafkaErrorCode::from(code) == RDKafkaErrorCode::NoError && high >= 0).then_some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_is_the_sum_of_the_consumers_still_running() {
        let backlog = IndexBacklog::new();
        assert_eq!(backlog.events(), 0, "no consumer: nothing to wait for");
        let (first, second) = (backlog.slot(), backlog.slot());
        first.publish(30_000);
        second.publish(12_000);
        assert_eq!(backlog.clone().events(), 42_000);
        second.publish(0);
        assert_eq!(backlog.events(), 30_000);
        drop(first);
        assert_eq!(backlog.events(), 0, "a stopped consumer's lag no longer counts");
    }
}
