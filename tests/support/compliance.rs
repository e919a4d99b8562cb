//! Compliance test set-up: the `logwarden` command, waiting for sealed
//! splits, copies of a store to break, audit records read back.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{brokers, unique};

/// `logwarden ARGS` to completion.
pub fn logwarden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(args)
        .env("LOGWARDEN_KAFKA_BROKERS", brokers())
        .env("LOGWARDEN_LOG", "warn")
        .env_remove("LOGWARDEN_DATA_DIR")
        .output()
        .unwrap()
}

/// Waits until `verify --data-dir` finds `want` events in sealed splits,
/// no active split, and at least one empty window.
pub fn wait_until_sealed(data: &Path, want: u64, timeout: Duration) {
    let started = Instant::now();
    loop {
        let output = logwarden(&["verify", "--data-dir", data.to_str().unwrap(), "--json"]);
        if let Ok(report) = serde_json::from_slice::<Value>(&output.stdout) {
            let chains = report["chains"].as_array().unwrap();
            let sum = |key: &str| chains.iter().map(|c| c[key].as_u64().unwrap()).sum::<u64>();
            let (verified, active) = (sum("verified_events"), sum("active_splits"));
            if output.status.success() && verified == want && active == 0 && sum("empty_windows") > 0 {
                return;
            }
            assert!(started.elapsed() < timeout, "after {timeout:?}: {verified}/{want} sealed, {active} active: {report:#}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `cp -a from to`.
pub fn copy_dir(from: &Path, to: &Path) {
    assert!(Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap().success());
}

/// The first audit event with `action` in `topic`.
pub fn audit_record(topic: &str, action: &str) -> Value {
    audit_record_where(topic, action, |_| true)
}

/// The first audit event with `action` in `topic` that `wanted` accepts.
pub fn audit_record_where(topic: &str, action: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{ClientConfig, Message};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("audit-reader"))
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.unwrap();
            let Ok(event) = serde_json::from_slice::<Value>(message.payload().unwrap_or_default()) else { continue };
            if event["stream"] == "audit" && event["event.action"] == action && wanted(&event) {
                return event;
            }
        }
    }
    panic!("no audit record {action} in {topic}");
}
