//! The Kafka producer with per-batch delivery tracking.
//!
//! Every message carries an [`Arc<Batch>`] as its delivery opaque; a source
//! moves its checkpoint past a batch only once every message of it was
//! acknowledged (`acks=all`, idempotent producer), in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use logwarden_config::{ClientKind, KafkaConfig};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message};

use crate::metrics;

/// A run of messages whose acknowledgement moves a checkpoint to `end`.
#[derive(Debug)]
pub struct Batch {
    pub end: u64,
    pending: AtomicUsize,
    error: Mutex<Option<String>>,
    /// `Some` when the owner dead-letters what Kafka refuses for good (see
    /// [`Batch::dead_lettering`]): those records are kept here instead of
    /// failing the batch.
    rejected: Option<Mutex<Vec<Rejected>>>,
    /// Signalled when the last message of the batch is settled.
    settled: tokio::sync::Notify,
}

/// A record Kafka refused for what it is, so that sending it again can
/// never succeed.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub reason: String,
}

/// Whether Kafka refuses a record for what it is (too large, invalid), so
/// that it fails the same way however often it is sent.
pub fn is_permanent(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

impl Batch {
    pub fn new(end: u64, messages: usize) -> Arc<Batch> {
        Arc::new(Batch {
            end,
            pending: AtomicUsize::new(messages),
            error: Mutex::new(None),
            rejected: None,
            settled: tokio::sync::Notify::new(),
        })
    }

    /// A batch whose owner dead-letters the records Kafka refuses for good:
    /// they settle as [`Rejected`] (see [`Batch::take_rejected`]) rather
    /// than fail the batch, so one such record never blocks the rest.
    pub fn dead_lettering(messages: usize) -> Arc<Batch> {
        Arc::new(Batch {
            end: 0,
            pending: AtomicUsize::new(messages),
            error: Mutex::new(None),
            rejected: Some(Mutex::new(Vec::new())),
            settled: tokio::sync::Notify::new(),
        })
    }

    /// The records refused for good, once the batch settled.
    pub fn take_rejected(&self) -> Vec<Rejected> {
        self.rejected
            .as_ref()
            .map(|r| std::mem::take(&mut *r.lock().unwrap_or_else(|e| e.into_inner())))
            .unwrap_or_default()
    }

    /// Keeps a record refused for good when this batch dead-letters; `false`
    /// when it does not (the caller fails the batch instead).
    pub fn reject(&self, key: &[u8], payload: &[u8], error: &KafkaError) -> bool {
        let Some(rejected) = self.rejected.as_ref().filter(|_| is_permanent(error)) else {
            return false;
        };
        rejected.lock().unwrap_or_else(|e| e.into_inner()).push(Rejected {
            key: key.to_vec(),
            payload: payload.to_vec(),
            reason: error.to_string(),
        });
        self.settle(1);
        true
    }

    /// `None` while messages are in flight; then `Ok` or the first error.
    pub fn outcome(&self) -> Option<Result<(), String>> {
        if self.pending.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.error.lock().unwrap().clone() {
            Some(e) => Some(Err(e)),
            None => Some(Ok(())),
        }
    }

    /// A message of this batch could not be handed to the producer at all.
    pub fn fail_unsent(&self, count: usize, error: String) {
        self.error.lock().unwrap().get_or_insert(error);
        self.settle(count);
    }

    fn settle(&self, count: usize) {
        if count > 0 && self.pending.fetch_sub(count, Ordering::AcqRel) == count {
            self.settled.notify_one();
        }
    }

    /// Waits until every message of the batch is acknowledged or failed.
    pub async fn settled(&self) -> Result<(), String> {
        loop {
            if let Some(outcome) = self.outcome() {
                return outcome;
            }
            self.settled.notified().await;
        }
    }
}

pub struct AckContext;

impl ClientContext for AckContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Arc<Batch>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Arc<Batch>) {
        match result {
            Ok(message) => {
                metrics::events_acked(message.topic());
            }
            Err((error, message)) => {
                metrics::delivery_error(message.topic(), error);
                tracing::warn!(%error, topic = message.topic(), "kafka delivery failed");
                let (key, payload) = (message.key().unwrap_or_default(), message.payload().unwrap_or_default());
                if batch.reject(key, payload, error) {
                    return;
                }
                batch.error.lock().unwrap().get_or_insert_with(|| error.to_string());
            }
        }
        batch.settle(1);
    }
}

pub type EventProducer = ThreadedProducer<AckContext>;

/// Builds the producer: idempotent, `acks=all`, compressed, batched, from
/// the `[kafka]` section (brokers, SASL, TLS, `[kafka.producer]`).
pub fn create_producer(config: &KafkaConfig) -> Result<EventProducer, KafkaError> {
    producer_client(config, &[]).create_with_context(AckContext)
}

/// The settings of every event producer, from the `[kafka]` section:
/// idempotent, `acks=all`, compressed, batched; `defaults` go before the
/// tuning defaults, each unless `[kafka.producer]` sets it.
pub(crate) fn producer_client(config: &KafkaConfig, defaults: &[(&str, &str)]) -> ClientConfig {
    let mut client = crate::client_config(config, ClientKind::Producer);
    // The delivery guarantee: the config refuses overrides of these.
    client
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", config.compression.as_librdkafka())
        .set("linger.ms", config.linger.as_millis().to_string());
    // Tuning defaults, unless [kafka.producer] says otherwise.
    let tuning = [
        ("batch.size", "1000000"),
        ("batch.num.messages", "10000"),
        ("queue.buffering.max.messages", "200000"),
        ("queue.buffering.max.kbytes", "262144"),
        ("client.id", "logwarden-collector"),
    ];
    for &(key, value) in defaults.iter().chain(&tuning) {
        if !config.producer.contains_key(key) {
            client.set(key, value);
        }
    }
    client
}

/// Sends one message, waiting while librdkafka's queue is full
/// (backpressure). A message that can never be sent (too large, unknown
/// topic…) fails its batch: the source keeps the data and retries.
pub fn send(producer: &EventProducer, topic: &str, key: &str, payload: &[u8], batch: &Arc<Batch>) {
    let mut record = BaseRecord::with_opaque_to(topic, batch.clone()).key(key).payload(payload);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                metrics::backpressure();
                record = returned;
                queue_full_pause();
            }
            Err((error, returned)) => {
                metrics::delivery_error(topic, &error);
                tracing::error!(%error, topic, "kafka refused a message; the source will retry it");
                returned.delivery_opaque.fail_unsent(1, error.to_string());
                return;
            }
        }
    }
}

/// Waits a moment for librdkafka's full queue to make room. Not
/// `poll(50 ms)`: on a `ThreadedProducer` the producer's own thread serves
/// the delivery reports that make room, so a poll here waits its whole
/// timeout (see [`flush_now`]); each wait is counted in
/// `logwarden_collector_backpressure_total`.
pub fn queue_full_pause() {
    std::thread::sleep(Duration::from_millis(1));
}

/// Waits until every queued message got its delivery report, or `timeout`.
pub fn flush(producer: &EventProducer, timeout: Duration) -> bool {
    flush_now(producer, timeout).is_ok()
}

/// Waits until every message handed to `producer` got its delivery report
/// (served by either thread), or `timeout`; batches still lingering are
/// sent at once. Use it, never rdkafka's `Producer::flush`, and call it
/// before `commit_transaction`.
///
/// rdkafka 0.39's `flush` calls `rd_kafka_flush` with no wait and then
/// polls on the calling thread for up to 100 ms at a time. With a
/// `ThreadedProducer`, whose own thread serves the delivery reports, that
/// poll sees none and waits the whole 100 ms: every flush, and every
/// `commit_transaction` (which flushes first), took ~100 ms however little
/// was outstanding (a transaction of two records: 101 ms; after this
/// flush, 4 ms; `cargo run --release -p logwarden-kafka --example
/// txn_latency`). `rd_kafka_flush` given the whole timeout returns as soon
/// as nothing is outstanding.
pub fn flush_now<C, P>(producer: &ThreadedProducer<C, P>, timeout: Duration) -> Result<(), KafkaError>
where
    C: ProducerContext<P> + 'static,
    P: rdkafka::producer::Partitioner + Send + Sync + 'static,
{
    let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: the pointer is the live client `producer` owns; rd_kafka_flush
    // may be called from any thread, concurrently with rd_kafka_poll.
    let code = unsafe { rdkafka::bindings::rd_kafka_flush(producer.client().native_ptr(), millis) };
    match RDKafkaErrorCode::from(code) {
        RDKafkaErrorCode::NoError => Ok(()),
        code => Err(KafkaError::Flush(code)),
    }
}
