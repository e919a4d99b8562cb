//! Exactly-once production, as Kafka Connect's exactly-once sources do it
//! (KIP-618): a transactional producer whose transactions carry events
//! *and* the source positions they complete, as records of a compacted
//! checkpoints topic. A consumer reading `read_committed` sees the events
//! of a transaction exactly when the positions past them are committed, so
//! a restarted source that resumes from the committed positions neither
//! loses nor repeats an event.
//!
//! - [`Transactional::start`] creates the producer with a stable
//!   `transactional.id`, initialises it (which fences an older producer with
//!   the same id and aborts what it left open), then reads this producer's
//!   committed positions: it commits a marker and reads the checkpoints
//!   topic `read_committed` up to that marker, so every position committed
//!   before the start is seen, whatever other collectors have open.
//! - [`Transactional::send`] and [`Transactional::put_position`] add to the
//!   open transaction; [`Transactional::commit`] commits it.
//! - [`TxnError`] tells the caller what to do: `Fenced` stops (another
//!   process with the same id took over), `Aborted` rewinds to the committed
//!   positions, `Retry` tries again later.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use logwarden_config::{ClientKind, KafkaConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use thiserror::Error;

use crate::in_place::{Held, Payload, TopicNames, produce};
use crate::metrics;
pub use crate::at_least_once::{AckedContext, AtLeastOnce};
use crate::producer::{Rejected, is_permanent};

/// How long one transaction step (init, commit, abort) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the coordinator keeps a transaction open before aborting it
/// (a killed collector's transaction, if no successor fences it sooner).
const TRANSACTION_TIMEOUT_MS: &str = "60000";
/// How long reading the committed positions may take.
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// One call of `init_transactions` at start, between two looks at `stop`.
const INIT_STEP: Duration = Duration::from_secs(2);
/// Start attempts that may fail quietly: a broker slow to answer (a TLS
/// handshake, a coordinator loading) is not worth a warning, ~5 s of
/// Kafka away is.
const INIT_FAILURES_BEFORE_WARNING: u32 = 3;
/// The pause between two attempts to start while Kafka is away.
pub(crate) const START_PAUSE: Duration = Duration::from_millis(500);

#[derive(Debug, Error)]
pub enum TxnError {
    /// Another producer with the same `transactional.id` started: this one
    /// must stop writing for good.
    #[error("fenced by another collector with the same transactional id {transactional_id}: {reason}")]
    Fenced { transactional_id: String, reason: String },
    /// The transaction was aborted: nothing of it is visible to
    /// `read_committed` consumers; the caller goes back to the committed
    /// positions.
    #[error("kafka transaction aborted: {0}")]
    Aborted(String),
    /// A step did not complete (Kafka away, a timeout): try again later.
    #[error("kafka transaction step did not complete: {0}")]
    Retry(String),
}

impl TxnError {
    pub fn is_fenced(&self) -> bool {
        matches!(self, TxnError::Fenced { .. })
    }
}

/// Delivery reports of a transactional producer: failures are counted and
/// logged (they fail the transaction); records Kafka refuses for good are
/// kept for the caller to dead-letter.
#[derive(Default)]
pub struct TxnContext {
    rejected: Mutex<Vec<Rejected>>,
}

impl ClientContext for TxnContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ProducerContext for TxnContext {
    type DeliveryOpaque = Held;

    fn delivery(&self, result: &DeliveryResult<'_>, _held: Held) {
        if let Err((error, message)) = result {
            metrics::delivery_error(message.topic(), error);
            tracing::warn!(%error, topic = message.topic(), "kafka delivery failed; the transaction will be aborted");
            if is_permanent(error) {
                self.rejected.lock().unwrap_or_else(|e| e.into_inner()).push(Rejected {
                    key: message.key().unwrap_or_default().to_vec(),
                    payload: message.payload().unwrap_or_default().to_vec(),
                    reason: error.to_string(),
                });
            }
        }
    }
}

pub type TxnProducer = ThreadedProducer<TxnContext>;

/// The transactional producer: idempotent, `acks=all`, compressed,
/// batched, from the `[kafka]` section (brokers, SASL, TLS,
/// `[kafka.producer]`), with `transactional.id` set.
pub fn transactional_producer(config: &KafkaConfig, transactional_id: &str) -> Result<TxnProducer, KafkaError> {
    crate::producer::producer_client(config, &[("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS)])
        .set("transactional.id", transactional_id)
        .create_with_context(TxnContext::default())
}

/// What a failed transactional call means for the caller.
///
/// Only a fence stops the caller: another producer with the same
/// `transactional.id` took over, and starting again would fence it in
/// turn. Other errors librdkafka calls fatal leave this producer instance
/// unusable but not the id: a broker restarting under load answered an
/// abort with `INVALID_TXN_STATE` after a message timed out, and the
/// collector stopped as if fenced (CI, `tests/spool.rs`). Those are
/// `Retry`: the caller starts a new producer, whose `init_transactions`
/// aborts what the old one left open, and goes on from the committed
/// positions.
pub fn classify(error: KafkaError, transactional_id: &str) -> TxnError {
    let reason = error.to_string();
    if is_fence(error.rdkafka_error_code()) {
        return TxnError::Fenced { transactional_id: transactional_id.to_string(), reason };
    }
    match &error {
        KafkaError::Transaction(e) if e.is_fatal() => {
            TxnError::Retry(format!("this producer cannot go on (a new one starts): {reason}"))
        }
        KafkaError::Transaction(e) if e.txn_requires_abort() => TxnError::Aborted(reason),
        _ => TxnError::Retry(reason),
    }
}

/// The codes a fenced producer gets: librdkafka's own, the broker's since
/// KIP-588, and the epoch error older brokers answer a fenced producer with.
fn is_fence(code: Option<RDKafkaErrorCode>) -> bool {
    matches!(
        code,
        Some(RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch)
    )
}

/// One source's transactional producer and its open transaction.
pub struct Transactional {
    producer: TxnProducer,
    transactional_id: String,
    checkpoints_topic: String,
    /// `<collector id>/<role>/`: the keys of this producer's positions.
    prefix: String,
    open: Option<Open>,
    topics: TopicNames,
}

/// An open transaction (or, at least once, events waiting for their
/// positions): since when, and how many events.
pub(crate) struct Open {
    pub(crate) started: Instant,
    pub(crate) events: usize,
}

impl Transactional {
    /// Creates and initialises the producer (retrying while Kafka is away,
    /// until `stop` says so) and reads the positions it committed before:
    /// name → payload, for the names given to [`Transactional::put_position`].
    pub fn start(
        config: &KafkaConfig,
        checkpoints_topic: &str,
        collector_id: &str,
        transactional_id: &str,
        role: &str,
        stop: &dyn Fn() -> bool,
    ) -> Result<(Transactional, BTreeMap<String, Vec<u8>>), TxnError> {
        let go_on = || {
            if stop() {
                return Err(TxnError::Retry(format!("stopping before the transactional producer {transactional_id} started")));
            }
            Ok(())
        };
        go_on()?;
        let producer = transactional_producer(config, transactional_id).map_err(|e| TxnError::Retry(e.to_string()))?;
        // The cluster's metadata first: an init_transactions that starts
        // while librdkafka replaces its bootstrap connection by the
        // broker's own finds no broker for its coordinator lookup and waits
        // its 500 ms retry timer (one start in two here); after two
        // metadata requests none did in 9 starts. Kafka away: init retries.
        for _ in 0..2 {
            go_on()?;
            let _ = producer.client().fetch_metadata(None, Duration::from_secs(2));
        }
        go_on()?;
        // In short steps, so `stop` is heard within one (a SIGTERM while
        // Kafka is away waited out the whole 30 s step); a call that timed
        // out resumes where the last one was (librdkafka: "resumable when a
        // retriable timeout error is returned").
        retrying(
            START_PAUSE,
            || producer.init_transactions(INIT_STEP).map_err(|e| classify(e, transactional_id)),
            |error, failures| {
                let again = !error.is_fenced() && !stop();
                if again && failures == INIT_FAILURES_BEFORE_WARNING {
                    tracing::warn!(%error, transactional_id, "cannot start the kafka transactional producer yet; retrying");
                }
                again
            },
        )?;
        let mut txn = Transactional {
            producer,
            transactional_id: transactional_id.to_string(),
            checkpoints_topic: checkpoints_topic.to_string(),
            prefix: format!("{collector_id}/{role}/"),
            open: None,
            topics: TopicNames::default(),
        };
        let positions = retrying(
            START_PAUSE,
            || txn.read_positions(config),
            |error, _| {
                let again = !error.is_fenced() && !stop();
                if again {
                    tracing::warn!(%error, topic = checkpoints_topic, "cannot read the committed positions yet; retrying");
                }
                again
            },
        )?;
        Ok((txn, positions))
    }

    /// Commits a marker, then reads the checkpoints topic `read_committed`
    /// from the start up to that marker: everything this producer's id
    /// committed before is before the marker (the producer fenced any older
    /// one when it was initialised), whatever other collectors left open.
    fn read_positions(&mut self, config: &KafkaConfig) -> Result<BTreeMap<String, Vec<u8>>, TxnError> {
        let nonce = start_nonce();
        self.put_position("start", Some(nonce.as_bytes()))?;
        self.commit()?;
        read_positions_to_marker(config, &self.checkpoints_topic, &self.prefix, &nonce)
    }

    fn begin(&mut self) -> Result<(), TxnError> {
        if self.open.is_none() {
            self.producer.begin_transaction().map_err(|e| classify(e, &self.transactional_id))?;
            self.open = Some(Open { started: Instant::now(), events: 0 });
        }
        Ok(())
    }

    /// Whether a transaction is open, and since when.
    pub fn open_since(&self) -> Option<Instant> {
        self.open.as_ref().map(|o| o.started)
    }

    /// Events in the open transaction.
    pub fn events(&self) -> usize {
        self.open.as_ref().map_or(0, |o| o.events)
    }

    /// Adds an event to the open transaction (opening one if needed),
    /// waiting while librdkafka's queue is full (backpressure). A record
    /// Kafka refuses for what it is comes back as `Ok(Some(..))` for the
    /// caller to keep or dead-letter; it is not in the transaction.
    pub fn send(&mut self, topic: &str, key: &str, payload: &[u8]) -> Result<Option<Rejected>, TxnError> {
        self.send_payload(topic, key, Payload::Copied(payload))
    }

    /// [`Transactional::send`] with the payload read where it is (see
    /// [`Payload::InPlace`]) or copied.
    pub fn send_payload(&mut self, topic: &str, key: &str, payload: Payload<'_>) -> Result<Option<Rejected>, TxnError> {
        self.begin()?;
        match self.send_to(topic, None, key, Some(payload)) {
            Ok(()) => {
                if let Some(open) = &mut self.open {
                    open.events += 1;
                }
                Ok(None)
            }
            Err(SendError::Permanent(error)) => {
                metrics::delivery_error(topic, &error);
                Ok(Some(Rejected {
                    key: key.as_bytes().to_vec(),
                    payload: payload.bytes().to_vec(),
                    reason: error.to_string(),
                }))
            }
            Err(SendError::Txn(error)) => Err(error),
        }
    }

    /// Writes position `name` (under this producer's prefix) in the open
    /// transaction; `None` lets it go (a tombstone).
    pub fn put_position(&mut self, name: &str, payload: Option<&[u8]>) -> Result<(), TxnError> {
        self.begin()?;
        let key = format!("{}{name}", self.prefix);
        let topic = self.checkpoints_topic.clone();
        self.send_to(&topic, Some(0), &key, payload.map(Payload::Copied)).map_err(|e| match e {
            SendError::Permanent(error) => TxnError::Aborted(format!("position record refused: {error}")),
            SendError::Txn(error) => error,
        })
    }

    fn send_to(&mut self, topic: &str, partition: Option<i32>, key: &str, payload: Option<Payload<'_>>) -> Result<(), SendError> {
        let sent = self
            .topics
            .get(topic)
            .and_then(|name| produce(&self.producer, name, partition, key.as_bytes(), payload));
        match sent {
            Ok(()) => Ok(()),
            Err(error) if is_permanent(&error) => Err(SendError::Permanent(error)),
            Err(error) => {
                metrics::delivery_error(topic, &error);
                Err(SendError::Txn(classify(error, &self.transactional_id)))
            }
        }
    }

    /// Commits the open transaction (nothing to do when none is open). A
    /// step that times out is retried for a while; a transaction that
    /// cannot be committed is aborted (`Aborted`: nothing of it is visible,
    /// the caller rewinds). `Retry` means even the abort failed: the caller
    /// starts a new producer, whose initialisation aborts what this one left.
    pub fn commit(&mut self) -> Result<usize, TxnError> {
        self.commit_within(STEP_TIMEOUT * 2)
    }

    /// [`Transactional::commit`], giving up (and aborting) after `bound`.
    pub fn commit_within(&mut self, bound: Duration) -> Result<usize, TxnError> {
        let Some(open) = self.open.take() else {
            return Ok(0);
        };
        let started = Instant::now();
        let step = bound.min(STEP_TIMEOUT);
        // Delivered first: rdkafka's commit_transaction flushes in a way
        // that costs ~100 ms (see `flush_now`); after this its flush has
        // nothing left to wait for. A timeout here is the commit's to report.
        let _ = crate::producer::flush_now(&self.producer, step);
        match retrying(
            Duration::from_millis(200),
            || self.producer.commit_transaction(step).map_err(|e| classify(e, &self.transactional_id)),
            // librdkafka: a retriable commit error may be retried; it turns
            // abortable if the transaction cannot finish. A producer in a
            // fatal state answers every call the same: not retried.
            |error, _| match error {
                TxnError::Retry(reason)
                    if started.elapsed() + step <= bound && self.producer.client().fatal_error().is_none() =>
                {
                    tracing::warn!(reason, events = open.events, "kafka transaction not committed yet; retrying");
                    true
                }
                _ => false,
            },
        ) {
            Ok(()) => {
                metrics::transaction_committed(started.elapsed());
                Ok(open.events)
            }
            Err(TxnError::Retry(reason) | TxnError::Aborted(reason)) => {
                self.abort_open(step)?;
                Err(TxnError::Aborted(reason))
            }
            Err(fenced) => Err(fenced),
        }
    }

    /// Aborts the open transaction, if any: none of it becomes visible.
    pub fn abort(&mut self) -> Result<(), TxnError> {
        if self.open.take().is_some() {
            return self.abort_open(STEP_TIMEOUT);
        }
        Ok(())
    }

    /// Aborts, each attempt taking at most `step` (three attempts when
    /// `step` is the full [`STEP_TIMEOUT`], else one).
    fn abort_open(&mut self, step: Duration) -> Result<(), TxnError> {
        metrics::transaction_aborted();
        let attempts = if step >= STEP_TIMEOUT { 3 } else { 1 };
        retrying(
            Duration::from_millis(500),
            || self.producer.abort_transaction(step).map_err(|e| classify(e, &self.transactional_id)),
            |error, failures| {
                tracing::warn!(%error, attempt = failures, attempts, "cannot abort the kafka transaction");
                !error.is_fenced() && failures < attempts && self.producer.client().fatal_error().is_none()
            },
        )
        .map_err(|error| match error {
            fenced @ TxnError::Fenced { .. } => fenced,
            other => TxnError::Retry(format!("cannot abort the kafka transaction: {other}")),
        })
    }

    /// Records Kafka refused for good in delivery reports since the last call.
    pub fn take_rejected(&self) -> Vec<Rejected> {
        std::mem::take(&mut *self.producer.context().rejected.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn transactional_id(&self) -> &str {
        &self.transactional_id
    }
}

enum SendError {
    Permanent(KafkaError),
    Txn(TxnError),
}

/// Runs `step` until it succeeds, or until `again` (given the error and
/// how many attempts failed so far) says to give up and return that error;
/// `pause` between two attempts.
pub(crate) fn retrying<T>(
    pause: Duration,
    mut step: impl FnMut() -> Result<T, TxnError>,
    mut again: impl FnMut(&TxnError, u32) -> bool,
) -> Result<T, TxnError> {
    let mut failures = 0;
    loop {
        match step() {
            Ok(value) => return Ok(value),
            Err(error) => {
                failures += 1;
                if !again(&error, failures) {
                    return Err(error);
                }
                std::thread::sleep(pause);
            }
        }
    }
}

/// A value no earlier start wrote: this start's marker in the checkpoints topic.
pub(crate) fn start_nonce() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
    )
}

/// Reads the checkpoints topic `read_committed` from the start up to the
/// record `<prefix>start` = `nonce` (written and acknowledged before):
/// name → payload of the positions under `prefix`, tombstones applied.
pub(crate) fn read_positions_to_marker(
    config: &KafkaConfig,
    checkpoints_topic: &str,
    prefix: &str,
    nonce: &str,
) -> Result<BTreeMap<String, Vec<u8>>, TxnError> {
    let marker_key = format!("{prefix}start");
    let reader: BaseConsumer = crate::client_config(config, ClientKind::Consumer)
        .set("group.id", "logwarden-checkpoints-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .create()
        .map_err(|e| TxnError::Retry(e.to_string()))?;
    // The partition's leader known before the assignment: without it
    // librdkafka looks the start offset up on its 500 ms retry timer.
    reader
        .fetch_metadata(Some(checkpoints_topic), STEP_TIMEOUT)
        .map_err(|e| TxnError::Retry(format!("reading the metadata of {checkpoints_topic}: {e}")))?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(checkpoints_topic, 0, Offset::Beginning)
        .map_err(|e| TxnError::Retry(e.to_string()))?;
    reader.assign(&assignment).map_err(|e| TxnError::Retry(e.to_string()))?;
    let started = Instant::now();
    let mut positions = BTreeMap::new();
    while started.elapsed() < READ_TIMEOUT {
        let message = match reader.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => message,
            Some(Err(KafkaError::PartitionEOF(_))) | None => continue,
            Some(Err(error)) => return Err(TxnError::Retry(format!("reading {checkpoints_topic}: {error}"))),
        };
        let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok()) else {
            continue;
        };
        if key == marker_key {
            if message.payload() == Some(nonce.as_bytes()) {
                positions.remove("start");
                drop(message);
                crate::let_go(reader);
                return Ok(positions);
            }
            continue;
        }
        if let Some(name) = key.strip_prefix(prefix) {
            match message.payload() {
                Some(payload) => positions.insert(name.to_string(), payload.to_vec()),
                // A tombstone: the position was let go.
                None => positions.remove(name),
            };
        }
    }
    Err(TxnError::Retry(format!("reading {checkpoints_topic} up to this start's marker took over {READ_TIMEOUT:?}")))
}

/// Creates the compacted checkpoints topic (one partition) unless it exists.
pub async fn ensure_checkpoints_topic(config: &KafkaConfig, topic: &str) -> Result<(), crate::KafkaClientError> {
    crate::ensure_topic_with(
        config,
        topic,
        1,
        &[("cleanup.policy", "compact"), ("segment.ms", "600000"), ("min.cleanable.dirty.ratio", "0.1")],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step failing `failing` times with `Retry`, then succeeding; counts its calls.
    fn flaky(failing: u32, calls: &mut u32) -> impl FnMut() -> Result<u32, TxnError> + '_ {
        move || {
            *calls += 1;
            if *calls <= failing { Err(TxnError::Retry(format!("failure {calls}"))) } else { Ok(*calls) }
        }
    }

    #[test]
    fn retrying_tries_again_until_the_step_succeeds() {
        let mut calls = 0;
        let mut seen = Vec::new();
        let result = retrying(Duration::ZERO, flaky(2, &mut calls), |_, failures| {
            seen.push(failures);
            true
        });
        assert_eq!(result.unwrap(), 3);
        assert_eq!(seen, [1, 2]);
    }

    #[test]
    fn retrying_returns_the_error_it_gave_up_on() {
        let mut calls = 0;
        let result = retrying(Duration::ZERO, flaky(5, &mut calls), |_, failures| failures < 2);
        match result {
            Err(TxnError::Retry(reason)) => assert_eq!(reason, "failure 2"),
            other => panic!("expected the second failure, got {other:?}"),
        }
        assert_eq!(calls, 2);
    }
}
