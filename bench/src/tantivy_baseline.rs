//! Raw tantivy: the same documents into a plain index with a timestamp
//! (fast), a keyword, a text and a stored field — what the indexer's
//! per-document work is bounded by.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, INDEXED, STORED, STRING, Schema, TEXT,
};
use tantivy::{DateTime, Index, TantivyDocument};

use crate::corpus::Payloads;
use crate::process::check_interrupted;

/// Per writer thread, the same budget as the indexer's default
/// `writer_memory_mb`.
const MEMORY_PER_THREAD: usize = 64 * 1024 * 1024;

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
