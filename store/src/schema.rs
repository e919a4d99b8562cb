//! The tantivy schema of a split and the mapping from a wire event to a
//! tantivy document. Shared with the query API, which parses queries
//! against the same schema.
//!
//! What is indexed is what people search: the message (full text), the
//! keyword ECS fields, the whole-number ECS fields and the free fields
//! [`FreeFields`] admits (the config's `[index] free_fields`, by default
//! [`fields::INDEXED_FREE_FIELDS`]). Ids, times and offsets, unique to
//! (nearly) every event, are not indexed, only kept as doc values (fast
//! fields), which is what their uses need (sorting, ranges, histograms,
//! looking an event up by its id; a term query on one answers from its
//! doc values, the query API turns `field:value` on one into a one-value
//! range): `event.id`, `@timestamp`, `event.ingested`, `_offset`,
//! `log.offset`.
//!
//! No field keeps field norms (a byte per document and indexed field):
//! they only feed BM25 scores, and searches sort by time, never by score.
//! The doc store (`_source`) is compressed with zstd in 64 KiB blocks
//! ([`LogSchema::index_settings`]); splits written before keep what their
//! `meta.json` says (field norms, lz4) and read as they are.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use logwarden_event::fields;
use serde_json::{Map, Value};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, JsonObjectOptions, NumericOptions,
    STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{DateTime as TantivyDateTime, Directory, Index, IndexSettings, TantivyDocument};

use crate::document::EventDocument;
use crate::names::NameTable;

/// Stored copy of the whole event, returned by searches.
pub const SOURCE: &str = "_source";
/// Kafka offset of the event within its partition.
pub const OFFSET: &str = "_offset";

/// zstd level of the doc store: level 3 with 64 KiB blocks stored the
/// bench's events in 0.46 bytes per raw log byte against 0.96 for lz4 in
/// 16 KiB blocks (tantivy's default); higher levels saved a little more
/// for more indexing CPU (BENCHMARKS.md, "Index size").
pub const DOCSTORE_ZSTD_LEVEL: i32 = 3;
/// Bytes of events compressed together in the doc store. Larger blocks
/// compress better, and cost more to read one event back from.
pub const DOCSTORE_BLOCK_BYTES: usize = 64 * 1024;

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
    /// Where each top-level key of an event goes.
    slots: NameTable<Slot>,
    /// Which free fields are indexed.
    free_fields: FreeFields,
}

/// Where a top-level key of a wire event goes in the document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    Timestamp,
    Ingested(Field),
    /// Text: only strings.
    Text(Field),
    /// Keyword: strings, and numbers as their JSON text.
    Keyword(Field),
    /// The stream keyword, which also places the event.
    Stream(Field),
    Number(Field),
    /// Kept in `_source` only (`event.original`).
    Skip,
    /// The free fields object.
    Free,
}

/// Free field names indexed: exact names, `prefix.*`, or `*` for all.
///
/// Both kinds are name tables: a free field's name is looked up once, and
/// once per dot in it for the prefixes, instead of being compared with
/// every pattern (the default list has ~40, and the linear scan's
/// `memcmp` was a visible share of the indexer's consumer threads).
#[derive(Debug, Clone)]
pub struct FreeFields {
    all: bool,
    exact: NameTable<()>,
    prefixes: NameTable<()>,
}

impl FreeFields {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> FreeFields {
        let (mut all, mut exact, mut prefixes) = (false, Vec::new(), Vec::new());
        for pattern in patterns {
            let pattern = pattern.as_ref();
            if pattern == "*" {
                all = true;
            } else if let Some(prefix) = pattern.strip_suffix(".*") {
                prefixes.push((prefix, ()));
            } else {
                exact.push((pattern, ()));
            }
        }
        FreeFields { all, exact: NameTable::new(exact), prefixes: NameTable::new(prefixes) }
    }

    /// Whether the free field `name` (its key in `fields`, dots included)
    /// is indexed; `user.*` admits `user` (an object) and `user.x.y`.
    pub fn admits(&self, name: &str) -> bool {
        self.all
            || self.exact.contains(name)
            || (!self.prefixes.is_empty()
                && (self.prefixes.contains(name)
                    || name.match_indices('.').any(|(dot, _)| self.prefixes.contains(&name[..dot]))))
    }
}

impl Default for LogSchema {
    fn default() -> Self {
        Self::new()
    }
}

impl LogSchema {
    /// The schema, indexing the default free fields
    /// ([`fields::INDEXED_FREE_FIELDS`]).
    pub fn new() -> LogSchema {
        LogSchema::with_free_fields(FreeFields::new(fields::INDEXED_FREE_FIELDS))
    }

    /// The schema, indexing the free fields `free_fields` admits (the
    /// tantivy schema is the same whichever: only what goes in differs).
    pub fn with_free_fields(free_fields: FreeFields) -> LogSchema {
        let mut builder = Schema::builder();
        // Near-unique values: doc values only (ranges and sorting use them).
        let date = DateOptions::default()
            .set_fast()
            .set_precision(DateTimePrecision::Microseconds);
        let timestamp = builder.add_date_field(fields::TIMESTAMP, date.clone());
        let ingested = builder.add_date_field(fields::INGESTED, date);
        // Positions kept: phrase queries (`"failed password"`) need them.
        let message = builder.add_text_field(
            fields::MESSAGE,
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions)
                    .set_fieldnorms(false),
            ),
        );
        let source = builder.add_text_field(SOURCE, STORED);
        let offset = builder.add_u64_field(OFFSET, NumericOptions::default().set_fast());
        let json_options = JsonObjectOptions::default()
            .set_expand_dots_enabled()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            );
        let free = builder.add_json_field(fields::FIELDS, json_options);
        let keyword = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
            .set_fast("raw");
        // `event.id` is unique to every event: doc values only, like the
        // times and offsets (an exact id or a range of ids answers from
        // them; its terms were ~15 % of tantivy's indexing work).
        let unique_keyword = TextOptions::default().set_fast("raw");
        let keywords: Vec<(&'static str, Field)> = fields::KEYWORDS
            .iter()
            .map(|&name| {
                let options = if name == fields::ID { &unique_keyword } else { &keyword };
                (name, builder.add_text_field(name, options.clone()))
            })
            .collect();
        // Numbers: doc values only too. Their values and ranges are answered
        // from the column (the query compiler makes `process.pid:42` the
        // range [42 TO 42]); their terms were ~11 % of tantivy's indexing
        // work (BENCHMARKS.md, "What each part of the schema costs").
        let numbers: Vec<(&'static str, Field)> = fields::NUMBERS
            .iter()
            .map(|&name| (name, builder.add_u64_field(name, NumericOptions::default().set_fast())))
            .collect();
        let fixed = [
            (fields::TIMESTAMP, Slot::Timestamp),
            (fields::INGESTED, Slot::Ingested(ingested)),
            (fields::MESSAGE, Slot::Text(message)),
            (fields::ORIGINAL, Slot::Skip),
            (fields::FIELDS, Slot::Free),
        ];
        let keyword_slots = keywords.iter().map(|&(name, field)| {
            (name, if name == fields::STREAM { Slot::Stream(field) } else { Slot::Keyword(field) })
        });
        let number_slots = numbers.iter().map(|&(name, field)| (name, Slot::Number(field)));
        let slots = NameTable::new(fixed.into_iter().chain(keyword_slots).chain(number_slots));
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
            slots,
            free_fields,
        }
    }

    /// The settings a new split is created with: the doc store in zstd
    /// (level [`DOCSTORE_ZSTD_LEVEL`], blocks of [`DOCSTORE_BLOCK_BYTES`]).
    pub fn index_settings() -> IndexSettings {
        IndexSettings {
            docstore_compression: Compressor::Zstd(ZstdCompressor {
                compression_level: Some(DOCSTORE_ZSTD_LEVEL),
            }),
            docstore_blocksize: DOCSTORE_BLOCK_BYTES,
            ..IndexSettings::default()
        }
    }

    /// Opens the split index in `dir`, or creates it with
    /// [`LogSchema::index_settings`]. A split written by an earlier version
    /// opens with its own schema and settings when its fields are this
    /// schema's (names, types, what is indexed, fast and stored), which
    /// differs only in options that documents do not carry (field norms).
    pub fn open_or_create_index<D: Directory>(&self, dir: D) -> tantivy::Result<Index> {
        if !Index::exists(&dir)? {
            return Index::builder()
                .schema(self.schema.clone())
                .settings(LogSchema::index_settings())
                .open_or_create(dir);
        }
        let index = Index::open(dir)?;
        if self.accepts_documents_for(&index.schema()) {
            Ok(index)
        } else {
            Err(tantivy::TantivyError::SchemaError(
                "the split's schema has other fields than this version writes".into(),
            ))
        }
    }

    /// Whether documents of this schema can be added to an index of
    /// `schema`: the same fields in the same order, of the same types,
    /// fast and stored alike, and indexed alike, or indexed there where
    /// this schema keeps doc values only (a split written before numbers
    /// became doc values only goes on indexing them; searches answer from
    /// the doc values either way).
    pub fn accepts_documents_for(&self, schema: &Schema) -> bool {
        let ours: Vec<_> = self.schema.fields().collect();
        let theirs: Vec<_> = schema.fields().collect();
        ours.len() == theirs.len()
            && ours.iter().zip(&theirs).all(|((f1, a), (f2, b))| {
                f1 == f2
                    && a.name() == b.name()
                    && a.field_type().value_type() == b.field_type().value_type()
                    && (a.is_indexed() == b.is_indexed() || (b.is_indexed() && a.is_fast()))
                    && a.is_fast() == b.is_fast()
                    && a.is_stored() == b.is_stored()
            })
    }

    pub(crate) fn slot(&self, key: &str) -> Option<Slot> {
        self.slots.get(key).copied()
    }

    /// Whether the schema field `name` has an inverted index (terms); a
    /// field kept only as doc values answers ranges, not terms.
    pub fn indexed(&self, name: &str) -> bool {
        self.schema
            .get_field(name)
            .is_ok_and(|f| self.schema.get_field_entry(f).is_indexed())
    }

    /// Whether the free field `name` (`fields.NAME` in queries) is indexed.
    pub fn free_field_indexed(&self, name: &str) -> bool {
        self.free_fields.admits(name)
    }

    /// Decodes a wire payload and maps it to a document, or says why it is
    /// not an event (the indexer dead-letters it with that reason).
    pub fn document(&self, payload: &[u8], offset: u64) -> Result<Mapped, String> {
        crate::document::map(self, payload, offset, crate::document::Reader::Fast)
    }

    /// [`LogSchema::document`] with serde_json reading every payload, not
    /// only those the fast reader declines: what the fast reader is
    /// checked against (tests, the fuzzer) and timed beside (benches).
    #[doc(hidden)]
    pub fn document_through_serde(&self, payload: &[u8], offset: u64) -> Result<Mapped, String> {
        crate::document::map(self, payload, offset, crate::document::Reader::Serde)
    }

    /// Maps a decoded wire event to a document. `raw` is the payload as
    /// received, stored as is. Keys without a schema field go to `fields`.
    /// The same document as [`LogSchema::document`] makes from `raw`, which
    /// the indexer uses (one pass, no `Value`); kept for callers holding a
    /// decoded event.
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
        free.retain(|key, _| self.free_fields.admits(key));
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

/// A payload mapped to a document, with what the indexer places it by.
pub struct Mapped {
    pub document: EventDocument,
    pub timestamp: DateTime<Utc>,
    /// A valid stream name: the event's, or the default stream
    /// ([`Mapped::stream`]).
    pub stream: crate::document::StreamName,
}

/// An event's `@timestamp`, when it is RFC 3339 and inside the times
/// logwarden stores; otherwise why not.
pub(crate) fn checked_time(text: &str) -> Result<DateTime<Utc>, String> {
    match parse_time(text) {
        Some(time) if logwarden_event::time::in_range(time).is_some() => Ok(time),
        Some(_) => Err(format!(
            "@timestamp `{text}` is outside the times logwarden stores ({})",
            logwarden_event::time::RANGE_TEXT
        )),
        None => Err(format!("@timestamp `{text}` is not an RFC 3339 time")),
    }
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    parse_utc_canonical(text).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form the collector writes
/// (`@timestamp`, `event.ingested`), read without chrono's general RFC 3339
/// parser (which took 0.5 % of the indexer's CPU). Any other form, and a
/// leap second, is `None`: [`parse_time`] leaves it to chrono. The date and
/// time are still checked by chrono (`from_ymd_opt`, `from_hms_nano_opt`).
fn parse_utc_canonical(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z';
    if !shape {
        return None;
    }
    let number = |digits: &[u8]| {
        digits
            .iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let second = number(&b[17..19])?;
    if second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(&b[0..4])? as i32, number(&b[5..7])?, number(&b[8..10])?)?;
    let time = NaiveTime::from_hms_nano_opt(number(&b[11..13])?, number(&b[14..16])?, second, nanos)?;
    Some(date.and_time(time).and_utc())
}

/// The time as tantivy stores it; a time outside what tantivy holds
/// saturates (events never carry one: see `logwarden_event::time`).
pub fn to_tantivy(time: DateTime<Utc>) -> TantivyDateTime {
    TantivyDateTime::from_timestamp_micros(
        time.timestamp_micros().clamp(logwarden_event::time::MIN_MICROS, logwarden_event::time::MAX_MICROS),
    )
}

pub fn from_tantivy(time: TantivyDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.into_timestamp_micros()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::directory::MmapDirectory;
    use tantivy::query::QueryParser;
    use tantivy::{Index, IndexWriter};

    const RAW: &str = r#"{"@timestamp":"2026-01-01T00:00:00Z","event.ingested":"2026-01-01T00:00:01Z","event.id":"f1:42","event.original":"x","message":"Failed password for root","host.name":"web01","log.file.path":"/var/log/auth.log","log.offset":4242,"process.pid":42,"stream":"auth","fields":{"tty":"pts/0","trace.id":"abc","user.name":"shadowed"},"vendor.extra":"yes","url.path":"/login","user.name":"root"}"#;

    /// Counts with `schema`'s parser over one split holding RAW, mapped by
    /// `document` (the indexer's path).
    fn counter(schema: &LogSchema) -> impl Fn(&str) -> usize {
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: IndexWriter<EventDocument> = index.writer(15_000_000).unwrap();
        let mapped = schema.document(RAW.as_bytes(), 7).unwrap();
        assert_eq!(mapped.stream(), "auth");
        writer.add_document(mapped.document).unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let mut parser = QueryParser::for_index(&index, vec![schema.message]);
        parser.set_conjunction_by_default();
        move |q: &str| {
            searcher
                .search(&parser.parse_query(q).unwrap(), &Count)
                .unwrap()
        }
    }

    /// The fast path reads a time as chrono's RFC 3339 parser does, and
    /// leaves whatever it does not read to it: edge cases, then 300,000
    /// mutations of valid times (seeded, so a failure repeats).
    #[test]
    fn canonical_times_are_read_as_chrono_reads_them() {
        use rand::{Rng, SeedableRng};
        let chrono = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc));
        let bases = [
            "2024-02-29T23:59:59.123456789Z",
            "2023-02-28T00:00:00Z",
            "1970-01-01T00:00:00.5Z",
            "2026-12-31T12:30:45.000001Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ];
        let mut cases: Vec<String> = bases.iter().map(|b| b.to_string()).collect();
        cases.extend(
            [
                "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
                "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z",
                "2026-01-01T23:60:00Z", "2026-06-30T23:59:60Z", "2026-01-01t00:00:00Z", "2026-01-01T00:00:00z",
                "2026-01-01 00:00:00Z", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.Z",
                "2026-01-01T00:00:00.1234567891Z", "+2026-01-01T00:00:00Z", "2026-1-01T00:00:00Z", "",
                "2026-01-01T00:00:00", "２０２６-01-01T00:00:00Z",
            ]
            .map(String::from),
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(15);
        let alphabet = b"0123456789-T:.Z+ tz9";
        for _ in 0..300_000 {
            let mut bytes = bases[rng.random_range(0..bases.len())].as_bytes().to_vec();
            for _ in 0..rng.random_range(1..=3) {
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..4) {
                    0 => { bytes.remove(at); }
                    1 => bytes.insert(at, alphabet[rng.random_range(0..alphabet.len())]),
                    _ => bytes[at] = alphabet[rng.random_range(0..alphabet.len())],
                }
            }
            cases.push(String::from_utf8(bytes).expect("ASCII"));
        }
        let mut read_fast = 0;
        for case in &cases {
            if let Some(time) = parse_utc_canonical(case) {
                read_fast += 1;
                assert_eq!(Some(time), chrono(case), "{case}");
            }
            assert_eq!(parse_time(case), chrono(case), "{case}");
        }
        assert!(read_fast > 10_000, "the fast path read {read_fast} of {} cases", cases.len());
    }

    #[test]
    fn ecs_names_and_free_fields_are_queryable() {
        let schema = LogSchema::new();
        let count = counter(&schema);
        assert_eq!(count("host.name:web01"), 1);
        assert_eq!(count(r#"log.file.path:"/var/log/auth.log""#), 1);
        assert_eq!(count("failed password"), 1);
        assert_eq!(count("process.pid:[42 TO 42]"), 1);
        assert_eq!(count("stream:auth"), 1);
        assert_eq!(count("fields.tty:\"pts/0\""), 1);
        assert_eq!(count("fields.url.path:\"/login\""), 1);
        assert_eq!(
            count("@timestamp:[2025-12-31T00:00:00Z TO 2026-01-02T00:00:00Z]"),
            1
        );
        assert_eq!(count("host.name:web02"), 0);
        // Near-unique values answer ranges from their doc values (the
        // query API turns `field:value` on them into `field:[value TO value]`).
        assert_eq!(count("log.offset:[4242 TO 4242]"), 1);
        assert_eq!(count("_offset:[7 TO 7]"), 1);
        assert_eq!(count("event.ingested:[2026-01-01T00:00:00Z TO 2026-01-01T00:00:02Z]"), 1);
        assert!(!schema.indexed(fields::TIMESTAMP) && !schema.indexed(OFFSET) && !schema.indexed(fields::ID));
        assert!(!schema.indexed("process.pid") && !schema.indexed("source.port"));
        assert!(schema.indexed("host.name") && schema.indexed(fields::MESSAGE));
    }

    #[test]
    fn a_term_query_on_a_value_kept_as_doc_values_answers_from_them() {
        use tantivy::Term;
        use std::ops::Bound;
        use tantivy::query::{RangeQuery, TermQuery};
        use tantivy::schema::IndexRecordOption;
        let schema = LogSchema::new();
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: IndexWriter<EventDocument> = index.writer(15_000_000).unwrap();
        writer.add_document(schema.document(RAW.as_bytes(), 7).unwrap().document).unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = |v: u64| TermQuery::new(Term::from_field_u64(schema.offset, v), IndexRecordOption::Basic);
        assert_eq!(searcher.search(&term(7), &Count).unwrap(), 1);
        assert_eq!(searcher.search(&term(8), &Count).unwrap(), 0);
        // `event.id` too: an exact id, and a range of ids, from the str
        // column's dictionary.
        let id = |v: &str| TermQuery::new(Term::from_field_text(schema.schema.get_field(fields::ID).unwrap(), v), IndexRecordOption::Basic);
        assert_eq!(searcher.search(&id("f1:42"), &Count).unwrap(), 1);
        assert_eq!(searcher.search(&id("f1:4"), &Count).unwrap(), 0);
        let id_term = |v: &str| Term::from_field_text(schema.schema.get_field(fields::ID).unwrap(), v);
        for ((lower, upper), hits) in [(("f1", "f2"), 1), (("f1", "f1"), 0), (("f2", "f9"), 0)] {
            let range = RangeQuery::new(Bound::Included(id_term(lower)), Bound::Included(id_term(upper)));
            assert_eq!(searcher.search(&range, &Count).unwrap(), hits, "[{lower} TO {upper}]");
        }
        // tantivy's own parser refuses a string field without terms, even
        // for a range: the query API builds those leaves itself.
        let mut parser = QueryParser::for_index(&index, vec![schema.message]);
        parser.set_conjunction_by_default();
        assert!(parser.parse_query("event.id:\"f1:42\"").is_err());
        assert!(parser.parse_query("event.id:[f1 TO f2]").is_err());
    }

    #[test]
    fn free_field_patterns_admit_exact_names_and_whole_dotted_prefixes() {
        let free = FreeFields::new(&["tty", "user.*", "winlog.event_data.*", "http.request.method"]);
        for admitted in ["tty", "user", "user.name", "user.target.name", "winlog.event_data", "winlog.event_data.TargetUserName", "http.request.method"] {
            assert!(free.admits(admitted), "{admitted}");
        }
        for refused in ["", "tt", "ttys", "tty.x", "username", "users.name", "use", "winlog", "winlog.event", "winlog.event_datax", "http.request", "http.request.method.x", ".user", "user_agent.original"] {
            assert!(!free.admits(refused), "{refused}");
        }
        assert!(FreeFields::new(&["*"]).admits("anything.at.all"));
        assert!(!FreeFields::new::<&str>(&[]).admits("user"));
    }

    #[test]
    fn free_fields_outside_the_list_are_stored_not_indexed() {
        let schema = LogSchema::new();
        assert!(schema.free_field_indexed("tty") && schema.free_field_indexed("url.path"));
        assert!(schema.free_field_indexed("user") && schema.free_field_indexed("user.target.name"));
        assert!(!schema.free_field_indexed("vendor.extra") && !schema.free_field_indexed("trace.id"));
        assert!(!schema.free_field_indexed("username"), "a prefix matches whole names only");
        let count = counter(&schema);
        assert_eq!(count("fields.vendor.extra:yes"), 0);
        assert_eq!(count("fields.trace.id:abc"), 0);
        // Every free field, as before the list, with `*`.
        let every = LogSchema::with_free_fields(FreeFields::new(&["*"]));
        let count = counter(&every);
        assert_eq!(count("fields.vendor.extra:yes"), 1);
        assert_eq!(count("fields.trace.id:abc"), 1);
        assert_eq!(count("fields.tty:\"pts/0\""), 1);
    }

    /// Payloads with what a span of the payload cannot hold: escaped
    /// strings, numbers in keyword fields, arrays and objects among the
    /// free fields, a `fields` entry shadowed by a top-level key, repeated
    /// keys, numbers past `i64`, a time among the free fields.
    const AWKWARD: &[&str] = &[
        RAW,
        r#"{"@timestamp":"2026-01-01T00:00:00Z","message":"a \"quoted\" caf\u00e9 line","host.name":"web\t01","user.name":12,"source.ip":"10.0.0.1","process.pid":-3,"url.path":1.5,"vendor.list":[1,"a",{"b":true,"c":null}],"vendor.obj":{"x":{"y":[2.5,-1]}},"fields":{"tty":"pts\/1","vendor.list":"shadowed"}}"#,
        r#"{"@timestamp":"2026-01-01T00:00:00.123456Z","message":"","stream":"app","event.id":"","log.offset":0}"#,
        r#"{"@timestamp":"2026-01-01T00:00:00Z","vendor.x":"first","fields":{"dup":"one","dup":"two","vendor.x":"shadowed","when":"2026-01-01T00:00:01Z","n":1},"vendor.x":"last","big":18446744073709551615,"neg":-5,"f":1e3,"t":true,"z":null,"n":"top"}"#,
    ];

    #[test]
    fn the_one_pass_mapping_makes_the_same_document_as_to_document() {
        use tantivy::Document;
        for schema in [LogSchema::new(), LogSchema::with_free_fields(FreeFields::new(&["*"]))] {
            for raw in AWKWARD {
                let event: Map<String, Value> = serde_json::from_str(raw).unwrap();
                let time = parse_time(event["@timestamp"].as_str().unwrap()).unwrap();
                let expected = schema.to_document(&event, raw, 7, time);
                let mapped = schema.document(raw.as_bytes(), 7).unwrap().document.into_tantivy_document();
                let sorted = |doc: &TantivyDocument| {
                    let mut values: Vec<String> = doc
                        .field_values()
                        .map(|(field, value)| format!("{}={:?}", field.field_id(), tantivy::schema::OwnedValue::from(value)))
                        .collect();
                    values.sort();
                    values
                };
                assert_eq!(sorted(&mapped), sorted(&expected), "{raw}");
            }
        }
    }

    /// A number read into a keyword field is the number the payload
    /// holds: written back by serde_json and read again, it maps to the
    /// same text (serde_json's default float parsing may be an ulp off,
    /// which `float_roundtrip` corrects; found by the `document` target).
    #[test]
    fn a_float_in_a_keyword_field_survives_being_written_back() {
        use tantivy::Document;
        let raw = r#"{"@timestamp":"2026-01-01T00:00:00Z","host.name":444444444444444404444444444444444444444444444444444,"user.name":1.0000000000000002}"#;
        let event: Map<String, Value> = serde_json::from_str(raw).unwrap();
        let written = serde_json::to_string(&event).unwrap();
        let schema = LogSchema::new();
        let keywords = |payload: &str| -> Vec<String> {
            let doc = schema.document(payload.as_bytes(), 0).unwrap().document.into_tantivy_document();
            let host = schema.schema.get_field("host.name").unwrap();
            let user = schema.schema.get_field("user.name").unwrap();
            doc.field_values()
                .filter(|(field, _)| *field == host || *field == user)
                .map(|(_, value)| format!("{:?}", tantivy::schema::OwnedValue::from(value)))
                .collect()
        };
        let read = keywords(raw);
        assert_eq!(read.len(), 2, "{read:?}");
        assert_eq!(read, keywords(&written), "{written}");
    }

    /// The document tantivy reads in place indexes and stores what the
    /// payload says: escaped strings unescaped, spans cut where they
    /// belong, the payload stored whole.
    #[test]
    fn an_event_document_is_indexed_and_stored_as_read() {
        let schema = LogSchema::with_free_fields(FreeFields::new(&["*"]));
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: IndexWriter<EventDocument> = index.writer(15_000_000).unwrap();
        for (offset, raw) in AWKWARD.iter().enumerate() {
            writer.add_document(schema.document(raw.as_bytes(), offset as u64).unwrap().document).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let parser = QueryParser::for_index(&index, vec![schema.message]);
        let count = |q: &str| searcher.search(&parser.parse_query(q).unwrap(), &Count).unwrap();
        assert_eq!(count(r#"message:"quoted café""#), 1);
        assert_eq!(count("host.name:\"web\t01\""), 1);
        assert_eq!(count("user.name:12"), 1);
        assert_eq!(count("user.name:root"), 1);
        assert_eq!(count("source.ip:\"10.0.0.1\""), 1);
        assert_eq!(count("fields.url.path:\"/login\""), 1);
        assert_eq!(count("fields.tty:\"pts/1\""), 1);
        assert_eq!(count("fields.vendor.list:a"), 1);
        assert_eq!(count("fields.vendor.obj.x.y:2.5"), 1);
        assert_eq!(count("stream:app"), 1);
        let sources: Vec<String> = (0..AWKWARD.len() as u32)
            .map(|doc| {
                let stored: TantivyDocument = searcher.doc(tantivy::DocAddress::new(0, doc)).unwrap();
                stored.get_first(schema.source).and_then(|v| tantivy::schema::Value::as_str(&v).map(str::to_string)).unwrap()
            })
            .collect();
        assert_eq!(sources, AWKWARD.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }

    /// The schema as earlier versions wrote it: field norms on every
    /// indexed field, and the number fields indexed (the same fields
    /// otherwise).
    fn with_field_norms(schema: &Schema) -> Schema {
        fn set(value: &mut Value) {
            match value {
                Value::Object(map) => {
                    if map.contains_key("fieldnorms") {
                        map.insert("fieldnorms".into(), Value::Bool(true));
                    }
                    map.values_mut().for_each(set);
                }
                Value::Array(values) => values.iter_mut().for_each(set),
                _ => {}
            }
        }
        let mut json = serde_json::to_value(schema).unwrap();
        set(&mut json);
        for field in json.as_array_mut().unwrap() {
            if fields::NUMBERS.contains(&field["name"].as_str().unwrap()) && field["name"] != "log.offset" {
                field["options"]["indexed"] = Value::Bool(true);
            }
        }
        serde_json::from_value(json).unwrap()
    }

    fn count_in(index: &Index, schema: &LogSchema, query: &str) -> usize {
        let searcher = index.reader().unwrap().searcher();
        let mut parser = QueryParser::for_index(index, vec![schema.message]);
        parser.set_conjunction_by_default();
        searcher.search(&parser.parse_query(query).unwrap(), &Count).unwrap()
    }

    #[test]
    fn a_new_split_has_no_field_norms_a_zstd_doc_store_and_phrase_search() {
        let dir = tempfile::tempdir().unwrap();
        let schema = LogSchema::new();
        let index = schema.open_or_create_index(MmapDirectory::open(dir.path()).unwrap()).unwrap();
        let mut writer: IndexWriter<EventDocument> = index.writer(15_000_000).unwrap();
        writer.add_document(schema.document(RAW.as_bytes(), 7).unwrap().document).unwrap();
        writer.commit().unwrap();
        assert_eq!(count_in(&index, &schema, r#""failed password""#), 1);
        assert_eq!(count_in(&index, &schema, r#""password failed""#), 0, "positions decide a phrase");
        assert_eq!(count_in(&index, &schema, "host.name:web01 AND process.pid:[42 TO 42]"), 1);
        let meta: Value = serde_json::from_slice(&std::fs::read(dir.path().join("meta.json")).unwrap()).unwrap();
        assert_eq!(meta["index_settings"]["docstore_compression"], "zstd(compression_level=3)");
        assert_eq!(meta["index_settings"]["docstore_blocksize"], 65536);
        let searcher = index.reader().unwrap().searcher();
        let segment = &searcher.segment_readers()[0];
        for (field, entry) in schema.schema.fields() {
            assert!(
                segment.get_fieldnorms_reader(field).is_err() || !entry.is_indexed(),
                "{} has field norms",
                entry.name()
            );
        }
        let stored: TantivyDocument = searcher.doc(tantivy::DocAddress::new(0, 0)).unwrap();
        assert_eq!(stored.get_first(schema.source).and_then(|v| tantivy::schema::Value::as_str(&v)), Some(RAW));
    }

    #[test]
    fn a_split_written_with_field_norms_and_lz4_reopens_and_takes_new_events() {
        let dir = tempfile::tempdir().unwrap();
        let schema = LogSchema::new();
        let old = Index::create_in_dir(dir.path(), with_field_norms(&schema.schema)).unwrap();
        assert_ne!(old.schema(), schema.schema, "the earlier schema differs in its options");
        let mut writer: IndexWriter<EventDocument> = old.writer(15_000_000).unwrap();
        writer.add_document(schema.document(RAW.as_bytes(), 7).unwrap().document).unwrap();
        writer.commit().unwrap();
        drop((writer, old));
        let index = schema.open_or_create_index(MmapDirectory::open(dir.path()).unwrap()).unwrap();
        assert_eq!(index.settings().docstore_compression, Compressor::Lz4, "a split keeps its settings");
        let mut writer: IndexWriter<EventDocument> = index.writer(15_000_000).unwrap();
        writer.add_document(schema.document(RAW.as_bytes(), 8).unwrap().document).unwrap();
        writer.commit().unwrap();
        assert_eq!(count_in(&index, &schema, r#""failed password" AND host.name:web01"#), 2);
        assert_eq!(count_in(&index, &schema, "process.pid:[42 TO 42]"), 2);
        // Fields of another layout are refused, naming why.
        let other = tempfile::tempdir().unwrap();
        let mut builder = Schema::builder();
        builder.add_text_field(SOURCE, STORED);
        Index::create_in_dir(other.path(), builder.build()).unwrap();
        let error = schema.open_or_create_index(MmapDirectory::open(other.path()).unwrap()).err().unwrap();
        assert!(error.to_string().contains("other fields than this version writes"), "{error}");
    }

    #[test]
    fn what_is_not_an_event_is_refused_with_the_reason() {
        let schema = LogSchema::new();
        let reason = |payload: &[u8]| schema.document(payload, 0).err().unwrap();
        assert_eq!(reason(b"[1,2]"), "payload is JSON but not an object");
        assert!(reason(b"not json").starts_with("payload is not JSON"));
        assert!(reason(b"{\"@timestamp\":").starts_with("payload is not JSON"));
        assert!(reason(&[b'{', 0xff, b'}']).starts_with("payload is not UTF-8"));
        assert_eq!(reason(b"{\"message\":\"x\"}"), "the event has no @timestamp string");
        assert_eq!(reason(b"{\"@timestamp\":5}"), "the event has no @timestamp string");
        assert!(reason(br#"{"@timestamp":"yesterday"}"#).contains("yesterday"));
        assert!(reason(br#"{"@timestamp":"2263-01-01T00:00:00Z"}"#).contains("outside the times"));
        // Escaped strings, odd values and an invalid stream name still map.
        let mapped = schema
            .document(br#"{"@timestamp":"2026-01-01T00:00:00Z","message":"a \"quoted\" word","stream":"Bad/Name","host.name":7,"process.pid":-1,"fields":[1]}"#, 0)
            .unwrap();
        assert_eq!(mapped.stream(), logwarden_event::DEFAULT_STREAM);
    }
}
