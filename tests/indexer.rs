//! Black-box tests of the indexer against the real broker: exactly once
//! under SIGKILL and rebalances, sealing into verifiable chains, the
//! dead-letter topic, retention and tamper detection through the CLI.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use rand::Rng;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message};
use serde_json::Value;
use support::{Logwarden, brokers, committed_reader, indexer_sections, temp_dir, unique};

const PARTITIONS: i32 = 2;

/// What the test producer got acknowledged, per partition.
#[derive(Default)]
struct Acked {
    events: BTreeMap<i32, u64>,
    garbage: u64,
    failed: u64,
}

struct Counting(Arc<Mutex<Acked>>);

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = Box<bool>;

    fn delivery(&self, result: &DeliveryResult<'_>, is_event: Box<bool>) {
        let mut acked = self.0.lock().unwrap();
        match result {
            Ok(message) if *is_event => *acked.events.entry(message.partition()).or_default() += 1,
            Ok(_) => acked.garbage += 1,
            Err(_) => acked.failed += 1,
        }
    }
}

/// Produces `total` messages over about `seconds`: events stamped now
/// (every 10th from 2015, for the late split), every 500th not JSON.
fn produce(topic: &str, total: u64, seconds: u64) -> Acked {
    let acked = Arc::new(Mutex::new(Acked::default()));
    let producer: ThreadedProducer<Counting> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create_with_context(Counting(acked.clone()))
        .unwrap();
    let per_tick = (total / (seconds * 10)).max(1);
    let mut sent = 0;
    while sent < total {
        for _ in 0..per_tick.min(total - sent) {
            let i = sent;
            sent += 1;
            let host = format!("web{:02}", i % 7);
            let (payload, is_event) = if i % 500 == 499 {
                (format!("<13>garbage {i} that is not an event"), false)
            } else {
                let time = if i % 10 == 3 {
                    "2015-12-10T06:55:46Z".to_string()
                } else {
                    (Utc::now() - chrono::Duration::milliseconds((i % 3000) as i64))
                        .to_rfc3339_opts(SecondsFormat::Micros, true)
                };
                let stream = if i % 2 == 0 { "auth" } else { "system" };
                let event = serde_json::json!({"@timestamp": time, "message": format!("event {i}"), "host.name": host, "stream": stream});
                (event.to_string(), true)
            };
            let mut record = BaseRecord::with_opaque_to(topic, Box::new(is_event))
                .payload(&payload)
                .key(&host);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    drop(producer);
    Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap()
}

/// A config with 4-second windows, so splits seal while the test runs.
fn write_config(dir: &Path, topic: &str, group: &str) -> PathBuf {
    let path = dir.join("logwarden.toml");
    let streams = r#"split_max_events = 2500
[streams.auth]
retention = "1d"
[streams.system]
retention = "1d"
legal_hold = true
legal_hold_reason = "test case 7"
"#;
    std::fs::write(&path, indexer_sections(dir, topic, group, PARTITIONS as u32) + streams).unwrap();
    path
}

fn logwarden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(args)
        .env("LOGWARDEN_KAFKA_BROKERS", brokers())
        .env("LOGWARDEN_LOG", "warn")
        .output()
        .unwrap()
}

fn verify_report(data: &Path) -> (bool, Value) {
    let output = logwarden(&["verify", "--data-dir", data.to_str().unwrap(), "--json"]);
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report)
}

/// Verified events per partition, once every split is sealed and every
/// chain verifies; panics with the last report after `timeout`. (A verify
/// that runs while a split is being sealed sees it sealed without its
/// manifest yet: such a report is only accepted as final when clean.)
fn wait_until_sealed(data: &Path, want_total: u64, timeout: Duration) -> BTreeMap<i32, u64> {
    let started = Instant::now();
    loop {
        let (ok, report) = verify_report(data);
        let clean = ok && report["problems"].as_array().unwrap().is_empty();
        let chains = report["chains"].as_array().unwrap();
        let mut per_partition = BTreeMap::new();
        for chain in chains {
            *per_partition
                .entry(chain["partition"].as_i64().unwrap() as i32)
                .or_default() += chain["verified_events"].as_u64().unwrap();
        }
        let active: u64 = chains
            .iter()
            .map(|c| c["active_splits"].as_u64().unwrap())
            .sum();
        let total: u64 = per_partition.values().sum();
        assert!(
            total <= want_total,
            "{total} verified events, more than the {want_total} produced: duplicates"
        );
        if clean && total == want_total && active == 0 {
            return per_partition;
        }
        assert!(
            started.elapsed() < timeout,
            "after {timeout:?}: {total}/{want_total} events sealed, {active} splits active: {report:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Distinct origin offsets in the dead-letter topic (it is at-least-once).
fn dead_lettered(topic: &str, want: u64) -> HashSet<(i64, i64)> {
    let consumer = committed_reader("dlq-reader", topic);
    let mut seen = HashSet::new();
    let started = Instant::now();
    while (seen.len() as u64) < want && started.elapsed() < Duration::from_secs(60) {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.unwrap();
            let body: Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
            assert!(
                body["reason"].as_str().unwrap().contains("not JSON"),
                "{body}"
            );
            assert!(
                body["payload"].as_str().unwrap().starts_with("<13>garbage"),
                "{body}"
            );
            seen.insert((
                body["origin"]["partition"].as_i64().unwrap(),
                body["origin"]["offset"].as_i64().unwrap(),
            ));
        }
    }
    seen
}

#[test]
fn sigkilled_indexer_seals_every_event_exactly_once_and_chains_verify() {
    let dir = temp_dir("idx-kill");
    let topic = unique("lw-idx-kill");
    let config = write_config(&dir, &topic, &unique("g"));
    let config = config.to_str().unwrap();
    let data = dir.join("data");
    support::create_topic(&topic, PARTITIONS as u32);
    let producer = {
        let topic = topic.clone();
        std::thread::spawn(move || produce(&topic, 24_000, 12))
    };
    let mut rng = rand::rng();
    for _ in 0..6 {
        let indexer = Logwarden::start(&["indexer", "--config", config]);
        std::thread::sleep(Duration::from_millis(rng.random_range(700..2500)));
        indexer.kill();
    }
    let indexer = Logwarden::start(&["indexer", "--config", config]);
    let acked = producer.join().unwrap();
    assert_eq!(acked.failed, 0);
    let events: u64 = acked.events.values().sum();
    let per_partition = wait_until_sealed(&data, events, Duration::from_secs(120));
    assert_eq!(
        per_partition, acked.events,
        "verified events per partition = acknowledged events per partition"
    );
    let dead = dead_lettered(&format!("{topic}.dlq"), acked.garbage);
    assert_eq!(
        dead.len() as u64,
        acked.garbage,
        "every message that is not an event is in the dead-letter topic"
    );

    // Search sees the same events.
    let api = Logwarden::start(&[
        "query-api",
        "--config",
        config,
        "--data-dir",
        data.to_str().unwrap(),
        "--http-addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(api.count("*"), events);
    assert_eq!(
        api.count("message:event AND stream:auth") + api.count("message:event AND stream:system"),
        events
    );
    api.stop();
    indexer.stop();

    // Retention a year from now: auth goes, its manifests stay; system is on legal hold.
    let future = (Utc::now() + chrono::Duration::days(365)).to_rfc3339();
    let output = logwarden(&["retention", "--config", config, "--now", &future, "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let deleted = report["deleted"].as_array().unwrap();
    assert!(
        !deleted.is_empty()
            && deleted
                .iter()
                .all(|s| s.as_str().unwrap().starts_with("auth/")),
        "{report}"
    );
    assert!(
        report["held"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.as_str().unwrap().starts_with("system/"))
    );
    let (ok, report) = verify_report(&data);
    assert!(ok, "{report:#}");
    let auth_deleted: u64 = report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["stream"] == "auth")
        .map(|c| c["deleted_splits"].as_u64().unwrap())
        .sum();
    assert_eq!(auth_deleted as usize, deleted.len());

    // A changed byte in a sealed split: verify fails and names it.
    let split = std::fs::read_dir(data.join("streams").join("system").join("p0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("meta.json").exists())
        .unwrap();
    let store = std::fs::read_dir(&split)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "store"))
        .unwrap();
    let mut bytes = std::fs::read(&store).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&store, bytes).unwrap();
    let output = logwarden(&["verify", "--data-dir", data.to_str().unwrap()]);
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let split_id = split.file_name().unwrap().to_str().unwrap();
    assert!(
        text.contains(&format!("BROKEN system/p0/{split_id}")) && text.contains("was modified"),
        "{text}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn two_indexers_hand_partitions_over_without_loss_or_duplicates() {
    let dir = temp_dir("idx-rebalance");
    let topic = unique("lw-idx-rebalance");
    let config = write_config(&dir, &topic, &unique("g"));
    let config = config.to_str().unwrap();
    support::create_topic(&topic, PARTITIONS as u32);
    let producer = {
        let topic = topic.clone();
        std::thread::spawn(move || produce(&topic, 20_000, 10))
    };
    let first = Logwarden::start(&["indexer", "--config", config, "--workers", "1"]);
    let second = Logwarden::start(&["indexer", "--config", config, "--workers", "1"]);
    std::thread::sleep(Duration::from_secs(3));
    second.stop(); // its partition moves to the first
    std::thread::sleep(Duration::from_secs(2));
    let second = Logwarden::start(&["indexer", "--config", config, "--workers", "1"]);
    let acked = producer.join().unwrap();
    assert_eq!(acked.failed, 0);
    let events: u64 = acked.events.values().sum();
    let per_partition = wait_until_sealed(&dir.join("data"), events, Duration::from_secs(120));
    assert_eq!(per_partition, acked.events);
    first.stop();
    second.stop();
}

/// At a steady trickle an indexer commits each partition as soon as it has
/// indexed what was fetched (at most every quarter of `commit_interval`),
/// not only when the interval is up. librdkafka's end-of-partition event
/// comes only with a fetch that found nothing new, and with a record every
/// 50 ms each fetch (waiting up to 100 ms) finds the next one first.
#[test]
fn a_steady_trickle_commits_once_read_not_once_the_interval_is_up() {
    let dir = temp_dir("idx-trickle");
    let topic = unique("lw-idx-trickle");
    // 8 s between timed commits: read-to-the-end commits at most every 2 s.
    let config = indexer_sections(&dir, &topic, &unique("g"), 1)
        .replace("commit_interval = \"100ms\"", "commit_interval = \"8s\"")
        .replace("split_window = \"4s\"", "split_window = \"1h\"");
    let config_path = dir.join("logwarden.toml");
    std::fs::write(&config_path, config).unwrap();
    support::create_topic(&topic, 1);
    let producer: ThreadedProducer<rdkafka::producer::DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut sent = 0u64;
    let mut send = |count: u64| {
        for _ in 0..count {
            let event = serde_json::json!({
                "@timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
                "message": format!("trickle {sent}"), "host.name": "web01", "stream": "auth",
            });
            producer.send(BaseRecord::<(), _>::to(&topic).payload(&event.to_string())).map_err(|(e, _)| e).unwrap();
            sent += 1;
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    };
    let (indexer, log) = Logwarden::start_logged(
        &["indexer", "--config", config_path.to_str().unwrap()],
        "warn,logwarden_indexer::partition=debug",
    );
    // The first record is committed once read: the consumer is running.
    send(1);
    log.wait_for("committed splits", 0, Duration::from_secs(60));
    let from = log.len();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(7) {
        send(5);
        std::thread::sleep(Duration::from_millis(50));
    }
    let during = log.with_message("committed splits", from);
    let reasons: Vec<&str> = during.iter().map(|r| r["reason"].as_str().unwrap_or("")).collect();
    assert!(
        reasons.iter().filter(|r| **r == "CaughtUp").count() >= 2,
        "over 7 s of a trickle, commits each time the consumer had read what was fetched, 2 s apart: {reasons:?}"
    );
    assert!(!reasons.contains(&"Timeout"), "no commit waited out the 8 s interval: {reasons:?}");
    // Every record is committed, once.
    let committed = || -> u64 { log.with_message("committed splits", 0).iter().map(|r| r["docs"].as_u64().unwrap()).sum() };
    let waited = Instant::now();
    while committed() < sent && waited.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(committed(), sent);
    indexer.stop();
}
