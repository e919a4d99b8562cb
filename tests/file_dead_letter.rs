//! A tailed line whose event Kafka refuses for good, against the real
//! broker, in both delivery modes: it is kept whole in the dead-letter file
//! with the reason, and every line around it arrives once.
//!
//! A file's events are handed to librdkafka where they are (a range of
//! their chunk's buffer, `logwarden_kafka::in_place`), so the refused
//! payload is read back from that buffer. Refused when enqueued: larger
//! than the producer's `message.max.bytes`, or than the topic's
//! `max.message.bytes`, which the producer's limit follows.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use logwarden_config::{Config, RawConfig};
use rdkafka::Message;
use serde_json::Value;
use support::*;
use tokio_util::sync::CancellationToken;

/// Lines before and after the big one: more than one chunk of the parse
/// pool (512 records), so the big event sits inside a shared buffer.
const LINES: u32 = 1_500;
const BIG: u32 = 700;

fn config(dir: &Path, topic: &str, file: &Path, delivery: &str, producer: &str) -> Config {
    let text = format!(
        "data_dir = \"{dir}\"\n[kafka]\nbrokers = \"{brokers}\"\ntopic = \"{topic}\"\n\
         [kafka.producer]\n{producer}\n\
         [collector]\nid = \"{topic}\"\ncheckpoints_topic = \"{topic}.checkpoints\"\n\
         delivery = \"{delivery}\"\n\
         [[collector.files]]\ninclude = [\"{file}\"]\n",
        dir = dir.display(),
        brokers = brokers(),
        file = file.display(),
    );
    RawConfig::from_toml(&text).unwrap().validate().unwrap()
}

fn write_lines(file: &Path, numbers: std::ops::Range<u32>) {
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(file).unwrap();
    for n in numbers {
        if n == BIG {
            writeln!(out, "Mar  1 10:00:00 host01 app[42]: big line n{n:05} {}", incompressible()).unwrap();
        } else {
            writeln!(out, "Mar  1 10:00:00 host01 app[42]: dead letter line n{n:05}").unwrap();
        }
    }
    out.flush().unwrap();
}

/// 20,000 hex digits of a pseudo-random sequence: LZ4 cannot shrink them
/// under the topic's limit (the broker checks the compressed batch).
fn incompressible() -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..20_000)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            char::from_digit(((state >> 60) & 0xf) as u32, 16).unwrap()
        })
        .collect()
}

fn number(text: &str) -> Option<u32> {
    text.split(" n").nth(1).and_then(|rest| rest.get(..5)).and_then(|d| d.parse().ok())
}

/// How many times each line number is in the topic (`read_committed`).
fn numbers_in(topic: &str) -> HashMap<u32, u32> {
    let mut counts = HashMap::new();
    read_committed(&brokers(), topic, Duration::from_secs(60), |message| {
        if let Some(n) = number(&String::from_utf8_lossy(message.payload().unwrap_or_default())) {
            *counts.entry(n).or_insert(0) += 1;
        }
    });
    counts
}

fn dead_letters(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(logwarden_kafka::delivery::dead_letter::path(dir))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("dead letters are JSON lines"))
        .collect()
}

/// A file source tailing `app.log` into a new topic.
struct Tailing {
    name: String,
    topic: String,
    file: std::path::PathBuf,
    config: Config,
    shutdown: CancellationToken,
    running: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    /// Where the file and the source's data are (last: removed after the
    /// source stopped).
    _dir: TempDir,
}

impl Tailing {
    /// Creates the topic (with `topic_settings`), writes lines
    /// `0..written`, and starts the source.
    fn start(name: &str, delivery: &str, producer: &str, topic_settings: &[(&str, &str)], written: u32) -> Tailing {
        let _ = tracing_subscriber::fmt().with_env_filter("info,librdkafka=off").with_test_writer().try_init();
        let dir = temp_dir(name);
        let topic = unique(&format!("lw-{name}"));
        let file = dir.join("app.log");
        write_lines(&file, 0..written);
        let config = config(&dir, &topic, &file, delivery, producer);
        let (shutdown, running) = start_file_source(&config, 2, topic_settings, None);
        let running = Some(running);
        Tailing { name: name.to_string(), topic, file, config, shutdown, running, _dir: dir }
    }

    fn dead_letters(&self) -> Vec<Value> {
        dead_letters(&self.config.collector.spool.dir)
    }

    /// Waits until `want` distinct lines are in the topic and `letters`
    /// dead letters in the file.
    fn wait_for(&self, want: usize, letters: usize) -> HashMap<u32, u32> {
        let started = Instant::now();
        loop {
            let counts = numbers_in(&self.topic);
            if counts.len() >= want && self.dead_letters().len() >= letters {
                return counts;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{}: {} of {want} lines in the topic, dead letters: {:?}",
                self.name,
                counts.len(),
                self.dead_letters()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Waits for every line but the big one and the big one's dead letter,
    /// stops the source and checks both: each line once, the big event
    /// kept whole with the reason, nothing else dead-lettered.
    fn check_and_stop(mut self) {
        let name = &self.name;
        let counts = self.wait_for((LINES - 1) as usize, 1);
        self.shutdown.cancel();
        self.running.take().unwrap().join().unwrap().unwrap();
        assert!(!counts.contains_key(&BIG), "{name}: the refused event is in the topic");
        assert_eq!(counts.len(), (LINES - 1) as usize, "{name}: every other line");
        assert!(counts.values().all(|&c| c == 1), "{name}: a line twice");
        let letters = self.dead_letters();
        assert_eq!(letters.len(), 1, "{name}: {letters:?}");
        let letter = &letters[0];
        assert_eq!(letter["topic"], self.topic.as_str());
        assert!(letter["reason"].as_str().unwrap().contains("MessageSizeTooLarge"), "{name}: {letter}");
        // The payload is the event whole, read back from where it was sent.
        let payload = letter["payload"].as_str().unwrap();
        assert_eq!(letter["bytes"].as_u64(), Some(payload.len() as u64));
        let event: Value = serde_json::from_str(payload).expect("the dead letter's payload is the event");
        assert_eq!(number(event["event.original"].as_str().unwrap()), Some(BIG));
        assert!(event["event.original"].as_str().unwrap().ends_with(&incompressible()), "{name}: kept whole");
    }
}

#[test]
fn an_event_librdkafka_refuses_when_enqueued_is_dead_lettered_whole_in_both_modes() {
    for delivery in ["exactly_once", "at_least_once"] {
        let name = format!("dl-enqueue-{}", delivery.replace('_', "-"));
        Tailing::start(&name, delivery, "\"message.max.bytes\" = \"8192\"", &[], LINES).check_and_stop();
    }
}

/// The topic accepts less than librdkafka's default: the producer's limit
/// follows the topic's (read at start), so the big record is refused alone
/// when enqueued. Before, the broker refused the whole batch it travelled
/// in: at least once, its ~1,500 neighbours were dead-lettered with it;
/// exactly once, the transaction was aborted and sent again, forever.
#[test]
fn an_event_larger_than_the_topic_accepts_is_dead_lettered_alone_in_both_modes() {
    for delivery in ["exactly_once", "at_least_once"] {
        let name = format!("dl-topic-{}", delivery.replace('_', "-"));
        Tailing::start(&name, delivery, "", &[("max.message.bytes", "8192")], LINES).check_and_stop();
    }
}

/// The topic's limit lowered while the collector runs: the broker refuses
/// the batch with the big record as a whole. Exactly once, the transaction
/// is aborted and a new producer, reading the topic's limit again, refuses
/// the big record alone; at least once, the refused records are sent again
/// one at a time and only the big one is refused. Either way the rest
/// arrive once.
#[test]
fn a_topic_limit_lowered_while_running_dead_letters_only_the_record_over_it_in_both_modes() {
    for delivery in ["exactly_once", "at_least_once"] {
        let name = format!("dl-lowered-{}", delivery.replace('_', "-"));
        let tailing = Tailing::start(&name, delivery, "", &[], BIG);
        tailing.wait_for(BIG as usize, 0);
        let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
            logwarden_kafka::client_config(&tailing.config.kafka, logwarden_config::ClientKind::Admin)
                .create()
                .unwrap();
        let topic = rdkafka::admin::ResourceSpecifier::Topic(&tailing.topic);
        let lowered = rdkafka::admin::AlterConfig::new(topic).set("max.message.bytes", "8192");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let options = rdkafka::admin::AdminOptions::new();
        let results = runtime.block_on(admin.alter_configs([&lowered], &options)).unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        // The broker applies it to the log a moment after it answers.
        std::thread::sleep(Duration::from_secs(2));
        write_lines(&tailing.file, BIG..LINES);
        tailing.check_and_stop();
    }
}
