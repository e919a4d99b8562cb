//! The dead-letter topic: messages that cannot be indexed go there with the
//! reason and their origin, and are counted — never silently dropped.
//!
//! A message is sent and acknowledged before its offset counts as
//! consumed, so a crash re-sends it rather than losing it: the topic is
//! at-least-once, and `origin.partition` + `origin.offset` identify a
//! repeat.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use logwarden_kafka::fetch::Fetched;
use rdkafka::ClientContext;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{IndexerError, metrics};

struct DeliveryContext {
    /// The outcome of the last send: `Some(Ok)` acknowledged, `Some(Err)` failed.
    last: Mutex<Option<Result<(), String>>>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let outcome = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.to_string()),
        };
        *self.last.lock().unwrap() = Some(outcome);
    }
}

/// How long a dead letter waits for Kafka's acknowledgement per attempt.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long each wait for the acknowledgement serves the producer's events.
const DELIVERY_POLL: Duration = Duration::from_millis(5);

/// The dead-letter producer is a `BaseProducer` the worker polls (on each
/// send, and [`DeadLetters::poll`] between them): a `ThreadedProducer`'s
/// polling thread, idle nearly always, cost ~0.8 % of the indexer's CPU.
pub struct DeadLetters {
    producer: BaseProducer<DeliveryContext>,
    topic: String,
    source_topic: String,
}

/// Where a rejected message came from.
pub struct Origin<'a> {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub timestamp_ms: Option<i64>,
}

impl DeadLetters {
    pub fn new(
        kafka: &logwarden_config::KafkaConfig,
        topic: &str,
        source_topic: &str,
    ) -> Result<DeadLetters, IndexerError> {
        let producer = logwarden_kafka::client_config(kafka, logwarden_config::ClientKind::Producer)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", DELIVERY_TIMEOUT.as_millis().to_string())
            .create_with_context(DeliveryContext {
                last: Mutex::new(None),
            })?;
        Ok(DeadLetters {
            producer,
            topic: topic.to_string(),
            source_topic: source_topic.to_string(),
        })
    }

    /// Sends `payload` with `reason` and waits until Kafka acknowledged it;
    /// retries until it is, or until `shutdown` (then the error is returned
    /// and the message's offset is not consumed).
    pub fn send(
        &self,
        origin: &Origin<'_>,
        payload: &[u8],
        reason: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), IndexerError> {
        let body = json!({
            "reason": reason,
            "origin": {
                "topic": self.source_topic,
                "partition": origin.partition,
                "offset": origin.offset,
                "timestamp_ms": origin.timestamp_ms,
            },
            "payload": String::from_utf8_lossy(payload),
            "payload_is_utf8": std::str::from_utf8(payload).is_ok(),
        })
        .to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "logwarden.reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "logwarden.origin",
                value: Some(&format!(
                    "{}/{}/{}",
                    self.source_topic, origin.partition, origin.offset
                )),
            });
        let mut attempt = 0u32;
        loop {
            *self.producer.context().last.lock().unwrap() = None;
            let mut record = BaseRecord::to(&self.topic)
                .payload(&body)
                .headers(headers.clone());
            if let Some(key) = origin.key {
                record = record.key(key);
            }
            let sent = match self.producer.send(record) {
                Ok(()) => self.delivered(),
                Err((e, _)) => Err(e.to_string()),
            };
            match sent {
                Ok(()) => {
                    metrics::dead_lettered();
                    tracing::warn!(partition = origin.partition, offset = origin.offset, reason, topic = %self.topic, "message sent to the dead-letter topic");
                    return Ok(());
                }
                Err(error) => {
                    metrics::error("dlq");
                    tracing::error!(%error, attempt, topic = %self.topic, "cannot send to the dead-letter topic; retrying");
                    if shutdown.is_cancelled() {
                        return Err(IndexerError::DeadLetter(error));
                    }
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt.min(25))));
                }
            }
        }
    }

    /// Serves the producer until the last send's delivery report, or
    /// [`DELIVERY_TIMEOUT`].
    fn delivered(&self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            self.producer.poll(DELIVERY_POLL);
            if let Some(outcome) = self.producer.context().last.lock().unwrap().take() {
                return outcome;
            }
            if started.elapsed() >= DELIVERY_TIMEOUT {
                return Err(format!("no delivery report within {} s", DELIVERY_TIMEOUT.as_secs()));
            }
        }
    }

    /// Serves what the producer queued between sends (its errors and
    /// logs), without waiting.
    pub fn poll(&self) {
        self.producer.poll(Duration::ZERO);
    }
}

/// The origin of a consumed message.
pub fn origin<'a>(message: &Fetched<'a>) -> Origin<'a> {
    Origin {
        partition: message.partition(),
        offset: message.offset(),
        key: message.key(),
        timestamp_ms: message.timestamp_ms(),
    }
}
