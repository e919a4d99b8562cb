//! Encoding events for Kafka within its message size limit.

use logwarden_event::{Event, wire};

use crate::spool::Record;

/// Kafka's default message size limit, with room for the record overhead.
const MAX_PAYLOAD: usize = 900_000;

/// Longest text kept per value once an event has to be cut.
const CUT_VALUE: usize = 1024;

/// Encodes the event; one that would exceed Kafka's message limit (JSON
/// escaping can multiply a line's size) is cut until it fits and flagged,
/// never dropped and never left to fail forever: first the text (halved
/// until it fits), then every other string value, then the free fields.
/// Each step shrinks the event, and after the last one it is a few dozen
/// short values, so the loop ends.
pub fn encode_within_limit(event: &mut logwarden_event::Event, payload: &mut Vec<u8>) {
    payload.clear();
    append_within_limit(event, payload);
}

/// [`encode_within_limit`], appending the encoded event to `buf` (after
/// the events already in it) instead of replacing its content.
pub fn append_within_limit(event: &mut logwarden_event::Event, buf: &mut Vec<u8>) {
    let start = buf.len();
    let mut values_cut = false;
    loop {
        buf.truncate(start);
        wire::encode_into(event, buf);
        if buf.len() - start <= MAX_PAYLOAD {
            return;
        }
        if event.original.len() > CUT_VALUE || event.message.len() > CUT_VALUE {
            let keep = (event.original.len().max(event.message.len()) / 2).max(CUT_VALUE);
            event.original = truncate_at_char(&event.original, keep);
            event.message = truncate_at_char(&event.message, keep);
            event.parse_error = Some(format!(
                "event larger than {MAX_PAYLOAD} bytes encoded; text truncated"
            ));
        } else if !values_cut {
            cut_values(event);
            values_cut = true;
            event.parse_error = Some(format!(
                "event larger than {MAX_PAYLOAD} bytes encoded; text and values truncated to {CUT_VALUE} bytes"
            ));
        } else {
            let dropped = event.fields.len();
            event.fields.clear();
            event.parse_error = Some(format!(
                "event larger than {MAX_PAYLOAD} bytes encoded; text and values truncated, {dropped} free fields dropped"
            ));
        }
    }
}

/// Cuts every string of the event (ECS values and free fields) to
/// [`CUT_VALUE`] bytes.
fn cut_values(event: &mut logwarden_event::Event) {
    for value in [
        &mut event.id,
        &mut event.host_name,
        &mut event.host_ip,
        &mut event.log_file_path,
        &mut event.log_source_address,
        &mut event.log_level,
        &mut event.process_name,
        &mut event.source_ip,
        &mut event.destination_ip,
        &mut event.user_name,
        &mut event.event_category,
        &mut event.event_action,
        &mut event.event_outcome,
        &mut event.event_code,
        &mut event.observer_vendor,
        &mut event.observer_product,
    ]
    .into_iter()
    .flatten()
    {
        if value.len() > CUT_VALUE {
            *value = truncate_at_char(value, CUT_VALUE);
        }
    }
    for value in event.fields.values_mut() {
        cut_json(value);
    }
}

fn cut_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.len() > CUT_VALUE => *text = truncate_at_char(text, CUT_VALUE),
        serde_json::Value::Array(items) => items.iter_mut().for_each(cut_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(cut_json),
        _ => {}
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

    #[test]
    fn appending_keeps_the_events_before_and_cuts_only_the_new_one() {
        let mut first = Event::new("first line", chrono::Utc::now());
        let mut buf = Vec::new();
        append_within_limit(&mut first, &mut buf);
        let first_end = buf.len();
        assert_eq!(buf, wire::encode(&first));
        let mut big = Event::new("\u{1}".repeat(400_000), chrono::Utc::now());
        append_within_limit(&mut big, &mut buf);
        assert_eq!(wire::decode(&buf[..first_end]).unwrap().original, "first line");
        assert!(buf.len() - first_end <= MAX_PAYLOAD);
        assert!(big.parse_error.as_deref().unwrap().contains("truncated"));
        assert_eq!(wire::decode(&buf[first_end..]).unwrap().original, big.original);
    }

    #[test]
    fn oversized_values_outside_the_text_are_cut_too() {
        // A JSON document whose bulk is in free fields and ECS values: the
        // text alone cannot be cut enough (this looped forever before).
        let mut event = Event::new("{}", chrono::Utc::now());
        event.user_name = Some("u".repeat(2_000_000));
        event.fields.insert("big".into(), serde_json::Value::String("x".repeat(2_000_000)));
        event.fields.insert("nested".into(), serde_json::json!({"a": ["y".repeat(500_000)]}));
        let mut payload = Vec::new();
        encode_within_limit(&mut event, &mut payload);
        assert!(payload.len() <= MAX_PAYLOAD);
        assert_eq!(event.user_name.as_ref().unwrap().len(), CUT_VALUE);
        assert_eq!(event.fields["big"].as_str().unwrap().len(), CUT_VALUE);
        assert!(event.parse_error.as_deref().unwrap().contains("values truncated"));
        // So many small free fields that only dropping them fits.
        let mut event = Event::new("{}", chrono::Utc::now());
        for i in 0..200_000 {
            event.fields.insert(format!("f{i}"), serde_json::Value::String("v".repeat(10)));
        }
        encode_within_limit(&mut event, &mut payload);
        assert!(payload.len() <= MAX_PAYLOAD);
        assert!(event.fields.is_empty());
        assert!(event.parse_error.as_deref().unwrap().contains("200000 free fields dropped"));
    }
}
