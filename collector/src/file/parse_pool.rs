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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use logwarden_event::wire;
use logwarden_event::wire::decimal::Decimal;
use logwarden_kafka::in_place::Payload;

use crate::encode::append_within_limit;
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
    /// its key and payload to `out`.
    fn encode(&self, record: &Record, out: &mut Encoded) {
        let mut event = self.parsers.parse(&record.text, &self.ctx);
        event.id = Some(event_id(self.id_prefix, record.start));
        event.log_offset = Some(record.start);
        if record.cut.is_some() {
            event.parse_error = record.cut.clone();
        }
        let payloads = out.payloads_mut();
        append_within_limit(&mut event, payloads);
        let payload_end = payloads.len();
        out.keys.push_str(&wire::key(&event));
        out.ends.push((out.keys.len(), payload_end));
    }

    fn encode_all(&self, records: &[Record], out: &mut Encoded) {
        out.clear();
        for record in records {
            self.encode(record, out);
        }
    }
}

/// The keys and payloads of a chunk of records, back to back in two
/// buffers. The payloads' buffer is shared with librdkafka, which reads
/// each payload where it is ([`Payload::InPlace`]) until its delivery
/// report; a chunk's buffers are used again once librdkafka is done with
/// them (see [`ParsePool::spare`]).
#[derive(Default)]
pub(crate) struct Encoded {
    keys: String,
    payloads: Arc<Vec<u8>>,
    /// Where each record's key and payload end.
    ends: Vec<(usize, usize)>,
}

impl Encoded {
    fn clear(&mut self) {
        self.keys.clear();
        self.payloads_mut().clear();
        self.ends.clear();
    }

    /// The payloads' buffer, to write: a new one if librdkafka still reads
    /// the old one (it is released with the last delivery report).
    fn payloads_mut(&mut self) -> &mut Vec<u8> {
        if Arc::get_mut(&mut self.payloads).is_none() {
            self.payloads = Arc::new(Vec::with_capacity(self.payloads.capacity()));
        }
        Arc::get_mut(&mut self.payloads).expect("a buffer nobody else holds")
    }

    /// Whether nothing but this chunk holds its payloads' buffer any more.
    fn is_free(&self) -> bool {
        Arc::strong_count(&self.payloads) == 1
    }

    /// The chunk's records' keys and payloads, in order.
    fn records(&self) -> impl Iterator<Item = (&str, Payload<'_>)> {
        let starts = std::iter::once((0, 0)).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|((key_start, start), (key_end, end))| {
            (&self.keys[key_start..key_end], Payload::InPlace { buffer: &self.payloads, start, end })
        })
    }

    fn is_small(&self) -> bool {
        self.keys.capacity() + self.payloads.capacity() <= KEEP_BUFFER_BYTES
    }
}

/// The parse threads, and the chunks' buffers between batches.
pub(crate) struct ParsePool {
    pool: rayon::ThreadPool,
    /// Chunks sent, oldest first: their buffers are used again once
    /// librdkafka has reported every record in them (a chunk whose records
    /// are still queued is passed over, and dropped when too many are
    /// kept: its buffer is freed with its last delivery report).
    spare: VecDeque<Encoded>,
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
        Ok(ParsePool { pool, spare: VecDeque::new() })
    }

    /// Parses and encodes `records` and calls `send` with each one's key
    /// and payload, in the records' order, on this thread. Stops at the
    /// first error of `send` (the chunks being parsed are finished and
    /// dropped) and returns it.
    pub fn encode_in_order<E>(
        &mut self,
        records: &[Record],
        batch: &Batch<'_>,
        mut send: impl FnMut(&str, Payload<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if records.len() < INLINE_RECORDS {
            let mut encoded = take_free(&mut self.spare);
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
                spawn(index, take_free(spare));
            }
            let mut waiting: Vec<Option<Encoded>> = (0..chunks.len()).map(|_| None).collect();
            let mut next = 0;
            while next < chunks.len() {
                let Some(encoded) = waiting[next].take() else {
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
                // Its buffer is likely still read by librdkafka: kept, and
                // the next chunk takes the oldest one that is free.
                keep(spare, encoded, window);
                if next + window < chunks.len() {
                    spawn(next + window, take_free(spare));
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

/// The oldest kept chunk whose buffers librdkafka no longer reads, or new
/// buffers.
fn take_free(spare: &mut VecDeque<Encoded>) -> Encoded {
    match spare.iter().position(Encoded::is_free) {
        Some(index) => spare.remove(index).unwrap_or_default(),
        None => Encoded::default(),
    }
}

/// Keeps a sent chunk's buffers for a later chunk, unless they grew large
/// (an oversized event). At most `4 × window` are kept: a chunk librdkafka
/// still reads when one more comes is let go (freed with its last delivery
/// report).
fn keep(spare: &mut VecDeque<Encoded>, encoded: Encoded, window: usize) {
    if !encoded.is_small() {
        return;
    }
    if spare.len() >= 4 * window {
        spare.pop_front();
    }
    spare.push_back(encoded);
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

    fn ctx() -> LineContext<'static> {
        LineContext { ingested: Utc::now(), host_name: "web01", file_path: Some("/var/log/x.log"), stream: None }
    }

    /// The records encoded one after the other on this thread.
    fn one_by_one(records: &[Record], batch: &Batch<'_>) -> Vec<(String, Vec<u8>)> {
        let mut out = Encoded::default();
        for record in records {
            batch.encode(record, &mut out);
        }
        out.records().map(|(key, payload)| (key.to_string(), payload.bytes().to_vec())).collect()
    }

    #[test]
    fn records_come_back_in_order_as_one_thread_encodes_them() {
        let parsers = Parsers::default();
        let batch = Batch { parsers: &parsers, ctx: ctx(), id_prefix: "803:1a2b:" };
        let mut pool = ParsePool::new().unwrap();
        // Inline, one chunk, more chunks than are parsed ahead with a short
        // last one; twice, the second time on the buffers the first left.
        for count in
            [0, 1, INLINE_RECORDS - 1, INLINE_RECORDS, CHUNK_RECORDS, 20 * CHUNK_RECORDS + 3, 20 * CHUNK_RECORDS + 3]
        {
            let records = records(count);
            let mut sent = Vec::new();
            pool.encode_in_order(&records, &batch, |key, payload| {
                sent.push((key.to_string(), payload.bytes().to_vec()));
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
        let batch = Batch { parsers: &parsers, ctx: ctx(), id_prefix: "1:2:" };
        let mut pool = ParsePool::new().unwrap();
        let records = records(5 * CHUNK_RECORDS);
        let mut offsets = Vec::new();
        let failed = pool.encode_in_order(&records, &batch, |_, payload| {
            offsets.push(wire::decode(payload.bytes()).unwrap().log_offset.unwrap());
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

    /// What librdkafka holds of a record sent in place: the buffer, the
    /// payload's range, and the bytes it had when sent.
    fn hold(payload: Payload<'_>) -> (Arc<Vec<u8>>, usize, usize, Vec<u8>) {
        let Payload::InPlace { buffer, start, end } = payload else {
            panic!("a file's payloads are sent in place");
        };
        (buffer.clone(), start, end, payload.bytes().to_vec())
    }

    #[test]
    fn a_buffer_librdkafka_still_reads_is_never_written_and_a_free_one_is_used_again() {
        let parsers = Parsers::default();
        let batch = Batch { parsers: &parsers, ctx: ctx(), id_prefix: "7:8:" };
        let mut pool = ParsePool::new().unwrap();
        let records = records(12 * CHUNK_RECORDS);
        // Every record of the first batch stays "queued in librdkafka".
        let mut held = Vec::new();
        pool.encode_in_order(&records, &batch, |_, payload| {
            held.push(hold(payload));
            Ok::<_, ()>(())
        })
        .unwrap();
        let first: std::collections::HashSet<*const Vec<u8>> = held.iter().map(|h| Arc::as_ptr(&h.0)).collect();
        let mut second = std::collections::HashSet::new();
        pool.encode_in_order(&records, &batch, |_, payload| {
            second.insert(Arc::as_ptr(&hold(payload).0));
            Ok::<_, ()>(())
        })
        .unwrap();
        assert!(first.is_disjoint(&second), "a held buffer was written while librdkafka could read it");
        for (buffer, start, end, bytes) in &held {
            assert_eq!(&buffer[*start..*end], &bytes[..], "a queued payload changed");
        }
        // Delivered: the next batch writes into buffers already allocated.
        drop(held);
        let mut third = std::collections::HashSet::new();
        pool.encode_in_order(&records, &batch, |_, payload| {
            third.insert(Arc::as_ptr(&hold(payload).0));
            Ok::<_, ()>(())
        })
        .unwrap();
        assert!(third.iter().all(|b| first.contains(b) || second.contains(b)), "free buffers were not used again");
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
