//! Kafka outages against a private broker (scripts/kafka.sh instance) that
//! the test stops and starts: pushed events go to the spool, survive a
//! collector kill -9, and reach Kafka when it returns; a full spool says so.

mod support;

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::Value;
use support::push::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(180);

fn collector_args<'a>(config: &'a str, data: &'a str, topic: &'a str) -> Vec<&'a str> {
    vec![
        "collector",
        "--config",
        config,
        "--data-dir",
        data,
        "--topic",
        topic,
        "--syslog",
        "tcp://127.0.0.1:0",
        "--http-ingest",
        "127.0.0.1:0",
    ]
}

fn send_tcp(collector: &Collector, ids: &[String]) {
    let mut stream = TcpStream::connect(collector.addr("syslog tcp")).unwrap();
    for id in ids {
        writeln!(stream, "<13>Jan  1 00:00:00 spoolhost spooltest: {id}").unwrap();
    }
    stream.flush().unwrap();
}

fn post_lines(
    client: &Client,
    collector: &Collector,
    ids: &[String],
) -> reqwest::blocking::Response {
    let body: String = ids.iter().map(|id| format!("{id}\n")).collect();
    client
        .post(collector.url("/api/v1/ingest/app"))
        .bearer_auth(INGEST_KEY)
        .body(body)
        .send()
        .unwrap()
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

fn distinct_messages(events: &[Value]) -> HashSet<String> {
    events
        .iter()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

/// Polls `condition` until it holds; panics with `what` after TIMEOUT.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn spool_segments(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "seg"))
            })
            .count()
    })
}

#[test]
fn kafka_outage_spools_survives_kill_9_and_drains_without_loss() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("spool-outage");
    let config = key_config(&dir, "[collector.spool]\nkafka_timeout = \"2s\"\n");
    let data = dir.join("data");
    let topic = unique("lw-spool");
    let args = collector_args(config.to_str().unwrap(), data.to_str().unwrap(), &topic);
    let expect = ["syslog tcp", "http ingest"];
    let client = Client::new();

    // Kafka up: straight through.
    let collector = Collector::start(&args, &brokers, &expect);
    let (tcp_a, http_a) = (ids("tcp-a", 20), ids("http-a", 20));
    send_tcp(&collector, &tcp_a);
    assert_eq!(
        post_lines(&client, &collector, &http_a).status().as_u16(),
        200
    );
    let before: HashSet<String> = tcp_a.iter().chain(&http_a).cloned().collect();
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| {
        before.is_subset(&distinct_messages(e))
    });
    assert!(
        before.is_subset(&distinct_messages(&events)),
        "phase A reached kafka"
    );

    // Kafka down: accepted into the spool.
    kafka.stop();
    let (tcp_b, http_b) = (ids("tcp-b", 100), ids("http-b", 100));
    send_tcp(&collector, &tcp_b);
    for chunk in http_b.chunks(10) {
        let response = post_lines(&client, &collector, chunk);
        assert_eq!(response.status().as_u16(), 200, "spooled, not refused");
    }
    wait_until("200 records written to the spool", || {
        collector.metric("logwarden_collector_spool_records_total{op=\"write\"}") >= 200.0
    });
    assert!(collector.metric("logwarden_collector_spool_bytes") > 0.0);
    let spool_dir = data.join("spool");
    assert!(spool_segments(&spool_dir) > 0, "segments on disk");

    // A crash with Kafka still down, then Kafka and the collector come back.
    collector.kill();
    kafka.restart();
    let collector = Collector::start(&args, &brokers, &expect);
    let all: HashSet<String> = before
        .iter()
        .chain(&tcp_b)
        .chain(&http_b)
        .cloned()
        .collect();
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| {
        all.is_subset(&distinct_messages(e))
    });
    let got = distinct_messages(&events);
    let missing: Vec<&String> = all.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "lost {} events, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(
        got.len(),
        all.len(),
        "nothing but the sent events: {:?}",
        got.difference(&all).collect::<Vec<_>>()
    );
    wait_until("the drained spool to be deleted", || {
        spool_segments(&spool_dir) == 0
    });
    collector.stop();
}

#[test]
fn full_spool_answers_503_and_counts_it() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("spool-full");
    let config = key_config(
        &dir,
        "[collector.spool]\nkafka_timeout = \"1s\"\nmax_bytes = 4096\n",
    );
    let data = dir.join("data");
    let topic = unique("lw-spoolfull");
    let mut args = collector_args(config.to_str().unwrap(), data.to_str().unwrap(), &topic);
    args.extend(["--syslog", "udp://127.0.0.1:0"]);
    let client = Client::new();
    let collector = Collector::start(
        &args,
        &brokers,
        &["syslog tcp", "http ingest", "syslog udp"],
    );
    assert_eq!(
        post_lines(&client, &collector, &ids("up", 1))
            .status()
            .as_u16(),
        200
    );

    kafka.stop();
    let mut accepted = Vec::new();
    let mut refused = None;
    for i in 0..100 {
        let batch = ids(&format!("down-{i:03}"), 5);
        let response = post_lines(&client, &collector, &batch);
        match response.status().as_u16() {
            200 => accepted.extend(batch),
            503 => {
                refused = Some(response.json::<Value>().unwrap());
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let refused = refused.expect("a 4 KiB spool fills within 100 requests");
    assert_eq!(refused["error"]["code"], "spool_full", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("spool is full")
    );
    assert!(
        !accepted.is_empty(),
        "the spool took events before it filled"
    );
    assert!(collector.metric("logwarden_collector_spool_full_total") >= 1.0);
    assert_eq!(
        client
            .get(collector.url("/readyz"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        503
    );
    // UDP cannot be paused: once the spool has no room even for one
    // datagram, its messages are dropped and counted.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dropped = || {
        collector.metric(
            "logwarden_collector_dropped_total{source=\"syslog_udp\",reason=\"spool_full\"}",
        )
    };
    let mut sent = 0;
    wait_until("a udp drop to be counted", || {
        if sent < 200 {
            let line = format!("<13>Jan  1 00:00:00 h udp: datagram {sent}");
            udp.send_to(line.as_bytes(), collector.addr("syslog udp"))
                .unwrap();
            sent += 1;
        }
        dropped() >= 1.0
    });

    // Kafka back: what was accepted arrives, and ingest works again.
    kafka.restart();
    let want: HashSet<String> = accepted
        .iter()
        .cloned()
        .chain(["up-0000".to_string()])
        .collect();
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| {
        want.is_subset(&distinct_messages(e))
    });
    assert!(
        want.is_subset(&distinct_messages(&events)),
        "every accepted event reached kafka"
    );
    wait_until("readyz after the spool drained", || {
        client
            .get(collector.url("/readyz"))
            .send()
            .unwrap()
            .status()
            .as_u16()
            == 200
    });
    assert_eq!(
        post_lines(&client, &collector, &ids("again", 1))
            .status()
            .as_u16(),
        200
    );
    collector.stop();
}

#[test]
fn a_collector_started_while_kafka_is_down_spools_then_delivers() {
    let kafka = PrivateKafka::reserve();
    let brokers = kafka.brokers();
    let dir = temp_dir("spool-cold");
    let config = key_config(&dir, "[collector.spool]\nkafka_timeout = \"1s\"\n");
    let data = dir.join("data");
    let topic = unique("lw-cold");
    let args = collector_args(config.to_str().unwrap(), data.to_str().unwrap(), &topic);
    let client = Client::new();
    let collector = Collector::start(&args, &brokers, &["syslog tcp", "http ingest"]);
    let (tcp, http) = (ids("cold-tcp", 30), ids("cold-http", 30));
    send_tcp(&collector, &tcp);
    assert_eq!(
        post_lines(&client, &collector, &http).status().as_u16(),
        200,
        "spooled while kafka is down"
    );
    wait_until("60 records in the spool", || {
        collector.metric("logwarden_collector_spool_records_total{op=\"write\"}") >= 60.0
    });

    kafka.restart();
    let all: HashSet<String> = tcp.iter().chain(&http).cloned().collect();
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| {
        all.is_subset(&distinct_messages(e))
    });
    assert!(
        all.is_subset(&distinct_messages(&events)),
        "every event reached kafka once it came up"
    );
    collector.stop();
}

/// The dead-letter file's entries (`dead-letter.ndjson` in the spool folder).
fn dead_letters(spool_dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(spool_dir.join("dead-letter.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("dead letters are JSON lines"))
        .collect()
}

#[test]
fn a_record_kafka_refuses_for_good_is_dead_lettered_and_blocks_nothing() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("spool-dead-letter");
    // A topic limit below what this collector sends: records over 4 KB are
    // refused by Kafka for good (MessageSizeTooLarge), however often sent.
    let config = key_config(
        &dir,
        "[kafka.producer]\n\"message.max.bytes\" = \"4096\"\n[collector.spool]\nkafka_timeout = \"2s\"\n",
    );
    let data = dir.join("data");
    let spool_dir = data.join("spool");
    let topic = unique("lw-deadletter");
    let args = collector_args(config.to_str().unwrap(), data.to_str().unwrap(), &topic);
    let collector = Collector::start(&args, &brokers, &["syslog tcp", "http ingest"]);
    let client = Client::new();
    let big = |name: &str| format!("{name} {}", "x".repeat(8000));

    // Kafka up: the big record is dead-lettered, the rest go through.
    let mut up = ids("up", 10);
    up.push(big("big-up"));
    up.extend(ids("up-after", 10));
    assert_eq!(post_lines(&client, &collector, &up).status().as_u16(), 200);
    // Straight from the request, or from the spool when the transactional
    // producer was still starting.
    wait_until("the big record dead-lettered", || !dead_letters(&spool_dir).is_empty());
    let letters = dead_letters(&spool_dir);
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(letters[0]["reason"].as_str().unwrap().contains("MessageSizeTooLarge"), "{}", letters[0]);
    assert!(letters[0]["payload"].as_str().unwrap().contains("big-up"), "kept whole");
    assert_eq!(collector.metric("logwarden_collector_dead_lettered_total"), 1.0);

    // Kafka down: the big record is spooled with the others, and when Kafka
    // returns it is dead-lettered on the way out instead of blocking the
    // spool (before, the drainer retried it forever and nothing behind it
    // was ever sent).
    kafka.stop();
    let mut down = ids("down", 10);
    down.push(big("big-down"));
    down.extend(ids("down-after", 10));
    assert_eq!(post_lines(&client, &collector, &down).status().as_u16(), 200);
    assert!(spool_segments(&spool_dir) > 0, "spooled while kafka is down");
    kafka.restart();
    let small: HashSet<String> = up.iter().chain(&down).filter(|m| !m.starts_with("big")).cloned().collect();
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| small.is_subset(&distinct_messages(e)));
    assert_eq!(distinct_messages(&events), small, "every small record, nothing else");
    wait_until("the drained spool to be deleted", || spool_segments(&spool_dir) == 0);
    let letters = dead_letters(&spool_dir);
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert!(letters[1]["payload"].as_str().unwrap().contains("big-down"));
    assert_eq!(collector.metric("logwarden_collector_dead_lettered_total"), 2.0);
    collector.stop();
}
