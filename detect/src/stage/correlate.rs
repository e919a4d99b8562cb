//! The correlation stage: consumes the hits topic (keyed by correlation
//! and group, so a group's windows live in one partition), keeps a
//! [`Correlator`] per partition, and writes alerts, the partition's
//! checkpoint (windows, reorder buffer, next offset) and the consumer
//! position in one transaction. After a crash the checkpoint and the
//! position agree, so no alert is lost and a replayed alert has its id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use logwarden_config::{ClientKind, Config};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::Offset;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::alert::Alert;
use crate::correlator::{Correlator, Saved};
use crate::hit::Hit;
use crate::live::LiveRules;
use crate::stage::kafka::{self, Outputs};

const BATCH: usize = 1000;

/// How long the hits of a partition may go quiet before the reorder
/// buffer is released without waiting for newer events.
pub const IDLE_FLUSH: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    /// The next hits offset to read.
    next_offset: i64,
    state: Saved,
}

struct Partition {
    next_offset: i64,
    correlator: Correlator,
    generation: u64,
    dirty: bool,
}

/// Runs until `shutdown`; a Kafka error restarts the stage from the
/// committed positions and checkpoints.
pub fn run(config: Config, rules: Arc<LiveRules>, shutdown: CancellationToken) -> anyhow::Result<()> {
    super::restarting("correlate", &shutdown, || run_once(&config, &rules, &shutdown))
}

fn checkpoint_key(config: &Config, partition: i32) -> String {
    format!("{}/{partition}", config.detect.hits_topic)
}

fn run_once(config: &Config, rules: &LiveRules, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let detect = &config.detect;
    let lateness = detect.allowed_lateness.as_secs() as i64;
    let capacity = detect.reorder_capacity;
    let consumer = kafka::consumer(&config.kafka, &detect.correlate_group, &detect.hits_topic)?;
    let producer = kafka::transactional_producer(&config.kafka, &kafka::transactional_id(&detect.correlate_group))?;
    let mut partitions: BTreeMap<i32, Partition> = BTreeMap::new();
    let mut last_hit = Instant::now();
    while !shutdown.is_cancelled() {
        // A checkpoint per batch: batches of up to half a second.
        let batch = kafka::poll_batch(&consumer, BATCH, Duration::from_millis(500))?;
        let (generation, current) = rules.get();
        // A revoked partition's state may move on elsewhere: when it comes
        // back, its checkpoint is read again.
        for (_, p) in consumer.context().take_revoked() {
            partitions.remove(&p);
        }
        let mut outputs = Outputs::default();
        let mut alerts: Vec<Alert> = Vec::new();
        // Partitions new to this member: their checkpoints, in one read.
        let new: BTreeSet<i32> = batch.iter().map(|m| m.partition()).filter(|p| !partitions.contains_key(p)).collect();
        let mut checkpoints = if new.is_empty() {
            BTreeMap::new()
        } else {
            read_checkpoints(config, new.iter().map(|p| (checkpoint_key(config, *p), *p)).collect())?
        };
        for message in &batch {
            let p = message.partition();
            let offset = message.offset();
            // A partition seen for the first time (or again after a
            // rebalance): its checkpoint.
            let state = match partitions.entry(p) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    let (next_offset, correlator) = match checkpoints.remove(&p) {
                        Some(checkpoint) => (checkpoint.next_offset, Correlator::restore(checkpoint.state, &current, lateness, capacity)),
                        None => (offset, Correlator::new(lateness, capacity)),
                    };
                    entry.insert(Partition { next_offset, correlator, generation, dirty: false })
                }
            };
            if offset < state.next_offset {
                continue; // in the checkpoint already
            }
            if state.generation != generation {
                state.correlator.reload(&current, lateness, capacity);
                state.generation = generation;
            }
            state.next_offset = offset + 1;
            state.dirty = true;
            outputs.consumed(message);
            match message.payload().map(serde_json::from_slice::<Hit>) {
                Some(Ok(hit)) => alerts.extend(state.correlator.push(&current, hit)),
                _ => {
                    metrics::counter!("logwarden_detect_undecodable_hits_total").increment(1);
                    tracing::error!(partition = p, offset, "hit not decodable; skipped");
                }
            }
        }
        if !batch.is_empty() {
            last_hit = Instant::now();
        } else if last_hit.elapsed() >= IDLE_FLUSH {
            for state in partitions.values_mut() {
                if state.correlator.held() > 0 {
                    alerts.extend(state.correlator.flush(&current));
                    state.dirty = true;
                }
            }
        }
        let dirty: Vec<i32> = partitions.iter().filter(|(_, s)| s.dirty).map(|(p, _)| *p).collect();
        if dirty.is_empty() {
            continue;
        }
        for alert in &alerts {
            let json = serde_json::to_vec(alert).expect("an alert serializes");
            outputs.record(&detect.alerts_topic, alert.id.clone(), json);
            outputs.record(&config.kafka.topic, alert.id.clone(), logwarden_event::wire::encode(&alert.to_event()));
        }
        metrics::counter!("logwarden_detect_alerts_total", "kind" => "correlation").increment(alerts.len() as u64);
        for p in dirty {
            let state = partitions.get_mut(&p).expect("listed above");
            let checkpoint = Checkpoint { next_offset: state.next_offset, state: state.correlator.save() };
            let json = serde_json::to_vec(&checkpoint).expect("a checkpoint serializes");
            outputs.record(&super::state_topic(config), checkpoint_key(config, p), json);
            state.dirty = false;
        }
        kafka::commit(&producer, &consumer, outputs)?;
    }
    Ok(())
}

/// Logs client errors except the end-of-partition signal the checkpoint
/// reader asks for.
struct QuietEof;

impl rdkafka::ClientContext for QuietEof {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF) {
            tracing::warn!(error = %error, reason, "kafka client error (checkpoint reader)");
        }
    }
}

impl rdkafka::consumer::ConsumerContext for QuietEof {}

/// The newest committed checkpoint of each partition in `keys` (checkpoint
/// key → partition), read from the compacted state topic.
fn read_checkpoints(config: &Config, keys: BTreeMap<String, i32>) -> anyhow::Result<BTreeMap<i32, Checkpoint>> {
    let topic = super::state_topic(config);
    let reader: BaseConsumer<QuietEof> = logwarden_kafka::client_config(&config.kafka, ClientKind::Consumer)
        .set("group.id", format!("{}-state-reader", config.detect.correlate_group))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .set("fetch.message.max.bytes", kafka::MAX_RECORD_BYTES.to_string())
        .create_with_context(QuietEof)?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment.add_partition_offset(&topic, 0, Offset::Beginning)?;
    reader.assign(&assignment)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut latest: BTreeMap<i32, Option<Vec<u8>>> = BTreeMap::new();
    loop {
        if Instant::now() > deadline {
            anyhow::bail!("reading checkpoints from {topic} took over 60 s");
        }
        match reader.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => {
                let partition = message.key().and_then(|k| std::str::from_utf8(k).ok()).and_then(|k| keys.get(k));
                if let Some(partition) = partition {
                    // A tombstone (no payload) forgets the partition's state.
                    latest.insert(*partition, message.payload().map(<[u8]>::to_vec));
                }
            }
            Some(Err(e)) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF) => break,
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
    }
    let mut checkpoints = BTreeMap::new();
    for (partition, bytes) in latest {
        let Some(bytes) = bytes else { continue };
        let checkpoint = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("checkpoint of {}/{partition} in {topic} is unreadable: {e}", config.detect.hits_topic))?;
        checkpoints.insert(partition, checkpoint);
    }
    Ok(checkpoints)
}
