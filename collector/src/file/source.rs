//! The file source loop: discover files, read new lines, send them in the
//! open Kafka transaction, and commit it with the files' positions (on
//! time or size). Runs on a dedicated thread.
//!
//! Exactly once: a file's position is written to the checkpoints topic in
//! the same transaction as the events before it. If the transaction
//! commits, both are visible to `read_committed` consumers; if it aborts
//! (or the process dies before it commits), neither is, and reading goes
//! back to the committed position.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use logwarden_config::{CollectorConfig, Delivery, FileInput, KafkaConfig};
use logwarden_kafka::IndexBacklog;
use logwarden_kafka::in_place::Payload;
use logwarden_kafka::producer::Rejected;
use logwarden_kafka::transaction::{AtLeastOnce, Transactional, TxnError};
use tokio_util::sync::CancellationToken;

use crate::file::checkpoint::{Claim, Positions, Prefix};
use crate::file::parse_pool::{Batch, ParsePool};
use crate::file::{FileId, Joiner, Record, TailedFile};
use crate::metrics;
use crate::parse::{LineContext, Parsers};

const IDLE_WAIT: Duration = Duration::from_millis(50);
/// A transaction of a caught-up source commits once open this share of
/// `collector.commit_interval`.
const CAUGHT_UP_GAP_DIVISOR: u32 = 10;
/// How long a file source waits before looking at the indexer's backlog
/// again.
const HOLD_WAIT: Duration = Duration::from_millis(20);
/// While held back, a round still reads the files with at most this many
/// bytes unread, this many in all: a quiet file's new line does not wait
/// for a backfill or a burst in another file to be indexed. The
/// backlog grows by at most this much per [`HOLD_WAIT`] meanwhile.
const QUIET_READ_BYTES: u64 = 16 * 1024;

pub struct FileSource {
    config: CollectorConfig,
    kafka: KafkaConfig,
    topic: String,
    host_name: String,
    files: HashMap<FileId, Tracked>,
    positions: Positions,
    /// The parser chain of each input (by index), from `collector.parse`
    /// and the input's own `parsers`.
    parsers: Vec<Parsers>,
    /// Where records Kafka refuses for good are kept (the spool's folder).
    dead_letter_dir: PathBuf,
    /// The threads that parse and encode the lines read.
    parse_pool: ParsePool,
    /// The backlog of an indexer in the same process, which the source
    /// holds back on (`collector.max_index_backlog`).
    index_backlog: Option<IndexBacklog>,
    /// Where the next round of reads starts (an index into `files`).
    next_file: usize,
}

struct Tracked {
    tail: TailedFile,
    /// The file's position in the checkpoints topic.
    key: String,
    /// Index of the input whose glob matched the file.
    input: usize,
    /// Joins continuation lines when the input has `multiline`.
    joiner: Option<Joiner>,
    /// `tail.resets` when the joiner last saw a line.
    resets: u64,
}

impl Tracked {
    /// Read to the end, committed, and nothing held back for a multiline event.
    fn is_drained(&self) -> bool {
        self.tail.is_drained().unwrap_or(true) && self.joiner.as_ref().is_none_or(Joiner::is_empty)
    }
}

impl FileSource {
    pub fn new(config: &CollectorConfig, kafka: &KafkaConfig, host_name: String) -> anyhow::Result<FileSource> {
        let shared = config.parse.parsers();
        let parsers = config
            .files
            .iter()
            .map(|input| match &input.parsers {
                Some(chain) => shared.with_chain(chain.clone()),
                None => shared.clone(),
            })
            .collect();
        let parse_pool = ParsePool::new().context("starting the collector's parse threads")?;
        Ok(FileSource {
            parsers,
            config: config.clone(),
            kafka: kafka.clone(),
            topic: kafka.topic.clone(),
            host_name,
            files: HashMap::new(),
            positions: Positions::default(),
            dead_letter_dir: config.spool.dir.clone(),
            parse_pool,
            index_backlog: None,
            next_file: 0,
        })
    }

    /// Holds back reading while the indexer in this process has more than
    /// `collector.max_index_backlog` events left to read (see
    /// [`logwarden_kafka::backlog`]).
    pub fn with_index_backlog(mut self, backlog: IndexBacklog) -> FileSource {
        self.index_backlog = Some(backlog).filter(|_| self.config.max_index_backlog > 0);
        self
    }

    fn held_back(&self) -> bool {
        over_bound(self.index_backlog.as_ref(), self.config.max_index_backlog)
    }

    /// Starts the producer of `collector.delivery` (exactly once: a
    /// transactional producer, fencing an older one with this collector's
    /// id) and reads the committed positions.
    fn start_producer(&mut self, shutdown: &CancellationToken) -> Result<Option<Output>, TxnError> {
        let id = &self.config.id;
        let transactional_id = id.transactional_id("files");
        let stop = || shutdown.is_cancelled();
        let kafka = logwarden_kafka::with_topic_message_limit(&self.kafka, &self.topic);
        let started = match self.config.delivery {
            Delivery::ExactlyOnce => Transactional::start(
                &kafka,
                &self.config.checkpoints_topic,
                &id.id,
                &transactional_id,
                "files",
                &stop,
            )
            .map(|(txn, committed)| (Output::ExactlyOnce(txn), committed)),
            Delivery::AtLeastOnce => {
                AtLeastOnce::start(&kafka, &self.config.checkpoints_topic, &id.id, "files", &stop)
                    .map(|(out, committed)| (Output::AtLeastOnce(out), committed))
            }
        };
        let (txn, committed) = match started {
            Ok(started) => started,
            Err(_) if shutdown.is_cancelled() => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut positions = Positions::load(&committed).map_err(|e| TxnError::Retry(format!("{e:#}")))?;
        if positions.is_empty() {
            match positions.import_legacy(&self.config.checkpoint_dir) {
                Ok(0) => {}
                Ok(count) => tracing::warn!(count, dir = %self.config.checkpoint_dir.display(),
                    "carrying the positions of files.json over into the checkpoints topic"),
                Err(error) => tracing::error!(error = format!("{error:#}"), "cannot read the old checkpoint file; files start from their beginning"),
            }
        }
        match self.config.delivery {
            Delivery::ExactlyOnce => tracing::info!(positions = committed.len(), transactional_id, topic = %self.config.checkpoints_topic, "file positions read from kafka; delivery exactly once"),
            Delivery::AtLeastOnce => tracing::warn!(positions = committed.len(), topic = %self.config.checkpoints_topic, "file positions read from kafka; delivery AT LEAST ONCE (collector.delivery): lines read after the last position written are sent again after a crash"),
        }
        self.positions = positions;
        Ok(Some(txn))
    }

    /// Runs until `shutdown`, then commits what was read. Fails when
    /// another collector with the same id fenced this one.
    pub fn run(mut self, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let Some(mut txn) = self.start_producer(shutdown).map_err(fenced_error)? else {
            return Ok(());
        };
        let mut last_scan: Option<Instant> = None;
        let caught_up_gap = self.config.commit_interval / CAUGHT_UP_GAP_DIVISOR;
        let mut holding = false;
        while !shutdown.is_cancelled() {
            if last_scan.is_none_or(|t| t.elapsed() >= self.config.scan_interval) {
                self.scan();
                last_scan = Some(Instant::now());
            }
            if self.held_back() {
                // What is open when the hold starts becomes readable to the
                // indexer now, not at the next interval: it is part of the
                // backlog waited on. Quiet files' lines read meanwhile
                // commit as a caught-up source's do.
                let outcome = self.read_quiet_files(&mut txn).and_then(|()| {
                    let due = !holding || txn.open_since().is_some_and(|t| t.elapsed() >= caught_up_gap);
                    if due { self.commit(&mut txn) } else { Ok(()) }
                });
                holding = true;
                if let Err(error) = outcome {
                    txn = self.recover(txn, error, shutdown)?;
                    continue;
                }
                std::thread::sleep(HOLD_WAIT);
                metrics::held_back(HOLD_WAIT);
                continue;
            }
            holding = false;
            let mut sent = 0;
            let mut failed = None;
            // A round starts at the file after the last one it read: one
            // that stops early (the backlog went over the bound, the
            // transaction is full) leaves no file behind for long.
            let mut round: Vec<&mut Tracked> = self.files.values_mut().collect();
            let start = self.next_file % round.len().max(1);
            round.rotate_left(start);
            for (i, tracked) in round.into_iter().enumerate() {
                self.next_file = start + i + 1;
                let parsers = &self.parsers[tracked.input];
                let mut out = Out { txn: &mut txn, topic: &self.topic, positions: &mut self.positions, dead_letter_dir: &self.dead_letter_dir };
                match send_new_lines(tracked, usize::MAX, &self.config, parsers, &self.host_name, &mut out, &mut self.parse_pool) {
                    Ok(n) => sent += n,
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
                let held_back = over_bound(self.index_backlog.as_ref(), self.config.max_index_backlog);
                if held_back || txn.events() >= self.config.transaction_max_events {
                    break;
                }
            }
            // Caught up (a round found nothing new), an open transaction
            // has nothing more to wait for: it commits after a short gap
            // instead of the whole interval, so a quiet file's line is
            // readable in a tenth of it.
            let due = txn.open_since().is_some_and(|t| {
                let open = t.elapsed();
                open >= self.config.commit_interval || (sent == 0 && open >= caught_up_gap)
            }) || txn.events() >= self.config.transaction_max_events;
            let outcome = match failed {
                Some(error) => Err(error),
                None if due => self.commit(&mut txn),
                None => Ok(()),
            };
            if let Err(error) = outcome {
                txn = self.recover(txn, error, shutdown)?;
                continue;
            }
            if sent == 0 {
                std::thread::sleep(IDLE_WAIT);
            }
        }
        for tracked in self.files.values_mut() {
            let pending: Vec<Record> = tracked.joiner.as_mut().and_then(Joiner::flush).into_iter().collect();
            let parsers = &self.parsers[tracked.input];
            let mut out = Out { txn: &mut txn, topic: &self.topic, positions: &mut self.positions, dead_letter_dir: &self.dead_letter_dir };
            if let Err(error) = send_records(tracked, pending, &self.config, parsers, &self.host_name, &mut out, &mut self.parse_pool) {
                tracing::warn!(%error, "cannot send a pending multiline event at shutdown; it is read again on restart");
            }
        }
        tracing::info!(files = self.files.len(), "file source stopping; committing the last transaction");
        match self.commit(&mut txn) {
            Ok(()) => {}
            Err(error @ TxnError::Fenced { .. }) => return Err(fenced_error(error)),
            Err(error) => tracing::warn!(%error, "the last transaction did not commit; its lines are read again on restart"),
        }
        Ok(())
    }

    /// While held back: reads the new lines of the files with little
    /// unread ([`QUIET_READ_BYTES`] in all), leaving a backfill or a burst
    /// in its file.
    fn read_quiet_files(&mut self, txn: &mut Output) -> Result<(), TxnError> {
        let mut budget = QUIET_READ_BYTES;
        for tracked in self.files.values_mut() {
            let unread = match tracked.tail.unread() {
                Ok(unread) if unread <= budget => unread,
                _ => continue,
            };
            budget -= unread;
            let parsers = &self.parsers[tracked.input];
            let mut out = Out { txn, topic: &self.topic, positions: &mut self.positions, dead_letter_dir: &self.dead_letter_dir };
            send_new_lines(tracked, unread as usize, &self.config, parsers, &self.host_name, &mut out, &mut self.parse_pool)?;
        }
        Ok(())
    }

    /// After a failed transaction: stops when fenced; otherwise every file
    /// goes back to its committed position, with a new producer when the
    /// old one is in an unknown state.
    fn recover(&mut self, mut txn: Output, error: TxnError, shutdown: &CancellationToken) -> anyhow::Result<Output> {
        if error.is_fenced() {
            return Err(fenced_error(error));
        }
        metrics::rewind();
        tracing::warn!(%error, "kafka transaction failed; reading again from the committed positions");
        // A transaction still open (a send failed) is aborted; one whose
        // commit failed was aborted already.
        let mut restart = match txn.abort() {
            Ok(()) => matches!(error, TxnError::Retry(_)),
            Err(TxnError::Fenced { transactional_id, reason }) => {
                return Err(fenced_error(TxnError::Fenced { transactional_id, reason }));
            }
            Err(_) => true,
        };
        if !txn.take_rejected().is_empty() {
            // The broker refused a batch for good: the topic's
            // max.message.bytes was lowered since the producer started. A
            // new producer follows the topic's limit again, so the record
            // over it is refused alone when enqueued, and dead-lettered.
            tracing::error!("kafka refused a batch of a file's records for good (the topic's max.message.bytes changed?); a new producer reads the topic's limit and sends them again");
            restart = true;
        }
        self.positions.rewind();
        for tracked in self.files.values_mut() {
            tracked.tail.rewind(self.positions.offset(&tracked.key));
        }
        std::thread::sleep(Duration::from_millis(500));
        if !restart {
            return Ok(txn);
        }
        drop(txn);
        // A new producer aborts what the old one left open and reads the
        // committed positions again; files are claimed afresh.
        self.files.clear();
        match self.start_producer(shutdown) {
            Ok(Some(txn)) => Ok(txn),
            Ok(None) => Err(anyhow::anyhow!("stopped while restarting the kafka producer")),
            Err(error) => Err(fenced_error(error)),
        }
    }

    /// Writes the changed positions and commits the transaction.
    fn commit(&mut self, txn: &mut Output) -> Result<(), TxnError> {
        if txn.open_since().is_none() {
            return Ok(());
        }
        for tracked in self.files.values_mut() {
            let offset = self.positions.offset(&tracked.key);
            let path = tracked.tail.path.display().to_string();
            self.positions.advance(&tracked.key, tracked.tail.id, &path, offset, tracked.tail.fingerprint);
        }
        for (name, payload) in self.positions.changes() {
            txn.put_position(&name, payload.as_deref())?;
        }
        let events = txn.commit(&self.dead_letter_dir, &self.topic)?;
        logwarden_kafka::metrics::events_committed(&self.topic, events as u64);
        self.positions.committed();
        for tracked in self.files.values_mut() {
            tracked.tail.acked_offset = self.positions.offset(&tracked.key);
        }
        Ok(())
    }

    /// Finds files matching the globs and opens new ones at their position
    /// (by inode and first bytes, or as a copy of known content); lets go of
    /// files that were rotated away or deleted once read and committed, and
    /// of positions no file has any more.
    fn scan(&mut self) {
        let mut seen: Vec<(FileId, PathBuf, usize)> = Vec::new();
        for (index, input) in self.config.files.iter().enumerate() {
            for path in expand(input) {
                match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => {
                        let id = FileId { dev: meta.dev(), ino: meta.ino() };
                        if !seen.iter().any(|(s, _, _)| *s == id) {
                            seen.push((id, path, index));
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(path = %path.display(), error = %e, "cannot stat file"),
                }
            }
        }
        for (id, tracked) in self.files.iter_mut() {
            match seen.iter().find(|(s, _, _)| s == id) {
                Some((_, path, _)) => {
                    if *path != tracked.tail.path {
                        tracing::info!(from = %tracked.tail.path.display(), to = %path.display(), "file renamed");
                        tracked.tail.path = path.clone();
                    }
                    tracked.tail.detached = false;
                }
                None => tracked.tail.detached = true,
            }
        }
        let released: Vec<FileId> =
            self.files.iter().filter(|(_, t)| t.tail.detached && t.is_drained()).map(|(id, _)| *id).collect();
        for id in released {
            if let Some(tracked) = self.files.remove(&id) {
                tracing::info!(path = %tracked.tail.path.display(), "file gone and read to the end; released");
                self.positions.release(&tracked.key);
            }
        }
        // New files: first those that are the file of a position (same
        // inode, same first bytes), then copies of known content, then new
        // content.
        let mut fresh: Vec<Found> = Vec::new();
        for (id, path, input) in &seen {
            if self.files.contains_key(id) {
                continue;
            }
            let opened = std::fs::File::open(path).and_then(|file| {
                let meta = file.metadata()?;
                let prefix = Prefix::of(&file)?;
                Ok((file, meta, prefix))
            });
            match opened {
                Ok((file, meta, prefix)) if meta.dev() == id.dev && meta.ino() == id.ino => {
                    fresh.push(Found { id: *id, path: path.clone(), input: *input, file, prefix });
                }
                Ok(_) => {} // replaced between stat and open: next scan picks it up
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot open file"),
            }
        }
        let mut unmatched = Vec::new();
        for found in fresh {
            match self.positions.claim_same(found.id, &found.prefix) {
                Some((key, offset)) => self.track(found, key, offset),
                None => unmatched.push(found),
            }
        }
        for found in unmatched {
            if found.prefix.bytes().is_empty() {
                continue; // nothing to read, nothing to tell it by: next scan
            }
            match self.positions.claim_copy(found.id, &found.prefix) {
                Claim::Resume(key, offset) => {
                    tracing::info!(path = %found.path.display(), offset, "file holds content read before (a copy or a move); resuming it");
                    self.track(found, key, offset);
                }
                Claim::Shadowed => {
                    tracing::debug!(path = %found.path.display(), "file is a copy of a file being read; not read twice");
                }
                Claim::New => {
                    let key = self.positions.create(found.id, &found.path.display().to_string(), 0);
                    self.track(found, key, 0);
                }
            }
        }
        if self.positions.has_unclaimed() {
            let prefixes: Vec<(FileId, Prefix)> = seen
                .iter()
                .filter_map(|(id, path, _)| {
                    let file = std::fs::File::open(path).ok()?;
                    Some((*id, Prefix::of(&file).ok()?))
                })
                .collect();
            self.positions.forget_unclaimed(&prefixes);
        }
    }

    /// Tails a file found by [`FileSource::scan`] from `offset` of the
    /// content `key` names, claimed for the first bytes the scan read.
    fn track(&mut self, found: Found, key: String, offset: u64) {
        let Found { id, path, input, file, prefix } = found;
        // An offset past the end: content copied before all of it was
        // written; what the copy holds was all read.
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let offset = offset.min(len);
        match TailedFile::from_file(&path, file, offset, &prefix) {
            Ok(tail) => {
                tracing::info!(path = %path.display(), offset = tail.acked_offset, "tailing file");
                let joiner = self.config.files[input]
                    .multiline
                    .clone()
                    .map(|multiline| Joiner::new(multiline, self.config.max_line_bytes));
                self.files.insert(id, Tracked { tail, key, input, joiner, resets: 0 });
            }
            Err(e) => {
                self.positions.release(&key);
                tracing::warn!(path = %path.display(), error = %e, "cannot open file");
            }
        }
    }
}

/// A file a scan found and opened: its first bytes, read from the handle
/// it is tailed through.
struct Found {
    id: FileId,
    path: PathBuf,
    input: usize,
    file: std::fs::File,
    prefix: Prefix,
}

/// The indexer in this process has more than `bound` events left to read.
fn over_bound(backlog: Option<&IndexBacklog>, bound: u64) -> bool {
    backlog.is_some_and(|b| b.events() > bound)
}

fn fenced_error(error: TxnError) -> anyhow::Error {
    if error.is_fenced() {
        metrics::fenced();
        tracing::error!(%error, "FENCED: another collector started with this collector's id (collector.id); this one stops so that nothing is sent twice");
        anyhow::Error::new(error).context("another collector with the same collector.id took over; give each collector its own collector.id")
    } else {
        anyhow::Error::new(error).context("starting the kafka transactional producer")
    }
}

/// The producer of `collector.delivery`: the same calls, the delivery
/// guarantee each mode gives.
enum Output {
    ExactlyOnce(Transactional),
    AtLeastOnce(AtLeastOnce),
}

impl Output {
    fn open_since(&self) -> Option<Instant> {
        match self {
            Output::ExactlyOnce(txn) => txn.open_since(),
            Output::AtLeastOnce(out) => out.open_since(),
        }
    }

    fn events(&self) -> usize {
        match self {
            Output::ExactlyOnce(txn) => txn.events(),
            Output::AtLeastOnce(out) => out.events(),
        }
    }

    fn send(&mut self, topic: &str, key: &str, payload: Payload<'_>) -> Result<Option<Rejected>, TxnError> {
        match self {
            Output::ExactlyOnce(txn) => txn.send_payload(topic, key, payload),
            Output::AtLeastOnce(out) => out.send(topic, key, payload),
        }
    }

    fn put_position(&mut self, name: &str, payload: Option<&[u8]>) -> Result<(), TxnError> {
        match self {
            Output::ExactlyOnce(txn) => txn.put_position(name, payload),
            Output::AtLeastOnce(out) => {
                out.put_position(name, payload);
                Ok(())
            }
        }
    }

    /// Commits the transaction, or (at least once) writes the positions once
    /// the events before them are acknowledged, dead-lettering in
    /// `dead_letter_dir` what Kafka refused for good.
    fn commit(&mut self, dead_letter_dir: &Path, topic: &str) -> Result<usize, TxnError> {
        match self {
            Output::ExactlyOnce(txn) => txn.commit(),
            Output::AtLeastOnce(out) => out.commit(&mut |rejected| {
                tracing::error!(count = rejected.len(), "kafka refused records of a file for good; kept in the dead-letter file");
                logwarden_kafka::delivery::dead_letter::keep(dead_letter_dir, topic, &rejected)
                    .map_err(|e| format!("writing the dead-letter file in {}: {e:#}", dead_letter_dir.display()))
            }),
        }
    }

    fn abort(&mut self) -> Result<(), TxnError> {
        match self {
            Output::ExactlyOnce(txn) => txn.abort(),
            Output::AtLeastOnce(out) => {
                out.abort();
                Ok(())
            }
        }
    }

    fn take_rejected(&self) -> Vec<Rejected> {
        match self {
            Output::ExactlyOnce(txn) => txn.take_rejected(),
            Output::AtLeastOnce(out) => out.take_rejected(),
        }
    }
}

/// Where a file's records go: the open transaction, the position they
/// advance, and the dead-letter file for records Kafka refuses for good.
struct Out<'a> {
    txn: &'a mut Output,
    topic: &'a str,
    positions: &'a mut Positions,
    dead_letter_dir: &'a Path,
}

/// Reads a file's new lines (at most `limit` bytes, at most one chunk) and
/// sends them as events (joined when the input has `multiline`); returns
/// how many lines were read.
fn send_new_lines(
    tracked: &mut Tracked,
    limit: usize,
    config: &CollectorConfig,
    parsers: &Parsers,
    host_name: &str,
    out: &mut Out<'_>,
    pool: &mut ParsePool,
) -> Result<usize, TxnError> {
    let chunk = match tracked.tail.read_lines_within(limit, config.max_line_bytes, config.partial_line_timeout) {
        Ok(chunk) => chunk,
        Err(e) => {
            tracing::warn!(path = %tracked.tail.path.display(), error = %e, "cannot read file");
            return Ok(0);
        }
    };
    if std::mem::take(&mut tracked.tail.truncated) {
        // The content read so far keeps its position (a copy of it may take
        // it over); the file's new content gets a position of its own.
        out.positions.release(&tracked.key);
        tracked.key = out.positions.create(tracked.tail.id, &tracked.tail.path.display().to_string(), 0);
    }
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
    send_records(tracked, records, config, parsers, host_name, out, pool)?;
    Ok(read)
}

/// Parses `records` (on the parse threads) and adds them to the open
/// transaction in order; the file's position moves past the last of them
/// (committed with the transaction).
fn send_records(
    tracked: &mut Tracked,
    records: Vec<Record>,
    config: &CollectorConfig,
    parsers: &Parsers,
    host_name: &str,
    out: &mut Out<'_>,
    pool: &mut ParsePool,
) -> Result<(), TxnError> {
    let Some(end) = records.last().map(|r| r.end) else {
        return Ok(());
    };
    let tail = &mut tracked.tail;
    let path = tail.path.display().to_string();
    let ctx = LineContext {
        ingested: Utc::now(),
        host_name,
        file_path: Some(&path),
        stream: config.files[tracked.input].stream.as_deref(),
    };
    let mut rejected = Vec::new();
    // `<file key>:<offset>`: the key is written once per batch.
    let id_prefix = format!("{}:", tail.id.key());
    let batch = Batch { parsers, ctx, id_prefix: &id_prefix };
    pool.encode_in_order(&records, &batch, |key, payload| {
        if let Some(refused) = out.txn.send(out.topic, key, payload)? {
            rejected.push(refused);
        }
        Ok(())
    })?;
    if !rejected.is_empty() {
        // Kept whole with the reason, never silently dropped; the lines
        // behind them go on.
        logwarden_kafka::delivery::dead_letter::keep(out.dead_letter_dir, out.topic, &rejected)
            .with_context(|| format!("writing the dead-letter file in {}", out.dead_letter_dir.display()))
            .map_err(|e| TxnError::Aborted(format!("{e:#}")))?;
    }
    out.positions.advance(&tracked.key, tail.id, &path, end, tail.fingerprint);
    Ok(())
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

/// Runs the file source on its own thread. If it fails (fenced), the whole
/// process is told to stop: `shutdown` is cancelled.
pub fn spawn(source: FileSource, shutdown: CancellationToken) -> std::io::Result<std::thread::JoinHandle<anyhow::Result<()>>> {
    std::thread::Builder::new().name("file-source".into()).spawn(move || {
        let result = source.run(&shutdown);
        if result.is_err() {
            shutdown.cancel();
        }
        result
    })
}
