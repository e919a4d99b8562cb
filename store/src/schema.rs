//! The tantivy schema of a split and the mapping from a wire event to a
//! tantivy document. Shared with the query API, which parses queries
//! against the same schema.

use chrono::{DateTime, Utc};
use logwarden_event::fields;
use serde_json::{Map, Value};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, JsonObjectOptions, STORED, STRING,
    Schema, TEXT, TextFieldIndexing,
};
use tantivy::{DateTime as TantivyDateTime, TantivyDocument};

/// Stored copy of the whole event, returned by searches.
pub const SOURCE: &str = "_source";
/// Kafka offset of the event within its partition.
pub const OFFSET: &str = "_offset";

/// The kind of a field's doc values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastKind {
    Date,
    Number,
    Keyword,
}

#[derive(Clone, Debug)]
pub struct LogSchema {
    pub schema: Schema,
    pub timestamp: Field,
    pub ingested: Field,
    pub message: Field,
    pub source: Field,
    pub offset: Field,
    pub fields: Field,
    keywords: Vec<(&'static str, Field)>,
    numbers: Vec<(&'static str, Field)>,
}

impl Default for LogSchema {
    fn default() -> Self {
        Self::new()
    }
}

impl LogSchema {
    pub fn new() -> LogSchema {
        let mut builder = Schema::builder();
        let date = DateOptions::from(INDEXED)
            .set_fast()
            .set_precision(DateTimePrecision::Microseconds);
        let timestamp = builder.add_date_field(fields::TIMESTAMP, date.clone());
        let ingested = builder.add_date_field(fields::INGESTED, date);
        let message = builder.add_text_field(fields::MESSAGE, TEXT);
        let source = builder.add_text_field(SOURCE, STORED);
        let offset = builder.add_u64_field(OFFSET, INDEXED | FAST);
        let json_options = JsonObjectOptions::default()
            .set_expand_dots_enabled()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(tantivy::schema::IndexRecordOption::Basic),
            );
        let free = builder.add_json_field(fields::FIELDS, json_options);
        let keyword = STRING.set_fast("raw");
        let keywords = fields::KEYWORDS
            .iter()
            .map(|&name| (name, builder.add_text_field(name, keyword.clone())))
            .collect();
        let numbers = fields::NUMBERS
            .iter()
            .map(|&name| (name, builder.add_u64_field(name, INDEXED | FAST)))
            .collect();
        LogSchema {
            schema: builder.build(),
            timestamp,
            ingested,
            message,
            source,
            offset,
            fields: free,
            keywords,
            numbers,
        }
    }

    /// Maps a decoded wire event to a document. `raw` is the payload as
    /// received, stored as is. Keys without a schema field go to `fields`.
    pub fn to_document(
        &self,
        event: &Map<String, Value>,
        raw: &str,
        offset: u64,
        timestamp: DateTime<Utc>,
    ) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_date(self.timestamp, to_tantivy(timestamp));
        if let Some(ingested) = event
            .get(fields::INGESTED)
            .and_then(Value::as_str)
            .and_then(parse_time)
        {
            doc.add_date(self.ingested, to_tantivy(ingested));
        }
        if let Some(message) = event.get(fields::MESSAGE).and_then(Value::as_str) {
            doc.add_text(self.message, message);
        }
        doc.add_text(self.source, raw);
        doc.add_u64(self.offset, offset);
        for (name, field) in &self.keywords {
            match event.get(*name) {
                Some(Value::String(s)) => doc.add_text(*field, s),
                Some(Value::Number(n)) => doc.add_text(*field, n.to_string()),
                _ => {}
            }
        }
        for (name, field) in &self.numbers {
            if let Some(n) = event.get(*name).and_then(Value::as_u64) {
                doc.add_u64(*field, n);
            }
        }
        let mut free = match event.get(fields::FIELDS) {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        for (key, value) in event {
            if !self.is_mapped(key) {
                free.insert(key.clone(), value.clone());
            }
        }
        if !free.is_empty() {
            doc.add_object(
                self.fields,
                free.into_iter()
                    .map(|(k, v)| (k, json_to_owned(v)))
                    .collect(),
            );
        }
        doc
    }

    /// What doc values (fast field) `name` has, if any: what it can be
    /// sorted and aggregated on.
    pub fn fast_field_kind(&self, name: &str) -> Option<FastKind> {
        if matches!(name, fields::TIMESTAMP | fields::INGESTED) {
            Some(FastKind::Date)
        } else if name == OFFSET || self.numbers.iter().any(|(n, _)| *n == name) {
            Some(FastKind::Number)
        } else if self.keywords.iter().any(|(n, _)| *n == name) {
            Some(FastKind::Keyword)
        } else {
            None
        }
    }

    fn is_mapped(&self, key: &str) -> bool {
        matches!(
            key,
            fields::TIMESTAMP
                | fields::INGESTED
                | fields::MESSAGE
                | fields::ORIGINAL
                | fields::FIELDS
        ) || self.keywords.iter().any(|(name, _)| *name == key)
            || self.numbers.iter().any(|(name, _)| *name == key)
    }
}

fn json_to_owned(value: Value) -> tantivy::schema::OwnedValue {
    tantivy::schema::OwnedValue::from(value)
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The time as tantivy stores it; a time outside what tantivy holds
/// saturates (events never carry one: see `logwarden_event::time`).
pub fn to_tantivy(time: DateTime<Utc>) -> TantivyDateTime {
    TantivyDateTime::from_timestamp_micros(time.timestamp_micros().clamp(
        logwarden_event::time::min().timestamp_micros(),
        logwarden_event::time::max().timestamp_micros(),
    ))
}

pub fn from_tantivy(time: TantivyDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.into_timestamp_micros()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::query::QueryParser;
    use tantivy::{Index, IndexWriter};

    #[test]
    fn ecs_names_and_free_fields_are_queryable() {
        let schema = LogSchema::new();
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: IndexWriter = index.writer(15_000_000).unwrap();
        let raw = r#"{"@timestamp":"2026-01-01T00:00:00Z","event.ingested":"2026-01-01T00:00:01Z","event.original":"x","message":"Failed password for root","host.name":"web01","log.file.path":"/var/log/auth.log","process.pid":42,"fields":{"tty":"pts/0"},"vendor.extra":"yes"}"#;
        let event: Map<String, Value> = serde_json::from_str(raw).unwrap();
        writer
            .add_document(schema.to_document(
                &event,
                raw,
                7,
                parse_time("2026-01-01T00:00:00Z").unwrap(),
            ))
            .unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let mut parser = QueryParser::for_index(&index, vec![schema.message]);
        parser.set_conjunction_by_default();
        let count = |q: &str| {
            searcher
                .search(&parser.parse_query(q).unwrap(), &Count)
                .unwrap()
        };
        assert_eq!(count("host.name:web01"), 1);
        assert_eq!(count(r#"log.file.path:"/var/log/auth.log""#), 1);
        assert_eq!(count("failed password"), 1);
        assert_eq!(count("process.pid:42"), 1);
        assert_eq!(count("fields.tty:\"pts/0\""), 1);
        assert_eq!(count("fields.vendor.extra:yes"), 1);
        assert_eq!(
            count("@timestamp:[2025-12-31T00:00:00Z TO 2026-01-02T00:00:00Z]"),
            1
        );
        assert_eq!(count("host.name:web02"), 0);
    }
}
