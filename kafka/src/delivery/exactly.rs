//! Exactly-once delivery of pushed events: every Kafka transaction of the
//! push producer carries, besides its events, a position in the
//! checkpoints topic:
//!
//! - straight to Kafka, `direct` = a nonce of that transaction: if the
//!   commit's outcome is unknown (Kafka went away mid-commit and the abort
//!   failed too), the events are spooled in a segment of their own with the
//!   nonce beside it, and the next producer (whose start completes or
//!   aborts the old transaction) reads `direct` back: the nonce committed
//!   means the segment is already in Kafka and is deleted unsent;
//! - from the spool, `spool` = the spool's incarnation and the number of
//!   the segment the transaction sends: a segment is deleted after its
//!   transaction committed, and one whose number is committed already (the
//!   collector died between the commit and the deletion) is deleted unsent.
//!
//! Direct deliveries are committed in groups (group commit): the requests
//! that arrive while a transaction is being sent or committed wait in a
//! queue, and the next transaction takes them all, up to
//! [`GroupCommit::max_events`]; it commits as soon as no request is left
//! waiting, or once it is [`GroupCommit::max_wait`] old while requests keep
//! coming. Every request is answered after the commit that holds its
//! events, with that commit's outcome.
//!
//! So an event acknowledged to its sender (in Kafka or in the spool) is in
//! the topic exactly once for `read_committed` consumers, after any crash.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use logwarden_config::CollectorConfig;
use serde_json::json;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::inner::{DeliveryError, Inner};
use crate::producer::Rejected;
use crate::spool::{Record, SealedSegment, decode_segment};
use crate::transaction::{Transactional, TxnError};

/// How long a transaction of direct deliveries keeps taking requests that
/// arrive while it is sent, before it commits.
pub const GROUP_WAIT: Duration = Duration::from_millis(20);

/// Who this producer is: the checkpoints topic, the ids, and how direct
/// deliveries are grouped into transactions.
#[derive(Debug, Clone)]
pub struct ExactlyOnce {
    pub checkpoints_topic: String,
    pub collector_id: String,
    pub transactional_id: String,
    /// The producer's role (`push`, `audit`): its positions are keyed
    /// `<collector id>/<role>/…`.
    pub role: String,
    pub group: GroupCommit,
}

impl ExactlyOnce {
    /// The producer of `role` of the collector `collector` describes: its
    /// id, its `transactional.id` for that role, its checkpoints topic, and
    /// transactions of at most `collector.transaction_max_events` events.
    pub fn of(collector: &CollectorConfig, role: &str) -> ExactlyOnce {
        ExactlyOnce {
            checkpoints_topic: collector.checkpoints_topic.clone(),
            collector_id: collector.id.id.clone(),
            transactional_id: collector.id.transactional_id(role),
            role: role.to_string(),
            group: GroupCommit { max_events: collector.transaction_max_events, max_wait: GROUP_WAIT },
        }
    }
}

/// How direct deliveries share transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// A transaction takes no more requests once it holds this many
    /// events (a request is never split: one larger than this is a
    /// transaction of its own).
    pub max_events: usize,
    /// Nor once it has been open this long.
    pub max_wait: Duration,
}

impl GroupCommit {
    /// One request per transaction, each committed before the next is
    /// sent: delivery without group commit (for comparisons).
    pub const SINGLE: GroupCommit = GroupCommit { max_events: 1, max_wait: Duration::ZERO };
}

/// The push producer's state, shared by deliveries and the drainer.
pub(super) struct Exactly {
    pub(super) identity: ExactlyOnce,
    /// `None` until the drainer started it, and after a failure left it in
    /// an unknown state (the drainer starts a new one).
    pub(super) txn: Mutex<Option<Transactional>>,
    /// The last spool segment committed (of this spool's incarnation).
    pub(super) committed_segment: Mutex<Option<u64>>,
    /// Records Kafka refused for good during a segment's transaction, left
    /// out of its next attempt.
    pub(super) refused: Mutex<Vec<Rejected>>,
    /// Flipped when the producer is ready, for deliveries waiting on it.
    pub(super) ready: tokio::sync::watch::Sender<bool>,
    /// Direct deliveries waiting for a transaction.
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Request>,
    /// Whether a thread is sending and committing the waiting requests.
    leading: bool,
}

/// One direct delivery, waiting for the commit that holds its events.
struct Request {
    records: Vec<Record>,
    /// Indices of records Kafka refused for good when they were handed to
    /// the producer (dead-lettered, not spooled).
    refused: Vec<usize>,
    answer: oneshot::Sender<Result<Direct, DeliveryError>>,
}

impl Exactly {
    pub(super) fn new(identity: ExactlyOnce) -> Exactly {
        Exactly {
            identity,
            txn: Mutex::new(None),
            committed_segment: Mutex::new(None),
            refused: Mutex::new(Vec::new()),
            ready: tokio::sync::watch::channel(false).0,
            queue: Mutex::new(Queue::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Transactional>> {
        self.txn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether no direct delivery is waiting or being committed.
    pub(super) fn idle(&self) -> bool {
        let queue = self.queue();
        !queue.leading && queue.waiting.is_empty()
    }
}

/// Starts the push producer (blocking; retries while Kafka is away) and
/// settles what the last one may have left: segments whose events are
/// committed already are deleted.
pub(super) fn start(inner: &Arc<Inner>, shutdown: &CancellationToken) -> Result<(), TxnError> {
    let exactly = &inner.exactly;
    let id = &exactly.identity;
    let stop = || shutdown.is_cancelled();
    if stop() {
        return Err(TxnError::Retry("stopping before the push producer started".into()));
    }
    let kafka = crate::with_topic_message_limit(&inner.kafka, &inner.topic);
    let (txn, positions) =
        Transactional::start(&kafka, &id.checkpoints_topic, &id.collector_id, &id.transactional_id, &id.role, &stop)?;
    let direct = positions.get("direct").map(|n| String::from_utf8_lossy(n).into_owned());
    // {"spool": incarnation, "segment": number}
    let position: Option<serde_json::Value> = positions.get("spool").and_then(|p| serde_json::from_slice(p).ok());
    let mut spool = inner.spool.lock().unwrap_or_else(|e| e.into_inner());
    let committed = position
        .filter(|p| p["spool"].as_str() == Some(spool.id()))
        .and_then(|p| p["segment"].as_u64());
    *exactly.committed_segment.lock().unwrap_or_else(|e| e.into_inner()) = committed;
    for segment in spool.sealed_segments() {
        let Some(note) = spool.note(segment.seq) else { continue };
        if direct.as_deref() == Some(note.trim()) {
            tracing::warn!(segment = %segment.path.display(), "spooled events of a transaction whose outcome was unknown are in kafka; deleting them unsent");
            if let Err(error) = spool.remove(segment.seq) {
                tracing::error!(%error, "cannot delete a spool segment already in kafka");
            }
        } else {
            spool.clear_note(segment.seq);
        }
    }
    inner.spooled_bytes.store(spool.used_bytes(), Ordering::Release);
    drop(spool);
    tracing::info!(role = %id.role, transactional_id = %id.transactional_id, committed_segment = ?committed, "kafka transactional producer ready (exactly once)");
    *exactly.lock() = Some(txn);
    exactly.ready.send_replace(true);
    Ok(())
}

/// What became of a direct delivery.
pub(super) enum Direct {
    /// Committed in Kafka.
    Committed,
    /// Not in Kafka (not ready, or the transaction aborted): spool these.
    Spool(Vec<Record>),
    /// Maybe in Kafka: spool these with the nonce, for the next producer
    /// to tell.
    InDoubt(Vec<Record>, String),
}

/// Queues `records` for the next transaction and waits for its commit
/// (group commit: see the module's documentation).
pub(super) async fn deliver(inner: &Arc<Inner>, records: Vec<Record>) -> Result<Direct, DeliveryError> {
    let (answer, answered) = oneshot::channel();
    let lead = {
        let mut queue = inner.exactly.queue();
        queue.waiting.push_back(Request { records, refused: Vec::new(), answer });
        !std::mem::replace(&mut queue.leading, true)
    };
    if lead {
        let inner = inner.clone();
        tokio::task::spawn_blocking(move || commit_groups(&inner));
    }
    answered
        .await
        .unwrap_or_else(|_| Err(DeliveryError::Transaction("the thread committing this delivery failed".into())))
}

/// Sends and commits the waiting requests, transaction after transaction,
/// until none is left (blocking).
fn commit_groups(inner: &Arc<Inner>) {
    let exactly = &inner.exactly;
    let _unblock = Unblock(exactly);
    let group = exactly.identity.group;
    loop {
        let mut guard = exactly.lock();
        let mut batch = Vec::new();
        let mut events = 0;
        {
            let mut queue = exactly.queue();
            if queue.waiting.is_empty() {
                queue.leading = false;
                return;
            }
            take(&mut queue, &mut batch, &mut events, group.max_events);
        }
        if inner.fenced.load(Ordering::Acquire) {
            answer_all(batch, |_| Err(fenced_error()));
            continue;
        }
        let Some(txn) = guard.as_mut() else {
            // Not ready, or failed since: the spool keeps them.
            answer_all(batch, |r| Ok(Direct::Spool(r.records)));
            continue;
        };
        let nonce = nonce();
        let started = Instant::now();
        let mut refused = Vec::new();
        let mut sent = 0;
        let mut dead_lettered = false;
        let result = (|| {
            loop {
                for request in &mut batch[sent..] {
                    for (i, record) in request.records.iter().enumerate() {
                        if let Some(rejected) = txn.send(&inner.topic, &record.key, &record.payload)? {
                            request.refused.push(i);
                            refused.push(rejected);
                        }
                    }
                }
                sent = batch.len();
                // Requests that arrived while these were sent join them,
                // unless the transaction is full or old enough.
                if events >= group.max_events || started.elapsed() >= group.max_wait {
                    break;
                }
                let mut queue = exactly.queue();
                if queue.waiting.is_empty() {
                    break;
                }
                take(&mut queue, &mut batch, &mut events, group.max_events);
            }
            if !refused.is_empty() {
                super::dead_letter::keep(&inner.spool_dir, &inner.topic, &refused)
                    .map_err(|e| TxnError::Aborted(format!("cannot write the dead-letter file: {e}")))?;
                dead_lettered = true;
            }
            txn.put_position("direct", Some(nonce.as_bytes()))?;
            txn.commit_within(inner.kafka_timeout)
        })();
        let requests = batch.len();
        if !refused.is_empty() && !dead_lettered {
            if let Err(error) = super::dead_letter::keep(&inner.spool_dir, &inner.topic, &refused) {
                // Neither in Kafka for sure nor kept: the senders are told
                // to retry (what the transaction may hold is settled by the
                // next producer).
                tracing::error!(%error, dir = %inner.spool_dir.display(), "cannot write the dead-letter file");
                *guard = None;
                exactly.ready.send_replace(false);
                answer_all(batch, |_| Err(DeliveryError::Transaction(format!("cannot write the dead-letter file: {error}"))));
                continue;
            }
        }
        match result {
            Ok(committed) => {
                crate::metrics::events_committed(&inner.topic, committed as u64);
                metrics::histogram!("logwarden_collector_transaction_requests", "role" => exactly.identity.role.clone())
                    .record(requests as f64);
                answer_all(batch, |_| Ok(Direct::Committed));
            }
            Err(error @ TxnError::Fenced { .. }) => {
                *guard = None;
                let error = fenced(inner, error).to_string();
                answer_all(batch, |_| Err(DeliveryError::Fenced(error.clone())));
            }
            Err(TxnError::Aborted(reason)) if txn.open_since().is_none() => {
                // Aborted: none of it is in Kafka. Records Kafka refused
                // for good at delivery are dead-lettered, the rest spooled.
                tracing::warn!(reason, requests, "kafka transaction aborted; spooling its events");
                let rejected = txn.take_rejected();
                if let Err(error) = super::dead_letter::keep(&inner.spool_dir, &inner.topic, &rejected) {
                    tracing::error!(%error, dir = %inner.spool_dir.display(), "cannot write the dead-letter file");
                    let reason = format!("cannot write the dead-letter file: {error}");
                    answer_all(batch, |_| Err(DeliveryError::Transaction(reason.clone())));
                    continue;
                }
                answer_all(batch, |r| Ok(Direct::Spool(unsent(r, &rejected))));
            }
            Err(error) => {
                // The transaction may be open, aborted or committed: this
                // producer is done, the next one settles it.
                tracing::warn!(%error, requests, "kafka transaction outcome unknown; spooling its events with its nonce");
                *guard = None;
                exactly.ready.send_replace(false);
                answer_all(batch, |r| Ok(Direct::InDoubt(unsent(r, &[]), nonce.clone())));
            }
        }
    }
}

/// Moves waiting requests into `batch` while it holds fewer than
/// `max_events` events (at least one request).
fn take(queue: &mut Queue, batch: &mut Vec<Request>, events: &mut usize, max_events: usize) {
    while *events < max_events || batch.is_empty() {
        let Some(request) = queue.waiting.pop_front() else { break };
        *events += request.records.len();
        batch.push(request);
    }
}

fn answer_all(batch: Vec<Request>, mut outcome: impl FnMut(Request) -> Result<Direct, DeliveryError>) {
    for mut request in batch {
        let answer = std::mem::replace(&mut request.answer, oneshot::channel().0);
        // The sender may have gone (a client that hung up): nothing to tell.
        let _ = answer.send(outcome(request));
    }
}

/// The records of a request that are neither refused at hand-over nor
/// `rejected` in delivery reports (both dead-lettered).
fn unsent(request: Request, rejected: &[Rejected]) -> Vec<Record> {
    request
        .records
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !request.refused.contains(i))
        .map(|(_, r)| r)
        .filter(|r| !rejected.iter().any(|x| x.key == r.key.as_bytes() && x.payload == r.payload))
        .collect()
}

/// If the leading thread panics, the requests it left are answered (with
/// an error, by dropping them) and another thread may lead.
struct Unblock<'a>(&'a Exactly);

impl Drop for Unblock<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.queue();
            queue.waiting.clear();
            queue.leading = false;
        }
    }
}

/// Sends a spool segment in one transaction with the `spool` position
/// (blocking). `Ok(count)` once committed, or when it was committed before.
pub(super) fn send_segment(inner: &Arc<Inner>, segment: &SealedSegment) -> Result<usize, String> {
    let exactly = &inner.exactly;
    if exactly.committed_segment.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|c| c >= segment.seq) {
        tracing::warn!(segment = %segment.path.display(), "spool segment committed to kafka before a crash; deleting it unsent");
        return Ok(0);
    }
    let bytes = std::fs::read(&segment.path).map_err(|e| format!("reading {}: {e}", segment.path.display()))?;
    let contents = decode_segment(&bytes);
    if contents.unreadable_bytes > 0 {
        crate::metrics::spool_unreadable(contents.unreadable_bytes as u64);
        tracing::error!(segment = %segment.path.display(), bytes = contents.unreadable_bytes, records = contents.records.len(),
            "spool segment ends in unreadable bytes (torn write or corruption); the readable records are sent");
    }
    let mut guard = exactly.lock();
    let Some(txn) = guard.as_mut() else {
        return Err("the kafka producer is starting".into());
    };
    let spool_id = inner.spool.lock().unwrap_or_else(|e| e.into_inner()).id().to_string();
    let position = serde_json::to_vec(&json!({"spool": spool_id, "segment": segment.seq})).expect("JSON");
    let known_refused = std::mem::take(&mut *exactly.refused.lock().unwrap_or_else(|e| e.into_inner()));
    let mut refused = Vec::new();
    let result = (|| {
        for record in &contents.records {
            if known_refused.iter().any(|r| r.key == record.key.as_bytes() && r.payload == record.payload) {
                continue;
            }
            if let Some(rejected) = txn.send(&inner.topic, &record.key, &record.payload)? {
                refused.push(rejected);
            }
        }
        if !refused.is_empty() {
            super::dead_letter::keep(&inner.spool_dir, &inner.topic, &refused)
                .map_err(|e| TxnError::Aborted(format!("cannot write the dead-letter file: {e}")))?;
        }
        txn.put_position("spool", Some(&position))?;
        txn.commit()
    })();
    match result {
        Ok(events) => {
            crate::metrics::events_committed(&inner.topic, events as u64);
            *exactly.committed_segment.lock().unwrap_or_else(|e| e.into_inner()) = Some(segment.seq);
            Ok(contents.records.len())
        }
        Err(error @ TxnError::Fenced { .. }) => {
            *guard = None;
            Err(fenced(inner, error).to_string())
        }
        Err(TxnError::Aborted(reason)) if txn.open_since().is_none() => {
            let rejected = txn.take_rejected();
            if !rejected.is_empty() {
                // Refused at delivery: kept, and left out of the next attempt.
                super::dead_letter::keep(&inner.spool_dir, &inner.topic, &rejected).map_err(|e| e.to_string())?;
            }
            let mut known = known_refused;
            known.extend(rejected);
            *exactly.refused.lock().unwrap_or_else(|e| e.into_inner()) = known;
            Err(reason)
        }
        Err(error) => {
            *guard = None;
            exactly.ready.send_replace(false);
            Err(error.to_string())
        }
    }
}

fn fenced_error() -> DeliveryError {
    DeliveryError::Fenced("another process with the same collector.id took over".into())
}

/// Says it loudly; pushed events are refused from now on and the process
/// is told to stop.
pub(super) fn fenced(inner: &Inner, error: TxnError) -> DeliveryError {
    if !inner.fenced.swap(true, Ordering::AcqRel) {
        let role = &inner.exactly.identity.role;
        tracing::error!(%error, role, "FENCED: another process started with this collector's id (collector.id); events are refused and this one stops");
        metrics::counter!("logwarden_collector_errors_total", "stage" => "transaction", "error_type" => "fenced").increment(1);
        inner.stop.cancel();
    }
    DeliveryError::Fenced(error.to_string())
}

fn nonce() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{}-{nanos:x}", std::process::id())
}

/// How long a delivery waits for the producer to be ready before it
/// spools instead.
pub(super) async fn wait_ready(inner: &Inner, timeout: Duration) -> bool {
    let mut ready = inner.exactly.ready.subscribe();
    tokio::time::timeout(timeout, ready.wait_for(|r| *r)).await.is_ok_and(|r| r.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n: usize) -> (Request, oneshot::Receiver<Result<Direct, DeliveryError>>) {
        let (answer, answered) = oneshot::channel();
        let records = (0..n).map(|i| Record { key: "k".into(), payload: vec![i as u8] }).collect();
        (Request { records, refused: Vec::new(), answer }, answered)
    }

    #[test]
    fn a_transaction_takes_whole_requests_up_to_its_size() {
        let mut queue = Queue::default();
        let mut receivers = Vec::new();
        for n in [3, 4, 5, 1] {
            let (r, rx) = request(n);
            queue.waiting.push_back(r);
            receivers.push(rx);
        }
        let (mut batch, mut events) = (Vec::new(), 0);
        take(&mut queue, &mut batch, &mut events, 6);
        assert_eq!((batch.len(), events), (2, 7), "whole requests until the size is reached");
        let (mut single, mut events) = (Vec::new(), 0);
        take(&mut queue, &mut single, &mut events, GroupCommit::SINGLE.max_events);
        assert_eq!((single.len(), events), (1, 5), "one request larger than the size is taken alone");
        assert_eq!(queue.waiting.len(), 1);
    }

    #[test]
    fn requests_spool_what_was_neither_refused_nor_rejected() {
        let (mut r, _rx) = request(4);
        r.refused.push(1);
        let rejected = [Rejected { key: b"k".to_vec(), payload: vec![2], reason: "too large".into() }];
        let left: Vec<u8> = unsent(r, &rejected).iter().map(|r| r.payload[0]).collect();
        assert_eq!(left, [0, 3]);
    }
}
