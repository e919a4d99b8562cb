//! Correlation of hits, independent of Kafka: the reorder buffer, one
//! rsigma correlation engine per correlation rule, and the alerts they
//! raise. The correlation stage keeps one per hits partition and
//! checkpoints it with the partition's position; `rules test` uses one
//! for a whole backtest.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rsigma_eval::{CorrelationAction, CorrelationConfig, CorrelationEngine, CorrelationEventMode, CorrelationSnapshot, TimestampFallback};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::{Alert, AlertGroup, AlertKind, EventRef, correlation_id};
use crate::hit::Hit;
use crate::reorder::{Pushed, Reorder};
use crate::rules::{Correlation, RuleSet};
use crate::stage::detect::{CONTEXT_FIELDS, short};

/// Matched events kept per window for the alert's references.
const EVENTS_PER_ALERT: usize = 10;

pub struct Correlator {
    engines: BTreeMap<String, CorrelationEngine>,
    buffer: Reorder<Hit>,
}

/// What a correlator is saved as.
#[derive(Serialize, Deserialize)]
pub struct Saved {
    engines: BTreeMap<String, CorrelationSnapshot>,
    buffer: Reorder<Hit>,
}

fn engine_for(correlation: &Correlation) -> Option<CorrelationEngine> {
    let config = CorrelationConfig {
        timestamp_fallback: TimestampFallback::Skip,
        // After firing, the window starts afresh: the next alert of the
        // group needs a full count of new events. Notifications are
        // suppressed per rule and group by the hooks.
        action_on_match: CorrelationAction::Reset,
        emit_detections: false,
        correlation_event_mode: CorrelationEventMode::Full,
        max_correlation_events: EVENTS_PER_ALERT,
        ..CorrelationConfig::default()
    };
    let mut engine = CorrelationEngine::new(config);
    for rule in &correlation.inputs {
        if let Err(e) = engine.add_rule(rule) {
            tracing::error!(correlation = %correlation.info.id, error = %e, "correlation input rule refused");
            return None;
        }
    }
    if let Err(e) = engine.add_correlation(&correlation.rule) {
        tracing::error!(correlation = %correlation.info.id, error = %e, "correlation refused");
        return None;
    }
    Some(engine)
}

impl Correlator {
    pub fn new(lateness_secs: i64, capacity: usize) -> Correlator {
        Correlator { engines: BTreeMap::new(), buffer: Reorder::new(lateness_secs, capacity) }
    }

    /// Takes a hit; returns the alerts of the hits the watermark released.
    pub fn push(&mut self, rules: &RuleSet, hit: Hit) -> Vec<Alert> {
        let tiebreak = (hit.reference.partition, hit.reference.offset, hit.correlation.clone());
        let mut alerts = Vec::new();
        match self.buffer.push(hit.ts, tiebreak, hit) {
            Pushed::Held => {}
            Pushed::Late(hit) => {
                metrics::counter!("logwarden_detect_late_hits_total").increment(1);
                tracing::warn!(correlation = %hit.correlation, ts = hit.ts, "hit later than the allowed lateness; correlated out of order");
                alerts.extend(self.correlate(rules, hit));
            }
        }
        for hit in self.buffer.ready() {
            alerts.extend(self.correlate(rules, hit));
        }
        alerts
    }

    /// Releases every held hit (the input went quiet, or a backtest ended).
    pub fn flush(&mut self, rules: &RuleSet) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for hit in self.buffer.drain() {
            alerts.extend(self.correlate(rules, hit));
        }
        alerts
    }

    pub fn held(&mut self) -> usize {
        self.buffer.len()
    }

    fn correlate(&mut self, rules: &RuleSet, hit: Hit) -> Vec<Alert> {
        let Some(correlation) = rules.correlation(&hit.correlation) else {
            metrics::counter!("logwarden_detect_hits_without_rule_total").increment(1);
            return Vec::new();
        };
        if !self.engines.contains_key(&hit.correlation) {
            let Some(engine) = engine_for(correlation) else { return Vec::new() };
            self.engines.insert(hit.correlation.clone(), engine);
        }
        let engine = self.engines.get_mut(&hit.correlation).expect("inserted above");
        let event = rsigma_eval::JsonEvent::borrow(&hit.event);
        let detections: Vec<_> = engine
            .evaluate(&event)
            .into_iter()
            .filter(|d| {
                correlation
                    .input_id(d.header.rule_id.as_deref(), &d.header.rule_title)
                    .is_some_and(|id| hit.rules.iter().any(|r| r == id))
            })
            .collect();
        let results = engine.process_with_detections(&event, detections, hit.ts);
        results
            .iter()
            .filter_map(|result| result.as_correlation())
            .map(|body| correlation_alert(correlation, body, &hit))
            .collect()
    }

    /// The state to checkpoint.
    pub fn save(&mut self) -> Saved {
        Saved {
            engines: self.engines.iter().map(|(id, engine)| (id.clone(), engine.export_state())).collect(),
            buffer: self.buffer.snapshot(),
        }
    }

    /// A correlator from a checkpoint, for the rules in force now
    /// (windows of correlations that are gone are dropped).
    pub fn restore(saved: Saved, rules: &RuleSet, lateness_secs: i64, capacity: usize) -> Correlator {
        let mut engines = BTreeMap::new();
        for (id, snapshot) in saved.engines {
            let Some(correlation) = rules.correlation(&id) else { continue };
            let Some(mut engine) = engine_for(correlation) else { continue };
            if !engine.import_state(snapshot) {
                tracing::warn!(correlation = %id, "correlation state from an incompatible version; starting it empty");
            }
            engines.insert(id, engine);
        }
        Correlator { engines, buffer: saved.buffer.with_limits(lateness_secs, capacity) }
    }

    /// The same windows under a new rule set (after a reload).
    pub fn reload(&mut self, rules: &RuleSet, lateness_secs: i64, capacity: usize) {
        let saved = self.save();
        *self = Correlator::restore(saved, rules, lateness_secs, capacity);
    }
}

fn timestamp_of(view: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(view.get("@timestamp")?.as_str()?).ok().map(|t| t.to_utc())
}

fn correlation_alert(correlation: &Correlation, body: &rsigma_eval::CorrelationBody, hit: &Hit) -> Alert {
    let events: Vec<&Value> = body.events.as_ref().map(|e| e.iter().collect()).unwrap_or_default();
    let last_seen = hit.reference.timestamp;
    let first_seen = events.iter().filter_map(|e| timestamp_of(e)).min().unwrap_or(last_seen).min(last_seen);
    let mut references: Vec<EventRef> = events
        .iter()
        .filter_map(|e| serde_json::from_value(e.get("logwarden.ref")?.clone()).ok())
        .collect();
    if references.is_empty() {
        references.push(hit.reference.clone());
    }
    let values: BTreeMap<String, String> = body.group_key.iter().cloned().collect();
    let key = body.group_key.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
    let mut fields = BTreeMap::new();
    for field in CONTEXT_FIELDS {
        if let Some(value) = hit.event.get(*field) {
            fields.insert(field.to_string(), short(value));
        }
    }
    fields.insert("correlation.type".into(), Value::String(body.correlation_type.as_str().to_string()));
    fields.insert("correlation.timespan_secs".into(), Value::from(body.timespan_secs));
    fields.insert("correlation.value".into(), serde_json::json!(body.aggregated_value));
    Alert {
        id: correlation_id(&correlation.info.id, &key, first_seen),
        kind: AlertKind::Correlation,
        rule: correlation.info.clone(),
        group: AlertGroup { key, values },
        first_seen,
        last_seen,
        // event_count and value_count count; the other types aggregate a
        // value (in `fields`), and their count is the events kept.
        count: match body.correlation_type {
            rsigma_parser::CorrelationType::EventCount | rsigma_parser::CorrelationType::ValueCount => {
                body.aggregated_value.max(0.0).round() as u64
            }
            _ => events.len().max(1) as u64,
        },
        events: references,
        fields,
        created: Utc::now(),
    }
}
