//! The file source loop: discover files, read new lines, send, settle
//! acknowledgements, save checkpoints. Runs on a dedicated thread.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use logwarden_config::{CollectorConfig, FileInput};
use logwarden_event::wire;
use tokio_util::sync::CancellationToken;

use crate::file::{CheckpointStore, FileId, Joiner, Record, TailedFile};
use crate::kafka::{self, Batch, EventProducer};
use crate::encode::encode_within_limit;
use crate::metrics;
use crate::parse::{LineContext, Parsers};

const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
const IDLE_WAIT: Duration = Duration::from_millis(50);
/// How long shutdown waits for Kafka to acknowledge what is in flight.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(30);

pub struct FileSource {
    config: CollectorConfig,
    topic: String,
    host_name: String,
    files: HashMap<FileId, Tracked>,
    checkpoints: CheckpointStore,
    /// The parser chain of each input (by index), from `collector.parse`
    /// and the input's own `parsers`.
    parsers: Vec<Parsers>,
}

struct Tracked {
    tail: TailedFile,
    /// Index of the input whose glob matched the file.
    input: usize,
    /// Joins continuation lines when the input has `multiline`.
    joiner: Option<Joiner>,
    /// `tail.resets` when the joiner last saw a line.
    resets: u64,
}

impl Tracked {
    /// Read to the end and nothing held back for a multiline event.
    fn is_drained(&self) -> bool {
        self.tail.is_drained().unwrap_or(true) && self.joiner.as_ref().is_none_or(Joiner::is_empty)
    }
}

impl FileSource {
    pub fn new(config: &CollectorConfig, topic: &str, host_name: String) -> anyhow::Result<FileSource> {
        let shared = config.parse.parsers();
        let parsers = config
            .files
            .iter()
            .map(|input| match &input.parsers {
                Some(chain) => shared.with_chain(chain.clone()),
                None => shared.clone(),
            })
            .collect();
        Ok(FileSource {
            parsers,
            config: config.clone(),
            topic: topic.to_string(),
            host_name,
            files: HashMap::new(),
            checkpoints: CheckpointStore::open(&config.checkpoint_dir)?,
        })
    }

    /// Runs until `shutdown`, then flushes the producer and saves the
    /// checkpoints of everything acknowledged.
    pub fn run(mut self, producer: &EventProducer, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let mut last_scan: Option<Instant> = None;
        let mut last_save = Instant::now();
        let mut payload = Vec::with_capacity(4096);
        while !shutdown.is_cancelled() {
            if last_scan.is_none_or(|t| t.elapsed() >= self.config.scan_interval) {
                self.scan();
                last_scan = Some(Instant::now());
            }
            let mut sent = 0;
            for tracked in self.files.values_mut() {
                let parsers = &self.parsers[tracked.input];
                sent += send_new_lines(tracked, &self.config, parsers, &self.topic, &self.host_name, producer, &mut payload);
            }
            self.settle();
            if last_save.elapsed() >= CHECKPOINT_EVERY {
                self.save_checkpoints();
                last_save = Instant::now();
            }
            if sent == 0 {
                std::thread::sleep(IDLE_WAIT);
            }
        }
        for tracked in self.files.values_mut() {
            let pending: Vec<Record> = tracked.joiner.as_mut().and_then(Joiner::flush).into_iter().collect();
            let parsers = &self.parsers[tracked.input];
            send_records(tracked, pending, &self.config, parsers, &self.topic, &self.host_name, producer, &mut payload);
        }
        tracing::info!(files = self.files.len(), "file source stopping; waiting for kafka acknowledgements");
        if !kafka::flush(producer, SHUTDOWN_FLUSH) {
            tracing::warn!("kafka did not acknowledge everything in time; unacknowledged lines will be read again on restart");
        }
        self.settle();
        self.save_checkpoints();
        Ok(())
    }

    /// Finds files matching the globs, opens new ones at their checkpoint, and
    /// lets go of files that were rotated away or deleted once drained.
    fn scan(&mut self) {
        let mut seen: HashMap<FileId, (PathBuf, usize)> = HashMap::new();
        for (index, input) in self.config.files.iter().enumerate() {
            for path in expand(input) {
                match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => {
                        seen.entry(FileId { dev: meta.dev(), ino: meta.ino() }).or_insert((path, index));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(path = %path.display(), error = %e, "cannot stat file"),
                }
            }
        }
        for (id, tracked) in self.files.iter_mut() {
            match seen.get(id) {
                Some((path, _)) => {
                    if *path != tracked.tail.path {
                        tracing::info!(from = %tracked.tail.path.display(), to = %path.display(), "file renamed");
                        tracked.tail.path = path.clone();
                    }
                    tracked.tail.detached = false;
                }
                None => tracked.tail.detached = true,
            }
        }
        let mut released = Vec::new();
        for (id, tracked) in &self.files {
            if tracked.tail.detached && tracked.is_drained() {
                released.push(*id);
            }
        }
        for id in released {
            if let Some(tracked) = self.files.remove(&id) {
                tracing::info!(path = %tracked.tail.path.display(), "file gone and read to the end; released");
                self.checkpoints.remove(id);
            }
        }
        for (id, (path, input)) in seen {
            if self.files.contains_key(&id) {
                continue;
            }
            let (offset, fingerprint) = self.checkpoints.get(id).map_or((0, None), |c| (c.offset, c.fingerprint));
            match TailedFile::open(&path, offset, fingerprint) {
                Ok(tail) if tail.id == id => {
                    tracing::info!(path = %path.display(), offset = tail.acked_offset, "tailing file");
                    let joiner = self.config.files[input]
                        .multiline
                        .clone()
                        .map(|multiline| Joiner::new(multiline, self.config.max_line_bytes));
                    self.files.insert(id, Tracked { tail, input, joiner, resets: 0 });
                }
                Ok(_) => {} // replaced between stat and open: next scan picks it up
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot open file"),
            }
        }
    }

    fn settle(&mut self) {
        for tracked in self.files.values_mut() {
            if let Err(error) = tracked.tail.settle() {
                metrics::rewind();
                tracing::error!(path = %tracked.tail.path.display(), offset = tracked.tail.acked_offset, %error,
                    "kafka did not acknowledge lines; reading them again from the last checkpoint");
            }
            tracked.tail.refresh_fingerprint();
            let path = tracked.tail.path.display().to_string();
            self.checkpoints.set(tracked.tail.id, &path, tracked.tail.acked_offset, tracked.tail.fingerprint);
        }
    }

    fn save_checkpoints(&mut self) {
        if let Err(error) = self.checkpoints.save() {
            metrics::checkpoint_error();
            tracing::error!(%error, "cannot save file checkpoints; they stay in memory and are retried");
        }
    }
}

/// Reads a file's new lines and sends them as events (joined when the input
/// has `multiline`); returns how many lines were read.
fn send_new_lines(
    tracked: &mut Tracked,
    config: &CollectorConfig,
    parsers: &Parsers,
    topic: &str,
    host_name: &str,
    producer: &EventProducer,
    payload: &mut Vec<u8>,
) -> usize {
    let chunk = match tracked.tail.read_lines(config.max_line_bytes, config.partial_line_timeout) {
        Ok(chunk) => chunk,
        Err(e) => {
            tracing::warn!(path = %tracked.tail.path.display(), error = %e, "cannot read file");
            return 0;
        }
    };
    let now = Instant::now();
    let mut records = Vec::new();
    let mut read = 0;
    if let Some(joiner) = &mut tracked.joiner {
        if tracked.resets != tracked.tail.resets {
            joiner.clear();
            tracked.resets = tracked.tail.resets;
        }
        if let Some(chunk) = chunk {
            read = chunk.lines.len();
            let ends: Vec<u64> = chunk.lines.iter().skip(1).map(|l| l.start).chain([chunk.end]).collect();
            for (line, end) in chunk.lines.into_iter().zip(ends) {
                joiner.push(line, end, now, &mut records);
            }
        }
        records.extend(joiner.poll(now));
    } else if let Some(chunk) = chunk {
        read = chunk.lines.len();
        let ends: Vec<u64> = chunk.lines.iter().skip(1).map(|l| l.start).chain([chunk.end]).collect();
        for (line, end) in chunk.lines.into_iter().zip(ends) {
            let cut = line.truncated.then(|| format!("line longer than {} bytes; truncated", config.max_line_bytes));
            records.push(Record { start: line.start, end, text: line.text, cut });
        }
    }
    metrics::lines_read(read as u64);
    send_records(tracked, records, config, parsers, topic, host_name, producer, payload);
    read
}

/// Parses and produces `records` as one batch whose acknowledgement moves the
/// checkpoint past the last of them.
#[allow(clippy::too_many_arguments)]
fn send_records(
    tracked: &mut Tracked,
    records: Vec<Record>,
    config: &CollectorConfig,
    parsers: &Parsers,
    topic: &str,
    host_name: &str,
    producer: &EventProducer,
    payload: &mut Vec<u8>,
) {
    let Some(end) = records.last().map(|r| r.end) else {
        return;
    };
    let tail = &mut tracked.tail;
    let path = tail.path.display().to_string();
    let ctx = LineContext {
        ingested: Utc::now(),
        host_name,
        file_path: Some(&path),
        stream: config.files[tracked.input].stream.as_deref(),
    };
    let batch = Batch::new(end, records.len());
    for record in records {
        let mut event = parsers.parse(&record.text, &ctx);
        event.id = Some(format!("{}:{}", tail.id.key(), record.start));
        event.log_offset = Some(record.start);
        if record.cut.is_some() {
            event.parse_error = record.cut;
        }
        encode_within_limit(&mut event, payload);
        kafka::send(producer, topic, wire::key(&event), payload, &batch);
    }
    tail.track(batch);
}

fn expand(input: &FileInput) -> Vec<PathBuf> {
    let excludes: Vec<glob::Pattern> = input.exclude.iter().filter_map(|p| glob::Pattern::new(p).ok()).collect();
    let mut paths = Vec::new();
    for pattern in &input.include {
        match glob::glob(pattern) {
            Ok(entries) => paths.extend(
                entries.flatten().filter(|p| !excludes.iter().any(|ex| ex.matches_path(Path::new(p)))),
            ),
            Err(e) => tracing::warn!(pattern, error = %e, "invalid glob"),
        }
    }
    paths
}

/// Wraps the shared producer for the file source thread.
pub fn spawn(source: FileSource, producer: Arc<EventProducer>, shutdown: CancellationToken) -> std::thread::JoinHandle<anyhow::Result<()>> {
    std::thread::Builder::new()
        .name("file-source".into())
        .spawn(move || source.run(&producer, &shutdown))
        .expect("spawning the file source thread")
}
