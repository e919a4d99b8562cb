#![no_main]
//! Query text as `q` and `query_string` carry it: refused or compiled,
//! never a panic, and within the stack a tokio worker has (libFuzzer runs
//! on the main thread; its 8 MiB are checked by a 2 MiB thread below).
//! What compiles is also run against a small index (events with free
//! fields of every JSON type): building a query's weight must not panic
//! either, since a search does that on the request's thread.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use logwarden_store::EventDocument;
use logwarden_store::schema::LogSchema;
use logwarden_query_api::search::QueryCompiler;
use tantivy::collector::Count;
use tantivy::{Index, Searcher};

fn searcher(schema: &LogSchema) -> Searcher {
    let index = Index::create_in_ram(schema.schema.clone());
    let mut writer: tantivy::IndexWriter<EventDocument> = index.writer(15_000_000).expect("writer");
    for (offset, payload) in [
        r#"{"@timestamp":"2026-01-01T00:00:00Z","event.id":"f1:42","host.name":"web01","message":"Failed password for root","log.offset":42,"process.pid":7,"fields":{"ssh.method":"password","http.response.status_code":503,"source.bytes":1.5,"source.packets":18446744073709551615,"file.mtime":"2026-01-01T00:00:03Z","user.roles":["a","b"],"url":{"path":"/x"}}}"#,
        r#"{"@timestamp":"2026-01-01T00:00:01Z","event.id":"f1:43","message":"b","url.path":"/login","source.packets":-3,"tls.established":true}"#,
    ]
    .into_iter()
    .enumerate()
    {
        let mapped = schema.document(payload.as_bytes(), offset as u64).expect("a valid event");
        writer.add_document(mapped.document).expect("add");
    }
    writer.commit().expect("commit");
    index.reader().expect("reader").searcher()
}

fuzz_target!(|text: &str| {
    static COMPILER: OnceLock<(QueryCompiler, Searcher)> = OnceLock::new();
    let (compiler, searcher) = COMPILER.get_or_init(|| {
        let schema = LogSchema::new();
        (QueryCompiler::new(&schema), searcher(&schema))
    });
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn_scoped(scope, || {
                if let Ok(query) = compiler.compile(text) {
                    let _ = searcher.search(&query, &Count);
                }
            })
            .expect("spawning the parse thread")
            .join()
            .expect("compiling and running query text never panics");
    });
});
