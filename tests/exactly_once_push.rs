//! Exactly once for pushed events and under fencing, against real brokers:
//!
//! - HTTP ingest (NDJSON and `_bulk`) and TCP syslog, acknowledged while
//!   Kafka is down (so they wait in the spool), and the collector dies
//!   between Kafka's commit of a spool segment and the segment's deletion
//!   (a test hook aborts the process exactly there): after a restart every
//!   acknowledged event is in the topic exactly once.
//! - Two collectors with the same `collector.id`: the second fences the
//!   first, which stops with an error; nothing is sent twice.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use reqwest::blocking::Client;
use support::exactly::*;
use support::push::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(180);

/// Every event's `message` in `topic`, counted, as a `read_committed`
/// consumer reads the whole topic.
fn committed_messages(brokers: &str, topic: &str) -> HashMap<String, usize> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("lw-push-count"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30)).unwrap();
    let partitions = metadata.topics()[0].partitions().len() as i32;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut at_end = std::collections::HashSet::new();
    let mut counts = HashMap::new();
    let started = Instant::now();
    while at_end.len() < partitions as usize {
        assert!(started.elapsed() < TIMEOUT, "reading {topic} does not end");
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                let event = logwarden_event::wire::decode(message.payload().unwrap_or_default()).expect("an event");
                *counts.entry(event.message).or_insert(0) += 1;
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    counts
}

fn wait_messages(brokers: &str, topic: &str, want: &[String]) -> HashMap<String, usize> {
    let started = Instant::now();
    loop {
        let counts = committed_messages(brokers, topic);
        if want.iter().all(|m| counts.contains_key(m)) || started.elapsed() > TIMEOUT {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn assert_each_once(counts: &HashMap<String, usize>, want: &[String]) {
    let missing: Vec<&String> = want.iter().filter(|m| !counts.contains_key(*m)).collect();
    let twice: Vec<(&String, &usize)> = counts.iter().filter(|(_, c)| **c > 1).collect();
    let other: Vec<&String> = counts.keys().filter(|m| !want.contains(m)).collect();
    eprintln!("{} acknowledged events, {} in the topic, {} missing, {} duplicated", want.len(), counts.values().sum::<usize>(), missing.len(), twice.len());
    assert!(missing.is_empty(), "{} missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
    assert!(twice.is_empty(), "{} duplicated, e.g. {:?}", twice.len(), &twice[..twice.len().min(5)]);
    assert!(other.is_empty(), "events nobody sent: {other:?}");
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

fn post_ndjson(client: &Client, collector: &Collector, ids: &[String]) -> u16 {
    let body: String = ids.iter().map(|id| format!("{id}\n")).collect();
    let response = client.post(collector.url("/api/v1/ingest/app")).bearer_auth(INGEST_KEY).body(body).send().unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        eprintln!("ndjson answer {status}: {}", response.text().unwrap_or_default());
    }
    status
}

fn post_bulk(client: &Client, collector: &Collector, ids: &[String]) -> u16 {
    let body: String = ids.iter().map(|id| format!("{{\"index\":{{\"_index\":\"app\"}}}}\n{{\"message\":\"{id}\"}}\n")).collect();
    let response = client
        .post(collector.url("/_bulk"))
        .bearer_auth(INGEST_KEY)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let reply: serde_json::Value = response.json().unwrap();
    assert_eq!(reply["errors"], false, "{reply}");
    status
}

#[test]
fn pushed_events_acknowledged_then_a_crash_between_commit_and_spool_cleanup_are_in_kafka_exactly_once() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("exactly-once-push");
    // Small segments: the spool holds several, the crash comes after the first.
    let config = key_config(&dir, "[collector.spool]\nkafka_timeout = \"2s\"\nmax_bytes = 1048576\n");
    let data = dir.join("data");
    let topic = unique("lw-exactly-once-push");
    let (config_s, data_s) = (config.display().to_string(), data.display().to_string());
    let args = [
        "collector", "--config", &config_s, "--data-dir", &data_s, "--topic", &topic, "--syslog", "tcp://127.0.0.1:0",
        "--http-ingest", "127.0.0.1:0",
    ];
    let expect = ["syslog tcp", "http ingest"];
    // The hook fires once this file exists (after Kafka stopped).
    let armed = dir.join("crash-armed").display().to_string();
    let crash = [("LOGWARDEN_TEST_CRASH_AFTER_SPOOL_COMMIT", armed.as_str())];
    let client = Client::new();

    // Kafka up: straight to Kafka, in transactions.
    let mut collector = Collector::start_with_env(&args, &brokers, &expect, &crash);
    let mut sent = ids("ndjson-up", 30);
    assert_eq!(post_ndjson(&client, &collector, &sent), 200);
    let bulk_up = ids("bulk-up", 30);
    assert_eq!(post_bulk(&client, &collector, &bulk_up), 200);
    sent.extend(bulk_up);
    assert_each_once(&wait_messages(&brokers, &topic, &sent), &sent);

    // Kafka down: acknowledged into the spool.
    kafka.stop();
    std::fs::write(&armed, b"").unwrap();
    for round in 0..6 {
        let lines = ids(&format!("ndjson-down{round}"), 20);
        assert_eq!(post_ndjson(&client, &collector, &lines), 200, "spooled, not refused");
        sent.extend(lines);
        let docs = ids(&format!("bulk-down{round}"), 20);
        assert_eq!(post_bulk(&client, &collector, &docs), 200, "spooled, not refused");
        sent.extend(docs);
    }
    let tcp = ids("tcp-down", 100);
    {
        let mut stream = TcpStream::connect(collector.addr("syslog tcp")).unwrap();
        for id in &tcp {
            writeln!(stream, "<13>Jan  1 00:00:00 spoolhost pushtest: {id}").unwrap();
        }
        stream.flush().unwrap();
    }
    sent.extend(tcp);
    let started = Instant::now();
    while collector.metric("logwarden_collector_spool_records_total{op=\"write\"}") < 340.0 {
        assert!(started.elapsed() < TIMEOUT, "every event pushed while kafka is down reaches the spool");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Kafka back: the drainer commits the first segment and the process
    // dies before deleting it.
    kafka.restart();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = collector.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < TIMEOUT, "the collector reached the crash hook");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "aborted by the hook: {status}");
    let spool_dir = data.join("spool");
    let segments = || std::fs::read_dir(&spool_dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "seg")).count();
    assert!(segments() > 0, "the committed segment is still on disk");

    // Restarted: the committed segment is not sent again, the rest is sent.
    collector = Collector::start(&args, &brokers, &expect);
    let counts = wait_messages(&brokers, &topic, &sent);
    let started = Instant::now();
    while segments() > 0 {
        assert!(started.elapsed() < TIMEOUT, "the spool is drained");
        std::thread::sleep(Duration::from_millis(200));
    }
    collector.stop();
    assert_each_once(&counts, &sent);
    assert_each_once(&committed_messages(&brokers, &topic), &sent);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_collector_with_the_same_id_fences_the_first_and_nothing_is_sent_twice() {
    let brokers = shared_brokers();
    let dir = temp_dir("exactly-once-fence");
    let logs = dir.join("logs");
    let topic = unique("lw-exactly-once-fence");
    let id = unique("twin");
    let mut writer = RotatingWriter::new(&logs);
    let glob = writer.glob();
    let (data_a, data_b) = (dir.join("a").display().to_string(), dir.join("b").display().to_string());
    writer.write(300, Duration::from_millis(5));
    let env = [("LOGWARDEN_COLLECTOR_ID", id.as_str())];
    let mut first = Proc::spawn(&["collector", "--input", &glob, "--topic", &topic, "--data-dir", &data_a], &brokers, &env);
    let counts = wait_committed(&brokers, &topic, 300, TIMEOUT);
    assert!((0..300).all(|n| counts.contains_key(&n)), "the first collector sends");

    // Same id, another data directory (another host, say): it takes over.
    let second = Proc::spawn(&["collector", "--input", &glob, "--topic", &topic, "--data-dir", &data_b], &brokers, &env);
    let mut written = 300;
    let status = loop {
        writer.write(20, Duration::from_millis(20));
        written += 20;
        if let Some(status) = first.try_wait() {
            break status;
        }
        assert!(written < 50_000, "the first collector was not fenced");
    };
    assert!(!status.success(), "the fenced collector stops with an error: {status}");
    writer.write(300, Duration::from_millis(5));
    let total = writer.next;
    let counts = wait_committed(&brokers, &topic, total, TIMEOUT);
    assert!(second.stop().success(), "the second collector stops cleanly");
    assert_exactly_once("topic (read_committed) after fencing", &counts, total);
    assert_exactly_once("topic (read_committed) after fencing", &committed_counts(&brokers, &topic), total);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The log line of a collector whose push producer was fenced.
const FENCED: &str = "FENCED: another process started with this collector's id (collector.id); events are refused and this one stops";

#[test]
fn a_second_collector_with_the_same_id_fences_the_first_s_push_producer_and_nothing_acknowledged_is_lost_or_doubled() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    let brokers = shared_brokers();
    let dir = temp_dir("exactly-once-push-fence");
    let config = key_config(&dir, "");
    let topic = unique("lw-push-fence");
    let id = unique("twin-push");
    let env = [("LOGWARDEN_COLLECTOR_ID", id.as_str())];
    let config_s = config.display().to_string();
    let (data_a, data_b) = (dir.join("a").display().to_string(), dir.join("b").display().to_string());
    let args = |data: &str| -> Vec<String> {
        ["collector", "--config", &config_s, "--data-dir", data, "--topic", &topic, "--http-ingest", "127.0.0.1:0"]
            .map(String::from)
            .to_vec()
    };
    let (args_a, args_b) = (args(&data_a), args(&data_b));
    let (mut first, log) =
        Collector::start_logged(&args_a.iter().map(String::as_str).collect::<Vec<_>>(), &brokers, &["http ingest"], &env);
    let url = first.url("/api/v1/ingest/app");

    // Concurrent senders keep the first collector's push producer busy:
    // each request's events are answered 200 (acknowledged) or not.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..6)
        .map(|sender| {
            let (stop, acknowledged, refused, answered, url) =
                (stop.clone(), acknowledged.clone(), refused.clone(), answered.clone(), url.clone());
            std::thread::spawn(move || {
                let client = Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
                let mut round = 0;
                while !stop.load(Ordering::Acquire) {
                    let lines = ids(&format!("fence-s{sender}-r{round}"), 10);
                    round += 1;
                    let body: String = lines.iter().map(|id| format!("{id}\n")).collect();
                    let status = client.post(&url).bearer_auth(INGEST_KEY).body(body).send().map(|r| r.status().as_u16());
                    match status {
                        Ok(200) => acknowledged.lock().unwrap().extend(lines),
                        Ok(_) | Err(_) => refused.lock().unwrap().extend(lines),
                    }
                    answered.fetch_add(1, Ordering::AcqRel);
                    if status.is_err() {
                        // The collector is gone: nothing more to send to it.
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 300 {
        assert!(started.elapsed() < TIMEOUT, "the first collector acknowledges pushed events");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The same id, another data directory (another host, say): it takes over.
    let second = Collector::start_with_env(&args_b.iter().map(String::as_str).collect::<Vec<_>>(), &brokers, &["http ingest"], &env);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < TIMEOUT, "the first collector was not fenced");
        std::thread::sleep(Duration::from_millis(100));
    };
    stop.store(true, Ordering::Release);
    for sender in senders {
        sender.join().unwrap();
    }
    assert!(!status.success(), "the fenced collector stops with an error: {status}");
    assert!(!log.with_message(FENCED, 0).is_empty(), "the fenced collector logs FENCED");
    let answers_after_exit = answered.load(Ordering::Acquire);

    // The second collector serves; then every acknowledged event is in
    // the topic once, and no refused one twice.
    let client = Client::new();
    let after = ids("fence-after", 50);
    assert_eq!(post_ndjson(&client, &second, &after), 200);
    let mut want = acknowledged.lock().unwrap().clone();
    want.extend(after);
    let refused = refused.lock().unwrap().clone();
    let counts = wait_messages(&brokers, &topic, &want);
    second.stop();
    eprintln!("{} requests answered; {} events acknowledged, {} refused", answers_after_exit, want.len(), refused.len());
    let missing: Vec<&String> = want.iter().filter(|m| !counts.contains_key(*m)).collect();
    assert!(missing.is_empty(), "acknowledged events lost: {} e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
    let twice: Vec<(&String, &usize)> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "events in the topic twice: {} e.g. {:?}", twice.len(), &twice[..twice.len().min(5)]);
    let unknown: Vec<&String> = counts.keys().filter(|m| !want.contains(m) && !refused.contains(m)).collect();
    assert!(unknown.is_empty(), "events nobody sent: {unknown:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
