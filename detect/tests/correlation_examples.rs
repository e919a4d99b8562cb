//! The correlation examples of the Sigma specification (one per type,
//! read in place from ../shared), run through the backtest: the same
//! evaluation, reorder buffer and correlation engines as the stream.
//! The specification gives the correlations only; the detection rules
//! they reference are written here.

use chrono::{DateTime, Utc};
use logwarden_detect::Alert;
use logwarden_detect::backtest::Backtest;
use logwarden_detect::rules::RuleSet;
use logwarden_event::Event;
use serde_json::{Value, json};

fn example(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/sigma/specification/correlation-examples/");
    std::fs::read_to_string(format!("{path}{name}.yml")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A detection rule matching events whose free field `action` is `action`.
fn rule(reference: &str, action: &str) -> String {
    let id_line = if reference.contains('-') { format!("id: {reference}") } else { format!("name: {reference}") };
    format!(
        "title: {action}\n{id_line}\nlogsource:\n    product: linux\ndetection:\n    selection:\n        action: {action}\n    condition: selection\nlevel: low\n"
    )
}

fn load(rules: &[String], correlation: &str) -> RuleSet {
    let text = format!("{}---\n{}", rules.join("---\n"), correlation);
    let set = RuleSet::from_yaml(&text).unwrap();
    assert!(set.report.unsupported.is_empty(), "{:#?}", set.report.unsupported);
    assert!(set.report.errors.is_empty(), "{:#?}", set.report.errors);
    set
}

fn event(secs: i64, fields: Value) -> Event {
    let at: DateTime<Utc> = DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap();
    let mut event = Event::new("example", at);
    event.timestamp = at;
    event.process_name = Some("app".into());
    if let Value::Object(map) = fields {
        event.fields = map;
    }
    event
}

fn run(rules: &RuleSet, events: &[Event]) -> Vec<Alert> {
    let mut backtest = Backtest::new(rules, 600);
    let mut alerts = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let mut e = e.clone();
        e.id = Some(format!("e{i}"));
        alerts.extend(backtest.event(&e));
    }
    alerts.extend(backtest.finish());
    alerts
}

const FAILED: &str = "5638f7c0-ac70-491d-8465-2a65075e0d86";

#[test]
fn event_count_fires_at_the_hundredth_event_of_one_computer() {
    let rules = load(&[rule(FAILED, "failed_login")], &example("event_count"));
    let mut events: Vec<Event> = (0..100).map(|i| event(i * 30, json!({"action": "failed_login", "ComputerName": "pc1"}))).collect();
    events.extend((0..99).map(|i| event(i * 30, json!({"action": "failed_login", "ComputerName": "pc2"}))));
    let alerts = run(&rules, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].group.key, "ComputerName=pc1");
    assert_eq!(alerts[0].count, 100);
    assert_eq!(alerts[0].rule.id, "0e95725d-7320-415d-80f7-004da920fc11");
}

#[test]
fn event_count_over_an_ecs_field() {
    let rules = load(&[rule(FAILED, "failed_login")], &example("event_count_ecs"));
    let events: Vec<Event> = (0..100).map(|i| event(i, json!({"action": "failed_login", "dns.question.name": "evil.example"}))).collect();
    let alerts = run(&rules, &events);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].group.values["dns.question.name"], "evil.example");
}

fn recon_rules() -> Vec<String> {
    vec![rule("recon_cmd_a", "whoami"), rule("recon_cmd_b", "ipconfig"), rule("recon_cmd_c", "net_user")]
}

fn recon(secs: i64, action: &str, user: &str) -> Event {
    event(secs, json!({"action": action, "ComputerName": "ws1", "User": user}))
}

#[test]
fn temporal_needs_all_three_in_the_window_in_any_order() {
    let rules = load(&recon_rules(), &example("temporal"));
    let events = [
        recon(0, "net_user", "alice"),
        recon(10, "whoami", "alice"),
        recon(20, "ipconfig", "alice"),
        // bob: the third comes after the 5-minute window.
        recon(0, "whoami", "bob"),
        recon(10, "ipconfig", "bob"),
        recon(400, "net_user", "bob"),
    ];
    let alerts = run(&rules, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].group.key, "ComputerName=ws1, User=alice");
}

#[test]
fn temporal_ordered_uses_event_time_even_when_events_arrive_out_of_order() {
    let rules = load(&recon_rules(), &example("temporal_ordered"));
    // alice: a, b, c in event time, arriving c, a, b (within the allowed lateness).
    // carol: arriving in order a, b, c but their event times are c < a < b.
    let events = [
        recon(30, "net_user", "alice"),
        recon(10, "whoami", "alice"),
        recon(20, "ipconfig", "alice"),
        recon(50, "whoami", "carol"),
        recon(60, "ipconfig", "carol"),
        recon(40, "net_user", "carol"),
    ];
    let alerts = run(&rules, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].group.values["User"], "alice");
    assert_eq!(alerts[0].first_seen.timestamp(), 1_750_000_010);
}

#[test]
fn value_count_counts_distinct_users() {
    let rules = load(&[rule(FAILED, "failed_login")], &example("value_count"));
    let mut events: Vec<Event> = (0..100)
        .map(|i| event(i, json!({"action": "failed_login", "ComputerName": "dc1", "WorkstationName": "ws9", "User": format!("user{i}")})))
        .collect();
    // The same user again and again does not count.
    events.extend((0..150).map(|i| event(i, json!({"action": "failed_login", "ComputerName": "dc2", "WorkstationName": "ws9", "User": "admin"}))));
    let alerts = run(&rules, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].group.values["ComputerName"], "dc1");
    assert_eq!(alerts[0].count, 100);
}

#[test]
fn value_sum_and_value_avg_aggregate_a_field() {
    let sum = load(&[rule("website_access", "web")], &example("value_sum"));
    let events = [
        event(0, json!({"action": "web", "SourceIP": "10.0.0.9", "User": "eve", "bytes_sent": 600_000})),
        event(60, json!({"action": "web", "SourceIP": "10.0.0.9", "User": "eve", "bytes_sent": 500_000})),
        event(60, json!({"action": "web", "SourceIP": "10.0.0.8", "User": "bob", "bytes_sent": 900_000})),
    ];
    let alerts = run(&sum, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].group.values["SourceIP"], "10.0.0.9");
    assert_eq!(alerts[0].fields["correlation.value"], json!(1_100_000.0));

    let avg = load(&[rule("rule_a_id", "net")], &example("value_avg"));
    let events = [
        event(0, json!({"action": "net", "SourceIP": "10.0.0.9", "User": "eve", "BytesOut": 400})),
        event(10, json!({"action": "net", "SourceIP": "10.0.0.9", "User": "eve", "BytesOut": 700})),
        event(10, json!({"action": "net", "SourceIP": "10.0.0.7", "User": "amy", "BytesOut": 100})),
    ];
    let alerts = run(&avg, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].fields["correlation.value"], json!(550.0));
}

#[test]
fn value_percentile_loads() {
    let rules = load(&[rule("process_creation", "exec")], &example("value_percentile"));
    assert_eq!(rules.correlations().len(), 1);
    assert_eq!(rules.correlations()[0].rule.correlation_type.as_str(), "value_percentile");
}
