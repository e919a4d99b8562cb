//! `GET /api/v1/rules` against a real `logwarden run` (collector, Kafka,
//! indexer, detector, query API) with `[detect] rules`: the loaded rules
//! with what they are and how many alerts each raised (equal to the
//! alerts of the rule found by search, in all and over the last 24 hours),
//! the unsupported rule with its reason, who may read the list, and the
//! list following the files: a new rule appears, a broken file is
//! reported while the rules in force stay.

mod support;

use support::detect::{DANGLING_ID, dangling};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use logwarden_config::auth::hash_key;
use serde_json::{Value, json};
use support::{Logwarden, loghub, temp_dir, unique};

const BRUTE_FORCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/linux/ssh_brute_force.yml");
const BRUTE_FORCE_ID: &str = "0e1f5c3e-8d2b-4c55-a6f1-3b9d2c7e4f21";
const AUTH_FAILURE_ID: &str = "6c4bd5a9-2bd7-4d6c-9e21-7a1b8f4f0a11";
const TIMEOUT: Duration = Duration::from_secs(180);

const BREAK_IN: &str = r#"title: SSH Reverse Mapping Break-in Attempt
id: 5d0c4a52-7c8e-4b7f-9a61-2f3e8b1d9c01
status: test
description: sshd could not map the client's address back to its name.
author: logwarden tests
tags:
    - attack.reconnaissance
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.action: ssh_break_in_attempt
    condition: selection
level: medium
"#;
const BREAK_IN_ID: &str = "5d0c4a52-7c8e-4b7f-9a61-2f3e8b1d9c01";


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

const ACCEPTED: &str = r#"title: SSH Login Accepted
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
const ACCEPTED_ID: &str = "3f6d1b0e-5a2c-4e8f-9b71-0c4d2e6a8b13";

const KEYS: [(&str, &str, &str, Option<&str>); 5] = [
    ("boss", "admin", "lw-rules-admin-key-00000000000000000", None),
    ("ann", "analyst", "lw-rules-analyst-key-0000000000000000", None),
    ("audrey", "auditor", "lw-rules-auditor-key-0000000000000000", None),
    ("shipper", "ingest", "lw-rules-ingest-key-00000000000000000", None),
    ("authonly", "analyst", "lw-rules-authonly-key-000000000000000", Some("[\"auth\"]")),
];

fn secret(name: &str) -> &'static str {
    KEYS.iter().find(|k| k.0 == name).unwrap().2
}

/// Writes `dir/name` whole at once (renamed into place: a watcher never
/// sees half a file).
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path.display().to_string()
}

fn write_config(dir: &Path, name: &str, rules: &Path) -> String {
    let mut text = String::new();
    for (name, role, secret, streams) in KEYS {
        text.push_str(&format!("[[auth.keys]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{}\"\n", hash_key(secret)));
        if let Some(streams) = streams {
            text.push_str(&format!("streams = {streams}\n"));
        }
    }
    support::detect::write_config(dir, name, &format!("rules = [\"{}\"]", rules.display()), &text).display().to_string()
}

struct Api<'a> {
    node: &'a Logwarden,
    client: reqwest::blocking::Client,
}

impl Api<'_> {
    /// Status and JSON body of a GET with `key`.
    fn get(&self, key: &str, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let request = self.client.get(self.node.url(path)).bearer_auth(secret(key)).query(params);
        let response = request.timeout(Duration::from_secs(60)).send().expect("the server answers");
        (response.status().as_u16(), response.json().expect("a JSON answer"))
    }

    fn rules(&self, key: &str) -> Value {
        let (status, body) = self.get(key, "/api/v1/rules", &[]);
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Events found by `q` (with `from`, when given).
    fn found(&self, q: &str, from: Option<&str>) -> u64 {
        let mut params = vec![("q", q), ("limit", "0")];
        params.extend(from.map(|from| ("from", from)));
        let (status, body) = self.get("boss", "/api/v1/search", &params);
        assert_eq!(status, 200, "{body}");
        body["total"].as_u64().unwrap()
    }

    /// Polls the rule list until `done` holds; panics with the last list.
    fn rules_until(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let list = self.rules("boss");
            if done(&list) {
                return list;
            }
            assert!(started.elapsed() < TIMEOUT, "{what}: {list:#}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn alert_query(rule: &str) -> String {
    format!("stream:alerts AND event.code:\"{rule}\"")
}

/// Alerts per rule id of `logwarden rules test` over `log`.
fn backtest(rules: &Path, log: &Path) -> BTreeMap<String, u64> {
    let output = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["rules", "test", "--rules", rules.to_str().unwrap(), "--events", log.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut counts = BTreeMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let alert: Value = serde_json::from_str(line).unwrap();
        *counts.entry(alert["rule"]["id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    counts
}

fn by_id(list: &Value) -> BTreeMap<String, Value> {
    list["rules"].as_array().unwrap().iter().map(|r| (r["id"].as_str().unwrap().to_string(), r.clone())).collect()
}

/// Each rule's alert counts equal what search finds of its alerts, and
/// what the alert API lists; returns the totals by rule.
fn counts_match_search(api: &Api, list: &Value) -> BTreeMap<String, (u64, u64)> {
    let mut counts = BTreeMap::new();
    for (id, rule) in by_id(list) {
        let total = rule["alert_counts"]["total"].as_u64().unwrap_or_else(|| panic!("{rule}"));
        let last_24h = rule["alert_counts"]["last_24h"].as_u64().unwrap();
        assert_eq!(total, api.found(&alert_query(&id), None), "alerts of {id} in all");
        assert_eq!(last_24h, api.found(&alert_query(&id), Some("now-24h")), "alerts of {id} in the last 24 h");
        let (status, listed) = api.get("boss", "/api/v1/alerts", &[("rule", &id), ("limit", "0")]);
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["total"].as_u64().unwrap(), total, "alerts of {id} listed by the alert API");
        counts.insert(id, (total, last_24h));
    }
    counts
}

/// A syslog line of sshd at `at` (UTC, as the collector reads it).
fn syslog_line(at: DateTime<Utc>, message: &str) -> String {
    format!("{} bastion sshd[4242]: {message}\n", at.format("%b %e %H:%M:%S"))
}

#[test]
fn the_rule_list_shows_the_rules_in_force_with_their_alert_counts() {
    let dir = temp_dir("rules-api");
    let rules = dir.join("rules");
    std::fs::create_dir(&rules).unwrap();
    let break_in = write(&rules, "break_in.yml", BREAK_IN);
    let dangling = write(&rules, "dangling.yml", &dangling());
    let macos = write(&rules, "macos.yml", MACOS);
    let brute_force = write(&rules, "ssh_brute_force.yml", &std::fs::read_to_string(BRUTE_FORCE).unwrap());
    let recent = dir.join("recent");
    std::fs::create_dir(&recent).unwrap();
    let log = loghub("OpenSSH_2k.log");
    let expected = backtest(&rules, &log);
    assert!(expected[BREAK_IN_ID] > 10 && expected[BRUTE_FORCE_ID] > 20, "{expected:?}");
    assert_eq!(expected.len(), 2, "{expected:?}");

    let config = write_config(&dir, &unique("rules-api"), &rules);
    let recent_glob = recent.join("*.log").display().to_string();
    let node = Logwarden::start(&[
        "run", "--config", &config, "--http-addr", "127.0.0.1:0", "--input", log.to_str().unwrap(), "--input", &recent_glob,
    ]);
    let api = Api { node: &node, client: reqwest::blocking::Client::new() };
    for (rule, count) in &expected {
        wait_found(&api, &alert_query(rule), *count);
    }

    let list = api.rules("boss");
    assert_eq!(list["configured"], true);
    assert_eq!(list["up_to_date"], true);
    assert_eq!(list["generation"], 1);
    assert_eq!(list["files"], 4);
    assert_eq!(list["errors"], json!([]));
    assert_eq!(
        list["unsupported"],
        json!([{
            "file": dangling, "id": DANGLING_ID, "title": "Correlation Of A Missing Rule",
            "reason": "references `no_such_rule`, which is not a loaded detection rule",
        }])
    );
    let rules_by_id = by_id(&list);
    let ids: BTreeSet<&str> = rules_by_id.keys().map(String::as_str).collect();
    assert_eq!(ids, BTreeSet::from([BRUTE_FORCE_ID, BREAK_IN_ID, AUTH_FAILURE_ID, MACOS_ID]));
    let shown = |id: &str| {
        let mut rule = rules_by_id[id].clone();
        rule.as_object_mut().unwrap().remove("alert_counts");
        rule
    };
    assert_eq!(
        shown(BREAK_IN_ID),
        json!({
            "id": BREAK_IN_ID, "title": "SSH Reverse Mapping Break-in Attempt", "level": "medium",
            "tags": ["attack.reconnaissance"], "author": "logwarden tests",
            "description": "sshd could not map the client's address back to its name.",
            "kind": "detection", "logsource": { "product": "linux", "service": "sshd" }, "file": break_in,
            "feeds": [], "alerts": true, "matches_no_source": false,
        })
    );
    let brute = shown(BRUTE_FORCE_ID);
    assert_eq!((&brute["kind"], &brute["level"], &brute["file"], &brute["alerts"]), (&json!("event_count"), &json!("high"), &json!(brute_force), &json!(true)));
    assert_eq!(brute["logsource"], json!({}));
    let failure = shown(AUTH_FAILURE_ID);
    assert_eq!(failure["feeds"], json!([BRUTE_FORCE_ID]));
    assert_eq!(failure["alerts"], false, "it only feeds the correlation");
    let mac = shown(MACOS_ID);
    assert_eq!((&mac["matches_no_source"], &mac["file"]), (&json!(true), &json!(macos)));

    let counts = counts_match_search(&api, &list);
    for (rule, count) in &expected {
        assert_eq!(counts[rule].0, *count, "{rule}");
    }
    assert_eq!(counts[AUTH_FAILURE_ID], (0, 0));
    assert_eq!(counts[MACOS_ID], (0, 0));

    // Alerts of the last hour: a brute force and two break-in attempts.
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    let mut lines: Vec<String> = (0..10)
        .map(|s| syslog_line(hour_ago + chrono::Duration::seconds(s), "Failed password for root from 203.0.113.77 port 2222 ssh2"))
        .collect();
    for (s, ip) in [(20, "192.0.2.5"), (21, "192.0.2.6")] {
        let message = format!("reverse mapping checking getaddrinfo for host-{s}.example [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!");
        lines.push(syslog_line(hour_ago + chrono::Duration::seconds(s), &message));
    }
    write(&recent, "auth.log", &lines.concat());
    wait_found(&api, &alert_query(BRUTE_FORCE_ID), expected[BRUTE_FORCE_ID] + 1);
    wait_found(&api, &alert_query(BREAK_IN_ID), expected[BREAK_IN_ID] + 2);
    let list = api.rules("boss");
    let counts = counts_match_search(&api, &list);
    assert_eq!(counts[BRUTE_FORCE_ID], (expected[BRUTE_FORCE_ID] + 1, 1));
    assert_eq!(counts[BREAK_IN_ID], (expected[BREAK_IN_ID] + 2, 2));

    // Readers: admin, analyst, auditor; counts only for keys that may read alerts.
    for key in ["ann", "audrey"] {
        assert_eq!(by_id(&api.rules(key)), by_id(&list), "{key}");
    }
    let limited = api.rules("authonly");
    assert_eq!(limited["rules"].as_array().unwrap().len(), 4);
    assert!(limited["rules"].as_array().unwrap().iter().all(|r| r["alert_counts"].is_null()), "{limited}");
    let (status, body) = api.get("shipper", "/api/v1/rules", &[]);
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")), "{body}");
    let response = api.client.get(node.url("/api/v1/rules")).send().unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = api.client.post(node.url("/api/v1/rules")).bearer_auth(secret("boss")).send().unwrap();
    assert_eq!(response.status().as_u16(), 405);

    // The list follows the files, as the detector does: a new rule is
    // listed; a broken file is reported and the rules in force stay.
    let accepted = write(&rules, "accepted.yml", ACCEPTED);
    let list = api.rules_until("the new rule is listed", |l| by_id(l).contains_key(ACCEPTED_ID));
    assert_eq!((&list["generation"], &list["files"], &list["up_to_date"]), (&json!(2), &json!(5), &json!(true)));
    assert_eq!(by_id(&list)[ACCEPTED_ID]["file"], accepted.as_str());
    let broken = write(&rules, "broken.yml", "title: [an unclosed flow sequence\nid: 1\n");
    let list = api.rules_until("the broken file is reported", |l| l["up_to_date"] == false);
    let errors = list["errors"].as_array().unwrap();
    assert!(!errors.is_empty() && errors.iter().all(|e| e["file"] == broken.as_str()), "{list:#}");
    assert!(errors[0]["reason"].as_str().unwrap().contains("YAML"), "{list:#}");
    assert_eq!(list["generation"], 2, "no reload happened");
    assert_eq!(list["rules"].as_array().unwrap().len(), 5, "the rules in force stay: {list:#}");
    std::fs::remove_file(&broken).unwrap();
    let list = api.rules_until("the fixed rules are loaded", |l| l["up_to_date"] == true);
    assert_eq!((&list["generation"], &list["errors"]), (&json!(3), &json!([])));

    the_openapi_document_describes_the_endpoint(&api);
    node.stop();
}

fn wait_found(api: &Api, q: &str, want: u64) {
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < TIMEOUT {
        last = api.found(q, None);
        if last >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(last, want, "`{q}`");
}

fn the_openapi_document_describes_the_endpoint(api: &Api) {
    let document: Value = api.client.get(api.node.url("/api/v1/openapi.json")).send().unwrap().json().unwrap();
    let operation = &document["paths"]["/api/v1/rules"]["get"];
    for status in ["200", "401", "403"] {
        assert!(operation["responses"][status].is_object(), "GET /api/v1/rules: no {status} response");
    }
    let schemas = &document["components"]["schemas"];
    for name in ["RuleList", "Rule", "RuleAlertCounts", "RuleProblem"] {
        assert!(schemas[name].is_object(), "no schema {name}");
    }
    let required: Vec<&str> = schemas["Rule"]["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for field in ["id", "kind", "logsource", "feeds", "alerts", "matches_no_source", "alert_counts"] {
        assert!(required.contains(&field), "Rule lacks {field}");
    }
}

#[test]
fn without_rules_the_list_is_empty_and_not_configured() {
    let dir = temp_dir("rules-api-none");
    let data = dir.join("data").display().to_string();
    let topic = unique("rules-api-none");
    let node = Logwarden::start(&["query-api", "--data-dir", &data, "--http-addr", "127.0.0.1:0", "--topic", &topic]);
    let response = node.get("/api/v1/rules").send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let list: Value = response.json().unwrap();
    assert_eq!(
        list,
        json!({ "configured": false, "up_to_date": true, "generation": 0, "files": 0, "rules": [], "unsupported": [], "errors": [] })
    );
    node.stop();
}
