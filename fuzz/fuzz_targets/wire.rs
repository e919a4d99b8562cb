#![no_main]
//! The hand-written event encoder (`wire::encode_into`, its string escaping
//! eight bytes at a time) writes the bytes serde_json writes, for any text
//! in every kind of string the event holds.
use libfuzzer_sys::fuzz_target;
use logwarden_event::{Event, wire};

fuzz_target!(|text: &str| {
    let mut event = Event::new(text, chrono::DateTime::UNIX_EPOCH);
    event.user_name = Some(text.to_string());
    event.fields.insert(text.to_string(), serde_json::Value::String(text.to_string()));
    let mut written = Vec::new();
    wire::encode_into(&event, &mut written);
    assert_eq!(written, serde_json::to_vec(&event).unwrap(), "the encoder and serde_json disagree");
});
