//! `[index] free_fields`: the indexer indexes the free fields the config
//! lists, and the query API parses queries against the same list.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn a_free_field_outside_the_default_list_is_searchable_once_configured() {
    let dir = temp_dir("free-fields");
    let topic = unique("lw-free-fields");
    let input = dir.join("app.json");
    // `trace.id` is not in the default list; `user.*` is.
    let status = [200, 404, 503];
    let lines: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"@timestamp":"2026-11-30T10:00:0{i}Z","message":"request {i}","trace.id":"t-{i}","user.role":"admin","http.response.status_code":{},"source.ip":"10.{i}.0.1"}}"#, status[i]))
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let mut config = indexer_sections(&dir, &topic, &topic, 1);
    config.push_str("[index]\nfree_fields = [\"trace.*\", \"http.*\"]\n");
    let config_path = dir.join("logwarden.toml");
    std::fs::write(&config_path, config).unwrap();
    let node = Logwarden::start(&[
        "run",
        "--config",
        config_path.to_str().unwrap(),
        "--http-addr",
        "127.0.0.1:0",
        "--input",
        input.to_str().unwrap(),
    ]);
    node.wait_for_count("*", 3, Duration::from_secs(120));
    assert_eq!(node.count(r#"fields.trace.id:"t-1""#), 1);
    assert_eq!(node.count(r#"fields.trace.id:"t-0" OR fields.trace.id:"t-2""#), 2);
    assert_eq!(node.count(r#"fields.trace.id:"t-9""#), 0);
    // Ranges over a free field's terms, and any value of a field without
    // doc values.
    assert_eq!(node.count("fields.http.response.status_code:[400 TO 599]"), 2);
    assert_eq!(node.count("fields.http.response.status_code:{404 TO *]"), 1);
    assert_eq!(node.count("fields.trace.id:[t-1 TO *]"), 2);
    assert_eq!(node.count("fields.http:*"), 3);
    assert_eq!(node.count("message:[* TO *]"), 3);
    assert_eq!(node.count("_exists_:fields.trace.id"), 3);
    // IPv4 networks and address ranges, by value.
    assert_eq!(node.count(r#"source.ip:"10.0.0.0/15""#), 2);
    assert_eq!(node.count("source.ip:[10.1.0.0 TO 10.10.0.0]"), 2);
    let refused = node.get("/api/v1/search").query(&[("q", "nope:*")]).send().unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let body: serde_json::Value = refused.json().unwrap();
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("`nope` does not exist"), "{body}");
    // The list replaced the default one: `user.*` is no longer indexed, and
    // the query API says so instead of finding nothing.
    let refused = node
        .get("/api/v1/search")
        .query(&[("q", "fields.user.role:admin")])
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let body: serde_json::Value = refused.json().unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("`fields.user.role` is not indexed"), "{body}");
    // Every event still holds the field in its stored copy.
    let hits = node.search("fields.trace.id:\"t-2\"", 10);
    assert_eq!(hits["hits"][0]["fields"]["user.role"], "admin", "{hits}");
    node.stop();
}

#[test]
fn a_bad_pattern_stops_the_start_naming_the_key() {
    let dir = temp_dir("free-fields-bad");
    let config_path = dir.join("logwarden.toml");
    std::fs::write(&config_path, "[index]\nfree_fields = [\"user*\"]\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["compliance", "report", "--config", config_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid config key `index.free_fields`: pattern `user*`"), "{stderr}");
}
