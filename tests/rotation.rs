//! The file source against the real broker while files rotate under it
//! (rename and create, copytruncate, truncate, delete) and the collector is
//! killed with SIGKILL and restarted; and while Kafka itself stops and
//! starts. Every numbered line written must reach the topic (at least once
//! here; tests/exactly_once.rs counts duplicates too).

mod support;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use support::push::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(240);

/// Reads a topic from the beginning on a thread and counts each line number
/// (`seq=N` in the line) it sees.
struct TopicReader {
    seen: Arc<Mutex<HashMap<u64, usize>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TopicReader {
    fn start(brokers: &str, topic: &str) -> TopicReader {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", unique("lw-rotation-reader"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("topic.metadata.refresh.interval.ms", "1000")
            .set("isolation.level", "read_committed")
            .create()
            .expect("test consumer");
        consumer.subscribe(&[topic]).unwrap();
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
                    let payload = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
                    let seq = payload.split_once("seq=").and_then(|(_, rest)| {
                        rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse::<u64>().ok()
                    });
                    // A line cut at a wrong offset has no number: counted as u64::MAX.
                    *seen2.lock().unwrap().entry(seq.unwrap_or(u64::MAX)).or_insert(0) += 1;
                }
            }
        });
        TopicReader { seen, stop, thread: Some(thread) }
    }

    /// Line numbers below `n` not seen yet.
    fn missing_below(&self, n: u64) -> Vec<u64> {
        let seen = self.seen.lock().unwrap();
        (0..n).filter(|i| !seen.contains_key(i)).collect()
    }

    /// Waits until every line number below `n` was seen; the missing ones
    /// after `timeout`.
    fn wait_for_all_below(&self, n: u64, timeout: Duration) -> Vec<u64> {
        let started = Instant::now();
        loop {
            let missing = self.missing_below(n);
            if missing.is_empty() || started.elapsed() >= timeout {
                return missing;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Messages beyond the first of each line (at-least-once re-sends).
    fn duplicates(&self) -> usize {
        self.seen.lock().unwrap().values().map(|c| c - 1).sum()
    }

    /// Messages that are not a whole numbered line (read from a wrong offset).
    fn garbled(&self) -> usize {
        self.seen.lock().unwrap().get(&u64::MAX).copied().unwrap_or(0)
    }
}

impl Drop for TopicReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Appends numbered lines to the current log file.
struct Writer {
    path: PathBuf,
    file: File,
    next: Arc<AtomicU64>,
}

impl Writer {
    fn open(path: &Path, next: Arc<AtomicU64>) -> Writer {
        let file = OpenOptions::new().create(true).append(true).open(path).unwrap();
        Writer { path: path.to_path_buf(), file, next }
    }

    /// Writes `n` lines in small bursts, as a busy application does.
    fn write(&mut self, n: u64) {
        for _ in 0..n / 20 {
            let mut burst = String::new();
            for _ in 0..20 {
                let seq = self.next.fetch_add(1, Ordering::SeqCst);
                burst.push_str(&format!("rotation test seq={seq} user=alice action=login padding={}\n", "x".repeat(seq as usize % 40)));
            }
            self.file.write_all(burst.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn reopen(&mut self) {
        self.file = OpenOptions::new().create(true).append(true).open(&self.path).unwrap();
    }
}

fn collector_args<'a>(glob: &'a str, data: &'a str, topic: &'a str) -> Vec<&'a str> {
    vec!["collector", "--input", glob, "--topic", topic, "--data-dir", data]
}

#[test]
fn rotations_and_kill_9_lose_no_line() {
    let brokers = shared_brokers();
    let dir = temp_dir("rotation");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let log = logs.join("app.log");
    // Rotated files and copytruncate copies stay in the inputs, as operators
    // should configure them.
    let glob = format!("{}*", log.display());
    let data = dir.join("data").display().to_string();
    let topic = unique("lw-rotation");
    let args: Vec<String> = collector_args(&glob, &data, &topic).into_iter().map(String::from).collect();
    let start = {
        let brokers = brokers.clone();
        move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Collector::start(&args, &brokers, &[])
        }
    };

    let next = Arc::new(AtomicU64::new(0));
    let mut writer = Writer::open(&log, next.clone());
    writer.write(200);
    let collector = start();
    let reader = TopicReader::start(&brokers, &topic);
    assert!(reader.wait_for_all_below(200, TIMEOUT).is_empty(), "the first lines arrive");

    // SIGKILL at random moments while the writer rotates.
    let writing = Arc::new(AtomicBool::new(true));
    let kills = Arc::new(AtomicU64::new(0));
    let killer = {
        let (writing, kills) = (writing.clone(), kills.clone());
        std::thread::spawn(move || {
            let mut collector = collector;
            let mut rng = rand::rng();
            while kills.load(Ordering::SeqCst) < 5 && writing.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
                collector.kill();
                kills.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(rng.random_range(0..500)));
                collector = start();
            }
            collector
        })
    };

    for round in 0..2 {
        // (a) logrotate `create`: rename away, a new file under the name.
        writer.write(1000);
        std::fs::rename(&log, logs.join(format!("app.log.{round}"))).unwrap();
        writer.write(100); // still into the renamed file, as a slow application does
        writer.reopen();
        writer.write(1000);

        // (b) copytruncate: nothing is written between copy and truncate here;
        // the copy is in the inputs.
        std::fs::copy(&log, logs.join(format!("app.log.copy{round}"))).unwrap();
        OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
        writer.write(1000);

        // (c) truncate: what is truncated away must have been read first.
        let written = next.load(Ordering::SeqCst);
        assert!(reader.wait_for_all_below(written, TIMEOUT).is_empty(), "lines before the truncation arrive");
        OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
        writer.write(1000);

        // (d) delete after being written: a new file may reuse the inode.
        let written = next.load(Ordering::SeqCst);
        assert!(reader.wait_for_all_below(written, TIMEOUT).is_empty(), "lines before the deletion arrive");
        std::fs::remove_file(&log).unwrap();
        writer.reopen();
        writer.write(500);
    }
    // At least three kills happen while lines are written.
    while kills.load(Ordering::SeqCst) < 3 {
        writer.write(100);
    }
    writing.store(false, Ordering::SeqCst);
    let collector = killer.join().unwrap();
    let kills = kills.load(Ordering::SeqCst);

    let total = next.load(Ordering::SeqCst);
    let missing = reader.wait_for_all_below(total, TIMEOUT);
    assert!(missing.is_empty(), "{} of {total} lines missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert_eq!(reader.garbled(), 0, "messages that are not whole lines");
    eprintln!("rotation: {total} lines, {kills} kills, {} duplicates", reader.duplicates());
    // The last restart may be too recent for a SIGTERM handler: the test is
    // about SIGKILL anyway.
    collector.kill();
    drop(reader);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The committed offset of the file in the checkpoints topic.
fn checkpoint_offset(brokers: &str, log: &Path) -> Option<u64> {
    support::exactly::committed_file_offset(brokers, log)
}

#[test]
fn kafka_stopped_and_started_during_file_ingestion_loses_no_line() {
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let dir = temp_dir("file-outage");
    let log = dir.join("app.log");
    let data = dir.join("data");
    let topic = unique("lw-file-outage");
    let (glob, data_arg) = (log.display().to_string(), data.display().to_string());
    let next = Arc::new(AtomicU64::new(0));
    let mut writer = Writer::open(&log, next.clone());
    writer.write(500);
    let collector = Collector::start(&collector_args(&glob, &data_arg, &topic), &brokers, &[]);
    let reader = TopicReader::start(&brokers, &topic);
    assert!(reader.wait_for_all_below(500, TIMEOUT).is_empty(), "lines arrive while kafka is up");

    kafka.stop();
    // The position lives in Kafka, committed with the events before it:
    // nothing written during the outage can be counted as sent.
    writer.write(2000);
    std::thread::sleep(Duration::from_secs(3));
    writer.write(1000);

    kafka.restart();
    writer.write(500);
    let total = next.load(Ordering::SeqCst);
    let missing = reader.wait_for_all_below(total, TIMEOUT);
    assert!(missing.is_empty(), "{} of {total} lines missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert_eq!(reader.garbled(), 0, "messages that are not whole lines");
    let started = Instant::now();
    while checkpoint_offset(&brokers, &log) != Some(std::fs::metadata(&log).unwrap().len()) && started.elapsed() < TIMEOUT {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(checkpoint_offset(&brokers, &log), Some(std::fs::metadata(&log).unwrap().len()), "the checkpoint reaches the end");
    eprintln!("kafka outage: {total} lines, {} duplicates", reader.duplicates());
    collector.stop();
    drop(reader);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_rewritten_while_the_collector_is_down_is_read_from_the_start() {
    let brokers = shared_brokers();
    let dir = temp_dir("rewritten");
    let log = dir.join("app.log");
    let data = dir.join("data");
    let topic = unique("lw-rewritten");
    let (glob, data_arg) = (log.display().to_string(), data.display().to_string());
    let args = collector_args(&glob, &data_arg, &topic);
    let next = Arc::new(AtomicU64::new(0));
    let mut writer = Writer::open(&log, next.clone());
    writer.write(500);
    let collector = Collector::start(&args, &brokers, &[]);
    let reader = TopicReader::start(&brokers, &topic);
    assert!(reader.wait_for_all_below(500, TIMEOUT).is_empty(), "the first lines arrive");
    let started = Instant::now();
    while checkpoint_offset(&brokers, &log) != Some(std::fs::metadata(&log).unwrap().len()) && started.elapsed() < TIMEOUT {
        std::thread::sleep(Duration::from_millis(100));
    }
    collector.kill();

    // Same inode, new content longer than the old checkpoint: the offset of
    // the old content must not skip the beginning of the new one.
    OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    writer.write(1000);
    let collector = Collector::start(&args, &brokers, &[]);
    let total = next.load(Ordering::SeqCst);
    let missing = reader.wait_for_all_below(total, TIMEOUT);
    assert!(missing.is_empty(), "{} of {total} lines missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert_eq!(reader.garbled(), 0, "messages that are not whole lines");
    collector.kill();
    drop(reader);
    std::fs::remove_dir_all(&dir).unwrap();
}
