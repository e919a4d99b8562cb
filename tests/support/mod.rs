//! Helpers for black-box tests: real `logwarden` processes, the real Kafka
//! broker from `scripts/kafka.sh` (address in `LOGWARDEN_KAFKA_BROKERS`),
//! real HTTP on 127.0.0.1.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod log;
pub mod compliance;
pub mod detect;
pub mod exactly;
pub mod push;
pub mod receiver;
pub mod tls;

pub fn brokers() -> String {
    std::env::var("LOGWARDEN_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

pub fn loghub(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/loghub")
        .join(name)
}

pub const LOGHUB_FILES: [&str; 3] = ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log"];

/// Creates `topic` with `partitions` partitions on the test broker.
pub fn create_topic(topic: &str, partitions: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime
        .block_on(logwarden_kafka::ensure_topic(
            &logwarden_config::KafkaConfig::for_brokers(&brokers()),
            topic,
            partitions,
        ))
        .unwrap();
}

/// A unique name per test run, for topics, groups and directories.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// How long a graceful stop may take (the last commit waits for Kafka).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// Waits for `child` to exit, up to `timeout`; its status, if it did.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(status) = child.try_wait().expect("waiting for logwarden") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

pub struct Logwarden {
    pub child: Child,
    pub http: Option<String>,
    /// Listeners announced before the query API ("http ingest", "syslog tcp", …).
    pub listeners: std::collections::HashMap<String, String>,
    /// The admin key (printed on first start, or read from DATA_DIR/admin.key).
    pub key: Option<String>,
}

impl Logwarden {
    /// Starts `logwarden ARGS`; when it serves HTTP, waits for the address.
    pub fn start(args: &[&str]) -> Logwarden {
        let child = Command::new(env!("CARGO_BIN_EXE_logwarden"))
            .args(args)
            .env("LOGWARDEN_KAFKA_BROKERS", brokers())
            .env("LOGWARDEN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting logwarden");
        Logwarden::attach(child, args)
    }

    /// Starts `logwarden ARGS` logging at `level` as JSON lines, kept in
    /// the returned [`log::Log`] (and echoed to the test's stderr).
    pub fn start_logged(args: &[&str], level: &str) -> (Logwarden, log::Log) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_logwarden"))
            .args(args)
            .env("LOGWARDEN_KAFKA_BROKERS", brokers())
            .env("LOGWARDEN_LOG", level)
            .env("LOGWARDEN_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting logwarden");
        let log = log::Log::capture(child.stderr.take().unwrap());
        (Logwarden::attach(child, args), log)
    }

    /// Reads the announcements of a started process (its HTTP address and
    /// admin key, when it serves HTTP).
    fn attach(mut child: Child, args: &[&str]) -> Logwarden {
        let serves_http = matches!(args.first(), Some(&"run") | Some(&"query-api"));
        let mut http = None;
        let mut key = None;
        let mut listeners = std::collections::HashMap::new();
        if serves_http {
            let stdout = child.stdout.take().unwrap();
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let line = line.expect("reading logwarden stdout");
                if let Some(secret) = line.strip_prefix("logwarden: admin key: ") {
                    key = Some(secret.trim().to_string());
                }
                if let Some(addr) = line.strip_prefix("logwarden: query API listening on ") {
                    http = Some(addr.trim().to_string());
                    break;
                }
                if let Some((what, addr)) = line.strip_prefix("logwarden: ").and_then(|l| l.split_once(" listening on ")) {
                    listeners.insert(what.to_string(), addr.trim().to_string());
                }
            }
            assert!(http.is_some(), "logwarden exited before serving HTTP");
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            if key.is_none() {
                let data_dir = args.iter().position(|a| *a == "--data-dir").and_then(|i| args.get(i + 1));
                key = data_dir.and_then(|d| std::fs::read_to_string(Path::new(d).join("admin.key")).ok()).map(|k| k.trim().to_string());
            }
        }
        Logwarden { child, http, listeners, key }
    }

    /// A GET to this process, with its admin key.
    pub fn get(&self, path: &str) -> reqwest::blocking::RequestBuilder {
        self.authorized(reqwest::blocking::Client::new().get(self.url(path)))
    }

    /// A POST to this process, with its admin key.
    pub fn post(&self, path: &str) -> reqwest::blocking::RequestBuilder {
        self.authorized(reqwest::blocking::Client::new().post(self.url(path)))
    }

    fn authorized(&self, request: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        match &self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.http.as_ref().expect("this process serves HTTP")
        )
    }

    /// `GET /api/v1/search` and the JSON answer.
    pub fn search(&self, q: &str, limit: usize) -> Value {
        let response = self
            .get("/api/v1/search")
            .query(&[("q", q), ("limit", &limit.to_string())])
            .send()
            .expect("search request");
        assert!(
            response.status().is_success(),
            "search `{q}` failed: {}",
            response.status()
        );
        response.json().expect("search answers JSON")
    }

    /// `GET /api/v1/search` with these parameters, and the JSON answer.
    pub fn search_with(&self, params: &[(&str, &str)]) -> Value {
        let response = self
            .get("/api/v1/search")
            .query(params)
            .send()
            .expect("search request");
        assert!(
            response.status().is_success(),
            "search {params:?} failed: {}",
            response.status()
        );
        response.json().expect("search answers JSON")
    }

    pub fn count(&self, q: &str) -> u64 {
        self.search(q, 0)["total"]
            .as_u64()
            .expect("total is a number")
    }

    /// Polls until the count of `q` equals `want`; panics after `timeout`
    /// with the last count seen.
    pub fn wait_for_count(&self, q: &str, want: u64, timeout: Duration) {
        let started = Instant::now();
        let mut last = 0;
        while started.elapsed() < timeout {
            last = self.count(q);
            if last == want {
                return;
            }
            assert!(
                last < want,
                "`{q}`: {last} events found, more than the {want} expected (duplicates)"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("`{q}`: {last} events after {timeout:?}, expected {want}");
    }

    pub fn signal(&mut self, signal: i32) {
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// SIGTERM; the process must exit successfully within [`STOP_TIMEOUT`]
    /// (a hang fails the test instead of stalling it).
    pub fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let status = wait_exit(&mut self.child, STOP_TIMEOUT)
            .unwrap_or_else(|| panic!("logwarden (pid {}) still runs {STOP_TIMEOUT:?} after SIGTERM", self.child.id()));
        assert!(
            status.success(),
            "logwarden exited with {status} after SIGTERM"
        );
    }

    pub fn kill(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Logwarden {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines of a file whose text, cut into lowercase alphanumeric tokens (as the
/// `message` field is), contains `word`.
pub fn lines_with_token(path: &Path, word: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|line| {
            line.split(|c: char| !c.is_alphanumeric())
                .any(|t| t.eq_ignore_ascii_case(word))
        })
        .count() as u64
}

/// `data_dir` (`DIR/data`), `[kafka]` and `[indexer]` of a pipeline with
/// `partitions` partitions and as many indexer workers, 4-second windows so
/// splits seal while the test runs. Ends inside `[indexer]`.
pub fn indexer_sections(dir: &Path, topic: &str, group: &str, partitions: u32) -> String {
    format!(
        r#"data_dir = "{data}"
[kafka]
topic = "{topic}"
partitions = {partitions}
[indexer]
group = "{group}"
workers = {partitions}
commit_interval = "100ms"
split_window = "4s"
seal_grace = "1s"
dlq_topic = "{topic}.dlq"
"#,
        data = dir.join("data").display(),
    )
}

/// A `read_committed` consumer in a fresh group named after `group_prefix`,
/// subscribed to `topic` from its beginning.
pub fn committed_reader(group_prefix: &str, topic: &str) -> rdkafka::consumer::BaseConsumer {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique(group_prefix))
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

/// A new directory under the system's temporary directory, removed when
/// the returned guard is dropped, unless the test is failing (then it is
/// kept, and its path printed, for a look at what the test left there).
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// A test's scratch directory: see [`temp_dir`]. Reads as the `PathBuf`
/// it holds.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept the failed test's directory: {}", self.0.display());
        } else if let Err(e) = std::fs::remove_dir_all(&self.0) {
            // A test may have removed it itself.
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("could not remove {}: {e}", self.0.display());
            }
        }
    }
}

/// Waits until consumer group `group` has committed, on every partition of
/// `topic`, the end of what the topic holds: everything in Kafka was read
/// and committed (the indexer commits offsets to the group after the
/// tantivy commit). Returns the number of messages in the topic, as a
/// `read_committed` consumer counts them (transaction markers and aborted
/// messages take offsets too, so offsets alone cannot tell).
pub fn wait_for_group_caught_up(group: &str, topic: &str, timeout: Duration) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("lag consumer");
    let started = Instant::now();
    loop {
        let read = read_committed(&brokers(), topic, Duration::from_secs(120), |_| {});
        let mut list = TopicPartitionList::new();
        for p in &read.partitions {
            list.add_partition(topic, p.partition);
        }
        let committed = consumer.committed_offsets(list, Duration::from_secs(10)).unwrap();
        let mut behind = 0;
        for p in &read.partitions {
            let done = match committed.find_partition(topic, p.partition).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => 0,
            };
            behind += (p.next_offset.unwrap_or(0) - done).max(0);
        }
        if behind == 0 {
            return read.messages() as i64;
        }
        assert!(started.elapsed() < timeout, "group {group} still {behind} offsets behind on {topic}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A file source of `config` running on its own thread (holding back on
/// `backlog` when given), its topic created with `partitions` and its
/// checkpoints topic too: what the tests of one file source start from.
pub fn start_file_source(
    config: &logwarden_config::Config,
    partitions: u32,
    topic_settings: &[(&str, &str)],
    backlog: Option<logwarden_kafka::IndexBacklog>,
) -> (tokio_util::sync::CancellationToken, std::thread::JoinHandle<anyhow::Result<()>>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let topic = &config.kafka.topic;
    runtime
        .block_on(logwarden_kafka::ensure_topic_with(&config.kafka, topic, partitions, topic_settings))
        .unwrap();
    runtime
        .block_on(logwarden_kafka::transaction::ensure_checkpoints_topic(
            &config.kafka,
            &config.collector.checkpoints_topic,
        ))
        .unwrap();
    let mut source = logwarden_collector::file::FileSource::new(&config.collector, &config.kafka, "test-host".into()).unwrap();
    if let Some(backlog) = backlog {
        source = source.with_index_backlog(backlog);
    }
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    (shutdown, std::thread::spawn(move || source.run(&stop)))
}

/// Reads every partition of `topic` on `brokers` to its end as a `read_committed`
/// consumer (transaction markers and aborted messages skipped), calling
/// `visit` with each message; panics when that takes longer than `timeout`.
pub fn read_committed(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    visit: impl FnMut(&rdkafka::message::BorrowedMessage<'_>),
) -> logwarden_kafka::committed::CommittedRead {
    let mut base = rdkafka::ClientConfig::new();
    base.set("bootstrap.servers", brokers);
    let read = logwarden_kafka::committed::read_topic_committed(&base, topic, timeout, visit)
        .unwrap_or_else(|e| panic!("reading {topic}: {e}"));
    assert!(read.complete(), "reading {topic} does not end within {timeout:?} (last error: {:?})", read.last_error);
    read
}
