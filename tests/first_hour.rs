//! The first hour of a new user: the README's first-screen command, run as
//! written against a pipeline started the way `scripts/demo.sh` starts it
//! (generated logs, no config file, the created admin key), then HTTP
//! ingest from flags alone and a key made with `logwarden keys create`.
//!
//! Needs the Kafka broker of `scripts/kafka.sh` (`LOGWARDEN_KAFKA_BROKERS`).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{brokers, unique};

const BIN: &str = env!("CARGO_BIN_EXE_logwarden");

/// A `logwarden run` and what it printed up to serving the query API.
struct Pipeline {
    child: Child,
    stdout: Vec<String>,
    api: String,
    ingest: String,
}

impl Pipeline {
    fn start(args: &[&str]) -> Pipeline {
        let mut child = Command::new(BIN)
            .args(args)
            .env("LOGWARDEN_KAFKA_BROKERS", brokers())
            .env("LOGWARDEN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting logwarden run");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdout = Vec::new();
        let (mut api, mut ingest) = (None, None);
        for line in lines.by_ref() {
            let line = line.expect("reading logwarden stdout");
            if let Some(addr) = line.strip_prefix("logwarden: http ingest listening on ") {
                ingest = Some(addr.trim().to_string());
            }
            let done = line.strip_prefix("logwarden: query API listening on ").map(|a| api = Some(a.trim().to_string()));
            stdout.push(line);
            if done.is_some() {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let api = api.unwrap_or_else(|| panic!("logwarden exited before serving the query API: {stdout:#?}"));
        Pipeline { child, stdout, api, ingest: ingest.expect("http ingest announced") }
    }

    fn stop(mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "logwarden did not stop cleanly: {status}");
    }

    fn total(&self, key: &str, q: &str) -> u64 {
        let response = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/search", self.api))
            .bearer_auth(key)
            .query(&[("q", q), ("limit", "0")])
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "search `{q}`");
        response.json::<Value>().unwrap()["total"].as_u64().unwrap()
    }

    fn wait_for(&self, key: &str, q: &str, at_least: u64) -> u64 {
        let started = Instant::now();
        loop {
            let total = self.total(key, q);
            if total >= at_least {
                return total;
            }
            assert!(started.elapsed() < Duration::from_secs(180), "`{q}`: {total} events, expected at least {at_least}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn ingest(&self, key: &str, body: &str) -> u16 {
        reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/ingest/app", self.ingest))
            .bearer_auth(key)
            .body(body.to_string())
            .send()
            .unwrap()
            .status()
            .as_u16()
    }
}

fn logwarden(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).output().expect("running logwarden");
    assert!(output.status.success(), "logwarden {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The command the README's first screen shows (`Once the demo runs: `…``).
fn readme_first_query() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let head: String = readme.lines().take(30).collect::<Vec<_>>().join("\n");
    let start = head.find("`curl ").expect("the README's first screen shows a curl command") + 1;
    let end = start + head[start..].find('`').unwrap();
    head[start..end].to_string()
}

#[test]
fn the_readme_first_screen_works_as_shown() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let data = dir.path().join("data");
    let (logs_s, data_s) = (logs.display().to_string(), data.display().to_string());
    logwarden(&["generate", "--out", &logs_s, "--lines", "3000", "--span", "2h"]);
    let input = format!("{logs_s}/*");
    let (topic, group) = (unique("lw-first-hour"), unique("lw-first-hour-indexer"));
    // As scripts/demo.sh runs it, plus HTTP ingest from the flag alone.
    let args = [
        "run", "--input", &input, "--data-dir", &data_s, "--http-addr", "127.0.0.1:0",
        "--http-ingest", "127.0.0.1:0", "--topic", &topic, "--group", &group,
    ];
    let node = Pipeline::start(&args);
    let admin = std::fs::read_to_string(data.join("admin.key")).unwrap().trim().to_string();
    assert!(node.stdout.iter().any(|l| l == &format!("logwarden: admin key: {admin}")), "{:#?}", node.stdout);
    assert!(node.stdout.iter().any(|l| l.starts_with("logwarden: ingest with the admin key: curl")), "{:#?}", node.stdout);
    node.wait_for(&admin, "*", 3000);

    // The README's command, with the demo's data dir and address replaced.
    let command = readme_first_query();
    assert!(command.contains("demo/data/admin.key") && command.contains("http://127.0.0.1:8080/"), "{command}");
    let demo = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh")).unwrap();
    let query = &command[command.find("/api/v1/search").unwrap()..command.rfind('\'').unwrap()];
    assert!(demo.contains(query) && demo.contains("Authorization: Bearer"), "demo.sh's Try: line differs from the README's {query}");
    let command = command
        .replace("demo/data", &data_s)
        .replace("http://127.0.0.1:8080", &node.api);
    let output = Command::new("sh").arg("-c").arg(&command).output().unwrap();
    assert!(output.status.success(), "{command}");
    let answer: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{command}: {e}: {}", String::from_utf8_lossy(&output.stdout)));
    assert!(answer["total"].as_u64().unwrap() > 0, "{command}: {answer}");
    let hits = answer["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3, "{answer}");
    for hit in hits {
        let text = hit.to_string();
        assert!(text.contains("sshd") && text.to_lowercase().contains("failed"), "{text}");
    }
    // Without the key: 401, as the README says.
    let bare = command.replace(&format!("-H \"Authorization: Bearer $(cat {data_s}/admin.key)\" "), "-o /dev/null -w '%{http_code}' ");
    let status = Command::new("sh").arg("-c").arg(&bare).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "401", "{bare}");

    // HTTP ingest from the flags alone takes the admin key.
    assert_eq!(node.ingest(&admin, "first-hour admin line\n"), 200);
    node.wait_for(&admin, "\"first-hour admin line\"", 1);

    // A key for a shipper, without computing a hash by hand.
    let created = logwarden(&["keys", "create", "--name", "shipper", "--role", "ingest", "--streams", "app", "--data-dir", &data_s]);
    let mut lines = created.lines();
    let shipper = lines.next().unwrap().to_string();
    assert!(shipper.starts_with("lw_"), "{created}");
    let entry: String = lines.collect::<Vec<_>>().join("\n");
    assert!(entry.contains("[[auth.keys]]\nname = \"shipper\"\nrole = \"ingest\"\nhash = \"sha256:"), "{entry}");
    assert!(!std::fs::read_to_string(data.join("api-keys.toml")).unwrap().contains(&shipper));
    let listed = logwarden(&["keys", "list", "--data-dir", &data_s]);
    assert!(listed.contains("shipper") && listed.contains("ingest") && listed.contains("admin"), "{listed}");
    assert!(!listed.contains(&shipper) && !listed.contains(&admin), "keys list shows no key");

    // Running processes keep their keys; a restart takes the new one.
    assert_eq!(node.ingest(&shipper, "too early\n"), 401);
    node.stop();
    let node = Pipeline::start(&args);
    assert_eq!(node.ingest(&shipper, "first-hour shipper line\n"), 200);
    node.wait_for(&admin, "\"first-hour shipper line\"", 1);
    // An ingest key may not search.
    let refused = reqwest::blocking::Client::new().get(format!("{}/api/v1/search?q=*", node.api)).bearer_auth(&shipper).send().unwrap();
    assert_eq!(refused.status().as_u16(), 403);

    logwarden(&["keys", "revoke", "--name", "shipper", "--data-dir", &data_s]);
    node.stop();
    let node = Pipeline::start(&args);
    assert_eq!(node.ingest(&shipper, "after revoke\n"), 401);
    assert_eq!(node.ingest(&admin, "admin still works\n"), 200);
    node.stop();
}
