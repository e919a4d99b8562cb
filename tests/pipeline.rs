//! End to end against the real broker: files → collector → Kafka → indexer →
//! tantivy → search API, every loghub line found exactly once.

mod support;

use std::time::Duration;

use support::*;

const TIMEOUT: Duration = Duration::from_secs(180);

fn run_args<'a>(inputs: &'a [String], data: &'a str, topic: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--data-dir",
        data,
        "--http-addr",
        "127.0.0.1:0",
        "--topic",
        topic,
        "--group",
        topic,
    ];
    for input in inputs {
        args.extend(["--input", input.as_str()]);
    }
    args
}

fn loghub_inputs() -> Vec<String> {
    LOGHUB_FILES
        .iter()
        .map(|f| loghub(f).display().to_string())
        .collect()
}

fn assert_every_line_once(node: &Logwarden) {
    for file in LOGHUB_FILES {
        let path = loghub(file).display().to_string();
        let lines = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
        assert_eq!(lines, 2000);
        assert_eq!(
            node.count(&format!("log.file.path:\"{path}\"")),
            lines,
            "{file}"
        );
    }
}

#[test]
fn every_loghub_line_is_searchable_exactly_once() {
    let data = temp_dir("e2e");
    let topic = unique("lw-e2e");
    let inputs = loghub_inputs();
    let node = Logwarden::start(&run_args(&inputs, data.to_str().unwrap(), &topic));
    node.wait_for_count("*", 6000, TIMEOUT);
    assert_every_line_once(&node);

    // A word whose line count grep-like counting gives.
    for word in ["authentication", "Invalid", "failure", "workerEnv"] {
        let want: u64 = LOGHUB_FILES
            .iter()
            .map(|f| lines_with_token(&loghub(f), word))
            .sum();
        assert!(want > 0, "{word} appears in the corpus");
        // In `message` only: a bare word also matches keyword fields
        // (`event.category:authentication`).
        assert_eq!(node.count(&format!("message:{word}")), want, "lines containing `{word}`");
    }
    // ECS fields parsed from the lines are queryable.
    assert_eq!(node.count("host.name:LabSZ"), 2000);
    assert_eq!(
        node.count("process.name:\"sshd(pam_unix)\" AND host.name:combo"),
        lines_with_token(&loghub("Linux_2k.log"), "sshd")
    );
    // Newest first.
    let hits = node.search("host.name:LabSZ", 50)["hits"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(hits.len(), 50);
    let times: Vec<&str> = hits
        .iter()
        .map(|h| h["@timestamp"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "hits are newest first: {times:?}"
    );
    assert!(
        hits[0]["event.original"]
            .as_str()
            .unwrap()
            .contains("LabSZ")
    );

    // Once the indexers have read and committed everything Kafka holds (the
    // lines and the API's own audit records), the index holds each line
    // once: nothing more is on its way.
    wait_for_group_caught_up(&topic, &topic, TIMEOUT);
    assert_eq!(node.count("*"), 6000);
    node.stop();
}

#[test]
fn bad_queries_get_a_json_400() {
    let data = temp_dir("badq");
    let topic = unique("lw-badq");
    let inputs = vec![loghub("Apache_2k.log").display().to_string()];
    let node = Logwarden::start(&run_args(&inputs, data.to_str().unwrap(), &topic));
    let client = reqwest::blocking::Client::new();
    for (query, fragment) in [
        (vec![("q", "nosuchfield:x")], "nosuchfield"),
        (vec![("q", "message:(unclosed")], "unclosed"),
        (vec![("limit", "abc")], "limit"),
        (vec![("limit", "100000000")], "limit"),
        (vec![("stream", "../etc")], "stream"),
    ] {
        let response = node
            .get("/api/v1/search")
            .query(&query)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{query:?}");
        let body: serde_json::Value = response.json().unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(body["error"]["code"].is_string());
        assert!(message.contains(fragment), "{query:?}: {message}");
    }
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        assert_eq!(
            client.get(node.url(path)).send().unwrap().status().as_u16(),
            200,
            "{path}"
        );
    }
    let openapi: serde_json::Value = client
        .get(node.url("/api/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(openapi["paths"]["/api/v1/search"].is_object());
    node.stop();
}

#[test]
fn restart_midway_keeps_counts_exact() {
    let data = temp_dir("restart");
    let topic = unique("lw-restart");
    let inputs = loghub_inputs();
    let args = run_args(&inputs, data.to_str().unwrap(), &topic);
    let node = Logwarden::start(&args);
    // Stop as soon as anything is searchable: the rest is in flight somewhere.
    let started = std::time::Instant::now();
    while node.count("*") == 0 {
        assert!(started.elapsed() < TIMEOUT, "nothing indexed");
        std::thread::sleep(Duration::from_millis(50));
    }
    node.stop();
    let node = Logwarden::start(&args);
    node.wait_for_count("*", 6000, TIMEOUT);
    assert_every_line_once(&node);
    wait_for_group_caught_up(&topic, &topic, TIMEOUT);
    assert_eq!(node.count("*"), 6000);
    node.stop();
}

#[test]
fn indexer_killed_with_sigkill_resumes_exactly_once() {
    // The collector runs on its own and is never killed, so Kafka holds
    // each line once; the indexer is killed -9 and restarted several times.
    let data = temp_dir("kill9");
    let logs = temp_dir("kill9-logs");
    let topic = unique("lw-kill9");
    let generated = std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args([
            "generate",
            "--out",
            logs.to_str().unwrap(),
            "--lines",
            "30000",
        ])
        .output()
        .unwrap();
    assert!(generated.status.success());
    let glob = format!("{}/*", logs.display());
    let data_s = data.to_str().unwrap();
    let ckpt = temp_dir("kill9-ckpt");
    let collector = Logwarden::start(&[
        "collector",
        "--input",
        &glob,
        "--data-dir",
        ckpt.to_str().unwrap(),
        "--topic",
        &topic,
    ]);
    let api = Logwarden::start(&[
        "query-api",
        "--data-dir",
        data_s,
        "--http-addr",
        "127.0.0.1:0",
    ]);
    let indexer_args = [
        "indexer",
        "--data-dir",
        data_s,
        "--topic",
        &topic,
        "--group",
        &topic,
        "--commit-interval",
        "100ms",
    ];
    for round in 0..4 {
        let indexer = Logwarden::start(&indexer_args);
        let before = api.count("*");
        let started = std::time::Instant::now();
        while api.count("*") == before {
            assert!(started.elapsed() < TIMEOUT, "round {round}: the indexer made no progress before its kill");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50 * round));
        indexer.kill();
    }
    let indexer = Logwarden::start(&indexer_args);
    api.wait_for_count("*", 30000, TIMEOUT);
    assert_eq!(wait_for_group_caught_up(&topic, &topic, TIMEOUT), 30000);
    assert_eq!(api.count("*"), 30000);
    for file in ["auth.log", "syslog", "nginx-access.log"] {
        let path = logs.join(file);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
        assert_eq!(
            api.count(&format!("log.file.path:\"{}\"", path.display())),
            lines,
            "{file}"
        );
    }
    indexer.stop();
    api.stop();
    collector.stop();
}
