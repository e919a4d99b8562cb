//! The Kafka plumbing both stages share: a read-committed consumer, a
//! transactional producer, and one transaction per batch that carries the
//! outputs and the consumer offsets together (exactly once from the input
//! topic to the output topics).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use logwarden_config::{ClientKind, KafkaConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message, OwnedMessage};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::error::KafkaError;

/// How long a transaction step may take before the stage restarts.
pub const TXN_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest record a stage writes (a checkpoint of many groups).
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Partitions taken away from this consumer by a rebalance, collected
/// during `poll` for the stage to drop their state.
#[derive(Default)]
pub struct Rebalances {
    revoked: std::sync::Mutex<Vec<(String, i32)>>,
}

impl Rebalances {
    /// The partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<(String, i32)> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl rdkafka::ClientContext for Rebalances {}

impl rdkafka::consumer::ConsumerContext for Rebalances {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &rdkafka::consumer::Rebalance<'_>) {
        if let rdkafka::consumer::Rebalance::Revoke(list) = rebalance {
            let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
            revoked.extend(list.elements().iter().map(|e| (e.topic().to_string(), e.partition())));
        }
    }
}

pub type StageConsumer = BaseConsumer<Rebalances>;

pub fn consumer(config: &KafkaConfig, group: &str, topic: &str) -> anyhow::Result<StageConsumer> {
    let mut client = logwarden_kafka::client_config(config, ClientKind::Consumer);
    // A killed detector's partitions move to the others within 10 s
    // (librdkafka's default is 45 s), unless [kafka.consumer] says otherwise.
    if !config.consumer.contains_key("session.timeout.ms") {
        client.set("session.timeout.ms", "10000");
    }
    let consumer: StageConsumer = client
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("fetch.message.max.bytes", MAX_RECORD_BYTES.to_string())
        .create_with_context(Rebalances::default())?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

pub fn transactional_producer(config: &KafkaConfig, transactional_id: &str) -> anyhow::Result<ThreadedProducer<DefaultProducerContext>> {
    let producer: ThreadedProducer<DefaultProducerContext> = logwarden_kafka::client_config(config, ClientKind::Producer)
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "zstd")
        .set("linger.ms", "5")
        .set("message.max.bytes", (MAX_RECORD_BYTES + 1024).to_string())
        .set("transaction.timeout.ms", "60000")
        .create()?;
    producer.init_transactions(TXN_TIMEOUT)?;
    Ok(producer)
}

/// The transactional id of a stage on this machine: stable across
/// restarts, so that a restarted detector fences the transaction its
/// killed predecessor left open (instead of every reader waiting for it to
/// time out). Two detectors on one host set `LOGWARDEN_INSTANCE` apart.
pub fn transactional_id(group: &str) -> String {
    let instance = std::env::var("LOGWARDEN_INSTANCE")
        .ok()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
    format!("{group}-{instance}")
}

/// Up to `max` messages, gathered for at most `wait`.
pub fn poll_batch(consumer: &StageConsumer, max: usize, wait: Duration) -> anyhow::Result<Vec<OwnedMessage>> {
    let mut batch = Vec::new();
    let deadline = Instant::now() + wait;
    while batch.len() < max {
        let left = deadline.saturating_duration_since(Instant::now());
        match consumer.poll(left) {
            Some(Ok(message)) => batch.push(owned(&message)),
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(e)) => return Err(e.into()),
            None if Instant::now() < deadline => {}
            None => break,
        }
    }
    Ok(batch)
}

fn owned(message: &BorrowedMessage<'_>) -> OwnedMessage {
    message.detach()
}

/// One transaction's outputs and the input positions they complete.
#[derive(Default)]
pub struct Outputs {
    pub records: Vec<(String, String, Vec<u8>)>,
    /// (topic, partition) → the next offset to read.
    pub positions: BTreeMap<(String, i32), i64>,
}

impl Outputs {
    pub fn record(&mut self, topic: &str, key: String, payload: Vec<u8>) {
        self.records.push((topic.to_string(), key, payload));
    }

    pub fn consumed(&mut self, message: &OwnedMessage) {
        self.positions.insert((message.topic().to_string(), message.partition()), message.offset() + 1);
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.positions.is_empty()
    }
}

/// Writes `outputs` and commits the consumer positions in one
/// transaction. On error the transaction is aborted and the caller must
/// restart from the committed positions.
pub fn commit(producer: &ThreadedProducer<DefaultProducerContext>, consumer: &StageConsumer, outputs: Outputs) -> anyhow::Result<()> {
    producer.begin_transaction()?;
    let result = (|| -> anyhow::Result<()> {
        for (topic, key, payload) in &outputs.records {
            send(producer, topic, key, payload)?;
        }
        if !outputs.positions.is_empty() {
            let mut offsets = TopicPartitionList::new();
            for ((topic, partition), next) in &outputs.positions {
                offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
            }
            let metadata = consumer
                .group_metadata()
                .ok_or_else(|| anyhow::anyhow!("the consumer has no group metadata"))?;
            producer.send_offsets_to_transaction(&offsets, &metadata, TXN_TIMEOUT)?;
        }
        // Delivered first: rdkafka's own flush in commit_transaction waits
        // ~100 ms on a threaded producer (see `flush_now`).
        let _ = logwarden_kafka::producer::flush_now(producer, TXN_TIMEOUT);
        producer.commit_transaction(TXN_TIMEOUT)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = producer.abort_transaction(TXN_TIMEOUT);
    }
    result
}

fn send(producer: &ThreadedProducer<DefaultProducerContext>, topic: &str, key: &str, payload: &[u8]) -> anyhow::Result<()> {
    let mut record = BaseRecord::to(topic).key(key).payload(payload);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(anyhow::anyhow!("producing to {topic}: {e}")),
        }
    }
}

/// The partitions of `topic` assigned to `consumer`.
pub fn assigned(consumer: &StageConsumer, topic: &str) -> Vec<i32> {
    consumer
        .assignment()
        .map(|list| list.elements().iter().filter(|e| e.topic() == topic).map(|e| e.partition()).collect())
        .unwrap_or_default()
}
