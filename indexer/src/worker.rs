//! One consumer of the indexer group, on its own thread: reads Kafka in
//! batches (`logwarden_kafka::fetch`), indexes into the partitions it owns,
//! commits on time, and hands partitions over cleanly in a rebalance.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use logwarden_config::{ClientKind, Config};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use logwarden_kafka::backlog::{BacklogSlot, cached_watermarks};
use logwarden_kafka::fetch::{FetchBatch, FetchQueue, Fetched};
use tokio_util::sync::CancellationToken;

use crate::dlq::{self, DeadLetters};
use crate::partition::{Outcome, PartitionIndexer, SplitSettings};
use crate::{CommitReason, IndexerError, metrics};

const POLL: Duration = Duration::from_millis(100);
/// Messages read from the fetch queue at once.
const FETCH_BATCH: usize = 256;
/// How often the owned partitions' lag is published (metrics, and the
/// backlog a file source in the same process holds back on).
const LAG_EVERY: Duration = Duration::from_millis(100);
/// How often due seals are looked for.
const SEAL_CHECK: Duration = Duration::from_secs(1);

/// The partitions a worker owns, shared between its poll loop and the
/// rebalance callback (which runs inside `poll`, on the same thread).
struct Owned {
    settings: Arc<SplitSettings>,
    topic: String,
    /// The topic's name for librdkafka (a valid name holds no NUL byte).
    topic_c: CString,
    /// Where assigned partitions' messages go, read in batches; set once
    /// the consumer exists, taken before it is dropped ([`Unroute`]).
    fetch: Mutex<Option<Arc<FetchQueue>>>,
    partitions: Mutex<HashMap<i32, PartitionIndexer>>,
    /// A failure inside a callback, raised by the poll loop.
    failure: Mutex<Option<IndexerError>>,
}

struct WorkerContext {
    owned: Arc<Owned>,
}

impl ClientContext for WorkerContext {
    fn error(&self, error: KafkaError, reason: &str) {
        // The end of a partition also comes here, without its partition;
        // the poll loop gets it with its partition (`PartitionEOF`).
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ConsumerContext for WorkerContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                if let Err(e) = self.assign(tpl) {
                    tracing::error!(error = %e, "cannot open assigned partitions");
                    self.owned.failure.lock().unwrap().get_or_insert(e);
                }
                if let Err(e) = consumer.assign(tpl) {
                    tracing::error!(error = %e, "assign failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.release(consumer, CommitReason::Rebalance);
                if let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "unassign failed");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance error; releasing partitions");
                self.release(consumer, CommitReason::Rebalance);
                let _ = consumer.unassign();
            }
        }
    }
}

impl WorkerContext {
    /// Opens each assigned partition's splits and seeks to where they end.
    fn assign(&self, tpl: &mut TopicPartitionList) -> Result<(), IndexerError> {
        let owned = &self.owned;
        let mut partitions = owned.partitions.lock().unwrap();
        let assigned: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        let fetch = owned.fetch.lock().unwrap().clone();
        for partition in assigned {
            // Before `assign` starts fetching: none of the partition's
            // messages reach the consumer's own queue.
            match &fetch {
                Some(fetch) => fetch.route(&owned.topic_c, partition)?,
                None => return Err(IndexerError::Kafka(KafkaError::Subscription(
                    "a partition was assigned with no fetch queue to route it to".into(),
                ))),
            }
            let indexer = PartitionIndexer::open(owned.settings.clone(), partition)?;
            let offset = match indexer.next_offset {
                Some(next) => Offset::Offset(next),
                None => Offset::Beginning,
            };
            tracing::info!(
                partition,
                ?offset,
                "partition assigned; resuming from the splits' payload"
            );
            tpl.set_partition_offset(&owned.topic, partition, offset)?;
            partitions.insert(partition, indexer);
        }
        Ok(())
    }

    /// Commits and lets go of every owned partition, once its seals are
    /// done (another consumer may open its splits next).
    fn release(&self, consumer: &BaseConsumer<Self>, reason: CommitReason) {
        let mut partitions = self.owned.partitions.lock().unwrap();
        commit_partitions(consumer, &self.owned.topic, partitions.values_mut(), reason);
        for (partition, indexer) in partitions.drain() {
            if let Err(error) = indexer.wait_sealed() {
                tracing::error!(partition, %error, "a seal failed; the next owner of the partition seals the split again");
            }
            // Its lag is the next owner's to report, not a stale value here.
            metrics::partition_lag(partition, 0);
            tracing::info!(partition, "partition released");
        }
    }
}

/// Commits the splits, then (only for lag dashboards) the group offsets.
fn commit_partitions<'a, C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partitions: impl Iterator<Item = &'a mut PartitionIndexer>,
    reason: CommitReason,
) {
    let mut tpl = TopicPartitionList::new();
    for indexer in partitions {
        if !indexer.has_pending() {
            continue;
        }
        match indexer.commit(reason) {
            Ok(()) => {
                if let Some(next) = indexer.next_offset {
                    let _ =
                        tpl.add_partition_offset(topic, indexer.partition, Offset::Offset(next));
                }
            }
            Err(e) => {
                metrics::error("commit");
                tracing::error!(partition = indexer.partition, error = %e, "split commit failed; uncommitted events will be read again");
            }
        }
    }
    if tpl.count() > 0 {
        if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
            tracing::debug!(error = %e, "group offset commit failed (informational only)");
        }
    }
}

/// The librdkafka setting bounding a consumer's fetched, not yet polled
/// messages, and the indexer's default for it (KiB); `[kafka.consumer]`
/// overrides it.
const PREFETCH_KEY: &str = "queued.max.messages.kbytes";
const PREFETCH_KBYTES: u32 = 16 * 1024;

/// Caught-up commits come at most every `commit_interval` / this.
const CAUGHT_UP_GAP_DIVISOR: u32 = 4;

/// Messages between two checks of the document and memory limits.
const LIMIT_CHECK_EVERY: u32 = 1024;
/// Messages read in a row between two reads of the clock: at 100k
/// events/s per worker, 0.3 ms.
const CLOCK_EVERY: usize = 32;

/// Commits splits over the document limit, and the largest split of the
/// partition holding the most when the worker is over its memory budget.
fn commit_full(partitions: &mut HashMap<i32, PartitionIndexer>, memory_budget: u64) {
    let pending: u64 = partitions.values().map(PartitionIndexer::pending_bytes).sum();
    let fullest = partitions
        .values()
        .max_by_key(|p| p.pending_bytes())
        .map(|p| p.partition);
    for indexer in partitions.values_mut() {
        let over_memory = pending >= memory_budget && Some(indexer.partition) == fullest;
        if let Err(e) = indexer.commit_if_full(over_memory) {
            metrics::error("commit");
            tracing::error!(partition = indexer.partition, error = %e, "split commit failed; uncommitted events will be read again");
        }
    }
}

/// The events the worker's partitions hold past what it read: the high
/// watermark from the client's cache minus the partition's next offset (0
/// once read to the end: what is left is markers, open or aborted
/// transactions); published per partition and summed into the worker's
/// share of the process's backlog.
fn publish_lag<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &CStr,
    partitions: &HashMap<i32, PartitionIndexer>,
    backlog: Option<&BacklogSlot>,
) {
    let mut total = 0;
    for indexer in partitions.values() {
        let Some((low, high)) = cached_watermarks(consumer.client(), topic, indexer.partition) else { continue };
        let next = indexer.next_offset.unwrap_or(low.max(0));
        let lag = if indexer.caught_up { 0 } else { u64::try_from(high - next).unwrap_or(0) };
        metrics::partition_lag(indexer.partition, lag);
        total += lag;
    }
    if let Some(slot) = backlog {
        slot.publish(total);
    }
}

/// Indexes one fetched record into its partition, or dead-letters it
/// with the reason it is not an event.
fn index_message(
    partitions: &mut HashMap<i32, PartitionIndexer>,
    message: &Fetched<'_>,
    dead_letters: &DeadLetters,
    shutdown: &CancellationToken,
) -> Result<(), IndexerError> {
    let Some(indexer) = partitions.get_mut(&message.partition()) else {
        tracing::warn!(partition = message.partition(), "message for a partition this worker does not own");
        return Ok(());
    };
    let produced = message.timestamp_ms().and_then(DateTime::from_timestamp_millis);
    let payload = message.payload();
    if let Outcome::Rejected(reason) = indexer.index(message.offset(), produced, payload)? {
        dead_letters.send(&dlq::origin(message), payload, &reason, shutdown)?;
        indexer.consumed(message.offset());
    }
    Ok(())
}

/// Takes the fetch queue out of the consumer's context when the worker
/// ends, so the queue is destroyed before the consumer is.
struct Unroute<'a>(&'a Owned);

impl Drop for Unroute<'_> {
    fn drop(&mut self) {
        self.0.fetch.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    }
}

pub fn run_worker(
    id: u32,
    config: &Config,
    settings: Arc<SplitSettings>,
    backlog: Option<BacklogSlot>,
    shutdown: &CancellationToken,
) -> Result<(), IndexerError> {
    let topic_c = CString::new(config.kafka.topic.as_str()).map_err(|_| {
        IndexerError::Kafka(KafkaError::Subscription("kafka.topic holds a NUL byte".into()))
    })?;
    let owned = Arc::new(Owned {
        settings,
        topic: config.kafka.topic.clone(),
        topic_c,
        fetch: Mutex::new(None),
        partitions: Mutex::new(HashMap::new()),
        failure: Mutex::new(None),
    });
    let dead_letters = DeadLetters::new(
        &config.kafka,
        &config.indexer.dlq_topic,
        &config.kafka.topic,
    )?;
    let mut client = logwarden_kafka::client_config(&config.kafka, ClientKind::Consumer);
    // librdkafka's default lets each consumer hold 64 MiB of fetched
    // messages (and more once decompressed): with one consumer per core
    // that was the largest share of the indexer's memory after the writers.
    if client.get(PREFETCH_KEY).is_none() {
        client.set(PREFETCH_KEY, PREFETCH_KBYTES.to_string());
    }
    let consumer: BaseConsumer<WorkerContext> = client
        .set("group.id", &config.indexer.group)
        .set("client.id", format!("logwarden-indexer-{id}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // Reaching the end of a partition (its last committed transaction)
        // is when what was read gets committed (`CommitReason::CaughtUp`).
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create_with_context(WorkerContext {
            owned: owned.clone(),
        })?;
    // SAFETY: the consumer outlives the queue: `fetch` is declared after
    // it (dropped first) and `_unroute` takes the context's clone first.
    let fetch = Arc::new(unsafe { FetchQueue::new(consumer.client().native_ptr()) }?);
    *owned.fetch.lock().unwrap() = Some(fetch.clone());
    let _unroute = Unroute(&owned);
    let mut batch = FetchBatch::with_capacity(FETCH_BATCH);
    consumer.subscribe(&[&config.kafka.topic])?;
    let commit_interval = config.indexer.commit_interval;
    let caught_up_gap = commit_interval / CAUGHT_UP_GAP_DIVISOR;
    // What this worker's splits may hold uncommitted, in payload bytes:
    // its share of `writer_memory_mb`, which bounds the process in total;
    // past it the largest split commits (`MemoryLimit`).
    let memory_budget =
        config.indexer.writer_memory_bytes as u64 / u64::from(config.indexer.workers.max(1));
    let mut since_limit_check = 0u32;
    let mut since_clock = 0usize;
    let mut last_seal_check = Instant::now();
    let mut last_lag = Instant::now();
    while !shutdown.is_cancelled() {
        // Rebalances (their callback runs here), errors, commit results:
        // messages go to the fetch queue.
        match consumer.poll(Duration::ZERO) {
            Some(Ok(message)) => {
                return Err(IndexerError::Kafka(KafkaError::Subscription(format!(
                    "a message of partition {} reached the consumer's own queue, not the fetch queue",
                    rdkafka::Message::partition(&message)
                ))));
            }
            Some(Err(e)) => tracing::warn!(error = %e, "kafka consume error"),
            None => {}
        }
        if let Some(e) = owned.failure.lock().unwrap().take() {
            return Err(e);
        }
        let read = fetch.read(&mut batch, POLL)?;
        let mut partitions = owned.partitions.lock().unwrap();
        for message in batch.iter() {
            match message.error() {
                None => {
                    index_message(&mut partitions, &message, &dead_letters, shutdown)?;
                    since_limit_check += 1;
                    if since_limit_check >= LIMIT_CHECK_EVERY {
                        since_limit_check = 0;
                        commit_full(&mut partitions, memory_budget);
                    }
                }
                Some(RDKafkaErrorCode::PartitionEOF) => {
                    if let Some(indexer) = partitions.get_mut(&message.partition()) {
                        indexer.caught_up = true;
                    }
                }
                Some(code) => tracing::warn!(
                    partition = message.partition(),
                    error = %KafkaError::MessageConsumption(code),
                    "kafka consume error"
                ),
            }
        }
        // Their fetch buffers go back to librdkafka before any commit.
        batch.clear();
        if read < FETCH_BATCH {
            // The queue ran empty: all that was fetched is indexed.
            for indexer in partitions.values_mut() {
                indexer.drained = true;
            }
        }
        // The clock, and what it makes due, is read once per
        // `CLOCK_EVERY` messages in a run of them (a read per message was
        // ~1 % of the indexer's CPU), and after every read without one.
        since_clock += read.max(1);
        if read > 0 && since_clock < CLOCK_EVERY {
            continue;
        }
        since_clock = 0;
        let now = Instant::now();
        let due = partitions
            .values()
            .any(|p| now.duration_since(p.last_commit) >= commit_interval && p.has_pending());
        if due {
            commit_partitions(
                &consumer,
                &owned.topic,
                partitions.values_mut(),
                CommitReason::Timeout,
            );
        } else if partitions.values().any(|p| p.caught_up_due(now, caught_up_gap)) {
            commit_partitions(
                &consumer,
                &owned.topic,
                partitions.values_mut().filter(|p| p.caught_up_due(now, caught_up_gap)),
                CommitReason::CaughtUp,
            );
        }
        if now.duration_since(last_lag) >= LAG_EVERY {
            last_lag = now;
            publish_lag(&consumer, &owned.topic_c, &partitions, backlog.as_ref());
        }
        if now.duration_since(last_seal_check) >= SEAL_CHECK {
            last_seal_check = now;
            dead_letters.poll();
            let now = Utc::now();
            for indexer in partitions.values_mut() {
                indexer.seal_due(now)?;
            }
        }
    }
    let mut partitions = owned.partitions.lock().unwrap();
    commit_partitions(
        &consumer,
        &owned.topic,
        partitions.values_mut(),
        CommitReason::Drained,
    );
    // Each partition's seals end before the worker does.
    let sealed: Result<Vec<()>, IndexerError> = partitions.drain().map(|(_, indexer)| indexer.wait_sealed()).collect();
    drop(partitions);
    consumer.unsubscribe();
    sealed?;
    tracing::info!(worker = id, "indexer worker stopped");
    Ok(())
}
