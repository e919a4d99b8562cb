//! The web UI's files and the pipeline status, as a browser and an
//! operator meet them: a real `logwarden run` on the broker of
//! `scripts/kafka.sh`, fed with loghub's OpenSSH log.
//!
//! - `/`, the UI's pages and `/assets/*` answer without a key, with their
//!   content types, a strict Content-Security-Policy and ETags; unknown
//!   files are JSON 404s; unknown API paths stay behind the key.
//! - `GET /api/v1/status` reports the indexer group's lag per partition of
//!   the events topic (zero once everything is indexed), the events
//!   indexed per stream, spools, seals; `logwarden status --json` prints
//!   the same document.
//! - `GET /api/v1/whoami` tells the UI the key's role.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Logwarden, brokers, loghub, unique};

#[test]
fn ui_assets_status_and_whoami() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let topic = unique("logwarden.webui");
    let group = unique("webui-indexer");
    let input = loghub("OpenSSH_2k.log");
    let node = Logwarden::start(&[
        "run", "--data-dir", data, "--topic", &topic, "--group", &group, "--workers", "2",
        "--http-addr", "127.0.0.1:0", "--input", input.to_str().unwrap(),
    ]);
    node.wait_for_count("*", 2000, Duration::from_secs(120));
    let client = reqwest::blocking::Client::new();

    // The UI: public, typed, under a strict policy.
    for path in ["/", "/search", "/alerts", "/alerts/0123abcd", "/rules", "/compliance", "/health"] {
        let response = client.get(node.url(path)).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8", "{path}");
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(response.text().unwrap().contains("/assets/app.js"));
    }
    let script = client.get(node.url("/assets/app.js")).send().unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(script.headers()["cache-control"], "no-cache");
    let etag = script.headers()["etag"].clone();
    let again = client.get(node.url("/assets/app.js")).header("if-none-match", etag).send().unwrap();
    assert_eq!(again.status(), 304);
    let css = client.get(node.url("/assets/style.css")).send().unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let missing = client.get(node.url("/assets/nope.js")).send().unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().unwrap()["error"]["code"], "not_found");
    // Not UI paths: behind the key as before.
    for path in ["/nosuch", "/api/v1/nosuch", "/alerts/x/_search"] {
        assert_eq!(client.get(node.url(path)).send().unwrap().status(), 401, "{path}");
    }
    assert_eq!(node.get("/nosuch").send().unwrap().status(), 404);

    // Described in the OpenAPI document.
    let document: Value = client.get(node.url("/api/v1/openapi.json")).send().unwrap().json().unwrap();
    for path in ["/api/v1/status", "/api/v1/whoami", "/"] {
        assert!(document["paths"][path]["get"].is_object(), "{path} missing from openapi.json");
    }
    assert!(document["components"]["schemas"]["PipelineStatus"]["required"].is_array());

    // Who the key is.
    let me: Value = node.get("/api/v1/whoami").send().unwrap().json().unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["may"]["triage"], true);
    assert_eq!(client.get(node.url("/api/v1/whoami")).send().unwrap().status(), 401);

    // The status: lag reaches zero once the indexer committed everything.
    assert_eq!(client.get(node.url("/api/v1/status")).send().unwrap().status(), 401);
    let started = Instant::now();
    let status = loop {
        let status: Value = node.get("/api/v1/status").send().unwrap().json().unwrap();
        let lag = status["consumer_groups"][0]["total_lag"].as_i64();
        if lag == Some(0) || started.elapsed() > Duration::from_secs(60) {
            break status;
        }
        // Each call is audited (an event): give the indexer a commit to take it.
        std::thread::sleep(Duration::from_millis(1500));
    };
    assert_eq!(status["kafka"]["reachable"], true, "{status:#}");
    let lag = &status["consumer_groups"][0];
    assert_eq!(lag["group"], group.as_str());
    assert_eq!(lag["topic"], topic.as_str());
    assert_eq!(lag["total_lag"], 0, "{status:#}");
    let partitions = lag["partitions"].as_array().unwrap();
    assert!(!partitions.is_empty());
    let end: i64 = partitions.iter().map(|p| p["high_watermark"].as_i64().unwrap()).sum();
    assert!(end >= 1999, "{status:#}");
    // Caught up: committed at the end, or short of it by transaction
    // markers only, which are not lag.
    for p in partitions {
        assert_eq!(p["lag"], 0, "{status:#}");
        // (null: a partition that never held an event, nothing to commit)
        let committed = p["committed"].as_i64().unwrap_or(p["low_watermark"].as_i64().unwrap());
        assert!(committed <= p["high_watermark"].as_i64().unwrap(), "{status:#}");
    }
    let auth = status["ingest"]["streams"].as_array().unwrap().iter().find(|s| s["stream"] == "auth").cloned();
    let auth = auth.unwrap_or_else(|| panic!("no auth stream in {status:#}"));
    assert!(auth["last_window"].as_u64().unwrap() >= 1999, "{status:#}");
    assert_eq!(status["dead_letters"][0]["topic"], "logwarden.dlq");
    assert_eq!(status["spools"].as_array().unwrap().len(), 2);
    assert!(status["seals"]["open_splits"].as_u64().unwrap() > 0, "{status:#}");
    assert!(status["last_verify"].is_null());

    // The command line prints the same report (the API's own audit records
    // are events too: wait for the indexer to take the last ones).
    let status_json = || {
        let output = Command::new(env!("CARGO_BIN_EXE_logwarden"))
            .args(["status", "--data-dir", data, "--topic", &topic, "--group", &group, "--json"])
            .env("LOGWARDEN_KAFKA_BROKERS", brokers())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let started = Instant::now();
    let printed = loop {
        let printed = status_json();
        if printed["consumer_groups"][0]["total_lag"] == 0 || started.elapsed() > Duration::from_secs(30) {
            break printed;
        }
        std::thread::sleep(Duration::from_millis(1500));
    };
    assert_eq!(printed["consumer_groups"][0]["group"], group.as_str());
    assert_eq!(printed["consumer_groups"][0]["total_lag"], 0, "{printed:#}");
    let table = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["status", "--data-dir", data, "--topic", &topic, "--group", &group])
        .env("LOGWARDEN_KAFKA_BROKERS", brokers())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(&format!("consumer lag, group {group}")) && text.contains("ingest rate"), "{text}");
    node.stop();
}
