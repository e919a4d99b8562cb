//! Encoding events for Kafka within its message size limit.

use logwarden_event::{Event, wire};

use crate::spool::Record;

/// Kafka's default message size limit, with room for the record overhead.
const MAX_PAYLOAD: usize = 900_000;

/// Encodes the event; one that would exceed Kafka's message limit (JSON
/// escaping can multiply a line's size) is cut until it fits and flagged,
/// never dropped and never left to fail forever.
pub(crate) fn encode_within_limit(event: &mut logwarden_event::Event, payload: &mut Vec<u8>) {
    loop {
        payload.clear();
        wire::encode_into(event, payload);
        if payload.len() <= MAX_PAYLOAD {
            return;
        }
        let keep = event.original.len() / 2;
        event.original = truncate_at_char(&event.original, keep);
        event.message = truncate_at_char(&event.message, keep);
        event.parse_error = Some(format!(
            "event larger than {MAX_PAYLOAD} bytes encoded; text truncated"
        ));
    }
}

fn truncate_at_char(text: &str, max: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// The Kafka record (key and payload) of an event.
pub fn encode_record(event: &mut Event) -> Record {
    let mut payload = Vec::with_capacity(512);
    encode_within_limit(event, &mut payload);
    Record {
        key: wire::key(event).to_string(),
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_events_are_cut_to_fit_and_flagged() {
        // Control characters are escaped as \u0001: six bytes each in JSON.
        let line = "\u{1}é".repeat(200_000);
        let mut event = Event::new(line.clone(), chrono::Utc::now());
        let mut payload = Vec::new();
        encode_within_limit(&mut event, &mut payload);
        assert!(payload.len() <= MAX_PAYLOAD);
        assert!(event.parse_error.as_deref().unwrap().contains("truncated"));
        assert!(line.starts_with(&event.original));
        assert!(!event.original.is_empty());
        let decoded = wire::decode(&payload).unwrap();
        assert_eq!(decoded.original, event.original);
    }
}
