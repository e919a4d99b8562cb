//! Hostile and careless input against one running pipeline (`logwarden
//! run` with the query API, HTTP ingest and syslog over TCP and UDP, fed
//! the loghub files): every answer is a 2xx, or a 4xx whose JSON error
//! names the problem; the process stays up; nothing reaches the streams
//! logwarden reserves for itself or its own folders; and afterwards every
//! loghub event is still found.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use logwarden_config::auth::hash_key;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::*;

const ADMIN: &str = "lw-hostile-admin-key-000000000000000";
const INGEST: &str = "lw-hostile-ingest-key-00000000000000";
const AUTH_ONLY: &str = "lw-hostile-authonly-key-0000000000";
const LOGHUB_EVENTS: u64 = 6000;

fn write_config(dir: &Path, topic: &str) -> String {
    let mut text = format!(
        "data_dir = \"{}\"\n[kafka]\ntopic = \"{topic}\"\n[indexer]\ngroup = \"{topic}\"\n\
         [collector.http]\nlisten = \"127.0.0.1:0\"\nmax_body_bytes = 2097152\nbody_timeout = \"5s\"\n\
         [[collector.syslog]]\nlisten = \"tcp://127.0.0.1:0\"\nmax_connections = 4\nframe_timeout = \"2s\"\n\
         [[collector.syslog]]\nlisten = \"udp://127.0.0.1:0\"\n",
        dir.join("data").display()
    );
    for (name, role, secret, streams) in [
        ("boss", "admin", ADMIN, None),
        ("shipper", "ingest", INGEST, None),
        ("authonly", "analyst", AUTH_ONLY, Some("[\"auth\"]")),
    ] {
        text.push_str(&format!("[[auth.keys]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{}\"\n", hash_key(secret)));
        if let Some(streams) = streams {
            text.push_str(&format!("streams = {streams}\n"));
        }
    }
    let path = dir.join("logwarden.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// An answer: status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// A 4xx whose JSON error message contains `fragment`.
    fn refused(&self, fragment: &str) -> &Self {
        assert!((400..500).contains(&self.status), "expected a 4xx naming `{fragment}`, got {} {}", self.status, self.body);
        let message = self.body["error"]["message"].as_str().unwrap_or_else(|| panic!("no JSON error: {}", self.body));
        assert!(self.body["error"]["code"].is_string(), "{}", self.body);
        assert!(message.contains(fragment), "`{message}` does not name `{fragment}`");
        self
    }

    fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        &self.body
    }

    /// A 2xx, or a 4xx with a JSON error; never a 5xx, never a dropped connection.
    fn sane(&self, what: &str) {
        assert!(self.status < 500, "{what}: {} {}", self.status, self.body);
        if self.status >= 400 {
            assert!(
                self.body["error"]["code"].is_string() && self.body["error"]["message"].is_string(),
                "{what}: {} without a JSON error: {}",
                self.status,
                self.body
            );
        }
    }
}

fn send(request: reqwest::blocking::RequestBuilder) -> Answer {
    let response = request.timeout(Duration::from_secs(60)).send().expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}

struct Target<'a> {
    node: &'a Logwarden,
    client: reqwest::blocking::Client,
    ingest: String,
}

impl Target<'_> {
    fn search_post(&self, key: &str, body: &Value) -> Answer {
        send(self.client.post(self.node.url("/api/v1/search")).bearer_auth(key).json(body))
    }

    fn search_get(&self, key: &str, path: &str, params: &[(&str, &str)]) -> Answer {
        send(self.client.get(self.node.url(path)).bearer_auth(key).query(params))
    }

    fn ingest_post(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> Answer {
        send(self.client.post(format!("{}{path}", self.ingest)).bearer_auth(INGEST).body(body))
    }

    fn alive(&self) {
        let answer = send(self.client.get(self.node.url("/healthz")));
        assert_eq!(answer.status, 200, "the process is down");
    }

    fn total(&self, params: &[(&str, &str)]) -> u64 {
        let mut all = vec![("limit", "0")];
        all.extend_from_slice(params);
        self.search_get(ADMIN, "/api/v1/search", &all).ok()["total"].as_u64().unwrap()
    }

    fn wait_total(&self, params: &[(&str, &str)], want: u64) {
        let started = Instant::now();
        let mut last = 0;
        while started.elapsed() < Duration::from_secs(120) {
            last = self.total(params);
            if last >= want {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        assert_eq!(last, want, "{params:?}");
    }
}

#[test]
fn hostile_input_gets_clear_errors_and_hurts_nothing() {
    let dir = temp_dir("hostile");
    let topic = unique("lw-hostile");
    let config = write_config(&dir, &topic);
    let files: Vec<String> = LOGHUB_FILES.iter().map(|f| loghub(f).display().to_string()).collect();
    let mut args = vec!["run", "--config", &config, "--http-addr", "127.0.0.1:0"];
    for file in &files {
        args.extend(["--input", file.as_str()]);
    }
    let node = Logwarden::start(&args);
    let target = Target {
        node: &node,
        client: reqwest::blocking::Client::new(),
        ingest: node.listeners["http ingest"].clone(),
    };
    let loghub = [("q", "log.file.path:*")];
    target.wait_total(&loghub, LOGHUB_EVENTS);

    nesting_and_length_are_bounded(&target);
    time_bounds_are_clamped_or_refused(&target);
    es_uri_parameters_are_honoured(&target);
    reserved_streams_cannot_be_written(&target, &dir.join("data"));
    bad_bytes_cost_one_line(&target);
    audit_records_stay_small(&target);
    slow_syslog_senders_are_cut_off(&target);
    generated_requests_are_answered(&target);

    target.alive();
    assert_eq!(target.total(&loghub), LOGHUB_EVENTS, "every loghub event is still found");
    node.stop();
}

fn nesting_and_length_are_bounded(target: &Target) {
    let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    target.search_post(ADMIN, &json!({"q": deep})).refused("deeper than 100 levels");
    target.search_post(AUTH_ONLY, &json!({"q": deep})).refused("deeper than 100 levels");
    target.search_get(ADMIN, "/api/v1/search", &[("q", &format!("{}a", "NOT ".repeat(5000)))]).refused("in a row");
    target.search_post(ADMIN, &json!({"q": "a OR ".repeat(10_000)})).refused("32768 bytes");
    // The Elasticsearch door: query_string text, nested bool, the URI query.
    let es = |body: Value| send(target.client.post(target.node.url("/_search")).bearer_auth(ADMIN).json(&body));
    es(json!({"query": {"query_string": {"query": deep}}})).refused("deeper than 100 levels");
    let mut nested = json!({"match_all": {}});
    for _ in 0..30 {
        nested = json!({"bool": {"must": [nested]}});
    }
    es(json!({"query": nested})).refused("deeper than 20 levels");
    target.search_get(ADMIN, "/_search", &[("q", &deep)]).refused("deeper than 100 levels");
    // JSON nested past serde's recursion limit.
    let json_bomb = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let answer = send(
        target.client.post(target.node.url("/api/v1/search")).bearer_auth(ADMIN).header("content-type", "application/json").body(json_bomb),
    );
    answer.sane("a JSON bomb");
    assert_eq!(answer.status, 400);
    let mut aggs = json!({"terms": {"field": "host.name"}});
    for _ in 0..10 {
        aggs = json!({"terms": {"field": "host.name"}, "aggs": {"inner": aggs}});
    }
    target.search_post(ADMIN, &json!({"q": "*", "aggs": {"outer": aggs}})).refused("deeper than 6 levels");
    target.alive();
}

fn time_bounds_are_clamped_or_refused(target: &Target) {
    // Past what the index holds: clamped, so every event is still found.
    let all = target.total(&[("q", "log.file.path:*")]);
    assert_eq!(target.total(&[("q", "log.file.path:*"), ("to", "2263-01-01T00:00:00Z")]), all);
    assert_eq!(target.total(&[("q", "log.file.path:*"), ("from", "1000-01-01T00:00:00Z")]), all);
    target
        .search_get(ADMIN, "/api/v1/search", &[("from", "2300-01-01T00:00:00Z")])
        .refused("after every time logwarden stores");
    target.search_get(ADMIN, "/api/v1/search", &[("to", "1500-01-01T00:00:00Z")]).refused("before every time");
    // An event dated past the range is kept with the receipt time, flagged.
    let doc = json!({"@timestamp": "2999-01-01T00:00:00Z", "message": "hostile-far-future"}).to_string();
    let answer = target.ingest_post("/api/v1/ingest/app", doc);
    assert_eq!(answer.ok()["accepted"], 1);
    target.wait_total(&[("q", "hostile-far-future"), ("stream", "app")], 1);
    let answer = target.search_get(ADMIN, "/api/v1/search", &[("q", "hostile-far-future"), ("stream", "app")]);
    let hit = &answer.ok()["hits"][0];
    assert!(hit["parse.error"].as_str().unwrap().contains("outside the times"), "{hit}");
}

fn es_uri_parameters_are_honoured(target: &Target) {
    let sshd = target.total(&[("q", "process.name:sshd")]);
    assert!(sshd > 100, "the OpenSSH log has sshd lines");
    let body = target.search_get(ADMIN, "/_search", &[("q", "process.name:sshd"), ("size", "3")]).ok().clone();
    assert_eq!(body["hits"]["total"]["value"], sshd);
    assert_eq!(body["hits"]["hits"].as_array().unwrap().len(), 3);
    assert!(body["hits"]["hits"].as_array().unwrap().iter().all(|h| h["_source"]["process.name"] == "sshd"));
    let page = target.search_get(ADMIN, "/_search", &[("q", "process.name:sshd"), ("size", "2"), ("from", "1"), ("sort", "@timestamp:asc")]).ok().clone();
    let first = target.search_get(ADMIN, "/_search", &[("q", "process.name:sshd"), ("size", "3"), ("sort", "@timestamp:asc")]).ok().clone();
    assert_eq!(page["hits"]["hits"][0]["_source"], first["hits"]["hits"][1]["_source"], "from skips");
    target.search_get(ADMIN, "/_search", &[("q", "x"), ("bogus", "1")]).refused("bogus");
    let both = send(
        target.client.post(target.node.url("/_search?size=1")).bearer_auth(ADMIN).json(&json!({"size": 2})),
    );
    both.refused("size is given both");
}

fn reserved_streams_cannot_be_written(target: &Target, data: &Path) {
    let line = json!({"message": "forged access record"}).to_string();
    target.ingest_post("/api/v1/ingest/audit", line.clone()).refused("stream `audit` is reserved");
    target.ingest_post("/api/v1/ingest/alerts", line.clone()).refused("stream `alerts` is reserved");
    let bulk = format!(
        "{{\"index\":{{\"_index\":\"audit\"}}}}\n{line}\n{{\"index\":{{\"_index\":\"logwarden-audit\"}}}}\n{line}\n\
         {{\"create\":{{\"_index\":\"alerts\"}}}}\n{line}\n{{\"index\":{{\"_index\":\"logwarden-auth\"}}}}\n{{\"message\":\"hostile-bulk-auth\"}}\n"
    );
    let answer = target.ingest_post("/_bulk", bulk);
    let items = answer.ok()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4);
    for item in &items[..3] {
        let result = item.as_object().unwrap().values().next().unwrap();
        assert_eq!(result["status"], 403, "{item}");
        assert!(result["error"]["reason"].as_str().unwrap().contains("is reserved"), "{item}");
    }
    assert_eq!(items[3]["index"]["status"], 201);
    target.ingest_post("/audit/_bulk", format!("{{\"index\":{{}}}}\n{line}\n")).ok();
    // `logwarden-auth` is the stream `auth`, as on /logwarden-auth/_search.
    target.wait_total(&[("q", "hostile-bulk-auth"), ("stream", "auth")], 1);
    let es = target.search_get(ADMIN, "/logwarden-auth/_search", &[("q", "hostile-bulk-auth")]).ok().clone();
    assert_eq!(es["hits"]["total"]["value"], 1);
    // Streams named like the process's own folders stay apart from them.
    for stream in ["keys", "spool", "spool-audit", "checkpoints"] {
        let doc = json!({"message": format!("hostile-folder-{stream}")}).to_string();
        assert_eq!(target.ingest_post(&format!("/api/v1/ingest/{stream}"), doc).ok()["accepted"], 1);
    }
    for stream in ["keys", "spool", "spool-audit", "checkpoints"] {
        target.wait_total(&[("q", &format!("hostile-folder-{stream}")), ("stream", stream)], 1);
        let folder = data.join(stream);
        if folder.exists() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                assert!(!name.starts_with('p') || !name[1..].chars().all(|c| c.is_ascii_digit()), "{stream}/{name}: a split folder inside internal state");
            }
        }
    }
    // Nothing forged reached the audit stream.
    let forged = target.total(&[("q", "forged"), ("stream", "audit")]);
    assert_eq!(forged, 0);
}

fn bad_bytes_cost_one_line(target: &Target) {
    let mut body = b"hostile-utf8 first line\n".to_vec();
    body.extend_from_slice(b"second \xff\xfe line\n");
    body.extend_from_slice(b"hostile-utf8 third line\n");
    let answer = target.ingest_post("/api/v1/ingest/app", body);
    let body = answer.ok();
    assert_eq!(body["accepted"], 2, "{body}");
    assert_eq!(body["errors"][0]["line"], 2, "{body}");
    assert!(body["errors"][0]["error"].as_str().unwrap().contains("UTF-8"), "{body}");
    let mut bulk = b"{\"index\":{\"_index\":\"app\"}}\n{\"message\":\"bad \xff byte\"}\n".to_vec();
    bulk.extend_from_slice(b"{\"index\":{\"_index\":\"app\"}}\n{\"message\":\"hostile-utf8 bulk\"}\n");
    let answer = target.ingest_post("/_bulk", bulk);
    let items = answer.ok()["items"].as_array().unwrap().clone();
    assert_eq!(items[0]["index"]["status"], 400);
    assert!(items[0]["index"]["error"]["reason"].as_str().unwrap().contains("line 2"), "{items:?}");
    assert_eq!(items[1]["index"]["status"], 201);
    target.wait_total(&[("q", "hostile-utf8")], 3);
}

fn audit_records_stay_small(target: &Target) {
    // A long query that runs: its audit record holds it cut, hashed, flagged.
    let long = vec!["host.name:nosuchhost"; 1200].join(" OR ");
    assert!(long.len() > 20_000 && long.len() < 32 * 1024);
    assert_eq!(target.search_post(ADMIN, &json!({"q": long, "limit": 0})).ok()["total"], 0);
    // A later call is recorded too: nothing waits behind the long one.
    let marker = "hostile-audit-marker";
    target.search_get(ADMIN, "/api/v1/search", &[("q", marker), ("limit", "0")]).ok();
    let started = Instant::now();
    let (cut, later) = loop {
        let audit = target.search_get(ADMIN, "/api/v1/search", &[("stream", "audit"), ("limit", "1000")]).ok().clone();
        let hits = audit["hits"].as_array().unwrap().clone();
        let cut = hits.iter().find(|h| h["fields"]["search.query.truncated"] == true).cloned();
        let later = hits.iter().any(|h| h["fields"]["search.query"] == marker);
        if let (Some(cut), true) = (&cut, later) {
            break (cut.clone(), later);
        }
        assert!(started.elapsed() < Duration::from_secs(60), "audit records did not arrive: {} hits", hits.len());
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(later);
    assert_eq!(cut["fields"]["search.query.bytes"], long.len());
    assert_eq!(cut["fields"]["search.query"].as_str().unwrap().len(), 4096);
    assert_eq!(cut["fields"]["search.query.sha256"].as_str().unwrap().len(), 64);
}

fn slow_syslog_senders_are_cut_off(target: &Target) {
    let addr = target.node.listeners["syslog tcp"].clone();
    // Every connection slot taken by a sender trickling one byte at a time.
    // Each begins a message, then never finishes it.
    let mut slow: Vec<TcpStream> = (0..4)
        .map(|i| {
            let mut stream = TcpStream::connect(&addr).unwrap();
            stream.write_all(format!("<13>Jan  1 00:00:00 slowhost app: slowloris{i} ").as_bytes()).unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    let mut closed = [false; 4];
    while closed.iter().any(|c| !c) {
        assert!(started.elapsed() < Duration::from_secs(60), "slow senders still connected after 60 s (frame_timeout is 2 s)");
        for (i, stream) in slow.iter_mut().enumerate() {
            if !closed[i] && stream.write_all(b"x").is_err() {
                closed[i] = true;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        for (i, stream) in slow.iter_mut().enumerate() {
            stream.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            let mut byte = [0u8; 1];
            if matches!(stream.read(&mut byte), Ok(0)) {
                closed[i] = true;
            }
        }
    }
    // The slots are free again: a well-behaved sender gets through.
    let mut good = TcpStream::connect(&addr).unwrap();
    good.write_all(b"<13>Jan  1 00:00:00 goodhost app: hostile-after-slowloris\n").unwrap();
    drop(good);
    target.wait_total(&[("q", "\"hostile-after-slowloris\"")], 1);
    // What the slow senders managed to send is kept, not dropped.
    for i in 0..4 {
        target.wait_total(&[("q", &format!("slowloris{i}"))], 1);
    }
}

/// Requests from a small grammar of hostile pieces, over every door.
fn generated_requests_are_answered(target: &Target) {
    let mut rng = StdRng::seed_from_u64(0x10c_ae1d);
    let pieces = [
        "(", ")", "\"", "/", "\\", "*", "?", ":", "[", "]", "{", "}", "AND", "OR", "NOT", "-", "+", "!", "TO", " ",
        "host.name", "@timestamp", "fields.", "message", "é", "\u{0}", "1e999", "9999999999999999999", "/(a+)+$/",
        "now-", "process.pid:[", "~2", "^3", "\u{202e}",
    ];
    let mut text = |rng: &mut StdRng, max: usize| -> String {
        let n = rng.random_range(0..max);
        (0..n).map(|_| pieces[rng.random_range(0..pieces.len())]).collect()
    };
    let values = |rng: &mut StdRng, depth: usize, text: &mut dyn FnMut(&mut StdRng, usize) -> String| -> Value {
        let mut v = json!(text(rng, 6));
        for _ in 0..rng.random_range(0..depth) {
            v = match rng.random_range(0..5) {
                0 => json!({"bool": {"must": [v]}}),
                1 => json!([v]),
                2 => json!({"range": {"@timestamp": {"gte": v}}}),
                3 => json!({"terms": {"field": v}}),
                _ => json!({text(rng, 3): v}),
            };
        }
        v
    };
    for round in 0..300 {
        let answer = match round % 6 {
            0 => target.search_get(ADMIN, "/api/v1/search", &[("q", &text(&mut rng, 30)), ("from", &text(&mut rng, 3)), ("sort", &text(&mut rng, 2))]),
            1 => {
                let body = json!({"q": text(&mut rng, 20), "aggs": values(&mut rng, 8, &mut text), "limit": rng.random_range(0..2000)});
                target.search_post(AUTH_ONLY, &body)
            }
            2 => {
                let body = json!({"query": values(&mut rng, 10, &mut text), "size": rng.random_range(0..50), "sort": values(&mut rng, 2, &mut text)});
                send(target.client.post(target.node.url("/_search")).bearer_auth(ADMIN).json(&body))
            }
            3 => target.search_get(ADMIN, &format!("/{}/_search", urlish(&text(&mut rng, 4))), &[("q", &text(&mut rng, 10))]),
            4 => {
                let mut bulk = String::new();
                for _ in 0..rng.random_range(0..6) {
                    bulk.push_str(&values(&mut rng, 3, &mut text).to_string());
                    bulk.push('\n');
                }
                target.ingest_post("/_bulk", bulk)
            }
            _ => target.ingest_post(&format!("/api/v1/ingest/{}", urlish(&text(&mut rng, 3))), text(&mut rng, 40)),
        };
        answer.sane(&format!("generated request {round}"));
    }
    // Syslog frames: octet counts that lie, binary, endless lines.
    let addr = target.node.listeners["syslog tcp"].clone();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(&addr).unwrap();
        let frame = match rng.random_range(0..4) {
            0 => format!("{} {}", rng.random_range(0..100_000_000u64), text(&mut rng, 20)).into_bytes(),
            1 => (0..rng.random_range(0..2000)).map(|_| rng.random::<u8>()).collect(),
            2 => format!("<{}>{}\n", rng.random_range(0..1000), text(&mut rng, 40)).into_bytes(),
            _ => vec![b'a'; 200_000],
        };
        let _ = stream.write_all(&frame);
    }
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..50 {
        let datagram: Vec<u8> = (0..rng.random_range(0..1500)).map(|_| rng.random::<u8>()).collect();
        udp.send_to(&datagram, &target.node.listeners["syslog udp"]).unwrap();
    }
    target.alive();
}

/// Text usable as a URL path segment.
fn urlish(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
