//! Reading stored events back in time order (backtests of rules over
//! history): every split's events in `[from, to)` on `@timestamp`.

use std::ops::Bound;
use std::path::Path;

use chrono::{DateTime, Utc};
use tantivy::collector::DocSetCollector;
use tantivy::query::RangeQuery;
use tantivy::schema::Value as _;
use tantivy::{Index, TantivyDocument, Term};

use crate::StoreError;
use crate::schema::{LogSchema, to_tantivy};
use crate::storage::list_splits;

/// A stored event and where it came from.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub stream: String,
    pub partition: i32,
    /// Kafka offset of the event.
    pub offset: u64,
    /// The wire JSON as the indexer received it.
    pub payload: String,
    pub timestamp: DateTime<Utc>,
}

/// Every event stored under `data_dir` with `from <= @timestamp < to`,
/// sorted by time, then partition and offset.
pub fn events_between(data_dir: &Path, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<StoredEvent>, StoreError> {
    let schema = LogSchema::new();
    let splits = list_splits(data_dir).map_err(|e| StoreError::io(data_dir, e))?;
    let term = |t: DateTime<Utc>| Term::from_field_date_for_search(schema.timestamp, to_tantivy(t));
    let query = RangeQuery::new(Bound::Included(term(from)), Bound::Excluded(term(to)));
    let mut events = Vec::new();
    for split in splits {
        let index = Index::open_in_dir(&split.path)?;
        let reader = index.reader()?;
        let searcher = reader.searcher();
        for address in searcher.search(&query, &DocSetCollector)? {
            let doc: TantivyDocument = searcher.doc(address)?;
            let payload = doc.get_first(schema.source).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let offset = doc.get_first(schema.offset).and_then(|v| v.as_u64()).unwrap_or_default();
            // The time field is indexed, not stored: the payload has it.
            let timestamp = serde_json::from_str::<serde_json::Value>(&payload)
                .ok()
                .and_then(|v| v.get("@timestamp").and_then(|t| t.as_str()).and_then(crate::schema::parse_time))
                .unwrap_or(from);
            events.push(StoredEvent { stream: split.stream.clone(), partition: split.partition, offset, payload, timestamp });
        }
    }
    events.sort_by_key(|e| (e.timestamp, e.partition, e.offset));
    Ok(events)
}
