//! A wire payload straight into a tantivy document: one pass of the JSON
//! with borrowed strings, each key dispatched to its schema field through
//! a lookup table, no intermediate `serde_json::Value` of the event, no
//! clone of its free fields. Only free fields that are indexed are kept
//! (for the JSON field's object), as spans of the payload and numbers
//! like the mapped fields; the rest are skipped without allocating. The
//! payload itself is stored as `_source`.
//!
//! The document is an [`EventDocument`]: the payload once, and each field's
//! value as a span of it (a string without escapes) or a number, read by
//! tantivy in place through its `Document` trait. A `TantivyDocument`
//! would copy every value into its own buffer on the consumer thread and
//! decode it again on the indexing thread, three times (inverted index,
//! columns, doc store).

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tantivy::DateTime as TantivyDateTime;
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf};
use tantivy::schema::{Document, Field, OwnedValue, Value};

use crate::schema::{LogSchema, Mapped, Slot, checked_time, parse_time, to_tantivy};

mod fast;

/// How a payload's JSON is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    /// [`fast::read`] first, serde_json when it declines.
    Fast,
    /// serde_json only (what the fast reader is checked against).
    Serde,
}

/// Maps `payload` (the wire JSON) to a document; the reasons a payload is
/// not an event are the ones the indexer dead-letters it with.
pub(crate) fn map(schema: &LogSchema, payload: &[u8], offset: u64, reader: Reader) -> Result<Mapped, String> {
    // simdutf8's SIMD check (std's was ~3 % of the consumer threads'
    // samples in a profile); std's check only for its message, which
    // names where the invalid byte is.
    let raw = match simdutf8::basic::from_utf8(payload) {
        Ok(raw) => raw,
        Err(_) => std::str::from_utf8(payload).map_err(|e| format!("payload is not UTF-8: {e}"))?,
    };
    if !raw.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<IgnoredAny>(raw) {
            Ok(_) => "payload is JSON but not an object".into(),
            Err(e) => format!("payload is not JSON: {e}"),
        });
    }
    let mut builder = Builder {
        schema,
        parts: Parts { raw, parts: Vec::with_capacity(PARTS) },
        timestamp: None,
        stream: None,
        free: Vec::new(),
    };
    if reader == Reader::Serde || fast::read(&mut builder, raw).is_none() {
        // serde_json's answer stands, errors included: the fast reader
        // declines whatever it does not read exactly as serde_json would.
        builder.reset();
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        EventSeed(&mut builder)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|e| format!("payload is not JSON: {e}"))?;
    }
    let Builder { parts: Parts { mut parts, .. }, timestamp, stream, free, .. } = builder;
    let timestamp = match timestamp {
        Some(Timestamp::Text(text)) => checked_time(&text)?,
        Some(Timestamp::Parsed(time)) => time,
        None => return Err("the event has no @timestamp string".into()),
    };
    parts.push((schema.timestamp, Part::Date(to_tantivy(timestamp))));
    parts.push((schema.source, Part::Source));
    parts.push((schema.offset, Part::U64(offset)));
    if !free.is_empty() {
        parts.push((schema.fields, Part::Free));
    }
    let free = free_object(raw, free);
    let stream = match stream.filter(|s| logwarden_event::is_valid_stream_name(s)) {
        Some(name) => Text::of(raw, &name),
        None => Text::Owned(logwarden_event::DEFAULT_STREAM.into()),
    };
    let document = EventDocument { source: raw.to_owned(), parts, free };
    Ok(Mapped { document, timestamp, stream: StreamName(stream) })
}

/// The stream an event belongs to, read from its document's payload
/// ([`Mapped::stream`]): no string of its own per event.
pub struct StreamName(Text);

impl Mapped {
    /// The stream the event belongs to (its `stream`, when a valid name;
    /// the default stream when not).
    pub fn stream(&self) -> &str {
        self.stream.0.get(&self.document.source)
    }
}

/// Parts a document starts with room for: the event's mapped keys and the
/// four the mapping adds (11 to 19 in the bench's corpus: growing past 16
/// was one more allocation for a third of its events).
const PARTS: usize = 24;

/// A mapped event as tantivy indexes it: the payload (`_source`, and the
/// text the spans point into) and each field's values in the order read.
#[derive(Debug, Clone)]
pub struct EventDocument {
    source: String,
    parts: Vec<(Field, Part)>,
    /// The indexed free fields (the JSON field's object): one entry per
    /// name, sorted by name ([`free_object`]).
    free: Vec<FreeEntry>,
}

/// A string of a document.
#[derive(Debug, Clone)]
enum Text {
    /// A string of the payload without escapes: `source[start..end]`.
    Span { start: u32, end: u32 },
    /// A string that is not a span of the payload: one with escapes, or a
    /// number kept as keyword text.
    Owned(Box<str>),
}

impl Text {
    /// `text` as a span of `raw` when it is one (a string without escapes,
    /// borrowed from it), as owned text when not.
    fn of(raw: &str, text: &str) -> Text {
        let start = (text.as_ptr() as usize).checked_sub(raw.as_ptr() as usize);
        let span = start
            .filter(|start| start + text.len() <= raw.len())
            .and_then(|start| Some((u32::try_from(start).ok()?, u32::try_from(start + text.len()).ok()?)));
        match span {
            Some((start, end)) => Text::Span { start, end },
            None => Text::Owned(text.into()),
        }
    }

    /// The string, `source` being the payload it was read from.
    #[inline]
    fn get<'a>(&'a self, source: &'a str) -> &'a str {
        match self {
            // Spans are cut at the payload's own string boundaries (where
            // the JSON parser found the strings): `get` never misses.
            Text::Span { start, end } => source.get(*start as usize..*end as usize).unwrap_or_default(),
            Text::Owned(text) => text,
        }
    }
}

/// A free field's value, converted as tantivy's
/// `OwnedValue::from(serde_json::Value)` converts it (numbers as `i64`
/// when they fit, strings that are RFC 3339 times as dates).
#[derive(Debug, Clone)]
enum FreeValue {
    /// A string that cannot be a time (tantivy tries only those starting
    /// with a digit).
    Str(Text),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Null,
    /// A string that may be a time, an array or an object: converted by
    /// tantivy.
    Owned(OwnedValue),
}

/// One value of a field.
#[derive(Debug, Clone)]
enum Part {
    Str(Text),
    U64(u64),
    Date(TantivyDateTime),
    /// The whole payload.
    Source,
    /// The free fields object.
    Free,
}

impl Document for EventDocument {
    type Value<'a> = EventValue<'a>;
    type FieldsValuesIter<'a> = FieldValues<'a>;

    fn iter_fields_and_values(&self) -> FieldValues<'_> {
        FieldValues { doc: self, parts: self.parts.iter() }
    }
}

/// The fields of an [`EventDocument`] and their values, as tantivy reads
/// them.
pub struct FieldValues<'a> {
    doc: &'a EventDocument,
    parts: std::slice::Iter<'a, (Field, Part)>,
}

impl<'a> Iterator for FieldValues<'a> {
    type Item = (Field, EventValue<'a>);

    // Inlined into tantivy's indexing loop, which walks a document three
    // times (terms, columns, doc store).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (field, part) = self.parts.next()?;
        let source = self.doc.source.as_str();
        let value = match part {
            Part::Str(text) => EventValue::Str(text.get(source)),
            Part::U64(n) => EventValue::U64(*n),
            Part::Date(time) => EventValue::Date(*time),
            Part::Source => EventValue::Str(source),
            Part::Free => EventValue::FreeFields(self.doc),
        };
        Some((*field, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.parts.size_hint()
    }
}

/// A value of an [`EventDocument`], borrowed from it: a leaf, or (inside
/// the free fields object) one of its free field values.
#[derive(Debug, Clone)]
pub enum EventValue<'a> {
    Str(&'a str),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Date(TantivyDateTime),
    Null,
    /// The document's free fields object.
    FreeFields(&'a EventDocument),
    /// A free field's value converted by tantivy (and what it holds).
    Free(&'a OwnedValue),
}

impl<'a> EventValue<'a> {
    #[inline]
    fn of_free(value: &'a FreeValue, source: &'a str) -> EventValue<'a> {
        match value {
            FreeValue::Str(text) => EventValue::Str(text.get(source)),
            FreeValue::I64(n) => EventValue::I64(*n),
            FreeValue::U64(n) => EventValue::U64(*n),
            FreeValue::F64(n) => EventValue::F64(*n),
            FreeValue::Bool(b) => EventValue::Bool(*b),
            FreeValue::Null => EventValue::Null,
            FreeValue::Owned(value) => EventValue::Free(value),
        }
    }
}

impl<'a> Value<'a> for EventValue<'a> {
    type ArrayIter = FreeItems<'a>;
    type ObjectIter = FreeEntries<'a>;

    #[inline]
    fn as_value(&self) -> ReferenceValue<'a, Self> {
        match *self {
            EventValue::Str(text) => ReferenceValue::Leaf(ReferenceValueLeaf::Str(text)),
            EventValue::U64(n) => ReferenceValue::Leaf(ReferenceValueLeaf::U64(n)),
            EventValue::I64(n) => ReferenceValue::Leaf(ReferenceValueLeaf::I64(n)),
            EventValue::F64(n) => ReferenceValue::Leaf(ReferenceValueLeaf::F64(n)),
            EventValue::Bool(b) => ReferenceValue::Leaf(ReferenceValueLeaf::Bool(b)),
            EventValue::Date(time) => ReferenceValue::Leaf(ReferenceValueLeaf::Date(time)),
            EventValue::Null => ReferenceValue::Leaf(ReferenceValueLeaf::Null),
            EventValue::FreeFields(doc) => {
                ReferenceValue::Object(FreeEntries(Entries::Fields { source: &doc.source, entries: doc.free.iter() }))
            }
            EventValue::Free(OwnedValue::Array(items)) => ReferenceValue::Array(FreeItems(items.iter())),
            EventValue::Free(OwnedValue::Object(entries)) => ReferenceValue::Object(FreeEntries(Entries::Owned(entries.iter()))),
            // Every other owned value is a leaf.
            EventValue::Free(leaf) => ReferenceValue::Leaf(leaf.as_leaf().unwrap_or(ReferenceValueLeaf::Null)),
        }
    }
}

/// The items of a free field's array.
pub struct FreeItems<'a>(std::slice::Iter<'a, OwnedValue>);

impl<'a> Iterator for FreeItems<'a> {
    type Item = EventValue<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(EventValue::Free)
    }
}

/// The entries of the free fields object, or of an object among them.
pub struct FreeEntries<'a>(Entries<'a>);

enum Entries<'a> {
    Fields { source: &'a str, entries: std::slice::Iter<'a, FreeEntry> },
    Owned(std::slice::Iter<'a, (String, OwnedValue)>),
}

impl<'a> Iterator for FreeEntries<'a> {
    type Item = (&'a str, EventValue<'a>);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Entries::Fields { source, entries } => {
                let FreeEntry { key, value, .. } = entries.next()?;
                Some((key.get(source), EventValue::of_free(value, source)))
            }
            Entries::Owned(entries) => entries.next().map(|(key, value)| (key.as_str(), EventValue::Free(value))),
        }
    }
}

/// The parts of a document being read from `raw`.
struct Parts<'de> {
    raw: &'de str,
    parts: Vec<(Field, Part)>,
}

impl<'de> Parts<'de> {
    /// `text` as a span of the payload when it is one, as owned text when
    /// not ([`Text::of`]).
    fn push_str(&mut self, field: Field, text: &str) {
        self.parts.push((field, Part::Str(Text::of(self.raw, text))));
    }

    fn push(&mut self, field: Field, part: Part) {
        self.parts.push((field, part));
    }

    /// A text or keyword string: a span when borrowed from the payload.
    fn push_text(&mut self, field: Field, text: Cow<'de, str>) {
        match text {
            Cow::Borrowed(text) => self.push_str(field, text),
            Cow::Owned(text) => self.push(field, Part::Str(Text::Owned(text.into()))),
        }
    }

    /// A number given to a keyword field, as its JSON text.
    fn push_number_text(&mut self, field: Field, number: impl fmt::Display) {
        self.push(field, Part::Str(Text::Owned(number.to_string().into())));
    }

    /// A float given to a keyword field: its JSON text when it has one.
    fn push_float_text(&mut self, field: Field, number: f64) {
        if let Some(n) = serde_json::Number::from_f64(number) {
            self.push_number_text(field, n);
        }
    }
}

/// `@timestamp` as read: parsed when it is a valid time, the text when not
/// (for the rejection's message).
enum Timestamp {
    Parsed(DateTime<Utc>),
    Text(String),
}

struct Builder<'s, 'de> {
    schema: &'s LogSchema,
    parts: Parts<'de>,
    timestamp: Option<Timestamp>,
    stream: Option<Cow<'de, str>>,
    /// Indexed free fields as read: top-level keys without a field of
    /// their own and the entries of `fields`; [`free_object`] settles
    /// repeated names.
    free: Vec<FreeEntry>,
}

impl<'de> Builder<'_, 'de> {
    /// Back to nothing read, the buffers kept.
    fn reset(&mut self) {
        self.parts.parts.clear();
        self.timestamp = None;
        self.stream = None;
        self.free.clear();
    }

    /// `@timestamp`'s value: a string, or `None` for any other value (of
    /// repeated keys, the last holds).
    fn timestamp(&mut self, text: Option<Cow<'de, str>>) {
        self.timestamp = text.map(|t| match parse_time(&t) {
            Some(time) if logwarden_event::time::in_range(time).is_some() => Timestamp::Parsed(time),
            _ => Timestamp::Text(t.into_owned()),
        });
    }

    /// `event.ingested`'s string, kept when it is a time.
    fn ingested(&mut self, field: Field, text: &str) {
        if let Some(time) = parse_time(text) {
            self.parts.push(field, Part::Date(to_tantivy(time)));
        }
    }

    /// The stream keyword, which also places the event.
    fn stream(&mut self, field: Field, stream: Cow<'de, str>) {
        self.parts.push_str(field, &stream);
        self.stream = Some(stream);
    }

    /// An indexed free field (a top-level key or an entry of `fields`),
    /// in the order read.
    fn free(&mut self, key: &str, value: FreeValue, top_level: bool) {
        let order = self.free.len() as u32;
        self.free.push(FreeEntry { key: Text::of(self.parts.raw, key), value, top_level, order });
    }
}

/// An indexed free field as read, and where it was read.
#[derive(Debug, Clone)]
struct FreeEntry {
    key: Text,
    value: FreeValue,
    /// A top-level key rather than an entry of `fields`.
    top_level: bool,
    /// Its place among the entries read.
    order: u32,
}

/// The free fields object: one entry per name, sorted by name. Of entries
/// with the same name a top-level key wins over an entry of `fields`, and
/// a later one over an earlier one of the same kind (a JSON object's
/// repeated key holds its last value, as serde_json reads it into a map).
/// `raw` is the payload the keys' spans point into. The entries are kept
/// whole: mapping them to `(key, value)` pairs collected the Vec in place
/// into smaller items, which reallocated it for every event with free
/// fields.
fn free_object(raw: &str, mut free: Vec<FreeEntry>) -> Vec<FreeEntry> {
    free.sort_unstable_by(|a, b| {
        a.key.get(raw).cmp(b.key.get(raw)).then(b.top_level.cmp(&a.top_level)).then(b.order.cmp(&a.order))
    });
    free.dedup_by(|later, first| later.key.get(raw) == first.key.get(raw));
    free
}

/// The event object: every key dispatched by the schema's slot table.
struct EventSeed<'b, 's, 'de>(&'b mut Builder<'s, 'de>);

impl<'de> DeserializeSeed<'de> for EventSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.0;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match b.schema.slot(&key) {
                Some(Slot::Timestamp) => {
                    let text = map.next_value_seed(AnyStr)?;
                    b.timestamp(text);
                }
                Some(Slot::Ingested(field)) => {
                    if let Some(text) = map.next_value_seed(AnyStr)? {
                        b.ingested(field, &text);
                    }
                }
                Some(Slot::Text(field)) => map.next_value_seed(Leaf { parts: &mut b.parts, field, numbers: false })?,
                Some(Slot::Keyword(field)) => map.next_value_seed(Leaf { parts: &mut b.parts, field, numbers: true })?,
                Some(Slot::Stream(field)) => {
                    if let Some(stream) = map.next_value_seed(AnyStr)? {
                        b.stream(field, stream);
                    }
                }
                Some(Slot::Number(field)) => {
                    if let Some(n) = map.next_value_seed(AnyU64)? {
                        b.parts.push(field, Part::U64(n));
                    }
                }
                Some(Slot::Skip) => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some(Slot::Free) => map.next_value_seed(FreeObject(b))?,
                None if b.schema.free_field_indexed(&key) => {
                    let value = map.next_value_seed(FreeSeed { raw: b.parts.raw })?;
                    b.free(&key, value, true);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A map key, borrowed from the payload when it holds no escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(AnyStr).map(|s| Key(s.unwrap_or_default()))
    }
}

/// Visitor methods that skip values of the kinds named, each answering
/// `$skipped` (sequences and maps are read through first).
macro_rules! skip_values {
    ($de:lifetime, $skipped:expr; $($kind:ident),+) => {
        $(skip_values!(@ $de, $skipped, $kind);)+
    };
    (@ $de:lifetime, $s:expr, str) => { fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> { Ok($s) } };
    (@ $de:lifetime, $s:expr, u64) => { fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> { Ok($s) } };
    (@ $de:lifetime, $s:expr, i64) => { fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> { Ok($s) } };
    (@ $de:lifetime, $s:expr, f64) => { fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> { Ok($s) } };
    (@ $de:lifetime, $s:expr, bool) => { fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> { Ok($s) } };
    (@ $de:lifetime, $s:expr, unit) => { fn visit_unit<E>(self) -> Result<Self::Value, E> { Ok($s) } };
    (@ $de:lifetime, $s:expr, seq) => {
        fn visit_seq<A: SeqAccess<$de>>(self, seq: A) -> Result<Self::Value, A::Error> { IgnoredAny.visit_seq(seq).map(|_| $s) }
    };
    (@ $de:lifetime, $s:expr, map) => {
        fn visit_map<A: MapAccess<$de>>(self, map: A) -> Result<Self::Value, A::Error> { IgnoredAny.visit_map(map).map(|_| $s) }
    };
}

/// A string value (borrowed when it can be), `None` for any other value.
struct AnyStr;

impl<'de> DeserializeSeed<'de> for AnyStr {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnyStr {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    skip_values!('de, None; bool, u64, i64, f64, unit, seq, map);
}

/// A whole number field: only non-negative integers are kept (as before:
/// `Value::as_u64`).
struct AnyU64;

impl<'de> DeserializeSeed<'de> for AnyU64 {
    type Value = Option<u64>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnyU64 {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).ok())
    }
    skip_values!('de, None; f64, str, bool, unit, seq, map);
}

/// A text or keyword value added to the document as it is read; a keyword
/// also takes numbers (as their JSON text), other values are skipped.
struct Leaf<'p, 'de> {
    parts: &'p mut Parts<'de>,
    field: Field,
    numbers: bool,
}

impl<'de> DeserializeSeed<'de> for Leaf<'_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Leaf<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.parts.push_str(self.field, v);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.parts.push(self.field, Part::Str(Text::Owned(v.into())));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        if self.numbers {
            self.parts.push_number_text(self.field, v);
        }
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        if self.numbers {
            self.parts.push_number_text(self.field, v);
        }
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        if self.numbers {
            self.parts.push_float_text(self.field, v);
        }
        Ok(())
    }
    skip_values!('de, (); bool, unit, seq, map);
}

/// The `fields` object: its indexed entries join the free fields (where
/// a top-level key of the same name wins, [`free_object`]).
struct FreeObject<'b, 's, 'de>(&'b mut Builder<'s, 'de>);

impl<'de> DeserializeSeed<'de> for FreeObject<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FreeObject<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of free fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.0;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if b.schema.free_field_indexed(&key) {
                let value = map.next_value_seed(FreeSeed { raw: b.parts.raw })?;
                b.free(&key, value, false);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    skip_values!('de, (); str, u64, i64, f64, bool, unit, seq);
}

/// A free field's value as tantivy would convert it from a
/// `serde_json::Value` (`OwnedValue::from`: numbers as `i64` when they
/// fit, strings that are RFC 3339 times as dates), without building one:
/// a string that cannot be a time is a span of the payload when it has no
/// escapes. Strings that may be times, arrays and objects still go through
/// `OwnedValue::from`, for the same conversion of what they hold.
struct FreeSeed<'de> {
    raw: &'de str,
}

impl FreeValue {
    /// A string that tantivy may read as a time (it tries only those
    /// starting with a digit), converted by tantivy.
    fn maybe_time(v: &str) -> Option<FreeValue> {
        v.as_bytes()
            .first()
            .is_some_and(u8::is_ascii_digit)
            .then(|| FreeValue::Owned(OwnedValue::from(serde_json::Value::String(v.to_owned()))))
    }

    /// A string: a span of `raw` when borrowed from it and not maybe a time.
    fn of_str(raw: &str, v: Cow<'_, str>) -> FreeValue {
        FreeValue::maybe_time(&v).unwrap_or_else(|| match v {
            Cow::Borrowed(v) => FreeValue::Str(Text::of(raw, v)),
            Cow::Owned(v) => FreeValue::Str(Text::Owned(v.into())),
        })
    }

    /// A whole number: `i64` when it fits.
    fn of_u64(v: u64) -> FreeValue {
        i64::try_from(v).map_or(FreeValue::U64(v), FreeValue::I64)
    }

    /// A float: null when not finite, as `serde_json::Value::from` makes it.
    fn of_f64(v: f64) -> FreeValue {
        if v.is_finite() { FreeValue::F64(v) } else { FreeValue::Null }
    }

    /// An array or an object, converted by tantivy.
    fn of_json(value: serde_json::Value) -> FreeValue {
        FreeValue::Owned(OwnedValue::from(value))
    }
}

impl<'de> DeserializeSeed<'de> for FreeSeed<'de> {
    type Value = FreeValue;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<FreeValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FreeSeed<'de> {
    type Value = FreeValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<FreeValue, E> {
        Ok(FreeValue::of_str(self.raw, Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<FreeValue, E> {
        Ok(FreeValue::of_str(self.raw, Cow::Owned(v.to_owned())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<FreeValue, E> {
        Ok(FreeValue::of_u64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<FreeValue, E> {
        Ok(FreeValue::I64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<FreeValue, E> {
        Ok(FreeValue::of_f64(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<FreeValue, E> {
        Ok(FreeValue::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<FreeValue, E> {
        Ok(FreeValue::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<FreeValue, A::Error> {
        let value = de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(FreeValue::of_json(serde_json::Value::Array(value)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FreeValue, A::Error> {
        let value = de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(FreeValue::of_json(serde_json::Value::Object(value)))
    }
}
