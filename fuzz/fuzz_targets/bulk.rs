#![no_main]
//! The `_bulk` reader: any body is refused whole (a malformed action line)
//! or answered with one item per action, every record a decodable event.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = logwarden_collector::http::bulk_items_for_fuzzing(body);
});
