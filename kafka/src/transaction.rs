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
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use thiserror::Error;

use crate::metrics;
use crate::producer::{Rejected, is_permanent};

/// How long one transaction step (init, commit, abort) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the coordinator keeps a transaction open before aborting it
/// (a killed collector's transaction, if no successor fences it sooner).
const TRANSACTION_TIMEOUT_MS: &str = "60000";
/// How long reading the committed positions may take.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

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
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
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
pub fn classify(error: KafkaError, transactional_id: &str) -> TxnError {
    let reason = error.to_string();
    match &error {
        KafkaError::Transaction(e) if e.is_fatal() => {
            TxnError::Fenced { transactional_id: transactional_id.to_string(), reason }
        }
        KafkaError::Transaction(e) if e.txn_requires_abort() => TxnError::Aborted(reason),
        _ if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced)
        ) =>
        {
            TxnError::Fenced { transactional_id: transactional_id.to_string(), reason }
        }
        _ => TxnError::Retry(reason),
    }
}

/// One source's transactional producer and its open transaction.
pub struct Transactional {
    producer: TxnProducer,
    transactional_id: String,
    checkpoints_topic: String,
    /// `<collector id>/<role>/`: the keys of this producer's positions.
    prefix: String,
    open: Option<Open>,
}

struct Open {
    started: Instant,
    events: usize,
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
        let producer = transactional_producer(config, transactional_id).map_err(|e| TxnError::Retry(e.to_string()))?;
        let mut failing = false;
        loop {
            match producer.init_transactions(STEP_TIMEOUT) {
                Ok(()) => break,
                Err(error) => {
                    let error = classify(error, transactional_id);
                    if error.is_fenced() || stop() {
                        return Err(error);
                    }
                    if !failing {
                        tracing::warn!(%error, transactional_id, "cannot start the kafka transactional producer yet; retrying");
                        failing = true;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
        let mut txn = Transactional {
            producer,
            transactional_id: transactional_id.to_string(),
            checkpoints_topic: checkpoints_topic.to_string(),
            prefix: format!("{collector_id}/{role}/"),
            open: None,
        };
        let positions = loop {
            match txn.read_positions(config) {
                Ok(positions) => break positions,
                Err(error) if error.is_fenced() || stop() => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, topic = checkpoints_topic, "cannot read the committed positions yet; retrying");
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        };
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
                Ok(Some(Rejected { key: key.as_bytes().to_vec(), payload: payload.to_vec(), reason: error.to_string() }))
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
        self.send_to(&topic, Some(0), &key, payload).map_err(|e| match e {
            SendError::Permanent(error) => TxnError::Aborted(format!("position record refused: {error}")),
            SendError::Txn(error) => error,
        })
    }

    fn send_to(&self, topic: &str, partition: Option<i32>, key: &str, payload: Option<&[u8]>) -> Result<(), SendError> {
        let mut record: BaseRecord<'_, str, [u8], ()> = BaseRecord::to(topic).key(key);
        if let Some(payload) = payload {
            record = record.payload(payload);
        }
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    metrics::backpressure();
                    record = returned;
                    crate::producer::queue_full_pause();
                }
                Err((error, _)) if is_permanent(&error) => return Err(SendError::Permanent(error)),
                Err((error, _)) => {
                    metrics::delivery_error(topic, &error);
                    return Err(SendError::Txn(classify(error, &self.transactional_id)));
                }
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
        let reason = loop {
            match self.producer.commit_transaction(step) {
                Ok(()) => {
                    metrics::transaction_committed(started.elapsed());
                    return Ok(open.events);
                }
                Err(error) => match classify(error, &self.transactional_id) {
                    // librdkafka: a retriable commit error may be retried; it
                    // turns abortable if the transaction cannot finish.
                    TxnError::Retry(reason) if started.elapsed() + step <= bound => {
                        tracing::warn!(reason, events = open.events, "kafka transaction not committed yet; retrying");
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    TxnError::Retry(reason) | TxnError::Aborted(reason) => break reason,
                    fenced => return Err(fenced),
                },
            }
        };
        self.abort_open(step)?;
        Err(TxnError::Aborted(reason))
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
        let mut last = String::new();
        let attempts = if step >= STEP_TIMEOUT { 3 } else { 1 };
        for _ in 0..attempts {
            match self.producer.abort_transaction(step) {
                Ok(()) => return Ok(()),
                Err(error) => match classify(error, &self.transactional_id) {
                    fenced @ TxnError::Fenced { .. } => return Err(fenced),
                    other => {
                        tracing::warn!(error = %other, "cannot abort the kafka transaction yet; retrying");
                        last = other.to_string();
                        std::thread::sleep(Duration::from_millis(500));
                    }
                },
            }
        }
        Err(TxnError::Retry(format!("cannot abort the kafka transaction: {last}")))
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

/// A value no earlier start wrote: this start's marker in the checkpoints topic.
fn start_nonce() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
    )
}

/// Reads the checkpoints topic `read_committed` from the start up to the
/// record `<prefix>start` = `nonce` (written and acknowledged before):
/// name → payload of the positions under `prefix`, tombstones applied.
fn read_positions_to_marker(
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

/// Delivery reports of the at-least-once producer: the first failure (it
/// fails the next commit: the source reads again from its positions) and
/// the records Kafka refused for good (dead-lettered at the next commit).
#[derive(Default)]
pub struct AckedContext {
    failed: Mutex<Option<String>>,
    rejected: Mutex<Vec<Rejected>>,
}

impl ClientContext for AckedContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ProducerContext for AckedContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, message)) = result {
            metrics::delivery_error(message.topic(), error);
            if is_permanent(error) {
                self.rejected.lock().unwrap_or_else(|e| e.into_inner()).push(Rejected {
                    key: message.key().unwrap_or_default().to_vec(),
                    payload: message.payload().unwrap_or_default().to_vec(),
                    reason: error.to_string(),
                });
            } else {
                tracing::warn!(%error, topic = message.topic(), "kafka delivery failed; reading again from the last positions");
                self.failed.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// The at-least-once counterpart of [`Transactional`], for a source that
/// chose `collector.delivery = "at_least_once"`: an idempotent producer
/// without transactions (so without fencing). Positions given to
/// [`AtLeastOnce::put_position`] are held back and written to the same
/// checkpoints topic by [`AtLeastOnce::commit`] only once every event sent
/// before them is acknowledged: a crash repeats the events after the last
/// position written, and loses none.
pub struct AtLeastOnce {
    producer: ThreadedProducer<AckedContext>,
    checkpoints_topic: String,
    /// `<collector id>/<role>/`: the keys of this source's positions.
    prefix: String,
    open: Option<Open>,
    positions: Vec<(String, Option<Vec<u8>>)>,
}

impl AtLeastOnce {
    /// Creates the producer and reads the positions written before (as
    /// [`Transactional::start`] does, with an acknowledged marker instead
    /// of a committed one), retrying while Kafka is away until `stop`.
    pub fn start(
        config: &KafkaConfig,
        checkpoints_topic: &str,
        collector_id: &str,
        role: &str,
        stop: &dyn Fn() -> bool,
    ) -> Result<(AtLeastOnce, BTreeMap<String, Vec<u8>>), TxnError> {
        let producer = crate::producer::producer_client(config, &[])
            .create_with_context(AckedContext::default())
            .map_err(|e| TxnError::Retry(e.to_string()))?;
        let mut out = AtLeastOnce {
            producer,
            checkpoints_topic: checkpoints_topic.to_string(),
            prefix: format!("{collector_id}/{role}/"),
            open: None,
            positions: Vec::new(),
        };
        let mut failing = false;
        loop {
            let nonce = start_nonce();
            out.put_position("start", Some(nonce.as_bytes()));
            let read = out
                .commit(&mut |_| Ok(()))
                .and_then(|_| read_positions_to_marker(config, checkpoints_topic, &out.prefix, &nonce));
            match read {
                Ok(positions) => return Ok((out, positions)),
                Err(error) if stop() => return Err(error),
                Err(error) => {
                    out.abort();
                    if !failing {
                        tracing::warn!(%error, topic = checkpoints_topic, "cannot read the file positions yet; retrying");
                        failing = true;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }

    /// Since when events or positions wait for [`AtLeastOnce::commit`].
    pub fn open_since(&self) -> Option<Instant> {
        self.open.as_ref().map(|o| o.started)
    }

    /// Events sent since the last commit.
    pub fn events(&self) -> usize {
        self.open.as_ref().map_or(0, |o| o.events)
    }

    fn begin(&mut self) -> &mut Open {
        self.open.get_or_insert_with(|| Open { started: Instant::now(), events: 0 })
    }

    /// Sends an event, waiting while librdkafka's queue is full. A record
    /// Kafka refuses for what it is comes back as `Ok(Some(..))`.
    pub fn send(&mut self, topic: &str, key: &str, payload: &[u8]) -> Result<Option<Rejected>, TxnError> {
        self.begin();
        let mut record: BaseRecord<'_, str, [u8], ()> = BaseRecord::to(topic).key(key).payload(payload);
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    self.begin().events += 1;
                    return Ok(None);
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    metrics::backpressure();
                    record = returned;
                    crate::producer::queue_full_pause();
                }
                Err((error, _)) if is_permanent(&error) => {
                    metrics::delivery_error(topic, &error);
                    return Ok(Some(Rejected {
                        key: key.as_bytes().to_vec(),
                        payload: payload.to_vec(),
                        reason: error.to_string(),
                    }));
                }
                Err((error, _)) => {
                    metrics::delivery_error(topic, &error);
                    return Err(TxnError::Aborted(format!("sending to {topic}: {error}")));
                }
            }
        }
    }

    /// Holds position `name` back until the events sent before it are
    /// acknowledged; `None` lets it go (a tombstone).
    pub fn put_position(&mut self, name: &str, payload: Option<&[u8]>) {
        self.begin();
        self.positions.push((format!("{}{name}", self.prefix), payload.map(<[u8]>::to_vec)));
    }

    /// Waits until every event sent is acknowledged, gives the records
    /// Kafka refused for good to `keep` (dead-lettering them), then writes
    /// the held-back positions and waits for their acknowledgement.
    /// `Aborted` when an event or a position was not delivered: the caller
    /// reads again from the positions written before (some events twice).
    pub fn commit(&mut self, keep: &mut dyn FnMut(Vec<Rejected>) -> Result<(), String>) -> Result<usize, TxnError> {
        let Some(open) = self.open.take() else {
            return Ok(0);
        };
        let positions = std::mem::take(&mut self.positions);
        let started = Instant::now();
        self.settle("events")?;
        let rejected = self.take_rejected();
        if !rejected.is_empty() {
            keep(rejected).map_err(TxnError::Aborted)?;
        }
        for (key, payload) in &positions {
            let mut record: BaseRecord<'_, str, [u8], ()> = BaseRecord::to(&self.checkpoints_topic).key(key.as_str()).partition(0);
            if let Some(payload) = payload {
                record = record.payload(payload);
            }
            if let Err((error, _)) = self.producer.send(record) {
                return Err(TxnError::Aborted(format!("writing a position to {}: {error}", self.checkpoints_topic)));
            }
        }
        self.settle("positions")?;
        if !self.take_rejected().is_empty() {
            return Err(TxnError::Aborted(format!("a position record was refused by {}", self.checkpoints_topic)));
        }
        metrics::transaction_committed(started.elapsed());
        Ok(open.events)
    }

    /// Waits for the delivery report of everything sent; fails on the first
    /// delivery failure since the last call.
    fn settle(&self, what: &str) -> Result<(), TxnError> {
        if let Err(error) = crate::producer::flush_now(&self.producer, STEP_TIMEOUT * 2) {
            return Err(TxnError::Aborted(format!("{what} not acknowledged: {error}")));
        }
        match self.producer.context().failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(reason) => Err(TxnError::Aborted(format!("{what} not delivered: {reason}"))),
            None => Ok(()),
        }
    }

    /// Forgets what waits for a commit (after a failure): the positions are
    /// not written, and the events after the last one written are read again.
    pub fn abort(&mut self) {
        self.open = None;
        self.positions.clear();
        self.producer.context().failed.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Records Kafka refused for good in delivery reports since the last call.
    pub fn take_rejected(&self) -> Vec<Rejected> {
        std::mem::take(&mut *self.producer.context().rejected.lock().unwrap_or_else(|e| e.into_inner()))
    }
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
