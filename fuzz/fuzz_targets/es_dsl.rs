#![no_main]
//! The Elasticsearch query DSL: any JSON is refused or translated to query
//! text, and the text compiles or is refused, never a panic.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use logwarden_store::schema::LogSchema;
use logwarden_query_api::search::QueryCompiler;

fuzz_target!(|data: &[u8]| {
    static COMPILER: OnceLock<QueryCompiler> = OnceLock::new();
    let Ok(query) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(text) = logwarden_query_api::search::es::translate_query_for_tests(&query) {
        let compiler = COMPILER.get_or_init(|| QueryCompiler::new(&LogSchema::new()));
        let _ = compiler.compile(&text);
    }
});
