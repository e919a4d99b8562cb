//! The indexer's batched fetch (`logwarden_kafka::fetch::FetchQueue`)
//! against the real broker: every record of every routed partition read
//! once, in offset order, with its key, value and timestamp; each
//! partition's end reported after its last record; nothing left on the
//! consumer's own queue; batches of more than one message.

mod support;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::time::{Duration, Instant};

use logwarden_kafka::fetch::{FetchBatch, FetchQueue};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::{brokers, unique};

const PARTITIONS: i32 = 2;
const RECORDS: u64 = 3_000;
/// The records' timestamps: this plus the record's number, in ms.
const BASE_MS: i64 = 1_700_000_000_000;

/// Produces record `i` as value `value-i`, key `key-i`, timestamp
/// `BASE_MS + i`, to partition `i % PARTITIONS`.
fn produce(topic: &str) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .create()
        .unwrap();
    for i in 0..RECORDS {
        let (value, key) = (format!("value-{i}"), format!("key-{i}"));
        let record = BaseRecord::to(topic)
            .payload(&value)
            .key(&key)
            .partition((i % PARTITIONS as u64) as i32)
            .timestamp(BASE_MS + i as i64);
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

#[test]
fn a_fetch_queue_reads_every_routed_record_once_in_offset_order_in_batches() {
    let topic = unique("lw-fetch-queue");
    support::create_topic(&topic, PARTITIONS as u32);
    produce(&topic);

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("lw-fetch-queue-group"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    // SAFETY: the queue is declared after the consumer (dropped first).
    let fetch = unsafe { FetchQueue::new(consumer.client().native_ptr()) }.unwrap();
    let topic_c = CString::new(topic.as_str()).unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        fetch.route(&topic_c, partition).unwrap();
        assignment.add_partition_offset(&topic, partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();

    let mut batch = FetchBatch::with_capacity(64);
    let mut read: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut ended: BTreeMap<i32, usize> = BTreeMap::new();
    let mut largest_batch = 0;
    let started = Instant::now();
    while ended.len() < PARTITIONS as usize {
        assert!(started.elapsed() < Duration::from_secs(60), "partitions ended: {ended:?}, read {:?}", read.values().map(Vec::len).collect::<Vec<_>>());
        assert!(consumer.poll(Duration::ZERO).is_none_or(|m| m.is_err()), "a message reached the consumer's own queue");
        let n = fetch.read(&mut batch, Duration::from_millis(100)).unwrap();
        assert_eq!(n, batch.len());
        assert!(n <= 64, "a batch of {n} past its capacity");
        largest_batch = largest_batch.max(n);
        for message in batch.iter() {
            let partition = message.partition();
            match message.error() {
                None => {
                    assert!(!ended.contains_key(&partition), "a record of partition {partition} after its end");
                    let value = std::str::from_utf8(message.payload()).unwrap();
                    let i: u64 = value.strip_prefix("value-").unwrap().parse().unwrap();
                    assert_eq!(i % PARTITIONS as u64, partition as u64, "{value} read from partition {partition}");
                    assert_eq!(message.key(), Some(format!("key-{i}").as_bytes()));
                    assert_eq!(message.timestamp_ms(), Some(BASE_MS + i as i64));
                    read.entry(partition).or_default().push(message.offset());
                }
                Some(RDKafkaErrorCode::PartitionEOF) => {
                    ended.insert(partition, read.get(&partition).map_or(0, Vec::len));
                }
                Some(other) => panic!("consume error on partition {partition}: {other:?}"),
            }
        }
    }
    batch.clear();
    assert!(batch.is_empty());
    let per_partition = RECORDS / PARTITIONS as u64;
    for partition in 0..PARTITIONS {
        let offsets = &read[&partition];
        let expected: Vec<i64> = (0..per_partition as i64).collect();
        assert_eq!(offsets, &expected, "partition {partition}: every offset once, in order");
        assert_eq!(ended[&partition], per_partition as usize, "partition {partition} ended after its last record");
    }
    assert!(largest_batch > 1, "every read returned one message: nothing was batched");
    // Nothing more: a read waits, then returns none.
    assert_eq!(fetch.read(&mut batch, Duration::from_millis(200)).unwrap(), 0);
}
