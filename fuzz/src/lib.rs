//! Shared invariants of the fuzz targets.

use chrono::{DateTime, Utc};
use logwarden_event::Event;

pub fn received() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_323_200, 0).expect("valid time") // 2026-03-01T00:00:00Z
}

/// Runs one parser on `line`: when it declines, the event must be exactly
/// as before (a parser either recognizes input or leaves it alone); either
/// way the raw line is kept and the event encodes to the wire format.
pub fn check_parser(line: &str, parse: impl FnOnce(&str, &mut Event) -> bool) {
    let fresh = Event::new(line, received());
    let mut event = fresh.clone();
    let recognized = parse(line, &mut event);
    assert_eq!(event.original, line, "event.original must be the input");
    if !recognized {
        assert_eq!(event, fresh, "a parser that declines must leave the event untouched");
    }
    let payload = logwarden_event::wire::encode(&event);
    logwarden_event::wire::decode(&payload).expect("an encoded event decodes");
    let mut written = Vec::new();
    logwarden_event::wire::encode_into(&event, &mut written);
    assert_eq!(written, payload, "the hand-written encoder writes serde's bytes");
}
