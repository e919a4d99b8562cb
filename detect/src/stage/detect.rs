//! The detection stage: every event of the events topic against the
//! detection rules of its logsource. A match of a standalone rule is an
//! alert; a match of a rule that feeds correlations is a hit, re-published
//! to the hits topic keyed by the correlation's group. Alerts, hits and the
//! consumer positions are written in one transaction per batch.

use std::sync::Arc;
use std::time::Duration;

use logwarden_config::Config;
use logwarden_event::{ALERTS_STREAM, Event};
use rdkafka::message::{Message, OwnedMessage};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::alert::{Alert, AlertGroup, AlertKind, EventRef, detection_id};
use crate::hit::Hit;
use crate::live::LiveRules;
use crate::rules::{Match, RuleInfo, RuleSet};
use crate::stage::kafka::{self, Outputs};
use crate::view::{event_source, sigma_view};

const BATCH: usize = 2000;

/// Runs until `shutdown`; a Kafka error restarts the stage from the
/// committed positions.
pub fn run(config: Config, rules: Arc<LiveRules>, shutdown: CancellationToken) -> anyhow::Result<()> {
    super::restarting("detect", &shutdown, || run_once(&config, &rules, &shutdown))
}

fn run_once(config: &Config, rules: &LiveRules, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let detect = &config.detect;
    let consumer = kafka::consumer(&config.kafka, &detect.group, &config.kafka.topic)?;
    let producer = kafka::transactional_producer(&config.kafka, &kafka::transactional_id(&detect.group))?;
    while !shutdown.is_cancelled() {
        let batch = kafka::poll_batch(&consumer, BATCH, Duration::from_millis(200))?;
        if batch.is_empty() {
            continue;
        }
        let (_, rules) = rules.get();
        let mut outputs = Outputs::default();
        for message in &batch {
            evaluate(config, &rules, message, &mut outputs);
            outputs.consumed(message);
        }
        metrics::counter!("logwarden_detect_events_total").increment(batch.len() as u64);
        kafka::commit(&producer, &consumer, outputs)?;
    }
    Ok(())
}

/// The alerts and hits of one event.
pub fn evaluate(config: &Config, rules: &RuleSet, message: &OwnedMessage, outputs: &mut Outputs) {
    let Some(payload) = message.payload() else { return };
    let event = match logwarden_event::wire::decode(payload) {
        Ok(event) => event,
        Err(e) => {
            // The indexer sends it to its dead-letter topic with the reason.
            metrics::counter!("logwarden_detect_undecodable_total").increment(1);
            tracing::debug!(partition = message.partition(), offset = message.offset(), error = %e, "event not decodable; not evaluated");
            return;
        }
    };
    if event.stream == ALERTS_STREAM {
        return;
    }
    let reference = EventRef {
        event_id: event.id.clone(),
        stream: event.stream.clone(),
        partition: message.partition(),
        offset: message.offset(),
        timestamp: event.timestamp,
    };
    for output in outputs_of(rules, &event, reference) {
        match output {
            Output::Alert(alert) => {
                let json = serde_json::to_vec(&alert).expect("an alert serializes");
                outputs.record(&config.detect.alerts_topic, alert.id.clone(), json);
                let event = alert.to_event();
                outputs.record(&config.kafka.topic, alert.id.clone(), logwarden_event::wire::encode(&event));
                metrics::counter!("logwarden_detect_alerts_total", "kind" => "detection").increment(1);
            }
            Output::Hit(key, hit) => {
                let json = serde_json::to_vec(&hit).expect("a hit serializes");
                outputs.record(&config.detect.hits_topic, key, json);
                metrics::counter!("logwarden_detect_hits_total").increment(1);
            }
        }
    }
}

pub enum Output {
    Alert(Alert),
    /// A hit and its Kafka key.
    Hit(String, Hit),
}

/// What the rules make of one event: alerts of standalone rules and hits
/// for correlations. Shared by the stage and `rules test`.
pub fn outputs_of(rules: &RuleSet, event: &Event, reference: EventRef) -> Vec<Output> {
    let view = sigma_view(event);
    let matches = rules.evaluate(&view, &event_source(&view));
    let mut outputs = Vec::new();
    if matches.is_empty() {
        return outputs;
    }
    for m in &matches {
        let Some(info) = rules.rule(&m.rule_id) else { continue };
        metrics::counter!("logwarden_detect_matches_total", "rule" => info.rule.id.clone()).increment(1);
        if info.alerts {
            outputs.push(Output::Alert(detection_alert(info, m, &view, &reference)));
        }
    }
    // One hit per correlation, naming every rule of it the event matched.
    let mut fed: Vec<(&str, Vec<String>)> = Vec::new();
    for m in &matches {
        let Some(info) = rules.rule(&m.rule_id) else { continue };
        for correlation in &info.feeds {
            match fed.iter_mut().find(|(c, _)| c == correlation) {
                Some((_, rules)) => rules.push(m.rule_id.clone()),
                None => fed.push((correlation, vec![m.rule_id.clone()])),
            }
        }
    }
    for (correlation_id, matched) in fed {
        let Some(correlation) = rules.correlation(correlation_id) else { continue };
        let mut hit_view = view.clone();
        if let Value::Object(map) = &mut hit_view {
            map.insert("logwarden.ref".into(), serde_json::to_value(&reference).expect("a reference serializes"));
        }
        let hit = Hit {
            correlation: correlation_id.to_string(),
            rules: matched,
            ts: reference.timestamp.timestamp(),
            reference: reference.clone(),
            event: hit_view,
        };
        outputs.push(Output::Hit(hit.key(correlation), hit));
    }
    outputs
}

/// Fields copied into every alert when the event has them.
pub const CONTEXT_FIELDS: &[&str] = &["host.name", "source.ip", "user.name", "process.name", "destination.ip", "event.action", "event.outcome"];
const MAX_MATCHED_FIELDS: usize = 10;
const MAX_VALUE_CHARS: usize = 256;

/// A value cut to a readable size for an alert.
pub fn short(value: &Value) -> Value {
    match value {
        Value::String(text) if text.chars().count() > MAX_VALUE_CHARS => {
            Value::String(text.chars().take(MAX_VALUE_CHARS).chain(std::iter::once('…')).collect())
        }
        other => other.clone(),
    }
}

fn detection_alert(info: &RuleInfo, m: &Match, view: &Value, reference: &EventRef) -> Alert {
    let mut fields = std::collections::BTreeMap::new();
    for (field, value) in m.fields.iter().take(MAX_MATCHED_FIELDS) {
        fields.insert(field.clone(), short(value));
    }
    for field in CONTEXT_FIELDS {
        if let Some(value) = view.get(*field) {
            fields.entry(field.to_string()).or_insert_with(|| short(value));
        }
    }
    let group = match view.get("host.name").and_then(Value::as_str) {
        Some(host) => AlertGroup { key: format!("host.name={host}"), values: [("host.name".to_string(), host.to_string())].into() },
        None => AlertGroup::default(),
    };
    Alert {
        id: detection_id(&info.rule.id, reference),
        kind: AlertKind::Detection,
        rule: info.rule.clone(),
        group,
        first_seen: reference.timestamp,
        last_seen: reference.timestamp,
        count: 1,
        events: vec![reference.clone()],
        fields,
        created: chrono::Utc::now(),
    }
}
