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
//! So an event acknowledged to its sender (in Kafka or in the spool) is in
//! the topic exactly once for `read_committed` consumers, after any crash.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::inner::{DeliveryError, Inner};
use crate::producer::Rejected;
use crate::spool::{Record, SealedSegment, decode_segment};
use crate::transaction::{Transactional, TxnError};

/// Who this producer is: the checkpoints topic and the ids.
#[derive(Debug, Clone)]
pub struct ExactlyOnce {
    pub checkpoints_topic: String,
    pub collector_id: String,
    pub transactional_id: String,
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
}

impl Exactly {
    pub(super) fn new(identity: ExactlyOnce) -> Exactly {
        Exactly {
            identity,
            txn: Mutex::new(None),
            committed_segment: Mutex::new(None),
            refused: Mutex::new(Vec::new()),
            ready: tokio::sync::watch::channel(false).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Transactional>> {
        self.txn.lock().unwrap_or_else(|e| e.into_inner())
    }
}


/// Starts the push producer (blocking; retries while Kafka is away) and
/// settles what the last one may have left: segments whose events are
/// committed already are deleted.
pub(super) fn start(inner: &Arc<Inner>, shutdown: &CancellationToken) -> Result<(), TxnError> {
    let exactly = inner.exactly.as_ref().expect("exactly-once delivery");
    let id = &exactly.identity;
    let stop = || shutdown.is_cancelled();
    let (txn, positions) =
        Transactional::start(&inner.kafka, &id.checkpoints_topic, &id.collector_id, &id.transactional_id, "push", &stop)?;
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
    tracing::info!(transactional_id = %id.transactional_id, committed_segment = ?committed, "push producer ready (exactly once)");
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

/// One transaction with `records` and the `direct` nonce (blocking).
pub(super) fn deliver(inner: &Arc<Inner>, records: Vec<Record>) -> Result<Direct, DeliveryError> {
    let exactly = inner.exactly.as_ref().expect("exactly-once delivery");
    let mut guard = exactly.lock();
    let Some(txn) = guard.as_mut() else {
        return Ok(Direct::Spool(records));
    };
    let nonce = nonce();
    let mut refused = Vec::new();
    let mut sent = Vec::with_capacity(records.len());
    let result = (|| {
        for record in &records {
            match txn.send(&inner.topic, &record.key, &record.payload)? {
                Some(rejected) => refused.push(rejected),
                None => sent.push(record.clone()),
            }
        }
        if !refused.is_empty() {
            super::dead_letter::keep(&inner.spool_dir, &inner.topic, &refused)
                .map_err(|e| TxnError::Aborted(format!("cannot write the dead-letter file: {e}")))?;
        }
        txn.put_position("direct", Some(nonce.as_bytes()))?;
        txn.commit_within(inner.kafka_timeout)
    })();
    match result {
        Ok(events) => {
            crate::metrics::events_committed(&inner.topic, events as u64);
            Ok(Direct::Committed)
        }
        Err(error @ TxnError::Fenced { .. }) => {
            *guard = None;
            Err(fenced(inner, error))
        }
        Err(TxnError::Aborted(reason)) if txn.open_since().is_none() => {
            // Aborted: none of it is in Kafka. Records Kafka refused for
            // good at delivery are dead-lettered, the rest spooled.
            tracing::warn!(reason, events = records.len(), "kafka transaction aborted; spooling its events");
            let rejected = txn.take_rejected();
            if !rejected.is_empty() {
                super::dead_letter::keep(&inner.spool_dir, &inner.topic, &rejected).map_err(DeliveryError::DeadLetter)?;
            }
            Ok(Direct::Spool(without(sent, &rejected)))
        }
        Err(error) => {
            // The transaction may be open, aborted or committed: this
            // producer is done, the next one settles it.
            tracing::warn!(%error, events = records.len(), "kafka transaction outcome unknown; spooling its events with its nonce");
            *guard = None;
            exactly.ready.send_replace(false);
            Ok(Direct::InDoubt(sent, nonce))
        }
    }
}

/// Sends a spool segment in one transaction with the `spool` position
/// (blocking). `Ok(count)` once committed, or when it was committed before.
pub(super) fn send_segment(inner: &Arc<Inner>, segment: &SealedSegment) -> Result<usize, String> {
    let exactly = inner.exactly.as_ref().expect("exactly-once delivery");
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

fn without(records: Vec<Record>, rejected: &[Rejected]) -> Vec<Record> {
    records
        .into_iter()
        .filter(|r| !rejected.iter().any(|x| x.key == r.key.as_bytes() && x.payload == r.payload))
        .collect()
}

/// Says it loudly; pushed events are refused from now on and the process
/// is told to stop.
pub(super) fn fenced(inner: &Inner, error: TxnError) -> DeliveryError {
    if !inner.fenced.swap(true, Ordering::AcqRel) {
        tracing::error!(%error, "FENCED: another collector started with this collector's id (collector.id); pushed events are refused and this one stops");
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
    let Some(exactly) = &inner.exactly else { return true };
    let mut ready = exactly.ready.subscribe();
    tokio::time::timeout(timeout, ready.wait_for(|r| *r)).await.is_ok_and(|r| r.is_ok())
}
