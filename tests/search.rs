//! The search API against an index built by the real pipeline from the
//! loghub files: pagination, sorting, time ranges and aggregations checked
//! against counts computed from the files themselves.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const TOTAL: u64 = 6000;

/// One pipeline over the three loghub files, for every check here.
#[test]
fn search_api_over_the_loghub_index() {
    let (_data, node) = start_node();
    search_after_visits_every_hit_exactly_once_in_order(&node);
    aggregations_match_counts_computed_from_the_files(&node);
    a_time_range_counts_exactly_the_events_inside_it(&node);
    wildcards_match_like_a_grep(&node);
    es_search_answers_like_elasticsearch(&node);
    bad_search_requests_get_a_json_400_naming_the_problem(&node);
    node.stop();
}

/// The node and its data directory (first, so it is removed after the
/// node stops).
fn start_node() -> (TempDir, Logwarden) {
    {
        let data = temp_dir("search");
        let topic = unique("lw-search");
        let mut args = vec![
            "run",
            "--data-dir",
            data.to_str().unwrap(),
            "--http-addr",
            "127.0.0.1:0",
            "--topic",
            &topic,
            "--group",
            &topic,
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        for file in LOGHUB_FILES {
            args.extend(["--input".to_string(), loghub(file).display().to_string()]);
        }
        let node = Logwarden::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        node.wait_for_count("*", TOTAL, Duration::from_secs(180));
        (data, node)
    }
}

fn post(node: &Logwarden, body: Value) -> (u16, Value) {
    let response = node
        .post("/api/v1/search")
        .json(&body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

fn ok(node: &Logwarden, body: Value) -> Value {
    let (status, answer) = post(node, body.clone());
    assert_eq!(status, 200, "{body}: {answer}");
    answer
}

/// Pages through `query` with `search_after`; returns the event ids in order.
fn page_through(node: &Logwarden, query: &str, sort: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut body = json!({"q": query, "sort": sort, "limit": limit});
        if let Some(cursor) = &after {
            body["search_after"] = json!(cursor);
        }
        let page = ok(node, body);
        let hits = page["hits"].as_array().unwrap();
        ids.extend(
            hits.iter()
                .map(|h| h["event.id"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
        assert!(ids.len() <= 100_000, "pagination does not end");
    }
    ids
}

fn search_after_visits_every_hit_exactly_once_in_order(node: &Logwarden) {
    for (query, sort, limit) in [
        ("*", "@timestamp:desc", 700),
        ("*", "@timestamp:asc", 999),
        ("sshd", "process.pid:asc", 250),
    ] {
        let total = ok(node, json!({"q": query, "limit": 0}))["total"]
            .as_u64()
            .unwrap();
        let ids = page_through(node, query, sort, limit);
        let distinct: HashSet<_> = ids.iter().collect();
        assert_eq!(ids.len() as u64, total, "{query} sorted by {sort}");
        assert_eq!(
            distinct.len(),
            ids.len(),
            "{query} sorted by {sort}: a hit came twice"
        );
    }
    // Pages come in order: each page's first timestamp is not newer than
    // the previous page's last.
    let first = ok(node, json!({"limit": 50}));
    let next = ok(node, json!({"limit": 50, "search_after": first["next"]}));
    let last_of_first = first["hits"][49]["@timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let first_of_next = next["hits"][0]["@timestamp"].as_str().unwrap().to_string();
    assert!(
        first_of_next <= last_of_first,
        "{first_of_next} after {last_of_first}"
    );
}

/// `Mon DD` of each syslog line of a loghub file.
fn syslog_days(file: &str) -> Vec<String> {
    std::fs::read_to_string(loghub(file))
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            format!("{} {:0>2}", parts.next().unwrap(), parts.next().unwrap())
        })
        .collect()
}

fn aggregations_match_counts_computed_from_the_files(node: &Logwarden) {
    // Daily histogram of the OpenSSH file vs its lines' dates.
    let path = loghub("OpenSSH_2k.log").display().to_string();
    let answer = ok(
        node,
        json!({
            "q": format!("log.file.path:\"{path}\""),
            "limit": 0,
            "aggs": {
                "per_day": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day", "min_doc_count": 1}},
                "hosts": {"terms": {"field": "host.name", "size": 5}},
                "pids": {"stats": {"field": "process.pid"}}
            }
        }),
    );
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for day in syslog_days("OpenSSH_2k.log") {
        *expected.entry(day).or_default() += 1;
    }
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for bucket in answer["aggregations"]["per_day"]["buckets"]
        .as_array()
        .unwrap()
    {
        let key = bucket["key_as_string"].as_str().unwrap();
        let date = chrono::DateTime::parse_from_rfc3339(key).unwrap();
        found.insert(
            date.format("%b %d").to_string(),
            bucket["doc_count"].as_u64().unwrap(),
        );
    }
    assert_eq!(found, expected);
    let hosts = &answer["aggregations"]["hosts"]["buckets"];
    assert_eq!(hosts[0]["key"], "LabSZ");
    assert_eq!(hosts[0]["doc_count"], 2000);
    // sshd[PID] on every line: min/max/count from the text.
    let pid = regex::Regex::new(r"sshd\[(\d+)\]").unwrap();
    let pids: Vec<f64> = std::fs::read_to_string(loghub("OpenSSH_2k.log"))
        .unwrap()
        .lines()
        .filter_map(|l| pid.captures(l).map(|c| c[1].parse().unwrap()))
        .collect();
    let stats = &answer["aggregations"]["pids"];
    assert_eq!(stats["count"].as_u64().unwrap(), pids.len() as u64);
    assert_eq!(
        stats["min"].as_f64().unwrap(),
        pids.iter().cloned().fold(f64::MAX, f64::min)
    );
    assert_eq!(
        stats["max"].as_f64().unwrap(),
        pids.iter().cloned().fold(f64::MIN, f64::max)
    );

    // A monthly histogram over everything adds up to the total.
    let monthly = ok(
        node,
        json!({"limit": 0, "aggs": {"m": {"date_histogram": {"field": "@timestamp", "calendar_interval": "month", "time_zone": "+09:00"}}}}),
    );
    let sum: u64 = monthly["aggregations"]["m"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, TOTAL);
}

fn es_search_answers_like_elasticsearch(node: &Logwarden) {
    let es = |path: &str, body: Value| -> Value {
        let response = node.post(path).json(&body).send().unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path} {body}");
        response.json().unwrap()
    };
    // bool + range + terms aggregation on the auth stream.
    let native = ok(
        node,
        json!({"q": "host.name:LabSZ AND NOT message:accepted", "stream": "auth", "limit": 0}),
    )["total"]
        .clone();
    let answer = es(
        "/logwarden-auth/_search",
        json!({
            "size": 3,
            "query": {"bool": {"filter": [{"term": {"host.name": "LabSZ"}}, {"range": {"@timestamp": {"gte": "2000-01-01T00:00:00Z", "lt": "now"}}}],
                               "must_not": [{"match": {"message": "accepted"}}]}},
            "sort": [{"@timestamp": {"order": "asc"}}],
            "aggs": {"per_program": {"terms": {"field": "process.name", "size": 3}}}
        }),
    );
    assert!(native.as_u64().unwrap() > 1000, "{native}");
    assert_eq!(answer["hits"]["total"]["value"], native);
    assert_eq!(answer["hits"]["total"]["relation"], "eq");
    assert_eq!(answer["hits"]["hits"].as_array().unwrap().len(), 3);
    assert_eq!(answer["hits"]["hits"][0]["_index"], "auth");
    assert!(
        answer["aggregations"]["per_program"]["buckets"][0]["doc_count"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Paging with the last hit's `sort` values visits each event once.
    let mut seen = HashSet::new();
    let mut after: Option<Value> = None;
    loop {
        let mut body =
            json!({"size": 400, "query": {"match_all": {}}, "sort": [{"@timestamp": "desc"}]});
        if let Some(sort) = &after {
            body["search_after"] = sort.clone();
        }
        let page = es("/_search", body);
        let hits = page["hits"]["hits"].as_array().unwrap();
        for hit in hits {
            assert!(
                seen.insert(hit["_id"].as_str().unwrap().to_string()),
                "{} twice",
                hit["_id"]
            );
        }
        match hits.last().and_then(|h| h.get("sort")) {
            Some(sort) => after = Some(sort.clone()),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, TOTAL);
}

fn wildcards_match_like_a_grep(node: &Logwarden) {
    assert_eq!(
        ok(node, json!({"q": "host.name:Lab*", "limit": 0}))["total"],
        2000
    );
    assert_eq!(
        ok(node, json!({"q": "host.name:L?bSZ", "limit": 0}))["total"],
        2000
    );
    // `message:authenticat*`: lines with a token starting so in the message
    // (a bare `authenticat*` also searches the keyword fields, such as
    // `event.category:authentication`).
    let lines = std::fs::read_to_string(loghub("OpenSSH_2k.log")).unwrap();
    let expected = lines
        .lines()
        .filter(|l| {
            l.splitn(5, ' ')
                .last()
                .unwrap_or("")
                .split(|c: char| !c.is_alphanumeric())
                .any(|t| t.to_lowercase().starts_with("authenticat"))
        })
        .count();
    let path = loghub("OpenSSH_2k.log").display().to_string();
    let found = ok(
        node,
        json!({"q": format!("message:authenticat* AND log.file.path:\"{path}\""), "limit": 0}),
    );
    assert_eq!(found["total"], expected as u64);
}

fn a_time_range_counts_exactly_the_events_inside_it(node: &Logwarden) {
    let answer = ok(
        node,
        json!({"limit": 0, "aggs": {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 1}}}}),
    );
    let buckets = answer["aggregations"]["h"]["buckets"].as_array().unwrap();
    assert!(buckets.len() > 3);
    for bucket in buckets.iter().step_by(buckets.len() / 3) {
        let start = bucket["key"].as_f64().unwrap() as i64;
        let from = chrono::DateTime::from_timestamp_millis(start).unwrap();
        let to = from + chrono::Duration::hours(1);
        let page = ok(
            node,
            json!({"from": from.to_rfc3339(), "to": to.to_rfc3339(), "limit": 0}),
        );
        assert_eq!(page["total"], bucket["doc_count"], "{from}..{to}");
        // The same through the query string, with relative `to`.
        let get = node.search_with(&[("from", &from.to_rfc3339()), ("to", &to.to_rfc3339())]);
        assert_eq!(get["total"], bucket["doc_count"]);
    }
    let recent = ok(node, json!({"from": "now-15m", "limit": 0}));
    assert_eq!(recent["total"], 0, "loghub events are years old");
}

fn bad_search_requests_get_a_json_400_naming_the_problem(node: &Logwarden) {
    for (body, fragment) in [
        (
            json!({"aggs": {"x": {"terms": {"field": "message"}}}}),
            "message",
        ),
        (json!({"sort": "host.name"}), "host.name"),
        (json!({"from": "last tuesday"}), "from"),
        (json!({"search_after": "nope"}), "search_after"),
        (json!({"q": "*", "bogus": 1}), "bogus"),
        (json!({"q": "fields.nosuch:*"}), "fields.nosuch"),
    ] {
        let (status, answer) = post(node, body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(fragment),
            "{body}: {answer}"
        );
    }
    let response = node
        .post("/api/v1/search")
        .header("content-type", "application/json")
        .body("x".repeat(3 * 1024 * 1024))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["error"]["code"], "payload_too_large");
}
