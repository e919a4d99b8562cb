//! Parsing and encoding a file's records on several threads, handed back in
//! the records' order.
//!
//! Parsing and encoding a line takes more CPU than handing it to
//! librdkafka, so one thread doing both keeps the producer half idle. The
//! records of a read are cut into chunks that the pool's threads
//! (`collector-parse-N`, one per core, not rayon's global pool) parse and
//! encode while the source thread sends the chunks already done, in
//! order: the open transaction, the dead letters and the file's position
//! stay on the source thread, as with one thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use logwarden_event::wire;
use logwarden_event::wire::decimal::Decimal;

use crate::encode::encode_within_limit;
use crate::file::Record;
use crate::parse::{LineContext, Parsers};

/// Records per pool task: small enough that the first chunk is ready (and
/// sent) while the others are still parsed, large enough that a task
/// costs little beside its records (~1 ms of parsing).
const CHUNK_RECORDS: usize = 512;

/// Fewer records than this are parsed on the source thread.
const INLINE_RECORDS: usize = 64;

/// A chunk's buffer is kept for the next chunks unless it grew past this
/// (an oversized event once).
const KEEP_BUFFER_BYTES: usize = 4 << 20;

/// What every record of one batch shares: the input's parsers, the
/// context of the file, and the `event.id` prefix (`FILE:`).
pub(crate) struct Batch<'a> {
    pub parsers: &'a Parsers,
    pub ctx: LineContext<'a>,
    pub id_prefix: &'a str,
}

impl Batch<'_> {
    /// Parses and encodes `record` (within Kafka's size limit), appending
    /// its key and payload to `out`; `payload` is scratch space.
    fn encode(&self, record: &Record, payload: &mut Vec<u8>, out: &mut Encoded) {
        let mut event = self.parsers.parse(&record.text, &self.ctx);
        event.id = Some(event_id(self.id_prefix, record.start));
        event.log_offset = Some(record.start);
        if record.cut.is_some() {
            event.parse_error = record.cut.clone();
        }
        encode_within_limit(&mut event, payload);
        out.push(&wire::key(&event), payload);
    }

    fn encode_all(&self, records: &[Record], out: &mut Encoded) {
        out.clear();
        let mut payload = std::mem::take(&mut out.scratch);
        for record in records {
            self.encode(record, &mut payload, out);
        }
        out.scratch = payload;
    }
}

/// The keys and payloads of a chunk of records, back to back in two
/// buffers (reused from chunk to chunk).
#[derive(Default)]
pub(crate) struct Encoded {
    keys: String,
    payloads: Vec<u8>,
    /// Where each record's key and payload end.
    ends: Vec<(usize, usize)>,
    scratch: Vec<u8>,
}

impl Encoded {
    fn clear(&mut self) {
        self.keys.clear();
        self.payloads.clear();
        self.ends.clear();
    }

    fn push(&mut self, key: &str, payload: &[u8]) {
        self.keys.push_str(key);
        self.payloads.extend_from_slice(payload);
        self.ends.push((self.keys.len(), self.payloads.len()));
    }

    /// The chunk's records' keys and payloads, in order.
    fn records(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let starts = std::iter::once((0, 0)).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|((key_start, payload_start), (key_end, payload_end))| {
            (&self.keys[key_start..key_end], &self.payloads[payload_start..payload_end])
        })
    }

    fn is_small(&self) -> bool {
        self.keys.capacity() + self.payloads.capacity() + self.scratch.capacity() <= KEEP_BUFFER_BYTES
    }
}

/// The parse threads, and the chunks' buffers between batches.
pub(crate) struct ParsePool {
    pool: rayon::ThreadPool,
    spare: Vec<Encoded>,
}

impl ParsePool {
    /// A pool of one thread per CPU core.
    pub fn new() -> std::io::Result<ParsePool> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|n| format!("collector-parse-{n}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(ParsePool { pool, spare: Vec::new() })
    }

    /// Parses and encodes `records` and calls `send` with each one's key
    /// and payload, in the records' order, on this thread. Stops at the
    /// first error of `send` (the chunks being parsed are finished and
    /// dropped) and returns it.
    pub fn encode_in_order<E>(
        &mut self,
        records: &[Record],
        batch: &Batch<'_>,
        mut send: impl FnMut(&str, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if records.len() < INLINE_RECORDS {
            let mut encoded = self.spare.pop().unwrap_or_default();
            batch.encode_all(records, &mut encoded);
            let sent = encoded.records().try_for_each(|(key, payload)| send(key, payload));
            self.keep(encoded);
            return sent;
        }
        let chunks: Vec<&[Record]> = records.chunks(CHUNK_RECORDS).collect();
        let window = self.window();
        let stop = AtomicBool::new(false);
        let (done, ready) = mpsc::channel::<(usize, Encoded)>();
        let mut sent = Ok(());
        let spare = &mut self.spare;
        self.pool.in_place_scope_fifo(|scope| {
            let spawn = |index: usize, mut encoded: Encoded| {
                let (chunk, done, stop) = (chunks[index], done.clone(), &stop);
                scope.spawn_fifo(move |_| {
                    if !stop.load(Ordering::Relaxed) {
                        batch.encode_all(chunk, &mut encoded);
                    }
                    // The receiver is gone only when the source thread
                    // stopped waiting (a panic): nothing to hand back then.
                    let _ = done.send((index, encoded));
                });
            };
            // At most `window` chunks are parsed ahead of the one being
            // sent: a read of many short lines does not hold all of its
            // events encoded at once.
            for index in 0..chunks.len().min(window) {
                spawn(index, spare.pop().unwrap_or_default());
            }
            let mut waiting: Vec<Option<Encoded>> = (0..chunks.len()).map(|_| None).collect();
            let mut next = 0;
            while next < chunks.len() {
                let Some(mut encoded) = waiting[next].take() else {
                    // Every task holds a sender: this only fails if one
                    // panicked, which the scope raises when it ends.
                    match ready.recv() {
                        Ok((index, encoded)) => waiting[index] = Some(encoded),
                        Err(_) => break,
                    }
                    continue;
                };
                if sent.is_ok() {
                    sent = encoded.records().try_for_each(|(key, payload)| send(key, payload));
                    if sent.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                if next + window < chunks.len() {
                    encoded.clear();
                    spawn(next + window, encoded);
                } else {
                    keep(spare, encoded, window);
                }
                next += 1;
            }
        });
        sent
    }

    /// Chunks parsed ahead of the one being sent: enough to keep every
    /// thread busy while the source thread sends.
    fn window(&self) -> usize {
        2 * self.pool.current_num_threads() + 2
    }

    fn keep(&mut self, encoded: Encoded) {
        let window = self.window();
        keep(&mut self.spare, encoded, window);
    }
}

/// Keeps a chunk's buffers for the next batch, unless `window` are kept
/// already or they grew large (an oversized event).
fn keep(spare: &mut Vec<Encoded>, mut encoded: Encoded, window: usize) {
    if spare.len() < window && encoded.is_small() {
        encoded.clear();
        spare.push(encoded);
    }
}

/// `prefix` followed by `offset` in decimal, in one allocation.
pub(crate) fn event_id(prefix: &str, offset: u64) -> String {
    let digits = Decimal::new(offset);
    let mut id = String::with_capacity(prefix.len() + digits.as_bytes().len());
    id.push_str(prefix);
    id.push_str(digits.as_str());
    id
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn records(count: usize) -> Vec<Record> {
        let mut start = 0;
        (0..count)
            .map(|n| {
                let text = match n % 3 {
                    0 => format!(
                        "Jan  2 03:04:05 web01 sshd[{n}]: Failed password for root from 10.0.0.{} port 22 ssh2",
                        n % 250
                    ),
                    1 => {
                        format!(r#"{{"@timestamp":"2026-01-02T03:04:05Z","message":"request {n}","log.level":"info"}}"#)
                    }
                    _ => format!("free text line {n}"),
                };
                let record = Record {
                    start,
                    end: start + text.len() as u64 + 1,
                    text,
                    cut: (n == 700).then(|| "cut".to_string()),
                };
                start = record.end;
                record
            })
            .collect()
    }

    /// The records encoded one after the other on this thread.
    fn one_by_one(records: &[Record], batch: &Batch<'_>) -> Vec<(String, Vec<u8>)> {
        let mut payload = Vec::new();
        let mut out = Encoded::default();
        for record in records {
            batch.encode(record, &mut payload, &mut out);
        }
        out.records().map(|(key, payload)| (key.to_string(), payload.to_vec())).collect()
    }

    #[test]
    fn records_come_back_in_order_as_one_thread_encodes_them() {
        let parsers = Parsers::default();
        let ctx =
            LineContext { ingested: Utc::now(), host_name: "web01", file_path: Some("/var/log/x.log"), stream: None };
        let batch = Batch { parsers: &parsers, ctx, id_prefix: "803:1a2b:" };
        let mut pool = ParsePool::new().unwrap();
        // Inline, one chunk, more chunks than are parsed ahead with a short
        // last one; twice, the second time on the buffers the first left.
        for count in
            [0, 1, INLINE_RECORDS - 1, INLINE_RECORDS, CHUNK_RECORDS, 20 * CHUNK_RECORDS + 3, 20 * CHUNK_RECORDS + 3]
        {
            let records = records(count);
            let mut sent = Vec::new();
            pool.encode_in_order(&records, &batch, |key, payload| {
                sent.push((key.to_string(), payload.to_vec()));
                Ok::<_, ()>(())
            })
            .unwrap();
            assert_eq!(sent.len(), count);
            assert!(sent == one_by_one(&records, &batch), "{count} records: not the bytes one thread writes");
            for ((_, payload), record) in sent.iter().zip(&records) {
                let event = wire::decode(payload).unwrap();
                assert_eq!(event.log_offset, Some(record.start));
                assert_eq!(event.id.as_deref(), Some(format!("803:1a2b:{}", record.start).as_str()));
                assert_eq!(event.original, record.text);
                assert_eq!(event.parse_error.is_some_and(|e| e == "cut"), record.cut.is_some());
            }
        }
    }

    #[test]
    fn sending_stops_at_the_first_error() {
        let parsers = Parsers::default();
        let ctx =
            LineContext { ingested: Utc::now(), host_name: "web01", file_path: Some("/var/log/x.log"), stream: None };
        let batch = Batch { parsers: &parsers, ctx, id_prefix: "1:2:" };
        let mut pool = ParsePool::new().unwrap();
        let records = records(5 * CHUNK_RECORDS);
        let mut offsets = Vec::new();
        let failed = pool.encode_in_order(&records, &batch, |_, payload| {
            offsets.push(wire::decode(payload).unwrap().log_offset.unwrap());
            if offsets.len() == CHUNK_RECORDS + 10 { Err("queue gone") } else { Ok(()) }
        });
        assert_eq!(failed, Err("queue gone"));
        let expected: Vec<u64> = records[..CHUNK_RECORDS + 10].iter().map(|r| r.start).collect();
        assert_eq!(offsets, expected);
        // The pool goes on with the next batch.
        let mut count = 0;
        pool.encode_in_order(&records, &batch, |_, _| {
            count += 1;
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(count, records.len());
    }

    #[test]
    fn event_ids_are_the_file_key_and_the_offset() {
        for offset in [0, 7, 10, 4096, 1_234_567_890, u64::MAX] {
            assert_eq!(event_id("803:1a2b:", offset), format!("803:1a2b:{offset}"));
        }
    }

    #[test]
    fn the_threads_are_named() {
        let pool = ParsePool::new().unwrap();
        let name = pool.pool.install(|| std::thread::current().name().map(str::to_string));
        assert!(name.is_some_and(|n| n.starts_with("collector-parse-")));
    }
}
