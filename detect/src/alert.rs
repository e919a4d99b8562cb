//! The alert: what the detector publishes on `logwarden.alerts`, indexes
//! into the `alerts` stream and hands to the hooks.
//!
//! Ids are deterministic, so a replay after a crash produces the same ids
//! and a duplicate is recognisable: a detection alert's id comes from the
//! rule id and the event's identity, a correlation alert's from the
//! correlation id, the group key and the start of its window.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use logwarden_event::{ALERTS_STREAM, Event};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// One event matched a detection rule.
    Detection,
    /// A correlation rule's condition held over a window of events.
    Correlation,
}

/// The rule behind an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    /// Sigma level: `informational`, `low`, `medium`, `high`, `critical`.
    pub level: String,
    /// Sigma tags, ATT&CK ones included (`attack.t1110`).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The group a correlation alert is about (`source.ip` = 10.0.0.5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertGroup {
    /// `field=value` pairs joined by `, `; empty for detection alerts.
    pub key: String,
    pub values: BTreeMap<String, String>,
}

/// Where a matched event lives: enough to fetch it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRef {
    #[serde(rename = "event.id", default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub stream: String,
    pub partition: i32,
    pub offset: i64,
    #[serde(rename = "@timestamp")]
    pub timestamp: DateTime<Utc>,
}

impl EventRef {
    /// The event's identity for alert ids: its source id when it has one
    /// (the same line sent twice has the same id), else its Kafka position.
    pub fn identity(&self) -> String {
        match &self.event_id {
            Some(id) => id.clone(),
            None => format!("kafka:{}:{}", self.partition, self.offset),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub kind: AlertKind,
    pub rule: RuleRef,
    #[serde(default)]
    pub group: AlertGroup,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Events behind the alert (for correlations: the aggregated count).
    pub count: u64,
    /// The matched events, as references (at most a few for correlations).
    pub events: Vec<EventRef>,
    /// A few matched field values (`source.ip`, `user.name`, `process.name`…).
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// When the detector created it.
    pub created: DateTime<Utc>,
}

/// A 128-bit hex digest of `parts`, each length-prefixed so that
/// (`ab`, `c`) and (`a`, `bc`) differ.
pub fn digest_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of a detection alert: rule id and event identity.
pub fn detection_id(rule_id: &str, event: &EventRef) -> String {
    digest_id(&["detection", rule_id, &event.identity()])
}

/// The id of a correlation alert: correlation id, group key and window start.
pub fn correlation_id(correlation_id: &str, group_key: &str, window_start: DateTime<Utc>) -> String {
    digest_id(&["correlation", correlation_id, group_key, &window_start.timestamp().to_string()])
}

impl Alert {
    /// The alert as an event of the `alerts` stream, so it is indexed and
    /// searched like any other (`stream:alerts AND fields.alert.rule.level:high`).
    pub fn to_event(&self) -> Event {
        let summary = self.summary();
        let mut event = Event::new(summary.clone(), self.created);
        event.timestamp = self.last_seen;
        event.id = Some(self.id.clone());
        event.stream = ALERTS_STREAM.to_string();
        event.log_level = Some(self.rule.level.clone());
        event.event_category = Some("intrusion_detection".to_string());
        event.event_action = Some(self.rule.title.clone());
        event.event_code = Some(self.rule.id.clone());
        let value = |name: &str| {
            self.group
                .values
                .get(name)
                .cloned()
                .or_else(|| self.fields.get(name).and_then(Value::as_str).map(str::to_string))
        };
        event.source_ip = value("source.ip");
        event.user_name = value("user.name");
        event.host_name = value("host.name");
        event.process_name = value("process.name");
        let mut fields = Map::new();
        fields.insert("event.kind".into(), Value::String("alert".into()));
        fields.insert("alert".into(), serde_json::to_value(self).expect("an alert serializes"));
        event.fields = fields;
        event
    }

    /// One line for people: `[high] SSH brute force (source.ip=10.0.0.5): 12 events`.
    pub fn summary(&self) -> String {
        let mut text = format!("[{}] {}", self.rule.level, self.rule.title);
        if !self.group.key.is_empty() {
            text.push_str(&format!(" ({})", self.group.key));
        }
        if self.kind == AlertKind::Correlation {
            text.push_str(&format!(": {} events", self.count));
        }
        text
    }

    /// The alert back from an event of the `alerts` stream.
    pub fn from_event(event: &Event) -> Option<Alert> {
        serde_json::from_value(event.fields.get("alert")?.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(id: Option<&str>, offset: i64) -> EventRef {
        EventRef {
            event_id: id.map(str::to_string),
            stream: "auth".into(),
            partition: 1,
            offset,
            timestamp: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = detection_id("rule-1", &reference(Some("f:1"), 5));
        assert_eq!(a, detection_id("rule-1", &reference(Some("f:1"), 99)), "the source id wins over the position");
        assert_ne!(a, detection_id("rule-2", &reference(Some("f:1"), 5)));
        assert_ne!(
            detection_id("rule-1", &reference(None, 5)),
            detection_id("rule-1", &reference(None, 6))
        );
        assert_eq!(a.len(), 32);
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_ne!(correlation_id("c", "source.ip=1.2.3.4", start), correlation_id("c", "source.ip=1.2.3.5", start));
        assert_ne!(digest_id(&["ab", "c"]), digest_id(&["a", "bc"]));
    }

    #[test]
    fn an_alert_round_trips_through_its_event() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let alert = Alert {
            id: "0123".into(),
            kind: AlertKind::Correlation,
            rule: RuleRef {
                id: "c-1".into(),
                title: "SSH brute force".into(),
                level: "high".into(),
                tags: vec!["attack.t1110".into()],
                author: None,
                description: None,
            },
            group: AlertGroup {
                key: "source.ip=10.0.0.5".into(),
                values: [("source.ip".to_string(), "10.0.0.5".to_string())].into(),
            },
            first_seen: at,
            last_seen: at,
            count: 12,
            events: vec![reference(Some("f:1"), 5)],
            fields: BTreeMap::new(),
            created: at,
        };
        let event = alert.to_event();
        assert_eq!(event.stream, "alerts");
        assert_eq!(event.source_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(event.message, "[high] SSH brute force (source.ip=10.0.0.5): 12 events");
        let wire = logwarden_event::wire::encode(&event);
        let back = logwarden_event::wire::decode(&wire).unwrap();
        assert_eq!(Alert::from_event(&back), Some(alert));
    }
}
