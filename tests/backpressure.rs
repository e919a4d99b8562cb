//! A file source holding back on the backlog of an indexer in the same
//! process (`collector.max_index_backlog`, what `logwarden run` wires up),
//! against the real broker: while the backlog is over the bound, a burst
//! stays in its file and a quiet file's new line is still read; once the
//! indexer has read the backlog down, every line arrives, each once. A
//! round of reads that stops early starts the next one at the file after
//! the last it read, so no busy file waits for another to be read out.
//! The backlog is published by hand here, as an indexer consumer publishes
//! its partitions' lag, so the test says when the source must wait.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use logwarden_config::{Config, RawConfig};
use logwarden_kafka::IndexBacklog;
use rdkafka::Message;
use support::*;

const BOUND: u64 = 1_000;

fn config(dir: &Path, topic: &str, files: &str) -> Config {
    config_with(dir, topic, files, "")
}

/// [`config`] with more `[collector]` settings (`key = value` lines).
fn config_with(dir: &Path, topic: &str, files: &str, collector: &str) -> Config {
    // A transaction's interval far longer than the test's waits: lines can
    // arrive in time only through the commits this test is about (held
    // back, or caught up).
    let text = format!(
        "data_dir = \"{dir}\"\n[kafka]\nbrokers = \"{brokers}\"\ntopic = \"{topic}\"\n\
         [collector]\nid = \"{topic}\"\ncheckpoints_topic = \"{topic}.checkpoints\"\n\
         commit_interval = \"30s\"\nmax_index_backlog = {BOUND}\n{collector}\
         [[collector.files]]\ninclude = [\"{files}\"]\n",
        dir = dir.display(),
        brokers = brokers(),
    );
    RawConfig::from_toml(&text).unwrap().validate().unwrap()
}

/// Appends the numbered lines in one write.
fn append(file: &Path, numbers: std::ops::Range<u32>) {
    let mut lines = String::new();
    for n in numbers {
        lines.push_str(&format!("Mar  1 10:00:00 host01 app[42]: backpressure line n{n:05}\n"));
    }
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(file).unwrap();
    out.write_all(lines.as_bytes()).unwrap();
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

/// Lines of [`append`] (57 bytes each) that fit the bytes a held-back
/// source still reads per round (16 KiB, `QUIET_READ_BYTES`).
const QUIET_READ_LINES: usize = 16 * 1024 / 57;

#[test]
fn while_the_indexer_backlog_is_over_its_bound_a_burst_waits_and_a_quiet_file_is_read() {
    let dir = temp_dir("backpressure");
    let topic = unique("lw-backpressure");
    let (busy, quiet) = (dir.join("busy.log"), dir.join("quiet.log"));
    append(&busy, 0..100);
    append(&quiet, 10_000..10_001);
    let config = config(&dir, &topic, &dir.join("*.log").display().to_string());
    let backlog = IndexBacklog::new();
    let consumer = backlog.slot();
    let (shutdown, running) = start_file_source(&config, 2, &[], Some(backlog.clone()));

    // Under the bound: read, and committed once caught up (long before the
    // 30 s interval).
    let counts = wait_for_numbers(&topic, 101, Duration::from_secs(20));
    assert!(counts.values().all(|&c| c == 1), "a line twice: {counts:?}");

    // Over the bound: a burst of 2,000 lines (114 KB) stays in its file;
    // the quiet file's new line is read and committed all the same.
    consumer.publish(BOUND + 1);
    std::thread::sleep(Duration::from_millis(500));
    append(&busy, 100..2_100);
    append(&quiet, 10_001..10_002);
    let held = wait_for_numbers(&topic, 102, Duration::from_secs(20));
    assert_eq!(held.get(&10_001), Some(&1), "the quiet file's line while held back: {held:?}");
    std::thread::sleep(Duration::from_secs(2));
    let held = numbers_in(&topic);
    let burst_read = held.keys().filter(|&&n| (100..2_100).contains(&n)).count();
    // A round that looked while the write was under way may have taken one
    // allowance of it; the burst as a whole waited.
    assert!(
        burst_read <= QUIET_READ_LINES,
        "{burst_read} lines of the burst read while the indexer's backlog was over the bound"
    );

    // Read down to the bound (not under it is enough): every line, once.
    consumer.publish(BOUND);
    let counts = wait_for_numbers(&topic, 2_102, Duration::from_secs(30));
    assert_eq!(counts.len(), 2_102);
    assert!(counts.values().all(|&c| c == 1), "a line twice: {counts:?}");
    assert_eq!(backlog.events(), BOUND);

    shutdown.cancel();
    running.join().unwrap().unwrap();
    // Stopped cleanly with everything committed: nothing arrives twice later.
    let counts = numbers_in(&topic);
    assert_eq!((counts.len(), counts.values().max().copied()), (2_102, Some(1)));
}

#[test]
fn a_round_stopped_by_a_full_transaction_goes_on_at_the_next_file() {
    let dir = temp_dir("rounds");
    let topic = unique("lw-rounds");
    // Two busy files of ~2.5 MiB each: three reads of at most 1 MiB each.
    const LINES: usize = 44_000;
    for name in ["a", "b"] {
        let mut lines = String::new();
        for n in 0..LINES {
            lines.push_str(&format!("Mar  1 10:00:00 host01 busy-{name}[42]: rounds line n{n:05}\n"));
        }
        std::fs::write(dir.join(format!("{name}.log")), lines).unwrap();
    }
    // Each read fills a transaction: a round ends after one file.
    let config = config_with(&dir, &topic, &dir.join("*.log").display().to_string(), "transaction_max_events = 1000\n");
    // One partition: the topic's order is the order of the reads.
    let (shutdown, running) = start_file_source(&config, 1, &[], None);

    let started = Instant::now();
    let order = loop {
        let mut order = Vec::new();
        read_committed(&brokers(), &topic, Duration::from_secs(60), |message| {
            let payload = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
            order.push(if payload.contains("busy-a[42]") { 'a' } else { 'b' });
        });
        if order.len() >= 2 * LINES {
            break order;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{} of {} lines after 60 s", order.len(), 2 * LINES);
        std::thread::sleep(Duration::from_millis(300));
    };
    shutdown.cancel();
    running.join().unwrap().unwrap();

    assert_eq!(order.len(), 2 * LINES, "a line twice");
    assert_eq!(order.iter().filter(|&&f| f == 'a').count(), LINES);
    // The reads alternate: a, b, a, b, a, b (or b first); one file read
    // out before the other would be a single switch.
    let switches = order.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(switches, 5, "the files' reads did not alternate");
}
