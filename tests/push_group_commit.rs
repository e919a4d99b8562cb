//! Throughput of HTTP NDJSON ingest with many concurrent senders against
//! the real broker, with group commit and with one transaction per request
//! (how direct deliveries were committed before group commit), in one run.
//! A measurement, run by hand:
//!
//! ```sh
//! LW_SENDERS=32 LW_SECONDS=15 cargo test --release --test push_group_commit -- --ignored --nocapture
//! ```
//!
//! It asserts no timing; it does check that the events acknowledged are
//! the events in the topic (`read_committed`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use logwarden_collector::http::{IngestState, MemoryBudget};
use logwarden_config::RawConfig;
use logwarden_kafka::delivery::{Delivery, ExactlyOnce, GroupCommit};
use support::push::{INGEST_KEY, key_config, topic_message_count};
use support::{brokers, temp_dir, unique};
use tokio_util::sync::CancellationToken;

const LINES_PER_REQUEST: u64 = 50;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Measured {
    events_per_second: f64,
    requests: u64,
    acknowledged: u64,
}

fn measure(group: Option<GroupCommit>, senders: u64, seconds: u64) -> Measured {
    let brokers = brokers();
    let dir = temp_dir("push-group-commit");
    let topic = unique("lw-push-group-commit");
    let extra = format!(
        "data_dir = \"{}\"\n[kafka]\nbrokers = \"{brokers}\"\ntopic = \"{topic}\"\n[collector]\nid = \"{}\"\n[collector.spool]\nkafka_timeout = \"10s\"\n",
        dir.display(),
        unique("group-commit")
    );
    let text = std::fs::read_to_string(key_config(&dir, &extra)).unwrap();
    let config = RawConfig::from_toml(&text).unwrap().validate().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut identity = ExactlyOnce::of(&config.collector, "push");
    if let Some(group) = group {
        identity.group = group;
    }
    let shutdown = CancellationToken::new();
    let (delivery, addr) = runtime.block_on(async {
        logwarden_kafka::ensure_topic(&config.kafka, &topic, config.kafka.partitions).await.unwrap();
        let delivery = Delivery::open(&config.kafka, &config.collector.spool, identity).unwrap();
        delivery.spawn_drainer(shutdown.clone());
        let state = IngestState {
            delivery: delivery.clone(),
            keys: Arc::new(config.auth.clone()),
            metrics: None,
            parsers: config.collector.parse.parsers(),
            budget: MemoryBudget::new(config.collector.http.memory_budget, config.collector.http.max_body_bytes),
            body_timeout: config.collector.http.body_timeout,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(logwarden_collector::http::serve(listener, state, shutdown.clone()));
        (delivery, addr)
    });
    let url = format!("http://{addr}/api/v1/ingest/app");
    assert!(runtime.block_on(delivery.wait_ready(Duration::from_secs(120))), "the push producer starts");

    let acknowledged = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..senders)
        .map(|sender| {
            let (url, acknowledged, requests) = (url.clone(), acknowledged.clone(), requests.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let mut round = 0u64;
                while Instant::now() < deadline {
                    let body: String = (0..LINES_PER_REQUEST)
                        .map(|i| format!("Dec  1 12:00:00 web-{sender} app[{round}]: request {round} line {i} of sender {sender} done status=200\n"))
                        .collect();
                    round += 1;
                    let status = client.post(&url).bearer_auth(INGEST_KEY).body(body).send().unwrap().status();
                    assert_eq!(status, 200, "every request is acknowledged");
                    requests.fetch_add(1, Ordering::Relaxed);
                    acknowledged.fetch_add(LINES_PER_REQUEST, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert!(!delivery.spooling(), "nothing was spooled: every delivery went straight to kafka");
    shutdown.cancel();
    runtime.shutdown_timeout(Duration::from_secs(10));
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    let in_topic = topic_message_count(&brokers, &topic) as u64;
    assert_eq!(in_topic, acknowledged, "the events acknowledged are the events in the topic");
    std::fs::remove_dir_all(&dir).unwrap();
    Measured { events_per_second: acknowledged as f64 / elapsed, requests: requests.load(Ordering::Relaxed), acknowledged }
}

#[test]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
fn concurrent_ndjson_senders_with_and_without_group_commit() {
    let senders = env_or("LW_SENDERS", 32);
    let seconds = env_or("LW_SECONDS", 15);
    let single = measure(Some(GroupCommit::SINGLE), senders, seconds);
    let grouped = measure(None, senders, seconds);
    for (name, m) in [("one transaction per request", &single), ("group commit", &grouped)] {
        eprintln!(
            "{name}: {senders} senders x {LINES_PER_REQUEST} lines per request, {seconds} s: {} requests, {} events, {:.0} events/s",
            m.requests, m.acknowledged, m.events_per_second
        );
    }
    eprintln!("group commit / one transaction per request: {:.2}x", grouped.events_per_second / single.events_per_second);
}
