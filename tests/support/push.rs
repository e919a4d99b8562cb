//! Helpers for push-source tests: a collector whose listener addresses are
//! read from its stdout, Kafka topics read back with a real consumer, and
//! private brokers that a test may stop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use serde_json::Value;

use super::{brokers, unique};

/// The ingest key the test configs accept (its SHA-256 is in [`key_config`]).
pub const INGEST_KEY: &str = "secret";
/// A key with a role that may not ingest.
pub const ANALYST_KEY: &str = "look";

/// A config file with an ingest key, an analyst key and `extra` TOML.
pub fn key_config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "{extra}\n[[auth.keys]]\nname = \"shipper\"\nrole = \"ingest\"\n\
         hash = \"sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\"\n\
         [[auth.keys]]\nname = \"reader\"\nrole = \"analyst\"\n\
         hash = \"sha256:{}\"\n",
        sha256_hex(ANALYST_KEY)
    );
    let path = dir.join("logwarden.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn sha256_hex(text: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        });
    String::from_utf8(out.expect("sha256sum").stdout).unwrap()[..64].to_string()
}

/// A `logwarden collector` (or `run`) process and the addresses it announced.
pub struct Collector {
    pub child: Child,
    pub addresses: HashMap<String, String>,
}

impl Collector {
    /// Starts `logwarden ARGS` against `brokers` and waits until it announced
    /// every listener named in `expect` ("syslog udp", "http ingest", …).
    pub fn start(args: &[&str], brokers: &str, expect: &[&str]) -> Collector {
        Collector::start_with_env(args, brokers, expect, &[])
    }

    /// [`Collector::start`] with more environment variables.
    pub fn start_with_env(args: &[&str], brokers: &str, expect: &[&str], env: &[(&str, &str)]) -> Collector {
        Collector::spawn(args, brokers, expect, env, false).0
    }

    /// [`Collector::start_with_env`] logging JSON lines at `warn`, kept in
    /// the returned log (and echoed to the test's stderr).
    pub fn start_logged(args: &[&str], brokers: &str, expect: &[&str], env: &[(&str, &str)]) -> (Collector, super::log::Log) {
        let (collector, log) = Collector::spawn(args, brokers, expect, env, true);
        (collector, log.expect("a captured log"))
    }

    fn spawn(args: &[&str], brokers: &str, expect: &[&str], env: &[(&str, &str)], logged: bool) -> (Collector, Option<super::log::Log>) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_logwarden"));
        command
            .args(args)
            .env("LOGWARDEN_KAFKA_BROKERS", brokers)
            .env("LOGWARDEN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(if logged { Stdio::piped() } else { Stdio::inherit() });
        if logged {
            command.env("LOGWARDEN_LOG_FORMAT", "json");
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("starting logwarden");
        let log = child.stderr.take().map(super::log::Log::capture);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addresses = HashMap::new();
        while addresses.len() < expect.len() {
            let Some(Ok(line)) = lines.next() else {
                panic!("logwarden exited before announcing {expect:?}")
            };
            if let Some((what, addr)) = line
                .strip_prefix("logwarden: ")
                .and_then(|l| l.split_once(" listening on "))
            {
                // A second listener of the same kind is "syslog tcp #2".
                let mut name = what.to_string();
                let mut n = 1;
                while addresses.contains_key(&name) {
                    n += 1;
                    name = format!("{what} #{n}");
                }
                addresses.insert(name, addr.trim().to_string());
            }
        }
        std::thread::spawn(move || for _ in lines {});
        (Collector { child, addresses }, log)
    }

    pub fn addr(&self, what: &str) -> &str {
        self.addresses
            .get(what)
            .unwrap_or_else(|| panic!("no {what} listener"))
    }

    /// `(host, port)` of a syslog listener, for `logger -n HOST -P PORT`.
    pub fn host_port(&self, what: &str) -> (String, String) {
        let (host, port) = self.addr(what).rsplit_once(':').unwrap();
        (host.to_string(), port.to_string())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.addr("http ingest"))
    }

    /// Value of a Prometheus counter or gauge line starting with `prefix`
    /// (summed over label sets), from the ingest listener's `/metrics`.
    pub fn metric(&self, prefix: &str) -> f64 {
        let text = reqwest::blocking::get(self.url("/metrics"))
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum()
    }

    pub fn stop(mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "collector exited with {status} after SIGTERM"
        );
    }

    pub fn kill(mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `topic` from the beginning until `done` holds for what was read,
/// or `timeout` (then returns what it has; the caller's assertion fails).
pub fn read_topic(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("lw-test-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .expect("test consumer");
    consumer.subscribe(&[topic]).unwrap();
    let started = Instant::now();
    let mut events = Vec::new();
    while started.elapsed() < timeout && !done(&events) {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            let payload = message.payload().expect("payload");
            events.push(serde_json::from_slice(payload).expect("events are JSON"));
        }
    }
    events
}

/// Messages in `topic` as a `read_committed` consumer counts them, to the
/// end of every partition (high watermarks would count transaction markers
/// and aborted messages too).
pub fn topic_message_count(brokers: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("lw-test-count"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .unwrap();
    let partitions = metadata.topics()[0].partitions().len() as i32;
    assert!(partitions > 0, "topic {topic} exists");
    let mut assignment = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        assignment.add_partition_offset(topic, p, rdkafka::Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut at_end = std::collections::HashSet::new();
    let mut count = 0;
    let started = Instant::now();
    while at_end.len() < partitions as usize {
        assert!(started.elapsed() < Duration::from_secs(120), "counting {topic} does not end");
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                count += 1;
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    count
}

/// Counts of each distinct `message` among events.
pub fn message_counts(events: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in events {
        *counts
            .entry(event["message"].as_str().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    counts
}

/// A broker of its own (scripts/kafka.sh with LOGWARDEN_KAFKA_INSTANCE), on
/// free ports; stopped and wiped when dropped.
pub struct PrivateKafka {
    name: String,
    port: u16,
    controller_port: u16,
    /// With a SASL_SSL listener (scripts/kafka.sh KAFKA_SECURE=1).
    secure: Option<SecureListener>,
}

/// The SASL_SSL listener of a secured private broker: user `logwarden`,
/// SCRAM-SHA-256/512 and PLAIN, a CA made by scripts/kafka.sh.
pub struct SecureListener {
    pub port: u16,
    pub password: String,
    pub ca: PathBuf,
}

impl PrivateKafka {
    pub fn start() -> PrivateKafka {
        let kafka = PrivateKafka::reserve();
        kafka.run("start");
        kafka
    }

    /// Picks the name and ports without starting the broker (`restart` starts it).
    pub fn reserve() -> PrivateKafka {
        let [port, controller_port] = free_ports();
        PrivateKafka {
            name: unique("test"),
            port,
            controller_port,
            secure: None,
        }
    }

    /// A broker with a SASL_SSL listener besides the plain one.
    pub fn start_secure() -> PrivateKafka {
        let [port, controller_port, secure_port] = free_ports();
        let mut kafka = PrivateKafka {
            name: unique("test"),
            port,
            controller_port,
            secure: Some(SecureListener {
                port: secure_port,
                password: "lw-test-sasl-secret".into(),
                ca: PathBuf::new(),
            }),
        };
        let output = kafka.command("start").stderr(Stdio::inherit()).output().expect("kafka.sh");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "secure kafka.sh start: {stdout}");
        let ca = stdout
            .split("(CA ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("no CA path in: {stdout}"));
        kafka.secure.as_mut().unwrap().ca = PathBuf::from(ca);
        kafka
    }

    pub fn secure(&self) -> &SecureListener {
        self.secure.as_ref().expect("a secured broker")
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn stop(&self) {
        self.run("stop");
    }

    pub fn restart(&self) {
        self.run("start");
    }

    fn run(&self, command: &str) {
        assert!(
            self.try_run(command),
            "kafka.sh {command} for instance {}",
            self.name
        );
    }

    fn try_run(&self, command: &str) -> bool {
        let status = self.command(command).stdout(Stdio::null()).status();
        status.is_ok_and(|s| s.success())
    }

    fn command(&self, command: &str) -> Command {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka.sh");
        let mut cmd = Command::new(script);
        cmd.args(command.split(' '))
            .env("LOGWARDEN_KAFKA_INSTANCE", &self.name)
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_CONTROLLER_PORT", self.controller_port.to_string())
            .env("KAFKA_HEAP_OPTS", "-Xmx384m -Xms128m");
        if let Some(secure) = &self.secure {
            cmd.env("KAFKA_SECURE", "1")
                .env("KAFKA_SECURE_PORT", secure.port.to_string())
                .env("KAFKA_SASL_PASSWORD", &secure.password);
        }
        cmd
    }
}

impl Drop for PrivateKafka {
    fn drop(&mut self) {
        self.try_run("stop --wipe");
    }
}

/// `N` distinct free ports: their listeners are all held until every
/// port is known (picked one at a time, the OS may hand the same port
/// out twice, and Kafka refuses two listeners on one port).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    listeners.map(|l| l.local_addr().unwrap().port())
}

/// The shared broker of the other tests.
pub fn shared_brokers() -> String {
    brokers()
}
