//! Alerts per rule, counted in the `alerts` stream from doc values alone
//! (`event.code` is the rule id, `event.id` the alert id, `@timestamp`
//! its `last_seen`): no alert is loaded from the doc store. Copies of one
//! alert id (the detector may publish an alert again after a crash) count
//! once, at the newest `@timestamp`, as `GET /api/v1/alerts` lists them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use logwarden_event::{ALERTS_STREAM, fields};
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::AllQuery;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::search::SplitCatalog;

/// How many alerts one rule raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    pub total: u64,
    /// Those whose `@timestamp` is at or after `since` (24 h before the request).
    pub last_24h: u64,
}

/// Alert counts by rule id, over every split of the `alerts` stream.
pub fn count_by_rule(catalog: &SplitCatalog, since: DateTime<Utc>) -> anyhow::Result<HashMap<String, AlertCounts>> {
    let mut newest: HashMap<String, (String, i64)> = HashMap::new();
    for split in catalog.searchers(|s| s == ALERTS_STREAM)? {
        for alert in split.searcher.search(&AllQuery, &RuleAlerts)? {
            match newest.get_mut(&alert.id) {
                Some((_, at)) => *at = (*at).max(alert.timestamp),
                None => {
                    newest.insert(alert.id, (alert.rule, alert.timestamp));
                }
            }
        }
    }
    Ok(tally(newest.into_values(), since))
}

fn tally(alerts: impl Iterator<Item = (String, i64)>, since: DateTime<Utc>) -> HashMap<String, AlertCounts> {
    let since = since.timestamp_micros();
    let mut counts: HashMap<String, AlertCounts> = HashMap::new();
    for (rule, at) in alerts {
        let count = counts.entry(rule).or_default();
        count.total += 1;
        if at >= since {
            count.last_24h += 1;
        }
    }
    counts
}

/// An alert event's doc values.
struct RuleAlert {
    id: String,
    rule: String,
    /// Microseconds since the epoch.
    timestamp: i64,
}

/// Collects [`RuleAlert`]s; events without an id or a rule are left out.
struct RuleAlerts;

struct SegmentRuleAlerts {
    ids: Option<StrColumn>,
    rules: Option<StrColumn>,
    timestamps: Column<tantivy::DateTime>,
    alerts: Vec<RuleAlert>,
}

impl Collector for RuleAlerts {
    type Fruit = Vec<RuleAlert>;
    type Child = SegmentRuleAlerts;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentRuleAlerts> {
        let fast = reader.fast_fields();
        Ok(SegmentRuleAlerts {
            ids: fast.str(fields::ID)?,
            rules: fast.str("event.code")?,
            timestamps: fast.date(fields::TIMESTAMP)?,
            alerts: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<RuleAlert>>) -> tantivy::Result<Vec<RuleAlert>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

/// The first value of a keyword column for `doc`.
fn first_str(column: Option<&StrColumn>, doc: DocId) -> Option<String> {
    let column = column?;
    let ord = column.term_ords(doc).next()?;
    let mut text = String::new();
    column.ord_to_str(ord, &mut text).ok()?.then_some(text)
}

impl SegmentCollector for SegmentRuleAlerts {
    type Fruit = Vec<RuleAlert>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let (Some(id), Some(rule)) = (first_str(self.ids.as_ref(), doc), first_str(self.rules.as_ref(), doc)) else {
            return;
        };
        let timestamp = self.timestamps.first(doc).map_or(0, |t| t.into_timestamp_micros());
        self.alerts.push(RuleAlert { id, rule, timestamp });
    }

    fn harvest(self) -> Vec<RuleAlert> {
        self.alerts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_24_hours_start_at_since() {
        let since = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let micros = since.timestamp_micros();
        let alerts = [("a", micros - 1), ("a", micros), ("a", micros + 5), ("b", micros - 10)];
        let counts = tally(alerts.into_iter().map(|(r, t)| (r.to_string(), t)), since);
        assert_eq!(counts["a"], AlertCounts { total: 3, last_24h: 2 });
        assert_eq!(counts["b"], AlertCounts { total: 1, last_24h: 0 });
    }
}
