//! A hit: an event that matched a rule feeding a correlation, re-published
//! by the detection stage to the hits topic keyed by the correlation and
//! its group-by values, so that every event of one group reaches the same
//! correlation-stage partition.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::EventRef;
use crate::rules::Correlation;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    /// The correlation this hit feeds.
    pub correlation: String,
    /// The detection rules (of that correlation) the event matched.
    pub rules: Vec<String>,
    /// Event time, seconds.
    pub ts: i64,
    #[serde(rename = "ref")]
    pub reference: EventRef,
    /// The event's Sigma view.
    pub event: Value,
}

impl Hit {
    /// The Kafka key: correlation and group, so one group is one partition.
    pub fn key(&self, correlation: &Correlation) -> String {
        let event = rsigma_eval::JsonEvent::borrow(&self.event);
        // Aliases name a rule by the reference the correlation used for it.
        let mut refs: Vec<&str> = self.rules.iter().map(String::as_str).collect();
        for (id, reference) in correlation.input_ids.iter().zip(&correlation.rule.rules) {
            if self.rules.contains(id) {
                refs.push(reference);
            }
        }
        let key = rsigma_eval::GroupKey::extract(&event, &correlation.compiled.group_by, &refs);
        let mut text = correlation.info.id.clone();
        for value in key.0 {
            text.push('\u{1f}');
            text.push_str(value.as_deref().unwrap_or("\u{0}"));
        }
        text
    }
}
