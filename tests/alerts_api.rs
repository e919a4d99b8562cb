//! The alert API against a real pipeline (`logwarden run` on the real
//! Kafka broker): alerts produced to the events topic the way the detector
//! publishes them (one of them twice), and the events they matched, are
//! listed, filtered, paged, shown with their events resolved, acknowledged
//! and closed; refused moves get a 409, other roles a 403, bad ids a 400,
//! unknown ones a 404; every change is in the audit stream.

mod support;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};
use logwarden_config::auth::hash_key;
use logwarden_event::{Event, wire};
use logwarden_query_api::alerts::{Alert, AlertGroup, AlertKind, EventRef, RuleRef};
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Value, json};
use support::*;

const KEYS: [(&str, &str, &str, Option<&str>); 6] = [
    ("boss", "admin", "lw-alerts-admin-key-0000000000000000", None),
    ("ann", "analyst", "lw-alerts-analyst-key-00000000000000", None),
    ("audrey", "auditor", "lw-alerts-auditor-key-00000000000000", None),
    ("shipper", "ingest", "lw-alerts-ingest-key-000000000000000", None),
    ("authonly", "analyst", "lw-alerts-authonly-key-0000000000000", Some("[\"auth\"]")),
    ("triage", "analyst", "lw-alerts-triage-key-00000000000000", Some("[\"alerts\"]")),
];

fn secret(name: &str) -> &'static str {
    KEYS.iter().find(|k| k.0 == name).unwrap().2
}

fn write_config(dir: &Path, topic: &str) -> String {
    let mut text = format!(
        "data_dir = \"{}\"\n[kafka]\ntopic = \"{topic}\"\n[indexer]\ngroup = \"{topic}\"\n",
        dir.join("data").display()
    );
    for (name, role, secret, streams) in KEYS {
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
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        &self.body
    }

    /// A `status` answer whose JSON error has `code` and a message with `fragment`.
    fn refused(&self, status: u16, code: &str, fragment: &str) {
        assert_eq!(self.status, status, "expected {status} {code} naming `{fragment}`: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        let message = self.body["error"]["message"].as_str().unwrap_or_else(|| panic!("no JSON error: {}", self.body));
        assert!(message.contains(fragment), "`{message}` does not name `{fragment}`");
    }
}

struct Api<'a> {
    node: &'a Logwarden,
    client: reqwest::blocking::Client,
}

impl Api<'_> {
    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Answer {
        let response = request.timeout(Duration::from_secs(60)).send().expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    fn get(&self, key: &str, path: &str, params: &[(&str, &str)]) -> Answer {
        self.send(self.client.get(self.node.url(path)).bearer_auth(secret(key)).query(params))
    }

    fn post(&self, key: &str, path: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.node.url(path)).bearer_auth(secret(key)).json(body))
    }

    fn change(&self, key: &str, id: &str, action: &str, comment: &str) -> Answer {
        self.post(key, &format!("/api/v1/alerts/{id}/{action}"), &json!({ "comment": comment }))
    }

    /// The ids of `GET /api/v1/alerts` with `params`, in order, and the total.
    fn list(&self, params: &[(&str, &str)]) -> (Vec<String>, u64) {
        let answer = self.get("boss", "/api/v1/alerts", params);
        let body = answer.ok();
        let ids = body["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
        (ids, body["total"].as_u64().unwrap())
    }

    fn total(&self, params: &[(&str, &str)]) -> u64 {
        let mut all = vec![("limit", "0")];
        all.extend_from_slice(params);
        self.get("boss", "/api/v1/search", &all).ok()["total"].as_u64().unwrap()
    }

    /// Waits until the search `params` counts `want` events.
    fn wait_total(&self, params: &[(&str, &str)], want: u64) {
        let started = Instant::now();
        let mut last = 0;
        while started.elapsed() < Duration::from_secs(60) {
            last = self.total(params);
            if last >= want {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_eq!(last, want, "{params:?}");
    }
}

/// The alerts of the test, newest `last_seen` first, and the events they matched.
struct Fixture {
    alerts: Vec<Alert>,
    /// `event.id`s of the matched events (stream `auth`).
    matched: [String; 2],
    base: DateTime<Utc>,
}

fn hex_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn fixture() -> Fixture {
    let base = Utc::now().duration_trunc(chrono::TimeDelta::seconds(1)).unwrap() - chrono::TimeDelta::hours(3);
    let at = |minutes: i64| base + chrono::TimeDelta::minutes(minutes);
    let run = hex_id();
    let matched = [format!("alerts-api-{run}-1"), format!("alerts-api-{run}-2")];
    let reference = |id: Option<&str>, offset: i64| EventRef {
        event_id: id.map(str::to_string),
        stream: "auth".into(),
        partition: 0,
        offset,
        timestamp: at(0),
    };
    let alert = |rule: &str, level: &str, minutes: i64, group: &str, events: Vec<EventRef>| {
        let values = group.split_once('=').map(|(k, v)| [(k.to_string(), v.to_string())].into()).unwrap_or_default();
        Alert {
            id: hex_id(),
            kind: if group.is_empty() { AlertKind::Detection } else { AlertKind::Correlation },
            rule: RuleRef {
                id: rule.into(),
                title: format!("rule {rule}"),
                level: level.into(),
                tags: vec!["attack.t1110".into()],
                author: None,
                description: None,
            },
            group: AlertGroup { key: group.into(), values },
            first_seen: at(minutes - 5),
            last_seen: at(minutes),
            count: events.len().max(1) as u64,
            events,
            fields: Default::default(),
            created: at(minutes),
        }
    };
    let brute_force_events = vec![
        reference(Some(&matched[0]), 1_000_000),
        reference(Some(&matched[1]), 1_000_001),
        reference(None, 1_000_002),
        reference(Some(&format!("alerts-api-{run}-never-sent")), 1_000_003),
    ];
    let alerts = vec![
        alert("r-ssh", "high", 50, "source.ip=10.0.0.5", brute_force_events),
        alert("r-ssh", "medium", 40, "", vec![reference(Some(&matched[0]), 1_000_000)]),
        alert("r-sudo", "critical", 30, "user.name=Mallory", vec![]),
        alert("r-sudo", "low", 20, "user.name=bob", vec![]),
        alert("r-info", "informational", 10, "", vec![]),
    ];
    Fixture { alerts, matched, base }
}

/// Produces the matched events, then every alert (the first twice, as the
/// detector may after a crash) to the events topic.
fn produce(topic: &str, fixture: &Fixture) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("acks", "all")
        .create()
        .expect("a producer");
    let mut events = Vec::new();
    for (i, id) in fixture.matched.iter().enumerate() {
        let mut event = Event::new(format!("Failed password for root from 10.0.0.5 port 22 attempt {i}"), fixture.base);
        event.id = Some(id.clone());
        event.stream = "auth".into();
        event.host_name = Some("bastion".into());
        event.source_ip = Some("10.0.0.5".into());
        events.push(event);
    }
    events.extend(fixture.alerts.iter().map(Alert::to_event));
    events.push(fixture.alerts[0].to_event());
    for event in &events {
        let payload = wire::encode(event);
        producer
            .send(BaseRecord::to(topic).key(&*wire::key(event)).payload(&payload))
            .unwrap_or_else(|(e, _)| panic!("queueing an event: {e}"));
    }
    producer.flush(Duration::from_secs(30)).expect("every event acknowledged by Kafka");
}

#[test]
fn alerts_are_listed_shown_triaged_and_audited() {
    let dir = temp_dir("alerts-api");
    let topic = unique("lw-alerts-api");
    let config = write_config(&dir, &topic);
    // Events come straight from Kafka here; the collector tails an empty file.
    let input = dir.join("empty.log");
    std::fs::write(&input, "").unwrap();
    let input = input.display().to_string();
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0", "--input", &input]);
    let api = Api { node: &node, client: reqwest::blocking::Client::new() };
    let fixture = fixture();
    produce(&topic, &fixture);
    api.wait_total(&[("stream", "alerts")], fixture.alerts.len() as u64 + 1);
    api.wait_total(&[("stream", "auth")], 2);

    listing_dedupes_filters_and_pages(&api, &fixture);
    detail_resolves_the_matched_events(&api, &fixture);
    bad_and_unknown_ids_get_json_errors(&api, &fixture);
    roles_and_streams_are_enforced(&api, &fixture);
    let changes = the_lifecycle_moves_forward_only(&api, &fixture);
    let changes = changes + simultaneous_acknowledges_give_one_200_and_one_409(&api, &fixture);
    every_change_is_in_the_audit_stream(&api, &fixture, changes);
    the_openapi_document_describes_the_endpoints(&api);
    node.stop();
}

/// Query parameters.
type Params<'a> = Vec<(&'a str, &'a str)>;

fn listing_dedupes_filters_and_pages(api: &Api, fixture: &Fixture) {
    let ids: Vec<String> = fixture.alerts.iter().map(|a| a.id.clone()).collect();
    let pick = |indexes: &[usize]| indexes.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>();

    // Six alert events, five alerts: the copy is not listed twice.
    let body = api.get("boss", "/api/v1/alerts", &[]).ok().clone();
    assert_eq!(body["total"], 5, "{body}");
    assert_eq!((body["limit"].as_u64(), body["offset"].as_u64()), (Some(50), Some(0)));
    let listed: Vec<&str> = body["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids, "newest last_seen first, each id once");
    let first = &body["alerts"][0];
    assert_eq!(first["status"], "open");
    assert_eq!(first["status_history"], json!([]));
    assert_eq!(first["rule"]["id"], "r-ssh");
    assert_eq!(first["group"]["key"], "source.ip=10.0.0.5");
    assert_eq!(first["events"].as_array().unwrap().len(), 4);
    assert_eq!(serde_json::from_value::<Alert>(first.clone()).unwrap(), fixture.alerts[0]);

    let minutes = |m: i64| (fixture.base + chrono::TimeDelta::minutes(m)).to_rfc3339();
    let (from, to) = (minutes(20), minutes(40));
    let cases: Vec<(Params, Vec<String>)> = vec![
        (vec![("rule", "r-ssh")], pick(&[0, 1])),
        (vec![("rule", "r-nosuch")], vec![]),
        (vec![("level", "high")], pick(&[0, 2])),
        (vec![("level", "medium")], pick(&[0, 1, 2])),
        (vec![("level", "informational")], ids.clone()),
        (vec![("rule", "r-sudo"), ("level", "critical")], pick(&[2])),
        // from inclusive, to exclusive, on last_seen.
        (vec![("from", &from), ("to", &to)], pick(&[2, 3])),
        (vec![("from", &to)], pick(&[0, 1])),
        (vec![("group", "10.0.0.5")], pick(&[0])),
        (vec![("group", "mallory")], pick(&[2])),
        (vec![("group", "user.name=")], pick(&[2, 3])),
        (vec![("status", "open")], ids.clone()),
        (vec![("status", "closed")], vec![]),
    ];
    for (params, want) in cases {
        let (got, total) = api.list(&params);
        assert_eq!(got, want, "{params:?}");
        assert_eq!(total, want.len() as u64, "{params:?}");
    }
    // Pages: limit and offset over the same order, total every time.
    let mut paged = Vec::new();
    for offset in ["0", "2", "4"] {
        let (page, total) = api.list(&[("limit", "2"), ("offset", offset)]);
        assert_eq!(total, 5);
        assert!(page.len() <= 2);
        paged.extend(page);
    }
    assert_eq!(paged, ids);
    assert_eq!(api.list(&[("limit", "2"), ("offset", "10")]), (vec![], 5));
    assert_eq!(api.list(&[("limit", "0")]), (vec![], 5));
    assert_eq!(api.list(&[("limit", "1000")]).0, ids);

    for (params, fragment) in [
        (vec![("level", "severe")], "level `severe`"),
        (vec![("status", "open,snoozed")], "status `snoozed`"),
        (vec![("from", "yesterday")], "from:"),
        (vec![("from", "now"), ("to", "now-1h")], "must be before"),
        (vec![("limit", "1001")], "limit 1001"),
        (vec![("limit", "-1")], "limit"),
        (vec![("sort", "asc")], "sort"),
    ] {
        api.get("boss", "/api/v1/alerts", &params).refused(400, "invalid_parameter", fragment);
    }
}

fn detail_resolves_the_matched_events(api: &Api, fixture: &Fixture) {
    let alert = &fixture.alerts[0];
    let answer = api.get("audrey", &format!("/api/v1/alerts/{}", alert.id), &[]);
    let body = answer.ok();
    assert_eq!(body["id"], alert.id.as_str());
    assert_eq!(body["status"], "open");
    let matched = body["matched_events"].as_array().unwrap();
    assert_eq!(matched.len(), 4, "{body}");
    for (entry, id) in matched[..2].iter().zip(&fixture.matched) {
        assert_eq!(entry["resolved"], true, "{entry}");
        assert_eq!(entry["ref"]["event.id"], id.as_str());
        assert_eq!(entry["event"]["event.id"], id.as_str());
        assert_eq!(entry["event"]["stream"], "auth");
        assert!(entry["event"]["message"].as_str().unwrap().starts_with("Failed password for root"), "{entry}");
    }
    assert_eq!(matched[2]["resolved"], false);
    assert_eq!(matched[2]["ref"]["offset"], 1_000_002);
    assert!(matched[2]["reason"].as_str().unwrap().contains("no event.id"), "{}", matched[2]);
    assert_eq!(matched[3]["resolved"], false);
    assert!(matched[3]["reason"].as_str().unwrap().contains("no event with event.id"), "{}", matched[3]);
    // A key limited to the alerts stream sees the alert, not the events.
    let limited = api.get("triage", &format!("/api/v1/alerts/{}", alert.id), &[]);
    let limited = limited.ok();
    assert_eq!(limited["matched_events"][0]["resolved"], false);
    assert!(limited["matched_events"][0]["reason"].as_str().unwrap().contains("may not search stream `auth`"), "{limited}");
    // An alert with no events has none to resolve.
    let quiet = api.get("boss", &format!("/api/v1/alerts/{}", fixture.alerts[4].id), &[]);
    assert_eq!(quiet.ok()["matched_events"], json!([]));
}

fn bad_and_unknown_ids_get_json_errors(api: &Api, fixture: &Fixture) {
    let upper = fixture.alerts[0].id.to_uppercase();
    for bad in ["XYZ", "0123", upper.as_str(), "0123456789abcdef0123456789abcdeg"] {
        api.get("boss", &format!("/api/v1/alerts/{bad}"), &[]).refused(400, "invalid_parameter", "32 lowercase hex");
        api.change("ann", bad, "acknowledge", "looked").refused(400, "invalid_parameter", "32 lowercase hex");
    }
    let unknown = hex_id();
    api.get("boss", &format!("/api/v1/alerts/{unknown}"), &[]).refused(404, "not_found", &unknown);
    api.change("ann", &unknown, "acknowledge", "looked").refused(404, "not_found", &unknown);
    api.change("ann", &unknown, "close", "looked").refused(404, "not_found", &unknown);
    // Bodies: the comment is required, not blank, at most 4 KiB.
    let path = format!("/api/v1/alerts/{}/acknowledge", fixture.alerts[0].id);
    api.post("ann", &path, &json!({})).refused(400, "invalid_body", "comment");
    api.post("ann", &path, &json!({"comment": "ok", "extra": 1})).refused(400, "invalid_body", "extra");
    api.change("ann", &fixture.alerts[0].id, "acknowledge", "  ").refused(400, "invalid_body", "comment");
    api.change("ann", &fixture.alerts[0].id, "acknowledge", &"x".repeat(4097)).refused(400, "invalid_body", "4096");
    let raw = api.client.post(api.node.url(&path)).bearer_auth(secret("ann")).body("comment=looked");
    api.send(raw).refused(400, "invalid_body", "Content-Type");
    let delete = api.client.delete(api.node.url("/api/v1/alerts")).bearer_auth(secret("boss"));
    api.send(delete).refused(405, "method_not_allowed", "DELETE");
    api.get("ann", &path, &[]).refused(405, "method_not_allowed", "GET");
    // Nothing above changed anything.
    assert_eq!(api.list(&[("status", "open")]).1, 5);
}

fn roles_and_streams_are_enforced(api: &Api, fixture: &Fixture) {
    let id = &fixture.alerts[0].id;
    // Auditors read, but do not triage.
    assert_eq!(api.get("audrey", "/api/v1/alerts", &[]).ok()["total"], 5);
    api.change("audrey", id, "acknowledge", "looked").refused(403, "forbidden", "auditor");
    api.change("audrey", id, "close", "looked").refused(403, "forbidden", "auditor");
    // Ingest keys do neither.
    api.get("shipper", "/api/v1/alerts", &[]).refused(403, "forbidden", "ingest");
    api.get("shipper", &format!("/api/v1/alerts/{id}"), &[]).refused(403, "forbidden", "ingest");
    api.change("shipper", id, "close", "looked").refused(403, "forbidden", "ingest");
    // A key limited to other streams does not see the alerts stream.
    api.get("authonly", "/api/v1/alerts", &[]).refused(403, "forbidden", "alerts");
    api.get("authonly", &format!("/api/v1/alerts/{id}"), &[]).refused(403, "forbidden", "alerts");
    api.change("authonly", id, "acknowledge", "looked").refused(403, "forbidden", "alerts");
    // No key at all.
    let anonymous = api.client.get(api.node.url("/api/v1/alerts"));
    api.send(anonymous).refused(401, "unauthorized", "API key");
    assert_eq!(api.list(&[("status", "open")]).1, 5, "nothing refused changed anything");
}

/// Returns the number of changes made.
fn the_lifecycle_moves_forward_only(api: &Api, fixture: &Fixture) -> usize {
    let (first, second) = (&fixture.alerts[0].id, &fixture.alerts[1].id);
    let acknowledged = api.change("ann", first, "acknowledge", "on it: blocking 10.0.0.5");
    let body = acknowledged.ok();
    assert_eq!(body["id"], first.as_str());
    assert_eq!(body["status"], "acknowledged");
    assert_eq!(body["status_history"][0]["status"], "acknowledged");
    assert_eq!(body["status_history"][0]["by"], "ann");
    assert_eq!(body["status_history"][0]["comment"], "on it: blocking 10.0.0.5");
    api.change("boss", first, "acknowledge", "me too").refused(409, "invalid_transition", "already acknowledged");

    let closed = api.change("triage", first, "close", "blocked at the firewall");
    let body = closed.ok();
    assert_eq!(body["status"], "closed");
    let history: Vec<(&str, &str)> = body["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["status"].as_str().unwrap(), c["by"].as_str().unwrap()))
        .collect();
    assert_eq!(history, [("acknowledged", "ann"), ("closed", "triage")]);
    api.change("ann", first, "close", "again").refused(409, "invalid_transition", "closed");
    api.change("ann", first, "acknowledge", "reopen?").refused(409, "invalid_transition", "closed");

    // Open → closed directly.
    assert_eq!(api.change("boss", second, "close", "false positive").ok()["status"], "closed");

    // What every reader sees now.
    let shown = api.get("audrey", &format!("/api/v1/alerts/{first}"), &[]);
    assert_eq!(shown.ok()["status"], "closed");
    assert_eq!(shown.ok()["status_history"].as_array().unwrap().len(), 2);
    let ids: Vec<String> = fixture.alerts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(api.list(&[("status", "closed")]), (ids[..2].to_vec(), 2));
    assert_eq!(api.list(&[("status", "open")]), (ids[2..].to_vec(), 3));
    assert_eq!(api.list(&[("status", "open,acknowledged"), ("rule", "r-ssh")]), (vec![], 0));
    let (listed, _) = api.list(&[("status", "closed"), ("limit", "1")]);
    assert_eq!(listed, std::slice::from_ref(first));
    3
}

/// Returns the number of changes made.
fn simultaneous_acknowledges_give_one_200_and_one_409(api: &Api, fixture: &Fixture) -> usize {
    let id = fixture.alerts[3].id.clone();
    let url = api.node.url(&format!("/api/v1/alerts/{id}/acknowledge"));
    let start = Arc::new(Barrier::new(2));
    let racers: Vec<_> = ["ann", "boss"]
        .into_iter()
        .map(|key| {
            let (url, start) = (url.clone(), start.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let request = client.post(url).bearer_auth(secret(key)).json(&json!({"comment": format!("{key} takes it")}));
                start.wait();
                let response = request.send().unwrap();
                (response.status().as_u16(), response.json::<Value>().unwrap())
            })
        })
        .collect();
    let mut answers: Vec<(u16, Value)> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert_eq!(answers[1].0, 409, "{answers:?}");
    assert_eq!(answers[1].1["error"]["code"], "invalid_transition");
    let winner = answers[0].1["status_history"][0]["by"].as_str().unwrap().to_string();
    let shown = api.get("boss", &format!("/api/v1/alerts/{id}"), &[]);
    let history = shown.ok()["status_history"].as_array().unwrap().clone();
    assert_eq!(history.len(), 1, "one change, by the winner");
    assert_eq!(history[0]["by"], winner.as_str());
    1
}

fn every_change_is_in_the_audit_stream(api: &Api, fixture: &Fixture, changes: usize) {
    let query = "event.action:\"alert-acknowledge\" OR event.action:\"alert-close\"";
    let params = [("stream", "audit"), ("q", query)];
    api.wait_total(&params, changes as u64);
    let mut all = params.to_vec();
    all.push(("limit", "100"));
    let hits = api.get("boss", "/api/v1/search", &all).ok()["hits"].as_array().unwrap().clone();
    let mut records: Vec<(String, String, String, String, String, String)> = hits
        .iter()
        .map(|h| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let f = &h["fields"];
            (
                text(&f["alert.id"]),
                text(&h["event.action"]),
                text(&h["user.name"]),
                text(&f["alert.status.from"]),
                text(&f["alert.status.to"]),
                text(&f["alert.comment"]),
            )
        })
        .collect();
    records.sort();
    let [first, second, fourth] = [0, 1, 3].map(|i| fixture.alerts[i].id.clone());
    let record = |id: &str, action: &str, who: &str, from: &str, to: &str, comment: &str| {
        (id.to_string(), action.to_string(), who.to_string(), from.to_string(), to.to_string(), comment.to_string())
    };
    let race = records.iter().find(|r| r.0 == fourth).cloned().expect("the race's change is recorded");
    let mut want = vec![
        record(&first, "alert-acknowledge", "ann", "open", "acknowledged", "on it: blocking 10.0.0.5"),
        record(&first, "alert-close", "triage", "acknowledged", "closed", "blocked at the firewall"),
        record(&second, "alert-close", "boss", "open", "closed", "false positive"),
        record(&fourth, "alert-acknowledge", &race.2, "open", "acknowledged", &format!("{} takes it", race.2)),
    ];
    want.sort();
    assert_eq!(records, want);
    let message = hits.iter().find(|h| h["fields"]["alert.id"] == second.as_str()).unwrap()["message"].clone();
    assert_eq!(message, format!("boss closed alert {second} (open -> closed): false positive").as_str());
}

fn the_openapi_document_describes_the_endpoints(api: &Api) {
    let document: Value = api.client.get(api.node.url("/api/v1/openapi.json")).send().unwrap().json().unwrap();
    let paths = &document["paths"];
    for (path, method, statuses) in [
        ("/api/v1/alerts", "get", &["200", "400", "401", "403"][..]),
        ("/api/v1/alerts/{id}", "get", &["200", "400", "403", "404"][..]),
        ("/api/v1/alerts/{id}/acknowledge", "post", &["200", "400", "403", "404", "409", "503"][..]),
        ("/api/v1/alerts/{id}/close", "post", &["200", "400", "403", "404", "409", "503"][..]),
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} is not described");
        for status in statuses {
            assert!(operation["responses"][status].is_object(), "{method} {path}: no {status} response");
        }
    }
    let schemas = &document["components"]["schemas"];
    for name in ["Alert", "AlertList", "AlertDetail", "StatusChangeRequest"] {
        assert!(schemas[name].is_object(), "no schema {name}");
    }
}
