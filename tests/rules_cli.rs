//! Rules as code, as a user runs them: `logwarden rules check` on SigmaHQ's
//! Linux rules, the repository's rules and broken or unsupported ones;
//! `logwarden rules test` over event files (a JSON array, one JSON
//! document, NDJSON) and over history stored by a real `logwarden run`;
//! and a running detector picking up a new rule file while a broken one
//! leaves the rules in force.

mod support;

use support::detect::{DANGLING_ID, dangling};

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use support::{Logwarden, loghub, temp_dir, unique};

const REPO_RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
const BRUTE_FORCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/linux/ssh_brute_force.yml");
const BRUTE_FORCE_ID: &str = "0e1f5c3e-8d2b-4c55-a6f1-3b9d2c7e4f21";
const TIMEOUT: Duration = Duration::from_secs(180);

fn sigma(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/sigma").join(path)
}

/// What a `logwarden` command printed, and how it exited.
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn logwarden(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(args)
        .env("LOGWARDEN_LOG", "warn")
        .output()
        .expect("running logwarden");
    Output {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

impl Output {
    fn succeeded(self, what: &str) -> Output {
        assert_eq!(self.code, 0, "{what}: exit {}\nstdout:\n{}\nstderr:\n{}", self.code, self.stdout, self.stderr);
        self
    }

    /// The alerts of `rules test --json`, one a line.
    fn alerts(&self) -> Vec<Value> {
        self.stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
    }
}

/// Correlation alerts of `rules test --json`, by id (correlation ids
/// depend on the group key and the window start alone).
fn correlation_ids(alerts: &[Value]) -> BTreeSet<String> {
    alerts.iter().filter(|a| a["kind"] == "correlation").map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

const SSH_ACCEPTED: &str = r#"title: SSH Login Accepted
id: 3f6d1b0e-5a2c-4e8f-9b71-0c4d2e6a8b13
status: test
description: A successful SSH login.
author: logwarden tests
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.action: ssh_login
        event.outcome: success
    condition: selection
level: informational
"#;
const SSH_ACCEPTED_ID: &str = "3f6d1b0e-5a2c-4e8f-9b71-0c4d2e6a8b13";

const MACOS: &str = r#"title: AppleScript Run By Osascript
id: 9a7b2c1d-0000-4000-8000-000000000001
status: test
description: osascript started.
author: logwarden tests
logsource:
    product: macos
    category: process_creation
detection:
    selection:
        Image|endswith: '/osascript'
    condition: selection
level: low
"#;
const MACOS_ID: &str = "9a7b2c1d-0000-4000-8000-000000000001";


const BROKEN: &str = "title: [an unclosed flow sequence\nid: 1\n";

/// Writes `dir/name` whole at once (renamed into place: a watcher never
/// sees half a file).
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path.display().to_string()
}

#[test]
fn check_accepts_sigmahq_linux_rules_and_the_repository_rules() {
    let linux = sigma("linux");
    let files = std::fs::read_dir(&linux).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "yml")).count();
    let output = logwarden(&["rules", "check", linux.to_str().unwrap()]).succeeded("rules check sigma/linux");
    let summary = output.stdout.lines().next().unwrap();
    assert!(summary.starts_with(&format!("{files} file(s): {files} rule(s) loaded")), "{summary}");
    assert!(summary.ends_with("0 unsupported, 0 error(s)"), "{summary}");

    let output = logwarden(&["rules", "check", "--json", REPO_RULES]).succeeded("rules check rules/");
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let loaded: BTreeSet<&str> = report["loaded"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(loaded.contains(BRUTE_FORCE_ID), "{loaded:?}");
    assert_eq!(report["unsupported"], json!([]));
    assert_eq!(report["errors"], json!([]));
}

#[test]
fn check_fails_naming_the_file_with_a_yaml_error() {
    let dir = temp_dir("rules-check-yaml");
    write(&dir, "good.yml", SSH_ACCEPTED);
    let broken = write(&dir, "broken.yml", BROKEN);
    let output = logwarden(&["rules", "check", dir.to_str().unwrap()]);
    assert_eq!(output.code, 1, "{}\n{}", output.stdout, output.stderr);
    assert!(
        output.stdout.lines().any(|l| l.starts_with(&format!("error: {broken}: ")) && l.contains("YAML")),
        "the broken file is named:\n{}",
        output.stdout
    );
    assert!(output.stderr.contains("rules check failed"), "{}", output.stderr);

    let output = logwarden(&["rules", "check", "--json", dir.to_str().unwrap()]);
    assert_eq!(output.code, 1);
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["file"], broken.as_str());
    assert_eq!(report["loaded"][0]["id"], SSH_ACCEPTED_ID, "the good rule still loads");
}

#[test]
fn check_lists_unsupported_rules_with_the_reason_and_rules_that_match_no_source() {
    let dir = temp_dir("rules-check-unsupported");
    let dangling = write(&dir, "dangling.yml", &dangling());
    let macos = write(&dir, "macos.yml", MACOS);
    write(&dir, "accepted.yml", SSH_ACCEPTED);
    let output = logwarden(&["rules", "check", dir.to_str().unwrap()]).succeeded("unsupported rules are not errors");
    let reason = "references `no_such_rule`, which is not a loaded detection rule";
    assert!(
        output.stdout.lines().any(|l| l.starts_with(&format!("unsupported: {dangling}: ")) && l.contains(DANGLING_ID) && l.ends_with(reason)),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.lines().any(|l| l.starts_with(&format!("no source: {macos}: ")) && l.contains(MACOS_ID) && l.contains("macos")),
        "{}",
        output.stdout
    );
    assert!(!output.stdout.contains(&format!("no source: {}", dir.join("accepted.yml").display())));

    let output = logwarden(&["rules", "check", "--json", dir.to_str().unwrap()]).succeeded("rules check --json");
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["files"], 3);
    assert_eq!(
        report["unsupported"],
        json!([{ "file": dangling, "id": DANGLING_ID, "title": "Correlation Of A Missing Rule", "reason": reason }])
    );
    assert_eq!(report["matches_no_source"], json!([MACOS_ID]));
    let loaded: Vec<(&str, bool)> = report["loaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["matches_no_source"].as_bool().unwrap()))
        .collect();
    assert_eq!(loaded, [(SSH_ACCEPTED_ID, false), (MACOS_ID, true)]);
}

/// An sshd event as an ECS JSON document (what the collector's HTTP
/// ingest accepts), `second` seconds after `start`.
fn sshd_event(start: DateTime<Utc>, second: i64, outcome: &str, ip: &str) -> Value {
    let message = match outcome {
        "success" => format!("Accepted password for alice from {ip} port 22 ssh2"),
        _ => format!("Failed password for root from {ip} port 22 ssh2"),
    };
    json!({
        "@timestamp": (start + chrono::Duration::seconds(second)).to_rfc3339(),
        "message": message,
        "host": { "name": "bastion" },
        "process": { "name": "sshd" },
        "event": { "action": "ssh_login", "outcome": outcome },
        "source": { "ip": ip },
    })
}

#[test]
fn test_prints_the_alerts_of_a_json_array_a_json_document_and_ndjson() {
    let dir = temp_dir("rules-test-files");
    let rules = temp_dir("rules-test-rules");
    write(&rules, "accepted.yml", SSH_ACCEPTED);
    std::fs::copy(BRUTE_FORCE, rules.join("ssh_brute_force.yml")).unwrap();
    let rules = rules.display().to_string();
    // Eleven failures from one address (ten raise the brute force alert),
    // three from another (none), and a success.
    let start = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().to_utc();
    let mut events: Vec<Value> = (0..11).map(|s| sshd_event(start, s, "failure", "203.0.113.7")).collect();
    events.extend((0..3).map(|s| sshd_event(start, 20 + s, "failure", "198.51.100.9")));
    events.push(sshd_event(start, 30, "success", "198.51.100.9"));

    let array = write(&dir, "events.json", &serde_json::to_string_pretty(&events).unwrap());
    let ndjson = write(&dir, "events.ndjson", &events.iter().map(|e| format!("{e}\n")).collect::<String>());
    let mut by_format = Vec::new();
    for file in [&array, &ndjson] {
        let output = logwarden(&["rules", "test", "--rules", &rules, "--events", file, "--json"]).succeeded("rules test");
        assert!(output.stderr.contains("15 event(s), 3 rule(s), 2 alert(s)"), "{}", output.stderr);
        let alerts = output.alerts();
        let mut summary: Vec<(String, String, String, u64)> = alerts
            .iter()
            .map(|a| {
                let rule = a["rule"]["id"].as_str().unwrap().to_string();
                (rule, a["kind"].as_str().unwrap().into(), a["group"]["key"].as_str().unwrap().into(), a["count"].as_u64().unwrap())
            })
            .collect();
        summary.sort();
        assert_eq!(
            summary,
            [
                (BRUTE_FORCE_ID.to_string(), "correlation".to_string(), "source.ip=203.0.113.7".to_string(), 10),
                (SSH_ACCEPTED_ID.to_string(), "detection".to_string(), "host.name=bastion".to_string(), 1),
            ],
            "{file}"
        );
        let accepted = alerts.iter().find(|a| a["rule"]["id"] == SSH_ACCEPTED_ID).unwrap();
        assert_eq!(accepted["events"][0]["@timestamp"], "2026-03-01T10:00:30Z");
        by_format.push(correlation_ids(&alerts));
    }
    assert_eq!(by_format[0], by_format[1], "the same events, the same correlation alert");

    // Without --json: one line per alert, naming the rule id.
    let output = logwarden(&["rules", "test", "--rules", &rules, "--events", &ndjson]).succeeded("rules test");
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", output.stdout);
    assert!(lines.iter().any(|l| l.contains(BRUTE_FORCE_ID) && l.contains("source.ip=203.0.113.7")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains(SSH_ACCEPTED_ID)), "{lines:?}");

    // One JSON document: a Windows event (EVTX as JSON) with the SigmaHQ rule it must match.
    for case in ["07f8bdc2-c9b3-472a-9817-5a670b872f53", "0b7163dc-7eee-4960-af17-c0cd517f92da"] {
        let case_dir = sigma("regression").join(case);
        let rule = case_dir.join("rule.yml").display().to_string();
        let event = case_dir.join("event.json").display().to_string();
        let output = logwarden(&["rules", "test", "--rules", &rule, "--events", &event, "--json"]).succeeded(case);
        let alerts = output.alerts();
        assert_eq!(alerts.len(), 1, "{case}: {}", output.stdout);
        assert_eq!(alerts[0]["rule"]["id"], case);
        assert_eq!(alerts[0]["kind"], "detection");
        assert!(output.stderr.contains("1 event(s), 1 rule(s), 1 alert(s)"), "{}", output.stderr);
    }
}

fn write_config(dir: &Path, name: &str) -> String {
    support::detect::write_config(dir, name, "", "").display().to_string()
}

#[test]
fn test_over_stored_history_raises_the_correlation_alerts_of_the_log_file() {
    let log = loghub("OpenSSH_2k.log").display().to_string();
    let dir = temp_dir("rules-test-history");
    let config = write_config(&dir, &unique("rules-history"));
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0", "--input", &log]);
    node.wait_for_count("*", 2000, TIMEOUT);
    node.stop();

    let from_file = logwarden(&["rules", "test", "--rules", REPO_RULES, "--events", &log, "--json"]).succeeded("rules test --events");
    let expected = correlation_ids(&from_file.alerts());
    assert!(expected.len() > 20, "the log holds brute forces: {expected:?}");
    let data = dir.join("data").display().to_string();
    let from_store = logwarden(&[
        "rules", "test", "--rules", REPO_RULES, "--data-dir", &data, "--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z", "--json",
    ])
    .succeeded("rules test --data-dir");
    let alerts = from_store.alerts();
    assert!(alerts.iter().all(|a| a["rule"]["id"] == BRUTE_FORCE_ID), "only the brute force rule alerts");
    assert_eq!(correlation_ids(&alerts), expected, "stored history vs the log file");
    assert_eq!(alerts.len(), expected.len(), "each alert once");
}

/// A syslog line of sshd at `at` (UTC, as the collector reads it).
fn syslog_line(at: DateTime<Utc>, message: &str) -> String {
    format!("{} bastion sshd[4242]: {message}\n", at.format("%b %e %H:%M:%S"))
}

fn append(log: &Path, lines: &[String]) {
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(log).unwrap();
    for line in lines {
        file.write_all(line.as_bytes()).unwrap();
    }
    file.flush().unwrap();
}

/// Alerts of `rule` found by search.
fn alert_query(rule: &str) -> String {
    format!("stream:alerts AND event.code:\"{rule}\"")
}

#[test]
fn a_running_detector_loads_a_new_rule_file_and_keeps_its_rules_when_one_breaks() {
    let dir = temp_dir("rules-reload");
    let rules = dir.join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(&rules, "ssh_brute_force.yml", &std::fs::read_to_string(BRUTE_FORCE).unwrap());
    let log = dir.join("auth.log");
    std::fs::write(&log, "").unwrap();
    let config = write_config(&dir, &unique("rules-reload"));
    let rules_arg = rules.display().to_string();
    // Collector, indexer and query API; the detector on its own, its log kept.
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0", "--input", log.to_str().unwrap()]);
    let (detector, detector_log) = Logwarden::start_logged(&["detect", "--config", &config, "--rules", &rules_arg], "info");
    let loaded = detector_log.wait_for("rules loaded", 0, TIMEOUT);
    assert_eq!(loaded["loaded"], 2, "{loaded}");
    // The last thing the detector starts, after its rule watcher (which
    // only sees changes made after it took its first look at the files).
    detector_log.wait_for("no hooks configured: nothing to deliver alerts to", 0, TIMEOUT);

    // A new rule file: loaded without a restart, and its alerts appear.
    let mark = detector_log.len();
    write(&rules, "accepted.yml", SSH_ACCEPTED);
    let reloaded = detector_log.wait_for("rules loaded", mark, TIMEOUT);
    assert_eq!(reloaded["loaded"], 3, "{reloaded}");
    detector_log.wait_for("rules reloaded", mark, TIMEOUT);
    let now = Utc::now();
    let accepted = |from: i64, to: i64| -> Vec<String> {
        (from..to).map(|i| syslog_line(now, &format!("Accepted password for user{i} from 198.51.100.{i} port 22 ssh2"))).collect()
    };
    append(&log, &accepted(1, 4));
    node.wait_for_count(&alert_query(SSH_ACCEPTED_ID), 3, TIMEOUT);

    // A broken file: the reload is refused, the rules in force stay.
    let mark = detector_log.len();
    let broken = write(&rules, "broken.yml", BROKEN);
    let refused = detector_log.wait_for("rules not reloaded; the rules already loaded stay in force", mark, TIMEOUT);
    assert!(refused["error"].as_str().unwrap().contains(&broken), "the error names the file: {refused}");
    assert!(detector_log.with_message("rules reloaded", mark).is_empty());
    // Both the new rule and the one from the start still raise alerts.
    append(&log, &accepted(4, 6));
    let failures: Vec<String> = (0..10)
        .map(|s| syslog_line(now + chrono::Duration::seconds(s), "Failed password for root from 203.0.113.99 port 2222 ssh2"))
        .collect();
    append(&log, &failures);
    node.wait_for_count(&alert_query(SSH_ACCEPTED_ID), 5, TIMEOUT);
    node.wait_for_count(&format!("{} AND source.ip:\"203.0.113.99\"", alert_query(BRUTE_FORCE_ID)), 1, TIMEOUT);
    detector.stop();
    node.stop();
}
