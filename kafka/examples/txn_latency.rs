//! How long a small Kafka transaction takes to commit, with rdkafka's own
//! `commit_transaction` (which flushes by polling for up to 100 ms on a
//! `ThreadedProducer`) and with [`flush_now`] first. Needs the broker of
//! `scripts/kafka.sh` (`LOGWARDEN_KAFKA_BROKERS`, default 127.0.0.1:9092):
//!
//! ```sh
//! cargo run --release -p logwarden-kafka --example txn_latency
//! ```
//!
//! Prints, for each way, the median and 90th percentile of 40 commits of a
//! transaction holding one event and one position record.

use std::time::{Duration, Instant};

use logwarden_kafka::producer::flush_now;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

const COMMITS: usize = 40;

fn main() {
    let brokers = std::env::var("LOGWARDEN_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let run = std::process::id();
    for (way, flush_first) in [("rdkafka commit_transaction", false), ("flush_now, then commit_transaction", true)] {
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("transactional.id", format!("txn-latency-{run}-{flush_first}"))
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        producer.init_transactions(Duration::from_secs(30)).expect("init_transactions");
        let mut millis = Vec::with_capacity(COMMITS);
        for i in 0..COMMITS {
            producer.begin_transaction().expect("begin_transaction");
            let event = BaseRecord::<str, [u8]>::to("txn-latency-events").key("k").payload(b"an event");
            producer.send(event).map_err(|(e, _)| e).expect("send");
            let position = format!("{i}");
            let checkpoint = BaseRecord::<str, [u8]>::to("txn-latency-checkpoints").key("position").payload(position.as_bytes());
            producer.send(checkpoint).map_err(|(e, _)| e).expect("send");
            let started = Instant::now();
            if flush_first {
                flush_now(&producer, Duration::from_secs(30)).expect("flush");
            }
            producer.commit_transaction(Duration::from_secs(30)).expect("commit_transaction");
            millis.push(started.elapsed().as_secs_f64() * 1e3);
        }
        millis.sort_by(f64::total_cmp);
        println!("{way}: commit p50 {:.1} ms, p90 {:.1} ms", millis[COMMITS / 2], millis[COMMITS * 9 / 10]);
    }
}
