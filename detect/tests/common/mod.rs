//! What the detector's integration tests share: the shared data folder
//! and lines ingested the way the pipeline delivers them.

#![allow(dead_code)]

use chrono::DateTime;
use logwarden_event::{Event, wire};
use logwarden_parse::{LineContext, Parsers};

/// `shared/data` (loghub, SigmaHQ), read in place.
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

/// The collector's parser chain with `[collector.parse]` left at its defaults.
pub fn collector_parsers() -> Parsers {
    logwarden_config::RawConfig::from_toml("")
        .and_then(|raw| raw.validate())
        .expect("the default configuration is valid")
        .collector
        .parse
        .parsers()
}

/// One line as a file source reads it (no stream configured for the file:
/// the routing picks it) through the chain, then through Kafka's wire
/// format.
pub fn ingest(parsers: &Parsers, line: &str, file_path: &str) -> Event {
    let ctx = LineContext {
        ingested: DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().to_utc(),
        host_name: "collector01",
        file_path: Some(file_path),
        stream: None,
    };
    let event = parsers.parse(line, &ctx);
    wire::decode(&wire::encode(&event)).expect("the wire format round-trips")
}
