#![no_main]
//! Query text as `q` and `query_string` carry it: refused or compiled,
//! never a panic, and within the stack a tokio worker has (libFuzzer runs
//! on the main thread; its 8 MiB are checked by a 2 MiB thread below).
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use logwarden_store::schema::LogSchema;
use logwarden_query_api::search::QueryCompiler;

fuzz_target!(|text: &str| {
    static COMPILER: OnceLock<QueryCompiler> = OnceLock::new();
    let compiler = COMPILER.get_or_init(|| QueryCompiler::new(&LogSchema::new()));
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn_scoped(scope, || {
                let _ = compiler.compile(text);
            })
            .expect("spawning the parse thread")
            .join()
            .expect("compiling query text never panics");
    });
});
