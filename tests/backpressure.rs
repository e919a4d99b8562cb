//! A file source holding back on the backlog of an indexer in the same
//! process (`collector.max_index_backlog`, what `logwarden run` wires up),
//! against the real broker: while the backlog is over the bound, no line is
//! read; once the indexer has read it down, every line arrives, each once.
//! The backlog is published by hand here, as an indexer consumer publishes
//! its partitions' lag, so the test says when the source must wait.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use logwarden_collector::file::FileSource;
use logwarden_config::{Config, RawConfig};
use logwarden_kafka::IndexBacklog;
use rdkafka::Message;
use support::*;
use tokio_util::sync::CancellationToken;

const BOUND: u64 = 1_000;

fn config(dir: &Path, topic: &str, file: &Path) -> Config {
    // A transaction's interval far longer than the test's waits: lines can
    // arrive in time only through the commits this test is about (held
    // back, or caught up).
    let text = format!(
        "data_dir = \"{dir}\"\n[kafka]\nbrokers = \"{brokers}\"\ntopic = \"{topic}\"\n\
         [collector]\nid = \"{topic}\"\ncheckpoints_topic = \"{topic}.checkpoints\"\n\
         commit_interval = \"30s\"\nmax_index_backlog = {BOUND}\n\
         [[collector.files]]\ninclude = [\"{file}\"]\n",
        dir = dir.display(),
        brokers = brokers(),
        file = file.display(),
    );
    RawConfig::from_toml(&text).unwrap().validate().unwrap()
}

fn append(file: &Path, numbers: std::ops::Range<u32>) {
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(file).unwrap();
    for n in numbers {
        writeln!(out, "Mar  1 10:00:00 host01 app[42]: backpressure line n{n:05}").unwrap();
    }
    out.flush().unwrap();
}

/// How many times each line number is in the topic (`read_committed`).
fn numbers_in(topic: &str) -> HashMap<u32, u32> {
    let mut counts = HashMap::new();
    read_committed(&brokers(), topic, Duration::from_secs(60), |message| {
        let payload = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
        if let Some(n) = payload.split(" n").nth(1).and_then(|rest| rest.get(..5)).and_then(|d| d.parse().ok()) {
            *counts.entry(n).or_insert(0) += 1;
        }
    });
    counts
}

/// Waits until the topic holds `want` distinct line numbers; panics after
/// `timeout` with what it holds.
fn wait_for_numbers(topic: &str, want: usize, timeout: Duration) -> HashMap<u32, u32> {
    let started = Instant::now();
    loop {
        let counts = numbers_in(topic);
        if counts.len() >= want {
            return counts;
        }
        assert!(started.elapsed() < timeout, "{} of {want} lines in {topic} after {timeout:?}", counts.len());
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_file_source_reads_nothing_while_the_indexer_backlog_is_over_its_bound() {
    let dir = temp_dir("backpressure");
    let topic = unique("lw-backpressure");
    let file = dir.join("app.log");
    append(&file, 0..100);
    let config = config(&dir, &topic, &file);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(logwarden_kafka::ensure_topic(&config.kafka, &topic, 2)).unwrap();
    runtime
        .block_on(logwarden_kafka::transaction::ensure_checkpoints_topic(
            &config.kafka,
            &config.collector.checkpoints_topic,
        ))
        .unwrap();

    let backlog = IndexBacklog::new();
    let consumer = backlog.slot();
    let source = FileSource::new(&config.collector, &config.kafka, "test-host".into())
        .unwrap()
        .with_index_backlog(backlog.clone());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let running = std::thread::spawn(move || source.run(&stop));

    // Under the bound: read, and committed once caught up (long before the
    // 30 s interval).
    let counts = wait_for_numbers(&topic, 100, Duration::from_secs(20));
    assert!(counts.values().all(|&c| c == 1), "a line twice: {counts:?}");

    // Over the bound: the lines written now stay in the file.
    consumer.publish(BOUND + 1);
    std::thread::sleep(Duration::from_millis(500));
    append(&file, 100..300);
    std::thread::sleep(Duration::from_secs(3));
    let held = numbers_in(&topic);
    assert_eq!(held.len(), 100, "lines read while the indexer's backlog was over the bound");

    // Read down to the bound (not under it is enough): every line, once.
    consumer.publish(BOUND);
    let counts = wait_for_numbers(&topic, 300, Duration::from_secs(20));
    assert_eq!(counts.len(), 300);
    assert!(counts.values().all(|&c| c == 1), "a line twice: {counts:?}");
    assert_eq!(backlog.events(), BOUND);

    shutdown.cancel();
    running.join().unwrap().unwrap();
    // Stopped cleanly with everything committed: nothing arrives twice later.
    let counts = numbers_in(&topic);
    assert_eq!((counts.len(), counts.values().max().copied()), (300, Some(1)));
}
