//! Raw tantivy, two ways, on the same events the indexer gets:
//!
//! - [`index`]: a plain index with a timestamp (fast), a keyword, a text and
//!   a stored field: tantivy's ceiling for a log line (the "4 fields"
//!   baseline).
//! - [`index_same_schema`]: the indexer's own `LogSchema` and its own
//!   mapping from payload to document: the same documents the indexer
//!   writes, so the ratio to it is the pipeline's overhead (decoding,
//!   Kafka, commits) and nothing the schema decides. Its CPU-seconds are
//!   measured too (tantivy's threads and the adding thread, document
//!   building left out), for a per CPU-second ratio that the host's other
//!   load and the indexer's start-up do not move.
//!
//! Both use as many writer threads as the indexer has workers, 64 MB each,
//! and commit once at the end.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use logwarden_store::EventDocument;
use logwarden_store::schema::LogSchema;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, INDEXED, STORED, STRING, Schema, TEXT,
};
use tantivy::{DateTime, Index, TantivyDocument};

use crate::corpus::Payloads;
use crate::process::check_interrupted;

/// Per writer thread, the same budget as the indexer's default
/// `writer_memory_mb`.
const MEMORY_PER_THREAD: usize = 64 * 1024 * 1024;

/// Documents built ahead of each timed stretch of the same-schema baseline.
/// Building is left out of its timing; the writer's queue (10,000
/// documents) may still be draining when a stretch ends, so up to ~5% of
/// the indexing work can fall outside the timing: in the baseline's favour.
const CHUNK: usize = 200_000;

/// Indexes every payload with `threads` writer threads and commits once;
/// returns the time from the first document to the end of the commit.
pub fn index(payloads: &Payloads, dir: &Path, threads: usize) -> anyhow::Result<Duration> {
    let mut builder = Schema::builder();
    let date = DateOptions::from(INDEXED)
        .set_fast()
        .set_precision(DateTimePrecision::Microseconds);
    let timestamp = builder.add_date_field("@timestamp", date);
    let host = builder.add_text_field("host.name", STRING | FAST);
    let message = builder.add_text_field("message", TEXT);
    let source = builder.add_text_field("_source", STORED);
    let schema = builder.build();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let index = Index::create_in_dir(dir, schema).context("creating the baseline index")?;
    let mut writer = index
        .writer_with_num_threads(threads, MEMORY_PER_THREAD * threads)
        .context("baseline index writer")?;
    let started = Instant::now();
    for (i, record) in payloads.iter().enumerate() {
        if i % 100_000 == 0 {
            check_interrupted()?;
        }
        let mut doc = TantivyDocument::new();
        doc.add_date(
            timestamp,
            DateTime::from_timestamp_micros(record.timestamp_micros),
        );
        doc.add_text(host, record.key);
        doc.add_text(message, record.message);
        // Payloads are the JSON the collector wrote: UTF-8 by construction.
        doc.add_text(
            source,
            std::str::from_utf8(record.payload).unwrap_or_default(),
        );
        writer.add_document(doc).context("baseline add_document")?;
    }
    writer.commit().context("baseline commit")?;
    let elapsed = started.elapsed();
    writer.wait_merging_threads().context("baseline merges")?;
    Ok(elapsed)
}

/// What the same-schema baseline took: wall clock and CPU, both without
/// building the documents (see [`CHUNK`]).
#[derive(Debug, Clone, Copy)]
pub struct SameSchemaRun {
    /// From the first document added to the end of the commit, building
    /// left out.
    pub elapsed: Duration,
    /// CPU-seconds of this process over the same span (tantivy's indexing,
    /// doc store and merge threads, and the thread adding documents),
    /// less what this thread spent building documents. Other threads of
    /// the bench are idle meanwhile (librdkafka's clients poll; a few ms).
    pub cpu_seconds: f64,
}

/// Indexes every payload as the indexer maps it (`LogSchema`, the
/// payload's offset in the corpus as `_offset`) with `threads` writer
/// threads and one commit.
pub fn index_same_schema(
    payloads: &Payloads,
    dir: &Path,
    threads: usize,
) -> anyhow::Result<SameSchemaRun> {
    let schema = LogSchema::new();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let index = Index::builder()
        .schema(schema.schema.clone())
        .settings(LogSchema::index_settings())
        .create_in_dir(dir)
        .context("creating the same-schema baseline index")?;
    let mut writer = index
        .writer_with_num_threads(threads, MEMORY_PER_THREAD * threads)
        .context("same-schema baseline index writer")?;
    let mut timed = Duration::ZERO;
    let mut building = 0.0;
    let process_before = cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)?;
    let mut chunk: Vec<EventDocument> = Vec::with_capacity(CHUNK.min(payloads.len()));
    for start in (0..payloads.len()).step_by(CHUNK) {
        check_interrupted()?;
        let built_from = cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)?;
        for i in start..(start + CHUNK).min(payloads.len()) {
            let payload = payloads.get(i).payload;
            let doc = schema
                .document(payload, i as u64)
                .map_err(|reason| anyhow::anyhow!("payload {i} is not an event: {reason}"))?;
            chunk.push(doc.document);
        }
        building += cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)? - built_from;
        let started = Instant::now();
        for doc in chunk.drain(..) {
            writer.add_document(doc).context("same-schema add_document")?;
        }
        timed += started.elapsed();
    }
    let started = Instant::now();
    writer.commit().context("same-schema commit")?;
    timed += started.elapsed();
    let cpu_seconds = cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)? - process_before - building;
    writer.wait_merging_threads().context("same-schema merges")?;
    Ok(SameSchemaRun { elapsed: timed, cpu_seconds })
}

/// Seconds on `clock` (`CLOCK_PROCESS_CPUTIME_ID`: every thread of this
/// process; `CLOCK_THREAD_CPUTIME_ID`: the calling thread), to the
/// nanosecond rather than /proc's 10 ms ticks.
pub(crate) fn cpu_clock(clock: libc::clockid_t) -> anyhow::Result<f64> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write to.
    let rc = unsafe { libc::clock_gettime(clock, &mut now) };
    anyhow::ensure!(rc == 0, "clock_gettime({clock}): {}", std::io::Error::last_os_error());
    Ok(now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use logwarden_generator::Limit;
    use logwarden_store::schema::{FreeFields, LogSchema};
    use serde_json::{Map, Value};
    use tantivy::schema::Schema;
    use logwarden_store::EventDocument;
    use tantivy::Index;

    use super::MEMORY_PER_THREAD;
    use crate::corpus;

    /// `LogSchema`'s fields in its order (so its documents fit), with the
    /// options it had before near-unique values became doc values only:
    /// `@timestamp`, `event.ingested`, `_offset`, `event.id` and
    /// `log.offset` indexed too.
    fn indexed_near_unique() -> Schema {
        use logwarden_event::fields;
        use tantivy::schema::*;
        let mut b = Schema::builder();
        let date = DateOptions::from(INDEXED).set_fast().set_precision(DateTimePrecision::Microseconds);
        b.add_date_field(fields::TIMESTAMP, date.clone());
        b.add_date_field(fields::INGESTED, date);
        b.add_text_field(fields::MESSAGE, TEXT);
        b.add_text_field("_source", STORED);
        b.add_u64_field("_offset", INDEXED | FAST);
        let json = JsonObjectOptions::default().set_expand_dots_enabled().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("raw").set_index_option(IndexRecordOption::Basic),
        );
        b.add_json_field(fields::FIELDS, json);
        for name in fields::KEYWORDS {
            b.add_text_field(name, STRING.set_fast("raw"));
        }
        for name in fields::NUMBERS {
            b.add_u64_field(name, INDEXED | FAST);
        }
        b.build()
    }

    /// A number from the environment variable `name`, else `default`.
    fn env_number(name: &str, default: usize) -> usize {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// The bench's corpus of `LEVER_LINES` lines (else `default_lines`),
    /// encoded as the collector would; the directory lives as long as the
    /// first value.
    fn lever_corpus(default_lines: usize) -> (tempfile::TempDir, corpus::Payloads) {
        let lines = env_number("LEVER_LINES", default_lines);
        let dir = tempfile::tempdir().unwrap();
        let info = corpus::generate(&dir.path().join("c"), Limit::Lines(lines), Duration::from_secs(86_400), 1, 0.2).unwrap();
        (dir, corpus::encode(&info).unwrap())
    }

    /// CPU-seconds (user + system) of this process so far.
    fn cpu_seconds() -> f64 {
        crate::process::usage_of(std::process::id()).unwrap().cpu_seconds
    }

    /// Indexes prebuilt `docs` with `threads` writer threads and one commit.
    fn index_docs<D: tantivy::Document>(schema: &Schema, docs: Vec<D>, threads: usize) -> Duration {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::create_in_dir(dir.path(), schema.clone()).unwrap();
        let mut writer: tantivy::IndexWriter<D> = index.writer_with_num_threads(threads, MEMORY_PER_THREAD * threads).unwrap();
        let started = Instant::now();
        for doc in docs {
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        started.elapsed()
    }

    /// A new index of `tantivy_schema` with `settings` in a temporary
    /// directory, holding the corpus's documents as the indexer maps them
    /// (built before the timing), two writer threads, one commit, merges
    /// waited for: the index, its directory, the process's CPU-seconds and
    /// the wall time the indexing took.
    fn index_corpus(
        payloads: &corpus::Payloads,
        tantivy_schema: &Schema,
        settings: tantivy::IndexSettings,
    ) -> (Index, tempfile::TempDir, f64, Duration) {
        let schema = LogSchema::new();
        let docs: Vec<EventDocument> =
            payloads.iter().enumerate().map(|(i, r)| schema.document(r.payload, i as u64).unwrap().document).collect();
        let dir = tempfile::tempdir().unwrap();
        let index = Index::builder().schema(tantivy_schema.clone()).settings(settings).create_in_dir(dir.path()).unwrap();
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        let mut writer: tantivy::IndexWriter<EventDocument> = index.writer_with_num_threads(2, MEMORY_PER_THREAD * 2).unwrap();
        for doc in docs {
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        writer.wait_merging_threads().unwrap();
        (index, dir, cpu_seconds() - cpu0, wall0.elapsed())
    }

    /// The same-schema baseline indexes every payload, and counts CPU
    /// spent on it without the documents' building: less than the process
    /// spent over the whole call, more than nothing.
    #[test]
    fn the_same_schema_baseline_indexes_every_payload_and_counts_its_cpu() {
        let dir = tempfile::tempdir().unwrap();
        let info = corpus::generate(&dir.path().join("c"), Limit::Lines(3_000), Duration::from_secs(3_600), 1, 0.2).unwrap();
        let payloads = corpus::encode(&info).unwrap();
        let before = super::cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID).unwrap();
        let run = super::index_same_schema(&payloads, &dir.path().join("index"), 2).unwrap();
        let whole_call = super::cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID).unwrap() - before;
        assert!(run.cpu_seconds > 0.0, "{run:?}");
        assert!(run.cpu_seconds < whole_call, "{run:?}, the whole call {whole_call} CPU-s");
        assert!(run.elapsed > Duration::ZERO);
        let index = Index::open_in_dir(dir.path().join("index")).unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.num_docs(), payloads.len() as u64);
        assert_eq!(payloads.len(), 3_000);
    }

    /// The levers' effects on the corpus's events, in microseconds of one
    /// thread per event: decoding + mapping (through a `Value` or in one
    /// pass), and indexing with every free field or the default list.
    /// Prints; asserts nothing about time (`cargo test --release -p
    /// logwarden-bench --lib levers -- --ignored --nocapture`; LEVER_LINES
    /// sets the corpus size).
    #[test]
    #[ignore = "a measurement, not a test: run it by hand in release"]
    fn levers() {
        let (_dir, payloads) = lever_corpus(200_000);
        let n = payloads.len() as f64;
        let per_event = |d: Duration| d.as_secs_f64() * 1e6 / n;
        let schema = LogSchema::new();
        let every = LogSchema::with_free_fields(FreeFields::new(&["*"]));
        let started = Instant::now();
        for (i, record) in payloads.iter().enumerate() {
            let raw = std::str::from_utf8(record.payload).unwrap();
            let map: Map<String, Value> = serde_json::from_str(raw).unwrap();
            let time = map["@timestamp"].as_str().and_then(logwarden_store::schema::parse_time).unwrap();
            std::hint::black_box(every.to_document(&map, raw, i as u64, time));
        }
        println!("decode into Value + to_document, every free field: {:.2} us/event", per_event(started.elapsed()));
        // What any mapping pays before its own work: UTF-8 validation and
        // serde_json reading every value without keeping one; and the
        // payload copied once.
        let started = Instant::now();
        for record in payloads.iter() {
            let raw = std::str::from_utf8(record.payload).unwrap();
            std::hint::black_box(serde_json::from_str::<serde::de::IgnoredAny>(raw).unwrap());
        }
        println!("floor: UTF-8 check + serde_json skipping every value: {:.2} us/event", per_event(started.elapsed()));
        let started = Instant::now();
        for record in payloads.iter() {
            std::hint::black_box(record.payload.to_vec());
        }
        println!("floor: the payload copied: {:.2} us/event", per_event(started.elapsed()));
        for (name, schema) in [("every free field", &every), ("default list", &schema)] {
            let started = Instant::now();
            for (i, record) in payloads.iter().enumerate() {
                std::hint::black_box(schema.document(record.payload, i as u64).unwrap());
            }
            println!("one-pass document(), {name}: {:.2} us/event", per_event(started.elapsed()));
        }
        let before = indexed_near_unique();
        for threads in [1, 2] {
            for (name, schema, tantivy_schema) in [
                ("near-unique values indexed, every free field (as before)", &every, &before),
                ("near-unique values as doc values, every free field", &every, &every.schema),
                ("near-unique values as doc values, default list (now)", &schema, &schema.schema),
            ] {
                let docs = payloads.iter().enumerate().map(|(i, r)| schema.document(r.payload, i as u64).unwrap().document).collect();
                let took = index_docs(tantivy_schema, docs, threads);
                println!("indexing, {threads} thread(s), {name}: {:.2} us/event wall, {:.2} us/event per thread", per_event(took), per_event(took) * threads as f64);
            }
        }
    }

    /// What the indexer's layout costs tantivy, in CPU-seconds of this
    /// process for the same prebuilt documents: one index (two writer
    /// threads) against one index per stream and partition (one thread
    /// each, as the indexer's splits), each committed once or every
    /// `every` documents (all indexes at once, as a commit round does).
    /// Prints; asserts nothing about time (`LEVER_LINES=600000 cargo test
    /// --release -p logwarden-bench --lib split_layout -- --ignored
    /// --nocapture`).
    #[test]
    #[ignore = "a measurement, not a test: run it by hand in release"]
    fn split_layout() {
        use tantivy::indexer::{IndexWriterOptions, NoMergePolicy};
        let (_dir, payloads) = lever_corpus(600_000);
        let schema = LogSchema::new();
        let layouts: &[(&str, bool, Option<usize>)] = &[
            ("one index, 2 threads, one commit", false, None),
            ("one index, 2 threads, commit every 130k", false, Some(130_000)),
            ("one index, 2 threads, commit every 26k", false, Some(26_000)),
            ("stream x 2 partitions, 1 thread each, one commit", true, None),
            ("stream x 2 partitions, 1 thread each, commit every 650k", true, Some(650_000)),
            ("stream x 2 partitions, 1 thread each, commit every 130k", true, Some(130_000)),
        ];
        for round in 0..2 {
            for (name, split, every) in layouts {
                let mut routed: Vec<(usize, EventDocument)> = Vec::with_capacity(payloads.len());
                let mut streams: Vec<String> = Vec::new();
                for (i, record) in payloads.iter().enumerate() {
                    let mapped = schema.document(record.payload, i as u64).unwrap();
                    let slot = if *split {
                        let s = streams.iter().position(|s| s == mapped.stream()).unwrap_or_else(|| {
                            streams.push(mapped.stream().to_string());
                            streams.len() - 1
                        });
                        s * 2 + i % 2
                    } else {
                        0
                    };
                    routed.push((slot, mapped.document));
                }
                let count = if *split { streams.len() * 2 } else { 1 };
                let dirs: Vec<_> = (0..count).map(|_| tempfile::tempdir().unwrap()).collect();
                let mut writers: Vec<tantivy::IndexWriter<EventDocument>> = dirs
                    .iter()
                    .map(|d| {
                        let index = Index::builder()
                            .schema(schema.schema.clone())
                            .settings(LogSchema::index_settings())
                            .create_in_dir(d.path())
                            .unwrap();
                        let threads = if *split { 1 } else { 2 };
                        let options = IndexWriterOptions::builder()
                            .memory_budget_per_thread(MEMORY_PER_THREAD)
                            .num_worker_threads(threads)
                            .num_merge_threads(1)
                            .build();
                        let writer: tantivy::IndexWriter<EventDocument> = index.writer_with_options(options).unwrap();
                        writer.set_merge_policy(Box::new(NoMergePolicy));
                        writer
                    })
                    .collect();
                let commit_all = |writers: &mut Vec<tantivy::IndexWriter<EventDocument>>| {
                    std::thread::scope(|scope| {
                        for w in writers.iter_mut() {
                            scope.spawn(move || w.commit().unwrap());
                        }
                    });
                };
                let (cpu0, wall0) = (cpu_seconds(), Instant::now());
                for (n, (slot, doc)) in routed.into_iter().enumerate() {
                    writers[slot].add_document(doc).unwrap();
                    if every.is_some_and(|e| (n + 1) % e == 0) {
                        commit_all(&mut writers);
                    }
                }
                commit_all(&mut writers);
                let (cpu_s, wall) = (cpu_seconds() - cpu0, wall0.elapsed());
                let segments: usize = writers.iter().map(|w| w.index().searchable_segment_ids().unwrap().len()).sum();
                println!(
                    "round {round}: {name}: {:.2} us CPU/event, {:.2} s wall, {segments} segments",
                    cpu_s * 1e6 / payloads.len() as f64,
                    wall.as_secs_f64()
                );
            }
        }
    }

    /// What `event.id` (unique to every event) costs tantivy as a keyword
    /// (indexed and a column, as it was), indexed only, as a column only
    /// (as it is), or stored only: the corpus's documents, 2 writer
    /// threads, one commit. Prints CPU microseconds per event and index
    /// bytes; asserts nothing about time.
    #[test]
    #[ignore = "a measurement, not a test: run it by hand in release"]
    fn event_id_cost() {
        use logwarden_event::fields;
        use tantivy::schema::{FieldType, IndexRecordOption, STORED, TextFieldIndexing, TextOptions};
        let (_dir, payloads) = lever_corpus(600_000);
        let schema = LogSchema::new();
        let variant = |options: TextOptions| {
            altered(&schema.schema, |name, t| if name == fields::ID { FieldType::Str(options.clone()) } else { t })
        };
        let indexed = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        let variants = [
            ("event.id indexed + doc values (before)", variant(indexed.clone().set_fast("raw"))),
            ("event.id indexed only", variant(indexed)),
            ("event.id doc values only (now)", variant(TextOptions::default().set_fast("raw"))),
            ("event.id stored only (no terms, no column)", variant(TextOptions::from(STORED))),
        ];
        let rounds = env_number("LEVER_ROUNDS", 3);
        for round in 0..rounds {
            for (name, tantivy_schema) in &variants {
                let (_index, dir, cpu_s, wall) = index_corpus(&payloads, tantivy_schema, LogSchema::index_settings());
                println!("round {round}: {name}: {:.2} us CPU/event, {:.2} s wall, {} bytes", cpu_s * 1e6 / payloads.len() as f64, wall.as_secs_f64(), crate::run::dir_bytes(dir.path()));
            }
        }
    }

    /// The merge policy of open splits before the tiered one: the 32
    /// smallest of any 64 segments. Kept here only to measure against.
    #[derive(Debug)]
    struct SmallestHalfOf64;

    impl tantivy::indexer::MergePolicy for SmallestHalfOf64 {
        fn compute_merge_candidates(&self, segments: &[tantivy::index::SegmentMeta]) -> Vec<tantivy::indexer::MergeCandidate> {
            if segments.len() < 64 {
                return Vec::new();
            }
            let mut by_size: Vec<_> = segments.iter().collect();
            by_size.sort_by_key(|s| s.num_docs());
            vec![tantivy::indexer::MergeCandidate(by_size[..32].iter().map(|s| s.id()).collect())]
        }
    }

    /// Counts the documents of the merges a policy starts.
    #[derive(Debug)]
    struct Counted(Box<dyn tantivy::indexer::MergePolicy>, std::sync::Arc<std::sync::atomic::AtomicU64>);

    impl tantivy::indexer::MergePolicy for Counted {
        fn compute_merge_candidates(&self, segments: &[tantivy::index::SegmentMeta]) -> Vec<tantivy::indexer::MergeCandidate> {
            let candidates = self.0.compute_merge_candidates(segments);
            let docs: u64 = candidates
                .iter()
                .flat_map(|c| c.0.iter())
                .filter_map(|id| segments.iter().find(|s| s.id() == *id))
                .map(|s| u64::from(s.num_docs()))
                .sum();
            self.1.fetch_add(docs, std::sync::atomic::Ordering::Relaxed);
            candidates
        }
    }

    /// An open split at steady state: the corpus's documents written into
    /// one split as the indexer's writer does (one indexing thread, one
    /// merge thread, 64 MB), committed every `MERGE_COMMIT_DOCS` documents
    /// (25 by default: an hour of a 100 events/s partition committed four
    /// times a second, for 360,000 lines), then sealed (waiting for its
    /// merges, then merging what is left into one segment). Each merge
    /// policy in alternating rounds, the order swapped each round; prints
    /// CPU-seconds of the process, wall clock, the documents the open
    /// split's merges rewrote per document committed, and the segments
    /// held before the seal. Asserts nothing about time (`TMPDIR=/dev/shm
    /// cargo test --release -p logwarden-bench --lib open_split_merges --
    /// --ignored --nocapture`).
    #[test]
    #[ignore = "a measurement, not a test: run it by hand in release"]
    fn open_split_merges() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        use tantivy::indexer::{IndexWriterOptions, MergePolicy, NoMergePolicy};
        let (_dir, payloads) = lever_corpus(360_000);
        let every = env_number("MERGE_COMMIT_DOCS", 25);
        let schema = LogSchema::new();
        type Policy = fn() -> Box<dyn MergePolicy>;
        let mut policies: [(&str, Policy); 2] = [
            ("before: 32 smallest of 64", || Box::new(SmallestHalfOf64)),
            ("now: tiered by 32", || Box::new(logwarden_indexer::OpenSplitMerges)),
        ];
        for round in 0..env_number("LEVER_ROUNDS", 2) {
            for (name, policy) in &policies {
                let docs: Vec<EventDocument> = payloads.iter().enumerate().map(|(i, r)| schema.document(r.payload, i as u64).unwrap().document).collect();
                let dir = tempfile::tempdir().unwrap();
                let index = Index::builder().schema(schema.schema.clone()).settings(LogSchema::index_settings()).create_in_dir(dir.path()).unwrap();
                let options = IndexWriterOptions::builder()
                    .memory_budget_per_thread(MEMORY_PER_THREAD)
                    .num_worker_threads(1)
                    .num_merge_threads(1)
                    .build();
                let merged = Arc::new(AtomicU64::new(0));
                let (cpu0, wall0) = (cpu_seconds(), Instant::now());
                let mut writer: tantivy::IndexWriter<EventDocument> = index.writer_with_options(options.clone()).unwrap();
                writer.set_merge_policy(Box::new(Counted(policy(), merged.clone())));
                let mut commits = 0;
                for (n, doc) in docs.into_iter().enumerate() {
                    writer.add_document(doc).unwrap();
                    if (n + 1) % every == 0 {
                        writer.commit().unwrap();
                        commits += 1;
                    }
                }
                writer.commit().unwrap();
                writer.wait_merging_threads().unwrap();
                let (open_cpu, open_wall) = (cpu_seconds() - cpu0, wall0.elapsed());
                let segments = index.searchable_segment_ids().unwrap();
                let held = segments.len();
                let mut writer: tantivy::IndexWriter<EventDocument> = index.writer_with_options(options).unwrap();
                writer.set_merge_policy(Box::new(NoMergePolicy));
                writer.merge(&segments).wait().unwrap();
                writer.wait_merging_threads().unwrap();
                let (cpu_s, wall) = (cpu_seconds() - cpu0, wall0.elapsed());
                println!(
                    "round {round}: {name}: {commits} commits: open {open_cpu:.1} CPU-s {:.1} s wall, merges rewrote {:.2} documents per document, {held} segments; with the seal {cpu_s:.1} CPU-s {:.1} s wall, {:.2} us CPU/event",
                    open_wall.as_secs_f64(),
                    merged.load(Ordering::Relaxed) as f64 / payloads.len() as f64,
                    wall.as_secs_f64(),
                    cpu_s * 1e6 / payloads.len() as f64,
                );
            }
            policies.reverse();
        }
    }

    /// The doc store's block size: CPU-seconds of this process to index
    /// the same prebuilt documents with the indexer's schema and settings
    /// but for the block size (two writer threads, one commit), the doc
    /// store's bytes, and reading documents back (one per 97 in document
    /// order, each in a block not yet cached). Prints; asserts nothing
    /// about time (`LEVER_LINES=600000 LEVER_ROUNDS=3 cargo test --release
    /// -p logwarden-bench --lib docstore_blocks -- --ignored --nocapture`).
    #[test]
    #[ignore = "a measurement, not a test: run it by hand in release"]
    fn docstore_blocks() {
        let (_dir, payloads) = lever_corpus(600_000);
        let schema = LogSchema::new();
        for round in 0..env_number("LEVER_ROUNDS", 3) {
            for kib in [64usize, 128, 256] {
                let settings = tantivy::IndexSettings { docstore_blocksize: kib * 1024, ..LogSchema::index_settings() };
                let (index, dir, cpu_s, _) = index_corpus(&payloads, &schema.schema, settings);
                let store_bytes: u64 = std::fs::read_dir(dir.path())
                    .unwrap()
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "store"))
                    .map(|e| e.metadata().unwrap().len())
                    .sum();
                let searcher = index.reader().unwrap().searcher();
                let (mut read, started) = (0u32, Instant::now());
                for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                    // A store reader without a block cache: every read
                    // decompresses its block, as a search's first hit in
                    // a block does.
                    let store = segment.get_store_reader(0).unwrap();
                    for doc in (0..segment.max_doc()).step_by(97) {
                        let doc: tantivy::TantivyDocument = store.get(doc).unwrap();
                        std::hint::black_box((ord, doc));
                        read += 1;
                    }
                }
                let per_read = started.elapsed().as_secs_f64() * 1e6 / f64::from(read);
                println!(
                    "round {round}: blocks of {kib:>3} KiB: {:.2} us CPU/event indexing, doc store {:.1} MB ({:.3} bytes per raw log byte), one event read back {per_read:.0} us",
                    cpu_s * 1e6 / payloads.len() as f64,
                    store_bytes as f64 / 1e6,
                    store_bytes as f64 / payloads.size().raw_bytes as f64,
                );
            }
        }
    }

    /// `schema` with each field's entry passed through `change` (same
    /// fields, same order, same types: the indexer's documents fit).
    fn altered(schema: &Schema, change: impl Fn(&str, tantivy::schema::FieldType) -> tantivy::schema::FieldType) -> Schema {
        let mut builder = Schema::builder();
        for (_, entry) in schema.fields() {
            let field_type = change(entry.name(), entry.field_type().clone());
            builder.add_field(tantivy::schema::FieldEntry::new(entry.name().to_string(), field_type));
        }
        builder.build()
    }

    /// What each part of the schema costs tantivy, in CPU-microseconds per
    /// event for the same prebuilt documents (two writer threads, one
    /// commit, the indexer's settings): the schema as it is, then with one
    /// part left out or made cheaper. Prints; asserts nothing about time
    /// (`LEVER_LINES=600000 LEVER_ROUNDS=3 cargo test --release -p
    /// logwarden-bench --lib schema_parts -- --ignored --nocapture`).
    #[test]
    #[ignore = "a measurement, not a test: run it by hand in release"]
    fn schema_parts() {
        use logwarden_event::fields;
        use tantivy::schema::{FieldType, IndexRecordOption, NumericOptions, TextFieldIndexing, TextOptions};
        let (_dir, payloads) = lever_corpus(600_000);
        let schema = LogSchema::new();
        let now = schema.schema.clone();
        let is_keyword = |name: &str| fields::KEYWORDS.contains(&name);
        let is_number = |name: &str| fields::NUMBERS.contains(&name);
        let message_with = |option: Option<IndexRecordOption>| {
            altered(&now, move |name, t| match (name, option) {
                (fields::MESSAGE, Some(o)) => FieldType::Str(TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default().set_tokenizer("default").set_index_option(o).set_fieldnorms(false),
                )),
                (fields::MESSAGE, None) => FieldType::Str(TextOptions::default()),
                _ => t,
            })
        };
        let keyword_indexing = TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false);
        let variants: Vec<(&str, Schema)> = vec![
            ("as it is", now.clone()),
            ("message: freqs, no positions", message_with(Some(IndexRecordOption::WithFreqs))),
            ("message: terms only", message_with(Some(IndexRecordOption::Basic))),
            ("message: not indexed", message_with(None)),
            ("keywords: indexed, not fast", altered(&now, |name, t| match t {
                FieldType::Str(o) if is_keyword(name) && o.get_indexing_options().is_some() => {
                    FieldType::Str(TextOptions::default().set_indexing_options(keyword_indexing.clone()))
                }
                t => t,
            })),
            ("keywords: fast, not indexed", altered(&now, |name, t| match t {
                FieldType::Str(_) if is_keyword(name) => FieldType::Str(TextOptions::default().set_fast("raw")),
                t => t,
            })),
            ("numbers: indexed too (before)", altered(&now, |name, t| match t {
                FieldType::U64(_) if is_number(name) && name != "log.offset" => {
                    FieldType::U64(NumericOptions::default().set_indexed().set_fast())
                }
                t => t,
            })),
            ("free fields: not indexed", altered(&now, |name, t| match t {
                FieldType::JsonObject(_) if name == fields::FIELDS => FieldType::JsonObject(Default::default()),
                t => t,
            })),
            ("_source: not stored", altered(&now, |name, t| match t {
                FieldType::Str(_) if name == "_source" => FieldType::Str(TextOptions::default()),
                t => t,
            })),
        ];
        for round in 0..env_number("LEVER_ROUNDS", 3) {
            for (name, variant) in &variants {
                let (_index, dir, cpu_s, wall) = index_corpus(&payloads, variant, LogSchema::index_settings());
                let bytes: u64 = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.metadata().unwrap().len()).sum();
                println!(
                    "round {round}: {name:<32} {:>6.2} us CPU/event, {:>6.2} us wall/event, index {:.3} bytes per raw byte",
                    cpu_s * 1e6 / payloads.len() as f64,
                    wall.as_secs_f64() * 1e6 / payloads.len() as f64,
                    bytes as f64 / payloads.size().raw_bytes as f64,
                );
            }
        }
    }
}
