//! HTTP ingest through the real collector binary into the real broker:
//! NDJSON and Elasticsearch `_bulk` round trips, keys, and bad input.

mod support;

use std::time::Duration;

use base64::Engine;
use reqwest::blocking::Client;
use serde_json::Value;
use support::push::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Starts a collector with HTTP ingest; the directory it runs in comes
/// first, so it is removed after the collector stops.
fn start(name: &str, extra: &str) -> (TempDir, Collector, String) {
    let dir = temp_dir(name);
    let topic = unique("lw-http");
    let config = key_config(&dir, extra);
    let data = dir.join("data");
    let collector = Collector::start(
        &[
            "collector",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--topic",
            &topic,
            "--http-ingest",
            "127.0.0.1:0",
        ],
        &brokers(),
        &["http ingest"],
    );
    (dir, collector, topic)
}

fn error_of(response: reqwest::blocking::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().expect("errors are JSON");
    let field = |name: &str| {
        body["error"][name]
            .as_str()
            .unwrap_or_else(|| panic!("{status}: {body}"))
            .to_string()
    };
    (status, field("code"), field("message"))
}

#[test]
fn ndjson_and_bulk_round_trip_to_kafka() {
    let (_dir, collector, topic) = start("http-roundtrip", "");
    let client = Client::new();

    let body = "{\"message\":\"ndjson one\",\"user\":{\"name\":\"kim\"},\"@timestamp\":\"2026-03-01T10:00:00Z\"}\n\
                Jan  2 03:04:05 web01 sshd[7]: ndjson two\n\
                {not json\n\
                \n";
    let response = client
        .post(collector.url("/api/v1/ingest/os-audit"))
        .bearer_auth(INGEST_KEY)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reply: Value = response.json().unwrap();
    assert_eq!(reply["accepted"], 2);
    assert_eq!(reply["errors"].as_array().unwrap().len(), 1);
    assert_eq!(reply["errors"][0]["line"], 3);

    // Filebeat-style: Basic auth with the key as password, index from the action.
    let bulk = "{\"create\":{\"_index\":\"auth\",\"_id\":\"doc-1\"}}\n{\"message\":\"bulk one\",\"host\":{\"name\":\"app01\"}}\n\
                {\"index\":{}}\n{\"message\":\"bulk two\"}\n\
                {\"delete\":{\"_index\":\"auth\",\"_id\":\"x\"}}\n";
    let response = client
        .post(collector.url("/_bulk"))
        .basic_auth("elastic", Some(INGEST_KEY))
        .header("content-type", "application/x-ndjson")
        .body(bulk)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reply: Value = response.json().unwrap();
    assert_eq!(reply["errors"], true);
    let items = reply["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["create"]["status"], 201);
    assert_eq!(items[0]["create"]["_id"], "doc-1");
    assert_eq!(
        items[1]["index"]["status"], 400,
        "no index named anywhere: {}",
        items[1]
    );
    assert_eq!(items[2]["delete"]["status"], 400);

    // Vector/Fluent Bit style: index in the path, ApiKey header.
    let api_key = base64::engine::general_purpose::STANDARD.encode(format!("id1:{INGEST_KEY}"));
    let response = client
        .post(collector.url("/network/_bulk"))
        .header("authorization", format!("ApiKey {api_key}"))
        .body("{\"index\":{}}\n{\"message\":\"bulk three\",\"source\":{\"ip\":\"10.1.2.3\"}}\n")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reply: Value = response.json().unwrap();
    assert_eq!(reply["errors"], false);
    assert_eq!(reply["items"][0]["index"]["status"], 201);

    // Filebeat gzips its bodies.
    let gzip = std::process::Command::new("sh")
        .args(["-c", "printf '%s\\n%s\\n' '{\"create\":{\"_index\":\"app\"}}' '{\"message\":\"bulk gzipped\"}' | gzip -c"])
        .output()
        .expect("gzip");
    let response = client
        .post(collector.url("/_bulk"))
        .bearer_auth(INGEST_KEY)
        .header("content-encoding", "gzip")
        .body(gzip.stdout)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reply: Value = response.json().unwrap();
    assert_eq!(reply["items"][0]["create"]["status"], 201, "{reply}");

    let events = read_topic(&brokers(), &topic, TIMEOUT, |events| events.len() >= 5);
    let find = |message: &str| -> Value {
        let found: Vec<&Value> = events.iter().filter(|e| e["message"] == message).collect();
        assert_eq!(found.len(), 1, "`{message}` exactly once in {events:?}");
        found[0].clone()
    };
    let one = find("ndjson one");
    assert_eq!(one["stream"], "os-audit");
    assert_eq!(one["user.name"], "kim");
    assert_eq!(one["@timestamp"], "2026-03-01T10:00:00Z");
    assert!(
        one["log.source.address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let two = find("ndjson two");
    assert_eq!(
        (two["host.name"].as_str(), two["process.pid"].as_u64()),
        (Some("web01"), Some(7))
    );
    assert_eq!(two["stream"], "os-audit");
    let bulk_one = find("bulk one");
    assert_eq!(
        (bulk_one["stream"].as_str(), bulk_one["host.name"].as_str()),
        (Some("auth"), Some("app01"))
    );
    assert_eq!(bulk_one["event.id"], "doc-1");
    let bulk_three = find("bulk three");
    assert_eq!(
        (
            bulk_three["stream"].as_str(),
            bulk_three["source.ip"].as_str()
        ),
        (Some("network"), Some("10.1.2.3"))
    );
    assert_eq!(find("bulk gzipped")["stream"], "app");
    collector.stop();
    assert_eq!(topic_message_count(&brokers(), &topic), 5);
}

#[test]
fn keys_bad_bodies_and_limits_get_clear_errors() {
    let (_dir, collector, _topic) = start("http-errors", "[collector.http]\nmax_body_bytes = 2048\n");
    let client = Client::new();
    let url = collector.url("/api/v1/ingest/app");

    let (status, code, _) = error_of(client.post(&url).body("x").send().unwrap());
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    let (status, _, message) = error_of(
        client
            .post(&url)
            .bearer_auth("wrong")
            .body("x")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);
    assert!(message.contains("invalid"), "{message}");
    let (status, code, message) = error_of(
        client
            .post(&url)
            .bearer_auth(ANALYST_KEY)
            .body("x")
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    assert!(message.contains("analyst"), "{message}");
    let response = client
        .post(collector.url("/_bulk"))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let (status, code, message) = error_of(
        client
            .post(&url)
            .bearer_auth(INGEST_KEY)
            .body("{broken\n{\"a\":\n")
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (400, "invalid_body"));
    assert!(message.contains("line 1"), "{message}");
    let (status, code, _) = error_of(
        client
            .post(&url)
            .bearer_auth(INGEST_KEY)
            .body("\n\n")
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (400, "empty_body"));
    let (status, code, message) = error_of(
        client
            .post(collector.url("/api/v1/ingest/Bad..Stream"))
            .bearer_auth(INGEST_KEY)
            .body("x")
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (400, "invalid_stream"));
    assert!(message.contains("Bad..Stream"), "{message}");
    let (status, code, _) = error_of(
        client
            .post(&url)
            .bearer_auth(INGEST_KEY)
            .body(vec![0xff, 0xfe, b'\n'])
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (400, "invalid_body"));
    let (status, code, message) = error_of(
        client
            .post(collector.url("/_bulk"))
            .bearer_auth(INGEST_KEY)
            .body("not an action\n{}\n")
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (400, "invalid_bulk"));
    assert!(message.contains("line 1"), "{message}");
    let (status, code, _) = error_of(
        client
            .post(&url)
            .bearer_auth(INGEST_KEY)
            .body("x".repeat(4096))
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (413, "body_too_large"));
    // The limit holds for the decompressed size of a small gzipped body.
    let bomb = std::process::Command::new("sh")
        .args(["-c", "head -c 65536 /dev/zero | tr '\\0' x | gzip -c"])
        .output()
        .unwrap();
    assert!(bomb.stdout.len() < 2048);
    let response = client
        .post(&url)
        .bearer_auth(INGEST_KEY)
        .header("content-encoding", "gzip")
        .body(bomb.stdout)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);

    // Elasticsearch clients check the root document and the product header.
    let response = client.get(collector.url("/")).send().unwrap();
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
    let root: Value = response.json().unwrap();
    assert!(root["version"]["number"].as_str().unwrap().starts_with('8'));
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            client
                .get(collector.url(path))
                .send()
                .unwrap()
                .status()
                .as_u16(),
            200,
            "{path}"
        );
    }
    assert!(collector.metric("logwarden_collector_http_requests_total") >= 10.0);
    collector.stop();
}

/// Resident memory of a process, from /proc (kB → bytes).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[test]
fn a_large_bulk_costs_memory_in_proportion_to_its_body_and_gives_it_back() {
    let (_dir, collector, topic) = start("http-bulk-memory", "");
    let client = Client::new();
    // 250,000 small documents in one 8.6 MB body (before: +1.35 GB of RSS,
    // still held after the answer).
    let documents = 250_000;
    let mut body = String::with_capacity(9 * 1024 * 1024);
    for i in 0..documents {
        body.push_str("{\"index\":{}}\n");
        body.push_str(&format!("{{\"message\":\"m{i}\"}}\n"));
    }
    let body_len = body.len() as u64;
    let before = rss_bytes(collector.child.id());
    let response = client
        .post(collector.url("/app/_bulk"))
        .bearer_auth(INGEST_KEY)
        .body(body)
        .timeout(Duration::from_secs(300))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["errors"], false);
    assert_eq!(answer["items"].as_array().unwrap().len(), documents);
    let after = rss_bytes(collector.child.id());
    let grown = after.saturating_sub(before);
    eprintln!("bulk of {body_len} bytes: RSS {before} -> {after} (+{grown})");
    // Memory is a budget, not a timing: a generous bound that the old code
    // (holding every item as a JSON value) broke by an order of magnitude.
    assert!(grown < 40 * body_len, "RSS grew by {grown} bytes for a {body_len}-byte body");
    let events = read_topic(&brokers(), &topic, TIMEOUT, |e| e.len() >= documents);
    assert_eq!(events.len(), documents);
    collector.stop();
}

#[test]
fn the_memory_budget_refuses_with_429_and_slow_bodies_time_out() {
    use std::io::{Read, Write};
    let (_dir, collector, _topic) = start(
        "http-budget",
        "[collector.http]\nmax_body_bytes = 1048576\nmemory_budget = 4194304\nbody_timeout = \"3s\"\n",
    );
    let client = Client::new();
    let addr = collector.url("").trim_start_matches("http://").to_string();
    let ingest = |line: &str| client.post(collector.url("/api/v1/ingest/app")).bearer_auth(INGEST_KEY).body(line.to_string()).send().unwrap();
    assert_eq!(ingest("before\n").status().as_u16(), 200, "serving");
    // A request that declares a 1 MiB body and sends a little of it holds
    // the whole budget (4 x its body) while it lasts.
    let open_slow = || {
        let mut slow = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            slow,
            "POST /api/v1/ingest/app HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST_KEY}\r\nContent-Length: 1048576\r\n\r\nfirst bytes"
        )
        .unwrap();
        slow.set_nonblocking(true).unwrap();
        slow
    };
    let mut slow = open_slow();
    let started = std::time::Instant::now();
    let refused = loop {
        let response = ingest("budget line\n");
        if response.status().as_u16() == 429 {
            break response;
        }
        // This request may have reserved first and left the slow one no
        // room: then the slow one was refused, and another is opened.
        let mut byte = [0u8; 1];
        if slow.read(&mut byte).is_ok() {
            slow = open_slow();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the slow request never held the budget");
    };
    slow.set_nonblocking(false).unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    let (status, code, message) = error_of(refused);
    assert_eq!((status, code.as_str()), (429, "memory_budget_exhausted"));
    assert!(message.contains("collector.http.memory_budget"), "{message}");
    assert!(collector.metric("logwarden_collector_http_budget_refused_total") >= 1.0);
    // The slow sender is answered 408 once body_timeout passes, and the
    // budget is free again.
    let mut answer = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut chunk = [0u8; 4096];
    while !answer.contains("body_timeout\"") {
        match slow.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.push_str(&String::from_utf8_lossy(&chunk[..n])),
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("collector.http.body_timeout"), "{answer}");
    let response = client.post(collector.url("/api/v1/ingest/app")).bearer_auth(INGEST_KEY).body("after the slow one\n").send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    collector.stop();
}
