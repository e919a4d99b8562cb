//! Access control of the query API against a real pipeline: each role ×
//! each endpoint gets the expected status, stream restrictions hold, every
//! call lands in the audit stream, and HTTPS works with a real certificate.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use logwarden_config::auth::hash_key;
use serde_json::{Value, json};
use support::*;

const KEYS: [(&str, &str, &str); 5] = [
    ("boss", "admin", "lw-admin-secret-key-000000000000000"),
    ("ann", "analyst", "lw-analyst-secret-key-0000000000000"),
    ("audrey", "auditor", "lw-auditor-secret-key-0000000000000"),
    ("shipper", "ingest", "lw-ingest-secret-key-00000000000000"),
    ("authonly", "analyst", "lw-authonly-secret-key-00000000000"),
];

fn secret(name: &str) -> &'static str {
    KEYS.iter().find(|k| k.0 == name).unwrap().2
}

fn write_config(dir: &Path, topic: &str, tls: Option<(&Path, &Path)>) -> String {
    let mut text = format!("data_dir = \"{}\"\n[kafka]\ntopic = \"{topic}\"\n[indexer]\ngroup = \"{topic}\"\n", dir.join("data").display());
    if let Some((cert, key)) = tls {
        text.push_str(&format!("[api.tls]\ncert = \"{}\"\nkey = \"{}\"\n", cert.display(), key.display()));
    }
    for (name, role, secret) in KEYS {
        text.push_str(&format!("[[auth.keys]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{}\"\n", hash_key(secret)));
        if name == "authonly" {
            text.push_str("streams = [\"auth\"]\n");
        }
    }
    let path = dir.join("logwarden.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Status of `method path` with `key` (None: no Authorization header).
fn status(node: &Logwarden, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> u16 {
    let client = reqwest::blocking::Client::new();
    let mut request = match method {
        "GET" => client.get(node.url(path)),
        _ => client.post(node.url(path)),
    };
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    let code = response.status().as_u16();
    if code >= 400 {
        let error: Value = response.json().unwrap_or_else(|_| panic!("{method} {path}: {code} without a JSON body"));
        assert!(error["error"]["code"].is_string() && error["error"]["message"].is_string(), "{error}");
    }
    code
}

fn count_as(node: &Logwarden, key: &str, params: &[(&str, &str)]) -> u64 {
    let response = reqwest::blocking::Client::new().get(node.url("/api/v1/search")).bearer_auth(key).query(params).send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().unwrap()["total"].as_u64().unwrap()
}

#[test]
fn each_role_gets_what_it_may_and_every_call_is_audited() {
    let dir = temp_dir("auth");
    let topic = unique("lw-auth");
    let config = write_config(&dir, &topic, None);
    let openssh = loghub("OpenSSH_2k.log").display().to_string();
    let apache = loghub("Apache_2k.log").display().to_string();
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0", "--input", &openssh, "--input", &apache]);
    assert!(!dir.join("data").join("admin.key").exists(), "configured keys: no admin.key is made");
    let started = Instant::now();
    while count_as(&node, secret("boss"), &[("q", "*")]) < 4000 {
        assert!(started.elapsed() < Duration::from_secs(180), "pipeline did not index the loghub files");
        std::thread::sleep(Duration::from_millis(300));
    }

    let search_body = json!({"q": "*", "limit": 1});
    let es_body = json!({"query": {"match_all": {}}, "size": 1});
    // (method, path, body, [none, bad key, admin, analyst, auditor, ingest])
    let matrix: Vec<(&str, &str, Option<Value>, [u16; 6])> = vec![
        ("GET", "/api/v1/search?q=*", None, [401, 401, 200, 200, 200, 403]),
        ("POST", "/api/v1/search", Some(search_body.clone()), [401, 401, 200, 200, 200, 403]),
        ("GET", "/api/v1/search?stream=audit", None, [401, 401, 200, 403, 200, 403]),
        ("POST", "/_search", Some(es_body.clone()), [401, 401, 200, 200, 200, 403]),
        ("POST", "/logwarden-auth/_search", Some(es_body), [401, 401, 200, 200, 200, 403]),
        ("GET", "/api/v1/no-such-endpoint", None, [401, 401, 404, 404, 404, 404]),
        ("GET", "/healthz", None, [200; 6]),
        ("GET", "/readyz", None, [200; 6]),
        ("GET", "/metrics", None, [200; 6]),
        ("GET", "/api/v1/openapi.json", None, [200; 6]),
    ];
    let keys = [None, Some("not-a-key"), Some(secret("boss")), Some(secret("ann")), Some(secret("audrey")), Some(secret("shipper"))];
    for (method, path, body, expected) in &matrix {
        for (key, want) in keys.iter().zip(expected) {
            assert_eq!(status(&node, method, path, *key, body.clone()), *want, "{method} {path} with {key:?}");
        }
    }

    // A key limited to the auth stream sees only auth events.
    let auth_events = count_as(&node, secret("boss"), &[("q", "*"), ("stream", "auth")]);
    assert!(auth_events > 0);
    assert_eq!(count_as(&node, secret("authonly"), &[("q", "*")]), auth_events);
    assert_eq!(status(&node, "GET", "/api/v1/search?stream=access", Some(secret("authonly")), None), 403);

    // Every call above is in the audit stream: who, what, the outcome.
    let audited = |q: &str| count_as(&node, secret("audrey"), &[("q", q), ("stream", "audit")]);
    // (query, at least): refused calls name the key when it was valid.
    let expectations = [
        ("event.action:api-unauthenticated AND NOT user.name:*", 2 * 5),
        ("event.action:api-forbidden AND user.name:shipper", 5),
        ("event.action:api-forbidden AND user.name:ann", 1),
        ("user.name:ann AND event.outcome:success", 4),
        ("fields.url.path:\"/api/v1/no-such-endpoint\" AND fields.http.response.status_code:404", 4),
    ];
    let started = Instant::now();
    loop {
        let counts: Vec<u64> = expectations.iter().map(|(q, _)| audited(q)).collect();
        if counts.iter().zip(&expectations).all(|(n, (_, want))| *n >= *want) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "audit stream after 60 s: {counts:?} for {expectations:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Audit events are kept out of searches that do not ask for them.
    assert_eq!(count_as(&node, secret("boss"), &[("q", "event.action:api-call")]), 0);
    node.stop();
}

#[test]
fn https_when_a_certificate_is_configured() {
    let dir = temp_dir("auth-tls");
    let (ca, cert, key) = support::tls::make_certificates(&dir);
    let topic = unique("lw-auth-tls");
    let config = write_config(&dir, &topic, Some((&cert, &key)));
    let node = Logwarden::start(&["query-api", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    let url = node.http.clone().unwrap();
    assert!(url.starts_with("https://"), "{url}");
    let curl = |extra: &[&str]| {
        let output = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca.to_str().unwrap()])
            .args(extra)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let search = format!("{url}/api/v1/search?q=*");
    let bearer = format!("Authorization: Bearer {}", secret("ann"));
    assert_eq!(curl(&["-H", &bearer, &search]), "200");
    assert_eq!(curl(&[&search]), "401");
    // Plain HTTP to the TLS port gets no answer.
    let plain = search.replacen("https://", "http://", 1);
    assert_ne!(curl(&["-H", &bearer, "--max-time", "5", &plain]), "200");
    node.stop();
}
