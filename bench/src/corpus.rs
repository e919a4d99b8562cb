//! The corpus (generated log files) and its events encoded the way the
//! collector encodes them: the payloads every baseline sends or indexes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use logwarden_collector::parse::{LineContext, parse_line};
use logwarden_event::wire;
use logwarden_generator::{Corpus, Generator, Limit};
use serde::Serialize;

/// What was generated, where.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusInfo {
    pub dir: PathBuf,
    pub lines: usize,
    /// Raw log bytes, newlines included.
    pub bytes: u64,
    pub files: Vec<(String, usize)>,
    pub first_event: DateTime<Utc>,
    /// The newest event's time: what "the last hour" of the search
    /// queries ends at (the corpus can end hours before it was generated).
    pub last_event: DateTime<Utc>,
    pub generate_seconds: f64,
}

/// Writes the corpus into `dir`: `limit` lines or bytes ending about now.
pub fn generate(
    dir: &Path,
    limit: Limit,
    span: Duration,
    seed: u64,
    json_share: f64,
) -> anyhow::Result<CorpusInfo> {
    let started = Instant::now();
    let span = chrono::Duration::from_std(span).context("--span too large")?;
    let first_event = Utc::now() - span;
    // About 150 bytes a line: lines spread evenly over the span either way.
    let expected_lines = match limit {
        Limit::Lines(n) => n,
        Limit::Bytes(b) => (b / 150).max(1) as usize,
    };
    let step = span / (expected_lines.max(1) as i32);
    let generator = Generator::new(seed, first_event, step).with_json_share(json_share);
    let corpus: Corpus = logwarden_generator::write_corpus(dir, generator, limit)
        .with_context(|| format!("writing the corpus to {}", dir.display()))?;
    Ok(CorpusInfo {
        dir: dir.to_path_buf(),
        lines: corpus.lines(),
        bytes: corpus.bytes(),
        files: corpus
            .files
            .iter()
            .map(|f| (f.kind.file_name().to_string(), f.lines))
            .collect(),
        first_event,
        last_event: corpus.last_event.unwrap_or(first_event),
        generate_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The encoded events of a corpus, packed in a few large buffers.
#[derive(Default)]
pub struct Payloads {
    data: Vec<u8>,
    ends: Vec<usize>,
    keys: String,
    key_ends: Vec<usize>,
    messages: String,
    message_ends: Vec<usize>,
    /// `@timestamp` of each event, microseconds since the epoch.
    pub timestamps: Vec<i64>,
    /// Sum of the raw line sizes (newlines included).
    pub raw_bytes: u64,
    /// Seconds spent in parse + encode (the collector's CPU work per line).
    pub encode_seconds: f64,
}

/// One event: its payload, Kafka key (`wire::key`: its source), message
/// and timestamp.
pub struct Record<'a> {
    pub payload: &'a [u8],
    pub key: &'a str,
    pub message: &'a str,
    pub timestamp_micros: i64,
}

/// How much a stage is given: events and the raw log bytes they came from.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub events: u64,
    pub raw_bytes: u64,
}

impl Payloads {
    pub fn size(&self) -> Size {
        Size { events: self.len() as u64, raw_bytes: self.raw_bytes }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn payload_bytes(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn get(&self, i: usize) -> Record<'_> {
        let start = |ends: &[usize]| if i == 0 { 0 } else { ends[i - 1] };
        Record {
            payload: &self.data[start(&self.ends)..self.ends[i]],
            key: &self.keys[start(&self.key_ends)..self.key_ends[i]],
            message: &self.messages[start(&self.message_ends)..self.message_ends[i]],
            timestamp_micros: self.timestamps[i],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Parses and encodes every line of the corpus with the collector's own
/// `parse_line` and `wire::encode_into`, with what the collector's file
/// source adds to each line: `event.id` (the file's device and inode, and
/// the line's offset) and `log.offset`. So the payloads are the ones the
/// collector produces, and the same-schema baseline indexes the indexer's
/// documents.
pub fn encode(corpus: &CorpusInfo) -> anyhow::Result<Payloads> {
    use std::os::unix::fs::MetadataExt;
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let mut payloads = Payloads::default();
    let mut busy = Duration::ZERO;
    for (file, _) in &corpus.files {
        let path = corpus.dir.join(file);
        let path_text = path.display().to_string();
        let opened = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let meta = opened.metadata().with_context(|| format!("reading {}", path.display()))?;
        // The collector's id: `{dev:x}:{ino:x}:{offset}`.
        let id_prefix = format!("{:x}:{:x}:", meta.dev(), meta.ino());
        let mut offset = 0u64;
        let mut reader = BufReader::new(opened);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            let read = reader
                .read_until(b'\n', &mut bytes)
                .with_context(|| format!("reading {}", path.display()))?;
            if read == 0 {
                break;
            }
            let start = offset;
            offset += read as u64;
            let text = String::from_utf8_lossy(&bytes);
            let line = text.strip_suffix('\n').unwrap_or(&text);
            let line = line.strip_suffix('\r').unwrap_or(line);
            let started = Instant::now();
            let ctx = LineContext {
                ingested: Utc::now(),
                host_name: &host,
                file_path: Some(&path_text),
                stream: None,
            };
            let mut event = parse_line(line, &ctx);
            event.id = Some(format!("{id_prefix}{start}"));
            event.log_offset = Some(start);
            wire::encode_into(&event, &mut payloads.data);
            busy += started.elapsed();
            payloads.ends.push(payloads.data.len());
            payloads.keys.push_str(&wire::key(&event));
            payloads.key_ends.push(payloads.keys.len());
            payloads.messages.push_str(&event.message);
            payloads.message_ends.push(payloads.messages.len());
            payloads.timestamps.push(event.timestamp.timestamp_micros());
            payloads.raw_bytes += read as u64;
        }
    }
    payloads.encode_seconds = busy.as_secs_f64();
    Ok(payloads)
}

/// Writes up to `max` payloads, one a line, for `--payload-file` of
/// kafka-producer-perf-test (JSON payloads hold no raw newline). Payloads
/// are in file order, so a larger corpus is sampled evenly across it, to
/// keep the mix of kinds and sizes.
pub fn write_payload_file(payloads: &Payloads, path: &Path, max: usize) -> anyhow::Result<u64> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut bytes = 0u64;
    let step = payloads.len().div_ceil(max.max(1)).max(1);
    let mut count = 0u64;
    for record in payloads.iter().step_by(step) {
        count += 1;
        out.write_all(record.payload)?;
        out.write_all(b"\n")?;
        bytes += record.payload.len() as u64;
    }
    out.flush()?;
    Ok(bytes / count.max(1))
}
