//! Black-box tests of the PIPA monthly access review (제8조②): a month of
//! access records (the `audit` stream as the query API writes it, and a
//! mapped `crm-access` stream) produced to Kafka and indexed by the real
//! indexer, with planted cases for every check and cases on each
//! threshold's other side that must not fire; then `logwarden compliance
//! review` (json, csv, html, pdf) and the HTTP API: 소명 states, sign-off
//! and their records in the `audit` stream.

mod support;

use support::compliance::{ANALYST, AUDITOR, audit_record, auth_keys, logwarden, ok, save_config, wait_for_seal};

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, SecondsFormat, TimeZone, Utc};
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Value, json};
use support::{Logwarden, brokers, committed_reader, indexer_sections, temp_dir, unique};

/// An indexer on one partition, an auditor and an analyst key, and the
/// monthly review with a mapped `crm-access` source.
fn write_config(dir: &Path, topic: &str, group: &str) -> String {
    let review = r#"[compliance.review]
timezone = "Asia/Seoul"
plan = "개인정보 내부 관리계획 v3 (2026-01-02)"
audit_subject_fields = ["user.name", "customer.id"]
[compliance.review.bulk]
per_call = 1000
per_day = 3000
citation = "내부 관리계획 제12조①"
[compliance.review.hours]
start = "09:00"
end = "18:00"
holidays = ["2026-11-11"]
[compliance.review.new_origin]
days = "30d"
[compliance.review.dormant]
days = "60d"
[compliance.review.repeated_subject]
per_day = 5
[compliance.review.failed_logins]
count = 5
within = "10m"
[[compliance.review.sources]]
stream = "crm-access"
account = "operator"
origin = "client_ip"
subject = "customer_no"
task = "op"
records = "rows"
reason = "why"
outcome = "result"
[compliance.review.sources.tasks]
VIEW = "조회"
EXPORT = "다운로드"
LOGIN = "로그인"
"#;
    save_config(dir, "logwarden.toml", &[&indexer_sections(dir, topic, group, 1), &auth_keys(true), review])
}

/// A KST wall-clock time (`2026-11-03 11:00:00`) as RFC 3339 UTC.
fn kst(text: &str) -> String {
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
    let utc = Utc.from_utc_datetime(&(local - chrono::Duration::hours(9)));
    utc.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The month's events, built as the query API and a CRM would write them.
struct Month {
    events: Vec<Value>,
}

impl Month {
    fn id(&self) -> String {
        format!("t-{:05}", self.events.len())
    }

    /// An `api-call` record of the query API (a search).
    fn search(&mut self, at: &str, user: &str, ip: &str, returned: u64, query: &str) {
        let time = kst(at);
        let event = json!({
            "@timestamp": time, "event.ingested": time, "event.id": self.id(), "event.kind": "event",
            "event.category": "web", "event.action": "api-call", "event.outcome": "success",
            "message": format!("{user} GET /api/v1/search 200"), "event.original": format!("{user} GET /api/v1/search 200"),
            "stream": "audit", "host.name": "api1", "source.ip": ip, "source.port": 50000,
            "observer.product": "logwarden query-api", "user.name": user,
            "fields": {"url.path": "/api/v1/search", "http.request.method": "GET", "http.response.status_code": 200,
                "results.total": returned, "results.returned": returned, "search.query": query, "user.roles": "analyst"},
        });
        self.events.push(event);
    }

    /// An `audit-export` record of the query API.
    fn export(&mut self, at: &str, user: &str, ip: &str, records: u64, reason: Option<&str>) {
        let time = kst(at);
        let mut fields = json!({"export.stream": "crm-access", "export.from": "2026-10-01T00:00:00Z", "export.to": "2026-11-01T00:00:00Z",
            "export.records": records.to_string(), "user.roles": "auditor"});
        if let Some(reason) = reason {
            fields["export.reason"] = reason.into();
        }
        self.events.push(json!({
            "@timestamp": time, "event.ingested": time, "event.id": self.id(), "event.kind": "event",
            "event.category": "intrusion_detection", "event.action": "audit-export", "event.outcome": "success",
            "message": format!("{user} exported"), "event.original": format!("{user} exported"),
            "stream": "audit", "host.name": "api1", "source.ip": ip, "source.port": 50001,
            "observer.product": "logwarden query-api", "user.name": user, "fields": fields,
        }));
    }

    /// A refused key (401) from `ip`.
    fn unauthenticated(&mut self, at: &str, ip: &str) {
        let time = kst(at);
        self.events.push(json!({
            "@timestamp": time, "event.ingested": time, "event.id": self.id(), "event.kind": "event",
            "event.category": "web", "event.action": "api-unauthenticated", "event.outcome": "failure",
            "message": "- GET /api/v1/search 401", "event.original": "- GET /api/v1/search 401",
            "stream": "audit", "host.name": "api1", "source.ip": ip, "source.port": 50002,
            "observer.product": "logwarden query-api",
            "fields": {"url.path": "/api/v1/search", "http.request.method": "GET", "http.response.status_code": 401},
        }));
    }

    /// A record of the CRM's own access log (`crm-access`).
    fn crm(&mut self, at: &str, operator: &str, op: &str, customer: &str, rows: u64, result: &str) {
        let ip = "10.2.0.1";
        let time = kst(at);
        let line = format!("{operator} {op} {customer} {rows}");
        self.events.push(json!({
            "@timestamp": time, "event.ingested": time, "event.id": self.id(), "event.original": line, "message": line,
            "stream": "crm-access", "operator": operator, "client_ip": ip, "op": op, "customer_no": customer,
            "rows": rows, "result": result,
        }));
    }
}

/// Weekdays of October and November 2026 but the 11 November holiday.
fn working_days() -> Vec<String> {
    let mut days = Vec::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    while day <= chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap() {
        use chrono::Datelike;
        let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
        if !weekend && day.to_string() != "2026-11-11" {
            days.push(day.to_string());
        }
        day = day.succ_opt().unwrap();
    }
    days
}

/// The month: steady daily work that must not be flagged, and the planted
/// cases (each commented with the finding it must give, or why it must not).
fn planted() -> Vec<Value> {
    let mut m = Month { events: Vec::new() };
    for day in working_days() {
        m.search(&format!("{day} 10:00:00"), "ann", "10.1.0.1", 10, "message:login");
        m.search(&format!("{day} 10:05:00"), "bob", "10.1.0.2", 10, "message:login");
        m.crm(&format!("{day} 10:10:00"), "kim", "VIEW", &format!("C-{day}"), 1, "OK");
    }
    // Downloads: every one listed, with or without a reason.
    m.export("2026-11-03 11:00:00", "ann", "10.1.0.1", 120, Some("감사 대응 자료 제출"));
    m.crm("2026-11-05 15:00:00", "kim", "EXPORT", "C-ALL", 200, "OK");
    // An off-hours bulk download on a Saturday: download, bulk call, bulk day, off hours.
    m.export("2026-11-14 02:00:00", "bob", "10.1.0.2", 5000, None);
    // Bulk per call: exactly 1000 fires, 999 does not.
    m.search("2026-11-02 11:00:00", "ann", "10.1.0.1", 1000, "message:report");
    m.search("2026-11-10 11:00:00", "ann", "10.1.0.1", 999, "message:report");
    // Bulk per day: 3 × 999 + 1 = 2998 on Monday does not fire; 3000 on Tuesday does.
    for (i, customer) in ["C-a", "C-b", "C-c"].iter().enumerate() {
        m.crm(&format!("2026-11-16 11:0{i}:00"), "kim", "VIEW", customer, 999, "OK");
        m.crm(&format!("2026-11-17 11:0{i}:00"), "kim", "VIEW", customer, 999, "OK");
    }
    m.crm("2026-11-17 11:05:00", "kim", "VIEW", "C-d", 2, "OK");
    // Business hours: 17:59:59 and 09:00:00 are inside; 18:00:00 and the holiday are not.
    m.search("2026-11-04 17:59:59", "ann", "10.1.0.1", 1, "message:x");
    m.search("2026-11-23 09:00:00", "ann", "10.1.0.1", 1, "message:x");
    m.search("2026-11-19 18:00:00", "ann", "10.1.0.1", 1, "message:x");
    m.crm("2026-11-11 10:00:00", "kim", "VIEW", "C-h", 1, "OK");
    // New source address: ann from 10.9.9.9 fires; bob back on an address
    // he used 23 days before (within 30 days) does not.
    m.search("2026-11-25 11:00:00", "ann", "10.9.9.9", 1, "message:x");
    m.search("2026-10-20 11:00:00", "bob", "10.1.0.22", 1, "message:x");
    m.search("2026-11-12 11:00:00", "bob", "10.1.0.22", 1, "message:x");
    // Dormant: 69 and exactly 60 days idle fire, 59 does not.
    m.search("2026-09-01 10:00:00", "dora", "10.3.0.1", 1, "message:x");
    m.search("2026-11-09 10:00:00", "dora", "10.3.0.1", 1, "message:x");
    m.search("2026-09-10 10:00:00", "fred", "10.3.0.2", 1, "message:x");
    m.search("2026-11-09 10:00:00", "fred", "10.3.0.2", 1, "message:x");
    m.search("2026-09-15 10:00:00", "eve", "10.3.0.3", 1, "message:x");
    m.search("2026-11-13 10:00:00", "eve", "10.3.0.3", 1, "message:x");
    // Repeated lookups of one data subject: 5 fire, 4 do not.
    for i in 0..5 {
        m.search(&format!("2026-11-26 11:0{i}:00"), "ann", "10.1.0.1", 1, "customer.id:C-1001");
        m.crm(&format!("2026-11-27 11:0{i}:00"), "kim", "VIEW", "777", 1, "OK");
    }
    for i in 0..4 {
        m.search(&format!("2026-11-26 11:1{i}:00"), "bob", "10.1.0.2", 1, "customer.id:C-2002");
    }
    // Failed sign-ins: 5 within exactly 10 minutes fire; 5 over 10 min 1 s do not.
    for minute in ["00:00", "02:00", "04:00", "06:00", "10:00"] {
        m.unauthenticated(&format!("2026-11-24 15:{minute}"), "203.0.113.7");
    }
    for second in [0, 180, 360, 540, 601] {
        let at = format!("2026-11-24 16:{:02}:{:02}", second / 60, second % 60);
        m.unauthenticated(&at, "203.0.113.8");
    }
    for i in 0..5 {
        m.crm(&format!("2026-11-18 14:00:1{i}"), "kim", "LOGIN", "-", 0, "FAIL");
    }
    // Outside the month (1 December KST): not reviewed.
    m.export("2026-12-01 00:30:00", "ann", "10.1.0.1", 9999, None);
    m.events
}

fn produce(topic: &str, events: &[Value]) {
    support::create_topic(topic, 1);
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", brokers()).set("acks", "all").create().unwrap();
    for event in events {
        let payload = event.to_string();
        let key = event["event.id"].as_str().unwrap().to_string();
        loop {
            match producer.send(BaseRecord::to(topic).key(&key).payload(&payload)) {
                Ok(()) => break,
                Err((e, _)) if e.to_string().contains("Queue full") => {
                    producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => panic!("queueing an event: {e}"),
            }
        }
    }
    producer.flush(Duration::from_secs(30)).expect("every event acknowledged by Kafka");
}

/// Every audit event with `action` in `topic`, read until `at_least` were
/// found and the topic has been quiet for a second.
fn audit_records(topic: &str, action: &str, at_least: usize) -> Vec<Value> {
    use rdkafka::Message;
    let consumer = committed_reader("review-audit-reader", topic);
    let started = Instant::now();
    let mut quiet_since = Instant::now();
    let mut found = Vec::new();
    while started.elapsed() < Duration::from_secs(60) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(message) => {
                quiet_since = Instant::now();
                let message = message.unwrap();
                let Ok(event) = serde_json::from_slice::<Value>(message.payload().unwrap_or_default()) else { continue };
                if event["stream"] == "audit" && event["event.action"] == action {
                    found.push(event);
                }
            }
            None if found.len() >= at_least && quiet_since.elapsed() > Duration::from_secs(1) => return found,
            None => {}
        }
    }
    panic!("{} of {at_least} audit records {action} in {topic}", found.len());
}

/// (check, account or origin) of every finding, sorted.
fn found(review: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = review["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let who = f["account"].as_str().map(str::to_string).unwrap_or_else(|| format!("origin {}", f["origin"].as_str().unwrap()));
            (f["check"].as_str().unwrap().to_string(), who)
        })
        .collect();
    out.sort();
    out
}

fn finding<'a>(review: &'a Value, check: &str, account: &str) -> &'a Value {
    review["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check && f["account"] == account)
        .unwrap_or_else(|| panic!("no {check} finding for {account}"))
}

fn expected() -> Vec<(String, String)> {
    let mut want: Vec<(String, String)> = [
        ("download", "ann"),
        ("download", "kim"),
        ("download", "bob"),
        ("bulk_call", "ann"),
        ("bulk_call", "bob"),
        ("bulk_day", "bob"),
        ("bulk_day", "kim"),
        ("off_hours", "bob"),
        ("off_hours", "kim"),
        ("off_hours", "ann"),
        ("new_origin", "ann"),
        ("dormant", "dora"),
        ("dormant", "fred"),
        ("repeated_subject", "ann"),
        ("repeated_subject", "kim"),
        ("failed_logins", "origin 203.0.113.7"),
        ("failed_logins", "kim"),
    ]
    .iter()
    .map(|(c, a)| (c.to_string(), a.to_string()))
    .collect();
    want.sort();
    want
}

#[test]
fn the_monthly_review_finds_each_planted_case_and_is_explained_and_signed_off() {
    let dir = temp_dir("compliance-review");
    let topic = unique("lw-review");
    let config = write_config(&dir, &topic, &unique("g"));
    let data = dir.join("data");
    let data_s = data.to_str().unwrap();

    let events = planted();
    produce(&topic, &events);
    let indexer = Logwarden::start(&["indexer", "--config", &config]);
    wait_for_seal(&data, events.len() as u64, Duration::from_secs(120), false);
    indexer.stop();
    ok(logwarden(&["compliance", "pin-key", "--data-dir", data_s]));

    // The review from the command line, as JSON.
    let review: Value = serde_json::from_str(&ok(logwarden(&["compliance", "review", "--config", &config, "--month", "2026-11"]))).unwrap();
    assert_eq!(found(&review), expected(), "{:#}", review["findings"]);
    assert_eq!(review["month"], "2026-11");
    assert_eq!(review["timezone"], "Asia/Seoul");
    assert_eq!(review["from"], "2026-10-31T15:00:00Z");
    assert_eq!(review["to"], "2026-11-30T15:00:00Z");
    assert_eq!(review["status"], "PENDING");
    assert_eq!(review["summary"]["pending"], 17);
    assert_eq!(review["summary"]["downloads_without_reason"], 2);

    let ann_download = finding(&review, "download", "ann");
    assert_eq!((ann_download["reason"].as_str(), ann_download["reason_missing"].as_bool()), (Some("감사 대응 자료 제출"), Some(false)));
    assert_eq!(ann_download["records"], 120);
    assert_eq!(ann_download["local_time"], "2026-11-03 11:00:00 KST");
    let bob_download = finding(&review, "download", "bob");
    assert_eq!((bob_download["reason_missing"].as_bool(), bob_download["records"].as_u64()), (Some(true), Some(5000)));
    let kim_download = finding(&review, "download", "kim");
    assert_eq!((kim_download["reason_missing"].as_bool(), kim_download["streams"][0].as_str()), (Some(true), Some("crm-access")));
    assert_eq!(finding(&review, "bulk_call", "ann")["records"], 1000);
    assert_eq!(finding(&review, "bulk_day", "kim")["records"], 3000);
    assert_eq!(finding(&review, "bulk_day", "kim")["day"], "2026-11-17");
    assert_eq!(finding(&review, "off_hours", "bob")["day"], "2026-11-14");
    assert_eq!(finding(&review, "off_hours", "kim")["day"], "2026-11-11");
    assert!(finding(&review, "off_hours", "kim")["en"].as_str().unwrap().contains("holiday"));
    assert_eq!(finding(&review, "off_hours", "ann")["local_time"], "2026-11-19 18:00:00 KST");
    assert_eq!(finding(&review, "new_origin", "ann")["origin"], "10.9.9.9");
    assert!(finding(&review, "dormant", "dora")["en"].as_str().unwrap().contains("69 days"));
    assert!(finding(&review, "dormant", "fred")["en"].as_str().unwrap().contains("60 days"));
    assert_eq!(finding(&review, "repeated_subject", "ann")["subject"], "customer.id:C-1001");
    assert_eq!(finding(&review, "repeated_subject", "kim")["subject"], "777");
    assert_eq!(finding(&review, "repeated_subject", "kim")["actions"], 5);
    assert_eq!(finding(&review, "failed_logins", "kim")["actions"], 5);
    let burst = review["findings"].as_array().unwrap().iter().find(|f| f["check"] == "failed_logins" && f["account"].is_null()).unwrap();
    assert_eq!((burst["origin"].as_str(), burst["actions"].as_u64()), (Some("203.0.113.7"), Some(5)));
    let ids: BTreeSet<&str> = review["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 17, "ids are unique");
    assert!(ids.iter().all(|id| id.starts_with("2026-11-") && id.len() == 24), "{ids:?}");

    // Thresholds are cited: the check's own citation, else the plan.
    let setting = |check: &str| review["settings"].as_array().unwrap().iter().find(|s| s["check"] == check).unwrap().clone();
    assert_eq!(setting("bulk_call")["citation"], "내부 관리계획 제12조①");
    assert_eq!(setting("dormant")["citation"], "개인정보 내부 관리계획 v3 (2026-01-02)");
    assert_eq!(setting("dormant")["source"], "config");
    assert!(setting("failed_logins")["threshold_en"].as_str().unwrap().contains("≥ 5 failed sign-ins within 10 minutes"));
    let sources = review["sources"].as_array().unwrap();
    assert_eq!(sources.iter().map(|s| s["stream"].as_str().unwrap()).collect::<Vec<_>>(), ["audit", "crm-access"]);
    assert!(sources.iter().all(|s| s["records"].as_u64().unwrap() > 20));

    // 제8조③: the month's access records verified, no gap.
    let integrity = &review["integrity"];
    assert_eq!(integrity["status"], "VERIFIED", "{integrity:#}");
    assert_eq!((integrity["chain_verified"].as_bool(), integrity["no_gap"].as_bool(), integrity["key_pinned"].as_bool()), (Some(true), Some(true), Some(true)));
    // Stable: the same data gives the same ids.
    let again: Value = serde_json::from_str(&ok(logwarden(&["compliance", "review", "--data-dir", data_s, "--config", &config, "--month", "2026-11"]))).unwrap();
    assert_eq!(again["findings_sha256"], review["findings_sha256"]);

    // A tampered copy of the store: the integrity result says so.
    let broken = dir.join("data-broken");
    support::compliance::copy_dir(&data, &broken);
    let manifest = std::fs::read_dir(broken.join("streams").join("audit")).unwrap().flat_map(|p| std::fs::read_dir(p.unwrap().path()).unwrap()).map(|s| s.unwrap().path().join("manifest.json")).find(|m| m.exists()).unwrap();
    std::fs::remove_file(&manifest).unwrap();
    let tampered: Value = serde_json::from_str(&ok(logwarden(&["compliance", "review", "--config", &config, "--data-dir", broken.to_str().unwrap(), "--month", "2026-11"]))).unwrap();
    assert_eq!(tampered["integrity"]["status"], "BROKEN", "{:#}", tampered["integrity"]);

    // CSV: a header and one row per finding; HTML in Korean and English.
    let csv = ok(logwarden(&["compliance", "review", "--config", &config, "--month", "2026-11", "--format", "csv"]));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 18, "{csv}");
    assert!(rows[0].starts_with("month,id,check,state,account"));
    assert!(rows.iter().any(|r| r.contains(",download,pending,bob,") && r.contains(",true,")), "{csv}");
    let page = dir.join("review.html");
    ok(logwarden(&["compliance", "review", "--config", &config, "--month", "2026-11", "--format", "html", "--lang", "ko", "--out", page.to_str().unwrap()]));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("접속기록 월간 점검") && html.contains("제8조②") && html.contains("@media print") && html.contains("소명 대기"), "{html}");
    assert!(html.contains("내부 관리계획 제12조①") && html.contains("VERIFIED") && !html.contains("<script"));
    let english = ok(logwarden(&["compliance", "review", "--config", &config, "--month", "2026-11", "--format", "html", "--lang", "en"]));
    assert!(english.contains("Monthly access record review") && english.contains("Dormant account active again"));

    // Bad input names the problem.
    for (args, says) in [
        (vec!["--month", "2026-13"], "--month"),
        (vec!["--month", "2026-11", "--tz", "Mars/Base"], "--tz"),
        (vec!["--month", "2026-11", "--format", "pdf"], "--out"),
    ] {
        let mut all = vec!["compliance", "review", "--config", &config];
        all.extend(args);
        let output = logwarden(&all);
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains(says), "{}", String::from_utf8_lossy(&output.stderr));
    }
    // PDF without a browser: a clear error naming it.
    let output = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["compliance", "review", "--config", &config, "--month", "2026-11", "--format", "pdf", "--out"])
        .arg(dir.join("none.pdf"))
        .env("LOGWARDEN_CHROMIUM", "/nonexistent/chromium")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Chromium") && stderr.contains("/nonexistent/chromium"), "{stderr}");

    // The API: the same review for auditors; analysts may not.
    let api = Logwarden::start(&["query-api", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    let client = reqwest::blocking::Client::new();
    let get = |key: &str, query: &[(&str, &str)]| client.get(api.url("/api/v1/compliance/review")).bearer_auth(key).query(query).send().unwrap();
    let post = |path: &str, body: Value| client.post(api.url(path)).bearer_auth(AUDITOR).json(&body).send().unwrap();
    let response = get(AUDITOR, &[("month", "2026-11")]);
    assert_eq!(response.status(), 200);
    let served: Value = response.json().unwrap();
    assert_eq!(served["findings_sha256"], review["findings_sha256"]);
    assert_eq!(get(ANALYST, &[("month", "2026-11")]).status(), 403);
    for (query, says) in [
        (vec![], "`month` is required"),
        (vec![("month", "2026-13")], "`month`"),
        (vec![("month", "2026-11"), ("format", "pdf")], "command line"),
        (vec![("month", "2026-11"), ("tz", "Mars/Base")], "`tz`"),
        (vec![("month", "2026-11"), ("bogus", "1")], "bogus"),
    ] {
        let response = get(AUDITOR, &query);
        assert_eq!(response.status(), 400, "{query:?}");
        let body: Value = response.json().unwrap();
        assert_eq!(body["error"]["code"], "invalid_parameter");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{body}");
    }
    let response = get(AUDITOR, &[("month", "2026-11"), ("format", "html"), ("lang", "ko")]);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(response.text().unwrap().contains("접속기록 월간 점검"));

    // Changing a finding: bad input is refused with what is wrong.
    let bob_id = bob_download["id"].as_str().unwrap();
    let path = |id: &str| format!("/api/v1/compliance/review/findings/{id}");
    for (id, body, status, says) in [
        ("not-an-id", json!({"state": "explained", "comment": "x"}), 400, "not a finding id"),
        ("2026-11-0000000000000000", json!({"state": "explained", "comment": "x"}), 404, "no finding"),
        (bob_id, json!({"state": "closed", "comment": "x"}), 400, "`state`"),
        (bob_id, json!({"state": "explained", "comment": " "}), 400, "`comment`"),
        (bob_id, json!({"state": "explained"}), 400, "comment"),
    ] {
        let response = post(&path(id), body);
        assert_eq!(response.status(), status, "{id}");
        let error: Value = response.json().unwrap();
        assert!(error["error"]["message"].as_str().unwrap().contains(says), "{error}");
    }
    let response = client.post(api.url(&path(bob_id))).bearer_auth(ANALYST).json(&json!({"state": "explained", "comment": "x"})).send().unwrap();
    assert_eq!(response.status(), 403);
    // Not yet: findings are pending.
    let response = post("/api/v1/compliance/review/signoff", json!({"month": "2026-11", "comment": "too early"}));
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().unwrap()["error"]["code"], "findings_pending");

    // The 소명 round trip: bob's download escalated, then explained; the rest explained.
    let response = post(&path(bob_id), json!({"state": "escalated", "comment": "토요일 새벽 대량 다운로드: 사유 확인 필요"}));
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().unwrap();
    assert_eq!((changed["state"].as_str(), changed["previous_state"].as_str()), (Some("escalated"), Some("pending")));
    let response = post(&path(bob_id), json!({"state": "explained", "comment": "법원 제출용, 결재 문서 2026-118"}));
    let changed: Value = response.json().unwrap();
    assert_eq!(changed["history"].as_array().unwrap().len(), 2, "{changed}");
    assert_eq!(changed["history"][0]["by"], "auditor");
    for f in review["findings"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        if id != bob_id {
            assert_eq!(post(&path(id), json!({"state": "explained", "comment": "업무상 필요 확인"})).status(), 200, "{id}");
        }
    }
    let ready: Value = get(AUDITOR, &[("month", "2026-11")]).json().unwrap();
    assert_eq!(ready["status"], "READY_FOR_SIGNOFF");
    assert_eq!(ready["summary"]["explained"], 17);
    let bob_now = ready["findings"].as_array().unwrap().iter().find(|f| f["id"] == bob_id).unwrap();
    assert_eq!(bob_now["history"][1]["comment"], "법원 제출용, 결재 문서 2026-118");

    // Sign-off: once, for a finished month only; findings freeze after it.
    let response = post("/api/v1/compliance/review/signoff", json!({"month": (Utc::now() + chrono::Duration::hours(9)).format("%Y-%m").to_string()}));
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().unwrap()["error"]["code"], "month_not_over");
    let response = post("/api/v1/compliance/review/signoff", json!({"month": "2026-11", "comment": "11월 점검 완료"}));
    assert_eq!(response.status(), 200);
    let signed: Value = response.json().unwrap();
    assert_eq!((signed["signoff"]["by"].as_str(), signed["signoff"]["findings"].as_u64()), (Some("auditor"), Some(17)));
    assert_eq!(post("/api/v1/compliance/review/signoff", json!({"month": "2026-11"})).status(), 409);
    let response = post(&path(bob_id), json!({"state": "escalated", "comment": "late"}));
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().unwrap()["error"]["code"], "signed_off");
    let document: Value = client.get(api.url("/api/v1/openapi.json")).send().unwrap().json().unwrap();
    for (path, method) in [
        ("/api/v1/compliance/review", "get"),
        ("/api/v1/compliance/review/findings/{id}", "post"),
        ("/api/v1/compliance/review/signoff", "post"),
    ] {
        assert!(document["paths"][path][method]["responses"]["200"].is_object(), "{path} not described");
    }
    // The reason (사유) of an access reaches its record: an export's
    // `reason`, and the X-Logwarden-Reason header of any call.
    let response = client
        .post(api.url("/api/v1/exports"))
        .bearer_auth(AUDITOR)
        .json(&json!({"stream": "crm-access", "from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z", "reason": "개인정보 열람 청구 대응"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .get(api.url("/api/v1/search"))
        .bearer_auth(AUDITOR)
        .header("X-Logwarden-Reason", "%EB%AF%BC%EC%9B%90%20%EC%B2%98%EB%A6%AC")
        .query(&[("q", "*"), ("stream", "crm-access"), ("limit", "1")])
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().unwrap());
    api.stop();
    let exports = audit_records(&topic, "audit-export", 4);
    let export = exports.iter().find(|e| e["user.name"] == "auditor").expect("the API's export is recorded");
    assert_eq!(export["fields"]["export.reason"], "개인정보 열람 청구 대응", "{export:#}");
    let calls = audit_records(&topic, "api-call", 1);
    let search = calls.iter().find(|c| c["fields"]["url.path"] == "/api/v1/search" && c["user.name"] == "auditor").expect("the search is recorded");
    assert_eq!(search["fields"]["access.reason"], "민원 처리", "{search:#}");

    // The command line shows the sign-off and the states from the shared store.
    let final_review: Value = serde_json::from_str(&ok(logwarden(&["compliance", "review", "--config", &config, "--month", "2026-11"]))).unwrap();
    assert_eq!(final_review["status"], "SIGNED_OFF");
    assert_eq!(final_review["signoff"]["by"], "auditor");
    assert_eq!(final_review["signoff"]["comment"], "11월 점검 완료");
    assert_eq!(final_review["signoff"]["findings_sha256"], final_review["findings_sha256"]);
    assert_eq!(final_review["signoff_matches"], true);
    // Other thresholds (the defaults) give other findings: the sign-off no longer matches.
    let defaults: Value = serde_json::from_str(&ok(logwarden(&["compliance", "review", "--data-dir", data_s, "--month", "2026-11"]))).unwrap();
    assert_eq!((defaults["status"].as_str(), defaults["signoff_matches"].as_bool()), (Some("SIGNED_OFF"), Some(false)));

    // Producing, explaining and signing the review are in the audit stream,
    // from the API and from the command line alike.
    let produced = audit_records(&topic, "compliance-review", 2);
    let by_api = produced.iter().find(|r| r["user.name"] == "auditor").expect("the API's review is recorded");
    assert_eq!((by_api["fields"]["review.month"].as_str(), by_api["fields"]["review.findings"].as_str()), (Some("2026-11"), Some("17")));
    assert_eq!(by_api["source.ip"], "127.0.0.1");
    let by_cli = produced.iter().find(|r| r["user.name"].as_str().is_some_and(|u| u.starts_with("cli:"))).expect("the command's review is recorded");
    assert_eq!((by_cli["fields"]["review.month"].as_str(), by_cli["observer.product"].as_str()), (Some("2026-11"), Some("logwarden cli")));
    let explained = audit_record(&topic, "compliance-review-finding");
    assert_eq!(explained["fields"]["review.finding.id"], bob_id);
    assert_eq!(explained["fields"]["review.finding.state.to"], "escalated");
    let signoff = audit_record(&topic, "compliance-review-signoff");
    assert_eq!(signoff["fields"]["review.signoff.comment"], "11월 점검 완료");
    assert_eq!(signoff["fields"]["review.findings.sha256"], final_review["findings_sha256"]);
}

/// `--format pdf` for the report and the review, printed by the headless
/// Chromium when it is installed (CI installs it).
#[test]
fn reports_and_reviews_print_to_pdf_when_chromium_is_installed() {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!("skipped: /usr/bin/chromium is not installed");
        return;
    }
    let dir = temp_dir("compliance-pdf");
    let data = dir.join("data");
    // An empty store is enough to print: the pages are the same shape.
    std::fs::create_dir_all(data.join("keys")).unwrap();
    let signer = logwarden_store::keys::ManifestSigner::load_or_create(&data.join("keys").join("manifest-signing.pem")).unwrap();
    drop(signer);
    let data_s = data.to_str().unwrap();
    for (command, name, lang) in [("review", "review.pdf", "ko"), ("report", "report.pdf", "en")] {
        let out = dir.join(name);
        let mut args = vec!["compliance", command, "--data-dir", data_s, "--format", "pdf", "--lang", lang, "--out", out.to_str().unwrap()];
        if command == "review" {
            args.extend(["--month", "2026-11"]);
        }
        ok(logwarden(&args));
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.starts_with(b"%PDF"), "{name} is not a PDF");
        assert!(bytes.len() > 1000, "{name}: {} bytes", bytes.len());
    }
}
