//! Kafka wire format: one JSON object per message, key = `host.name`.

use crate::Event;

/// Encodes an event as a Kafka message payload.
pub fn encode(event: &Event) -> Vec<u8> {
    // Serializing a struct of strings, numbers and a JSON map cannot fail.
    serde_json::to_vec(event).expect("event serializes to JSON")
}

/// Appends the encoded event to `buf` (reuses the caller's allocation).
pub fn encode_into(event: &Event, buf: &mut Vec<u8>) {
    serde_json::to_writer(&mut *buf, event).expect("event serializes to JSON")
}

/// The message key: events of one host stay in one partition, in order.
pub fn key(event: &Event) -> &str {
    event.host_name.as_deref().unwrap_or("")
}

/// Decodes a payload produced by [`encode`] (or by another tool writing the
/// same format).
pub fn decode(payload: &[u8]) -> Result<Event, serde_json::Error> {
    serde_json::from_slice(payload)
}
