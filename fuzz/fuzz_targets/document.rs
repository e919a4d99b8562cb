#![no_main]
//! The indexer's one-pass mapping of a wire payload to the document tantivy
//! reads in place (`LogSchema::document`): any bytes give a document or a
//! reason, never a panic, and every value of the document can be read
//! (its spans cut inside the payload). Any bytes give the same document
//! (spans and all) or the same reason whether the fast reader reads them
//! or serde_json does. Any JSON object, written back by
//! serde_json (one value per key), maps to the same fields and values as
//! `to_document` makes from the decoded event, with the default free
//! fields and with every free field indexed. Any text reads as the same
//! time (or none) through `parse_time`'s fast path as through chrono's
//! RFC 3339 parser.
use libfuzzer_sys::fuzz_target;
use logwarden_store::schema::{FreeFields, LogSchema, parse_time};
use serde_json::{Map, Value};
use tantivy::{Document, TantivyDocument};

fn sorted(doc: &TantivyDocument) -> Vec<String> {
    let mut values: Vec<String> = doc
        .field_values()
        .map(|(field, value)| format!("{}={:?}", field.field_id(), tantivy::schema::OwnedValue::from(value)))
        .collect();
    values.sort();
    values
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let chrono = chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc());
        assert_eq!(parse_time(text), chrono, "{text:?}");
    }
    let schemas = [LogSchema::new(), LogSchema::with_free_fields(FreeFields::new(&["*"]))];
    let outcome = |mapped: Result<logwarden_store::schema::Mapped, String>| {
        mapped.map(|m| format!("{:?} {} {}", m.document, m.timestamp, m.stream()))
    };
    for schema in &schemas {
        assert_eq!(outcome(schema.document(data, 1)), outcome(schema.document_through_serde(data, 1)));
        if let Ok(mapped) = schema.document(data, 1) {
            assert!(!mapped.stream().is_empty());
            std::hint::black_box(mapped.document.into_tantivy_document());
        }
    }
    let Ok(event) = serde_json::from_slice::<Map<String, Value>>(data) else { return };
    let canonical = serde_json::to_string(&event).expect("a decoded object encodes");
    for schema in &schemas {
        if let Ok(mapped) = schema.document(canonical.as_bytes(), 1) {
            let expected = schema.to_document(&event, &canonical, 1, mapped.timestamp);
            assert_eq!(sorted(&mapped.document.into_tantivy_document()), sorted(&expected), "{canonical}");
        }
    }
});
