//! Helpers of the exactly-once tests: a writer of numbered lines that
//! rotates its file, processes killed with SIGKILL, and counts of every
//! number in the topic (`read_committed`) and in the index.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;

use super::STOP_TIMEOUT;
use rdkafka::message::Message;
use rdkafka::Offset;
use serde_json::{Value, json};

use super::Logwarden;

/// A `logwarden` process started without waiting for anything (it may be
/// killed during its start, or fail to start while Kafka is down).
pub struct Proc {
    child: Child,
}

impl Proc {
    pub fn spawn(args: &[&str], brokers: &str, env: &[(&str, &str)]) -> Proc {
        let mut command = Command::new(env!("CARGO_BIN_EXE_logwarden"));
        command
            .args(args)
            .env("LOGWARDEN_KAFKA_BROKERS", brokers)
            // `LOGWARDEN_TEST_LOG=info` shows what each process did.
            .env("LOGWARDEN_LOG", std::env::var("LOGWARDEN_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        Proc { child: command.spawn().expect("starting logwarden") }
    }

    pub fn kill(mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit status; a process still running 2 minutes
    /// later fails the test (instead of hanging it).
    pub fn stop(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.wait_exit(STOP_TIMEOUT)
            .unwrap_or_else(|| panic!("logwarden (pid {}) still runs {STOP_TIMEOUT:?} after SIGTERM", self.child.id()))
    }

    /// The exit status, if it exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        super::wait_exit(&mut self.child, timeout)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends numbered lines (`seq=N`) to `app.log` and rotates it the two
/// ways logrotate does: rename and create, and copytruncate (nothing is
/// written between the copy and the truncation, as with a paused writer;
/// the copy is in the inputs).
pub struct RotatingWriter {
    dir: PathBuf,
    file: File,
    pub next: u64,
    rotations: u64,
}

impl RotatingWriter {
    pub fn new(dir: &Path) -> RotatingWriter {
        std::fs::create_dir_all(dir).unwrap();
        let file = OpenOptions::new().create(true).append(true).open(dir.join("app.log")).unwrap();
        RotatingWriter { dir: dir.to_path_buf(), file, next: 0, rotations: 0 }
    }

    /// The glob that covers the file and its rotated copies.
    pub fn glob(&self) -> String {
        format!("{}/app.log*", self.dir.display())
    }

    /// Writes `n` lines in bursts of 20, pausing `pause` between bursts.
    pub fn write(&mut self, n: u64, pause: Duration) {
        let mut left = n;
        while left > 0 {
            let burst = left.min(20);
            let mut text = String::new();
            for _ in 0..burst {
                let seq = self.next;
                self.next += 1;
                text.push_str(&format!("exactly once seq={seq} user=alice padding={}\n", "x".repeat(seq as usize % 37)));
            }
            self.file.write_all(text.as_bytes()).unwrap();
            left -= burst;
            std::thread::sleep(pause);
        }
    }

    /// logrotate `create`: renamed away, a new file under the name; a few
    /// lines still go to the renamed file, as a slow application writes them.
    pub fn rotate_rename(&mut self, pause: Duration) {
        self.rotations += 1;
        std::fs::rename(self.dir.join("app.log"), self.dir.join(format!("app.log.{}", self.rotations))).unwrap();
        self.write(40, pause);
        self.file = OpenOptions::new().create(true).append(true).open(self.dir.join("app.log")).unwrap();
    }

    /// logrotate `copytruncate`.
    pub fn rotate_copytruncate(&mut self) {
        self.rotations += 1;
        std::fs::copy(self.dir.join("app.log"), self.dir.join(format!("app.log.copy{}", self.rotations))).unwrap();
        self.file.set_len(0).unwrap();
    }
}

/// The `seq=N` of a line, `u64::MAX` for text without one (a line cut at a
/// wrong offset).
pub fn seq_of(text: &str) -> u64 {
    text.split_once("seq=")
        .and_then(|(_, rest)| rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse().ok())
        .unwrap_or(u64::MAX)
}

/// How often each number was seen.
pub type Counts = HashMap<u64, usize>;

/// Reads the whole topic as a `read_committed` consumer (every partition to
/// its end) and counts each number in the events' `event.original`
/// (decoded as the indexer decodes them).
pub fn committed_counts(brokers: &str, topic: &str) -> Counts {
    let mut counts = Counts::new();
    super::read_committed(brokers, topic, Duration::from_secs(300), |message| {
        let seq = match logwarden_event::wire::decode(message.payload().unwrap_or_default()) {
            // Events that are not file lines (`logwarden run`'s own
            // audit records) are not counted.
            Ok(event) if event.log_file_path.is_none() => return,
            Ok(event) => seq_of(&event.original),
            Err(_) => u64::MAX,
        };
        *counts.entry(seq).or_insert(0) += 1;
    });
    counts
}

/// Polls the committed counts until every number below `total` is there;
/// the last counts.
pub fn wait_committed(brokers: &str, topic: &str, total: u64, timeout: Duration) -> Counts {
    let started = Instant::now();
    loop {
        let counts = committed_counts(brokers, topic);
        if (0..total).all(|n| counts.contains_key(&n)) || started.elapsed() >= timeout {
            return counts;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Asserts every number below `total` was seen exactly once, and nothing else.
pub fn assert_exactly_once(what: &str, counts: &Counts, total: u64) {
    let missing: Vec<u64> = (0..total).filter(|n| !counts.contains_key(n)).collect();
    let mut duplicated: Vec<(u64, usize)> = counts.iter().filter(|(_, c)| **c > 1).map(|(n, c)| (*n, *c)).collect();
    duplicated.sort();
    let extra: Vec<u64> = counts.keys().filter(|n| **n >= total).copied().collect();
    let seen: usize = counts.values().sum();
    eprintln!("{what}: {total} numbers written, {seen} events, {} missing, {} duplicated", missing.len(), duplicated.len());
    assert!(missing.is_empty(), "{what}: {} of {total} missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert!(duplicated.is_empty(), "{what}: {} numbers duplicated, e.g. {:?}", duplicated.len(), &duplicated[..duplicated.len().min(10)]);
    assert!(extra.is_empty(), "{what}: events that are not whole numbered lines: {}", extra.len());
}

/// Pages through every hit of the index with `search_after` and counts
/// each number.
pub fn index_counts(node: &Logwarden) -> Counts {
    let mut counts = Counts::new();
    let mut after: Option<Value> = None;
    loop {
        let mut body = json!({"q": "*", "limit": 1000});
        if let Some(cursor) = &after {
            body["search_after"] = cursor.clone();
        }
        let response = node.post("/api/v1/search").json(&body).send().expect("search request");
        assert!(response.status().is_success(), "search: {}", response.status());
        let page: Value = response.json().expect("search answers JSON");
        let hits = page["hits"].as_array().expect("hits");
        for hit in hits {
            if hit["log.file.path"].is_null() {
                continue; // not a file line (an audit record of the API)
            }
            let text = hit["event.original"].as_str().or(hit["message"].as_str()).unwrap_or_default();
            *counts.entry(seq_of(text)).or_insert(0) += 1;
        }
        match &page["next"] {
            Value::Null => break,
            next if hits.is_empty() => panic!("an empty page with a next cursor {next}"),
            next => after = Some(next.clone()),
        }
        assert!(counts.values().sum::<usize>() <= 1_000_000, "pagination does not end");
    }
    counts
}

/// The committed offset of the file at `path` in the checkpoints topic
/// (the newest position written for that path), read `read_committed`.
pub fn committed_file_offset(brokers: &str, path: &Path) -> Option<u64> {
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", brokers);
    let want = path.display().to_string();
    let mut offset = None;
    let starts = [(0, Offset::Beginning)];
    logwarden_kafka::committed::read_committed(&base, "logwarden.checkpoints", &starts, Duration::from_secs(60), |message| {
        let Some(payload) = message.payload() else { return };
        let Ok(position) = serde_json::from_slice::<Value>(payload) else { return };
        if position["path"].as_str() == Some(want.as_str()) {
            offset = position["offset"].as_u64();
        }
    })
    .expect("checkpoint reader");
    offset
}
