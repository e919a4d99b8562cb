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

fn start(name: &str, extra: &str) -> (Collector, String) {
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
    (collector, topic)
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
    let (collector, topic) = start("http-roundtrip", "");
    let client = Client::new();

    let body = "{\"message\":\"ndjson one\",\"user\":{\"name\":\"kim\"},\"@timestamp\":\"2026-03-01T10:00:00Z\"}\n\
                Jan  2 03:04:05 web01 sshd[7]: ndjson two\n\
                {not json\n\
                \n";
    let response = client
        .post(collector.url("/api/v1/ingest/audit"))
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
    assert_eq!(one["stream"], "audit");
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
    assert_eq!(two["stream"], "audit");
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
    let (collector, _topic) = start("http-errors", "[collector.http]\nmax_body_bytes = 2048\n");
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
