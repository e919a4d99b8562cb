//! Alerts and the events they matched, as the indexer stored them.
//!
//! Finding reads doc values only (`event.id`, `@timestamp`, the offset):
//! every stored copy of an alert is keyed without being loaded, the copies
//! of one id (the detector may publish an alert again after a crash)
//! collapse to the newest, and only what a page shows is read whole from
//! the doc store.

use std::collections::HashMap;
use std::ops::Bound;

use chrono::{DateTime, Utc};
use logwarden_detect::Alert;
use logwarden_event::fields;
use logwarden_store::schema::{LogSchema, OFFSET, from_tantivy};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term};

use super::params::Level;
use crate::search::SplitCatalog;
use crate::search::catalog::OpenSplit;

/// One stored event, located.
#[derive(Debug, Clone)]
pub struct Located {
    /// Its `event.id`, when it has one.
    pub id: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub offset: u64,
    split: usize,
    address: DocAddress,
}

/// Open readers over the splits of some streams.
pub struct Splits {
    splits: Vec<OpenSplit>,
    source: Field,
}

impl Splits {
    /// Every split of the streams `admits` accepts.
    pub fn open(catalog: &SplitCatalog, schema: &LogSchema, admits: impl Fn(&str) -> bool) -> anyhow::Result<Splits> {
        Ok(Splits { splits: catalog.searchers(admits)?, source: schema.source })
    }

    /// Every event matching `query`, in the splits of `stream` (or all).
    pub fn find(&self, query: &dyn Query, stream: Option<&str>) -> tantivy::Result<Vec<Located>> {
        let mut found = Vec::new();
        for (index, split) in self.splits.iter().enumerate() {
            if stream.is_some_and(|s| s != split.location.stream) {
                continue;
            }
            let keys = split.searcher.search(query, &Keys)?;
            found.extend(keys.into_iter().map(|key| Located {
                id: key.id,
                timestamp: from_tantivy(tantivy::DateTime::from_timestamp_micros(key.timestamp)),
                offset: key.offset,
                split: index,
                address: key.address,
            }));
        }
        Ok(found)
    }

    /// The partition `located` is in.
    pub fn partition(&self, located: &Located) -> i32 {
        self.splits[located.split].location.partition
    }

    /// The event as it was stored (its wire JSON).
    pub fn source(&self, located: &Located) -> tantivy::Result<String> {
        let doc: TantivyDocument = self.splits[located.split].searcher.doc(located.address)?;
        Ok(doc.get_first(self.source).and_then(|v| v.as_str()).unwrap_or("{}").to_string())
    }

    /// The alert a stored event of the `alerts` stream holds.
    pub fn alert(&self, located: &Located) -> anyhow::Result<Alert> {
        let source = self.source(located)?;
        let event = logwarden_event::wire::decode(source.as_bytes())?;
        Alert::from_event(&event).ok_or_else(|| anyhow::anyhow!("event {:?} holds no alert", located.id))
    }
}

/// The newest copy of each id (events without one left out), newest
/// first, then by id.
pub fn distinct(found: Vec<Located>) -> Vec<Located> {
    let mut newest: HashMap<String, Located> = HashMap::new();
    for located in found {
        let Some(id) = located.id.clone() else { continue };
        let key = |l: &Located| (l.timestamp, l.split, l.offset);
        match newest.get(&id) {
            Some(kept) if key(kept) >= key(&located) => {}
            _ => {
                newest.insert(id, located);
            }
        }
    }
    let mut distinct: Vec<Located> = newest.into_values().collect();
    distinct.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| a.id.cmp(&b.id)));
    distinct
}

fn keyword(schema: &LogSchema, name: &str, value: &str) -> Box<dyn Query> {
    let field = schema.schema.get_field(name).expect("a keyword field of the schema");
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

/// The events whose `event.id` is `id`: a one-value range, answered from
/// the field's doc values (it is not indexed; splits from before, where it
/// is, answer from its terms).
pub fn by_id(schema: &LogSchema, id: &str) -> Box<dyn Query> {
    let field = schema.schema.get_field(fields::ID).expect("event.id is a field of the schema");
    let term = Term::from_field_text(field, id);
    Box::new(RangeQuery::new(Bound::Included(term.clone()), Bound::Included(term)))
}

/// Alert events of rule `rule` (its id is the event's `event.code`) at
/// `min_level` or above (the event's `log.level`).
pub fn alert_filter(schema: &LogSchema, rule: Option<&str>, min_level: Option<Level>) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(rule) = rule {
        clauses.push((Occur::Must, keyword(schema, "event.code", rule)));
    }
    if let Some(level) = min_level {
        let levels = level.and_above().map(|l| (Occur::Should, keyword(schema, "log.level", l.as_str()))).collect();
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(levels))));
    }
    if clauses.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(clauses)) }
}

/// What [`Keys`] reads of a matching document.
struct Key {
    id: Option<String>,
    timestamp: i64,
    offset: u64,
    address: DocAddress,
}

/// Collects the doc values of every match: id, timestamp and offset.
struct Keys;

struct SegmentKeys {
    segment: SegmentOrdinal,
    ids: Option<StrColumn>,
    timestamps: Column<tantivy::DateTime>,
    offsets: Column<u64>,
    keys: Vec<Key>,
    text: String,
}

impl Collector for Keys {
    type Fruit = Vec<Key>;
    type Child = SegmentKeys;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentKeys> {
        let fast = reader.fast_fields();
        Ok(SegmentKeys {
            segment,
            ids: fast.str(fields::ID)?,
            timestamps: fast.date(fields::TIMESTAMP)?,
            offsets: fast.u64(OFFSET)?,
            keys: Vec::new(),
            text: String::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Key>>) -> tantivy::Result<Vec<Key>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentKeys {
    type Fruit = Vec<Key>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let id = self.ids.as_ref().and_then(|ids| {
            let ord = ids.term_ords(doc).next()?;
            self.text.clear();
            ids.ord_to_str(ord, &mut self.text).ok()?.then(|| self.text.clone())
        });
        self.keys.push(Key {
            id,
            timestamp: self.timestamps.first(doc).map_or(0, |t| t.into_timestamp_micros()),
            offset: self.offsets.first(doc).unwrap_or_default(),
            address: DocAddress::new(self.segment, doc),
        });
    }

    fn harvest(self) -> Vec<Key> {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(id: Option<&str>, second: i64, split: usize, offset: u64) -> Located {
        Located {
            id: id.map(str::to_string),
            timestamp: DateTime::from_timestamp(1_700_000_000 + second, 0).unwrap(),
            offset,
            split,
            address: DocAddress::new(0, 0),
        }
    }

    #[test]
    fn copies_collapse_to_the_newest_and_the_order_is_newest_first() {
        let found = vec![
            located(Some("b"), 10, 0, 1),
            located(Some("a"), 20, 0, 2),
            located(Some("b"), 10, 0, 9),
            located(Some("c"), 20, 1, 3),
            located(None, 30, 0, 4),
            located(Some("a"), 5, 1, 7),
        ];
        let distinct = distinct(found);
        let keys: Vec<_> = distinct.iter().map(|l| (l.id.as_deref().unwrap(), l.offset)).collect();
        assert_eq!(keys, [("a", 2), ("c", 3), ("b", 9)]);
    }
}
