//! Compliance test set-up: the `logwarden` command, config sections for
//! the `access` stream's files and the auditor and analyst keys, waiting
//! for sealed splits, copies of a store to break, bundle files, audit
//! records read back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use logwarden_config::auth::hash_key;
use serde_json::Value;

use super::{brokers, committed_reader};

pub const AUDITOR: &str = "auditor-secret-0123456789";
pub const ANALYST: &str = "analyst-secret-0123456789";

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

/// The stdout of a command that must have succeeded.
pub fn ok(output: Output) -> String {
    assert!(output.status.success(), "{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `logwarden verify BUNDLE [--public-key KEY]`: (exit code, stdout + stderr).
pub fn verify_bundle(bundle: &Path, public_key: Option<&Path>) -> (i32, String) {
    let mut args = vec!["verify", bundle.to_str().unwrap()];
    if let Some(key) = public_key {
        args.extend(["--public-key", key.to_str().unwrap()]);
    }
    let output = logwarden(&args);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

/// A `[[collector.files]]` section collecting `DIR/live/*.json` (and
/// `DIR/logs/*` with `logs`) into the `access` stream.
pub fn access_files(dir: &Path, logs: bool) -> String {
    let logs = if logs { format!("\"{}/*\", ", dir.join("logs").display()) } else { String::new() };
    format!(
        "[[collector.files]]\ninclude = [{logs}\"{live}/*.json\"]\nstream = \"access\"\n",
        live = dir.join("live").display(),
    )
}

/// `[[auth.keys]]` for the auditor and, with `analyst`, the analyst.
pub fn auth_keys(analyst: bool) -> String {
    let mut text = format!("[[auth.keys]]\nname = \"auditor\"\nrole = \"auditor\"\nhash = \"{}\"\n", hash_key(AUDITOR));
    if analyst {
        text += &format!("[[auth.keys]]\nname = \"analyst\"\nrole = \"analyst\"\nhash = \"{}\"\n", hash_key(ANALYST));
    }
    text
}

/// Writes `DIR/NAME` with `sections` one after the other; its path.
pub fn save_config(dir: &Path, name: &str, sections: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, sections.concat()).unwrap();
    path.to_str().unwrap().to_string()
}

/// Waits until `verify --data-dir` finds `want` events in sealed splits,
/// no active split, and at least one empty window.
pub fn wait_until_sealed(data: &Path, want: u64, timeout: Duration) {
    wait_for_seal(data, want, timeout, true)
}

/// Waits until `verify --data-dir` finds `want` events in sealed splits and
/// no active split (and, with `empty_window`, at least one empty window).
pub fn wait_for_seal(data: &Path, want: u64, timeout: Duration, empty_window: bool) {
    let started = Instant::now();
    loop {
        let output = logwarden(&["verify", "--data-dir", data.to_str().unwrap(), "--json"]);
        if let Ok(report) = serde_json::from_slice::<Value>(&output.stdout) {
            let chains = report["chains"].as_array().unwrap();
            let sum = |key: &str| chains.iter().map(|c| c[key].as_u64().unwrap()).sum::<u64>();
            let (verified, active) = (sum("verified_events"), sum("active_splits"));
            if output.status.success() && verified == want && active == 0 && (!empty_window || sum("empty_windows") > 0) {
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

/// Files under `dir` whose relative path starts with `prefix`, sorted.
pub fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { walk(&path, out) } else { out.push(path) }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.retain(|p| p.strip_prefix(dir).unwrap().to_str().unwrap().starts_with(prefix));
    out.sort();
    out
}

/// `path` relative to `bundle`, as verify names it.
pub fn relative(bundle: &Path, path: &Path) -> String {
    path.strip_prefix(bundle).unwrap().to_str().unwrap().to_string()
}

/// The first audit event with `action` in `topic`.
pub fn audit_record(topic: &str, action: &str) -> Value {
    audit_record_where(topic, action, |_| true)
}

/// The first audit event with `action` in `topic` that `wanted` accepts.
pub fn audit_record_where(topic: &str, action: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    use rdkafka::Message;
    let consumer = committed_reader("audit-reader", topic);
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

/// The files of the bundle directory `dir` as a tar (`tar cf - -C DIR .`),
/// as `POST /api/v1/exports/verify` takes it.
pub fn tar_of(dir: &Path) -> Vec<u8> {
    let output = Command::new("tar").arg("cf").arg("-").arg("-C").arg(dir).arg(".").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}
