//! A direct push delivery whose commit outcome is unknown: the commit
//! (`EndTxn`) is answered with retriable errors for longer than the
//! delivery's patience (`collector.spool.kafka_timeout`, 10 s here), so when the
//! delivery gives up, the transaction may be committed or not. That fault
//! comes from librdkafka's mock cluster (`rdkafka::mocking`): a real broker
//! cannot be made to hold a commit's answer back.
//!
//! The mock keeps no transaction markers, so a `read_committed` consumer of
//! it sees every record produced: a record's count in the topic is how
//! many times it was produced, which is what "nothing duplicated" is about
//! here (a real broker is used for everything else, `exactly_once_push.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use logwarden_config::{Config, RawConfig};
use logwarden_kafka::delivery::{Delivered, Delivery, ExactlyOnce};
use logwarden_kafka::spool::Record;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

const EVENTS: &str = "lw-mock-events";
const CHECKPOINTS: &str = "lw-mock-checkpoints";

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("lw-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &Path, brokers: &str, spool_max_bytes: u64) -> Config {
    let text = format!(
        "data_dir = \"{}\"\n[kafka]\nbrokers = \"{brokers}\"\ntopic = \"{EVENTS}\"\n\
         [collector]\nid = \"mock-collector\"\ncheckpoints_topic = \"{CHECKPOINTS}\"\n\
         [collector.spool]\nkafka_timeout = \"10s\"\nmax_bytes = {spool_max_bytes}\n",
        dir.display()
    );
    RawConfig::from_toml(&text).unwrap().validate().unwrap()
}

fn records(prefix: &str, n: usize, padding: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record { key: "mock".into(), payload: format!("{prefix}-{i:03} {}", "x".repeat(padding)).into_bytes() })
        .collect()
}

/// How many times each payload's first word was produced to `EVENTS`.
fn produced(brokers: &str) -> HashMap<String, usize> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "lw-mock-count")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(EVENTS, 0, Offset::Beginning).unwrap();
    consumer.assign(&assignment).unwrap();
    let mut counts = HashMap::new();
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(60), "reading the mock topic does not end");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let text = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
                let id = text.split(' ').next().unwrap_or_default().to_string();
                *counts.entry(id).or_insert(0) += 1;
            }
            Some(Err(KafkaError::PartitionEOF(_))) => return counts,
            Some(Err(error)) => panic!("reading the mock topic: {error}"),
            None => {}
        }
    }
}

/// Spool segments and the notes beside them.
fn spool_files(dir: &Path) -> (usize, usize) {
    let count = |ext: &str| {
        std::fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == ext)).count()
    };
    (count("seg"), count("note"))
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(120), "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Many retriable answers to the commit: librdkafka retries the commit
/// for longer than the delivery waits.
fn hold_commits(mock: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>) {
    mock.request_errors(RDKafkaApiKey::EndTxn, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS; 500]);
}

/// A mock cluster with the events and checkpoints topics, and a push
/// delivery on it whose producer has started and whose drainer runs.
struct Started {
    mock: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    brokers: String,
    dir: PathBuf,
    spool_dir: PathBuf,
    delivery: Delivery,
    shutdown: CancellationToken,
    drainer: tokio::task::JoinHandle<()>,
}

async fn started(name: &str, spool_max_bytes: u64) -> Started {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(EVENTS, 1, 1).unwrap();
    mock.create_topic(CHECKPOINTS, 1, 1).unwrap();
    let brokers = mock.bootstrap_servers();
    let dir = temp_dir(name);
    let config = config(&dir, &brokers, spool_max_bytes);
    let spool_dir = config.collector.spool.dir.clone();
    let delivery = Delivery::open(&config.kafka, &config.collector.spool, ExactlyOnce::of(&config.collector, "push")).unwrap();
    let shutdown = CancellationToken::new();
    let drainer = delivery.spawn_drainer(shutdown.clone());
    assert!(delivery.wait_ready(Duration::from_secs(120)).await, "the producer starts on the mock");
    Started { mock, brokers, dir, spool_dir, delivery, shutdown, drainer }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_delivery_whose_commit_outcome_is_unknown_is_spooled_with_its_nonce_and_never_sent_twice() {
    let Started { mock, brokers, dir, spool_dir, delivery, shutdown, drainer } = started("commit-outcome", 64 * 1024 * 1024).await;

    assert_eq!(delivery.deliver(records("before", 20, 10)).await.unwrap(), Delivered::Kafka, "the mock commits");

    // The commit's answer is held back past the delivery's patience: the
    // events may be in Kafka or not. They are not acknowledged as in
    // Kafka: they are kept in the spool, with the transaction's nonce.
    hold_commits(&mock);
    let doubtful = delivery.deliver(records("doubt", 20, 10)).await.expect("kept in the spool, so acknowledged");
    assert_eq!(doubtful, Delivered::Spool);
    mock.clear_request_errors(RDKafkaApiKey::EndTxn);

    // The next producer (started by the drainer) finds the nonce among the
    // committed positions (the mock shows every record), so the spooled
    // copy is deleted unsent.
    wait_until("the in-doubt segment is settled", || spool_files(&spool_dir) == (0, 0) && !delivery.spooling()).await;
    assert_eq!(delivery.deliver(records("after", 20, 10)).await.unwrap(), Delivered::Kafka, "straight to kafka again");
    shutdown.cancel();
    drainer.await.unwrap();

    let counts = produced(&brokers);
    for prefix in ["before", "doubt", "after"] {
        for i in 0..20 {
            let id = format!("{prefix}-{i:03}");
            assert_eq!(counts.get(&id), Some(&1), "{id} produced once: {counts:?}");
        }
    }
    assert_eq!(counts.values().sum::<usize>(), 60, "nothing else produced: {counts:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_delivery_whose_commit_outcome_is_unknown_and_that_the_spool_cannot_keep_is_refused() {
    let Started { mock, dir, delivery, shutdown, drainer, .. } = started("commit-outcome-full", 4096).await;
    assert_eq!(delivery.deliver(records("before", 5, 10)).await.unwrap(), Delivered::Kafka);

    hold_commits(&mock);
    let error = delivery
        .deliver(records("doubt", 10, 1000))
        .await
        .expect_err("events that may be lost are not acknowledged (the sender gets a 503 and retries)");
    assert!(error.is_spool_full(), "{error}");
    mock.clear_request_errors(RDKafkaApiKey::EndTxn);
    shutdown.cancel();
    drainer.await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A commit answered with `INVALID_TXN_STATE` (a broker restarting under
/// load answered so in CI) leaves the producer in a fatal state that is
/// not a fence: the delivery keeps the events, a new producer takes over,
/// and the collector goes on. Before, every fatal error was taken for a
/// fence, and the collector stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_error_that_is_not_a_fence_restarts_the_producer_and_loses_nothing() {
    let Started { mock, brokers, dir, spool_dir, delivery, shutdown, drainer } = started("commit-fatal", 64 * 1024 * 1024).await;
    assert_eq!(delivery.deliver(records("before", 20, 10)).await.unwrap(), Delivered::Kafka);

    mock.request_errors(RDKafkaApiKey::EndTxn, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_TXN_STATE]);
    let kept = delivery.deliver(records("fatal", 20, 10)).await.expect("kept, not refused as fenced");
    assert_eq!(kept, Delivered::Spool, "not acknowledged as in kafka: its commit failed");

    wait_until("the spooled events sent by a new producer", || spool_files(&spool_dir) == (0, 0) && !delivery.spooling())
        .await;
    assert_eq!(delivery.deliver(records("after", 20, 10)).await.unwrap(), Delivered::Kafka, "straight to kafka again");
    shutdown.cancel();
    drainer.await.unwrap();

    let counts = produced(&brokers);
    for prefix in ["before", "fatal", "after"] {
        for i in 0..20 {
            let id = format!("{prefix}-{i:03}");
            assert_eq!(counts.get(&id), Some(&1), "{id} produced once: {counts:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
