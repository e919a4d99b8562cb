//! At-least-once production, for a file source that chose
//! `collector.delivery = "at_least_once"`: the same calls as
//! [`Transactional`](crate::transaction::Transactional), an idempotent
//! producer without transactions, positions written once the events before
//! them are acknowledged.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use logwarden_config::KafkaConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message};

use crate::in_place::{Held, Payload, TopicNames, produce};
use crate::metrics;
use crate::producer::{Rejected, is_permanent};
use crate::transaction::{Open, START_PAUSE, STEP_TIMEOUT, TxnError, read_positions_to_marker, retrying, start_nonce};

/// Delivery reports of the at-least-once producer: the first failure (it
/// fails the next commit: the source reads again from its positions) and
/// the records Kafka refused for good (dead-lettered at the next commit).
#[derive(Default)]
pub struct AckedContext {
    failed: Mutex<Option<String>>,
    /// Refused records, with the topic each was sent to.
    rejected: Mutex<Vec<(String, Rejected)>>,
}

impl ClientContext for AckedContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ProducerContext for AckedContext {
    type DeliveryOpaque = Held;

    fn delivery(&self, result: &DeliveryResult<'_>, _held: Held) {
        if let Err((error, message)) = result {
            metrics::delivery_error(message.topic(), error);
            if is_permanent(error) {
                self.rejected.lock().unwrap_or_else(|e| e.into_inner()).push((
                    message.topic().to_string(),
                    Rejected {
                        key: message.key().unwrap_or_default().to_vec(),
                        payload: message.payload().unwrap_or_default().to_vec(),
                        reason: error.to_string(),
                    },
                ));
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
    topics: TopicNames,
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
            topics: TopicNames::default(),
        };
        let positions = retrying(
            START_PAUSE,
            || {
                // What a failed attempt left is forgotten (nothing, the first time).
                out.abort();
                let nonce = start_nonce();
                out.put_position("start", Some(nonce.as_bytes()));
                out.commit(&mut |_| Ok(()))?;
                read_positions_to_marker(config, checkpoints_topic, &out.prefix, &nonce)
            },
            |error, failures| {
                let again = !stop();
                if again && failures == 1 {
                    tracing::warn!(%error, topic = checkpoints_topic, "cannot read the file positions yet; retrying");
                }
                again
            },
        )?;
        Ok((out, positions))
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

    /// Sends an event (its payload read where it is, see
    /// [`Payload::InPlace`], or copied), waiting while librdkafka's queue is
    /// full. A record Kafka refuses for what it is comes back as
    /// `Ok(Some(..))`.
    pub fn send(&mut self, topic: &str, key: &str, payload: Payload<'_>) -> Result<Option<Rejected>, TxnError> {
        self.begin();
        let sent = self
            .topics
            .get(topic)
            .and_then(|name| produce(&self.producer, name, None, key.as_bytes(), Some(payload)));
        match sent {
            Ok(()) => {
                self.begin().events += 1;
                Ok(None)
            }
            Err(error) if is_permanent(&error) => {
                metrics::delivery_error(topic, &error);
                Ok(Some(Rejected { key: key.as_bytes().to_vec(), payload: payload.bytes().to_vec(), reason: error.to_string() }))
            }
            Err(error) => {
                metrics::delivery_error(topic, &error);
                Err(TxnError::Aborted(format!("sending to {topic}: {error}")))
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
        let rejected = self.resend_alone(self.take_refused())?;
        if !rejected.is_empty() {
            keep(rejected).map_err(TxnError::Aborted)?;
        }
        for (key, payload) in &positions {
            let sent = self.topics.get(&self.checkpoints_topic).and_then(|name| {
                produce(&self.producer, name, Some(0), key.as_bytes(), payload.as_deref().map(Payload::Copied))
            });
            if let Err(error) = sent {
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
        self.take_refused().into_iter().map(|(_, record)| record).collect()
    }

    fn take_refused(&self) -> Vec<(String, Rejected)> {
        std::mem::take(&mut *self.producer.context().rejected.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records refused for good in delivery reports, sent again one at a
    /// time (each waited for); returns those refused alone, the ones to
    /// dead-letter.
    ///
    /// A broker refuses a batch as a whole: when a topic's
    /// `max.message.bytes` is lowered while this producer runs (its own
    /// limit followed the topic's when it started), every record that
    /// travelled with one over the new limit comes back refused. Sent alone,
    /// only that one is refused again. One record refused is refused alone
    /// already.
    fn resend_alone(&mut self, refused: Vec<(String, Rejected)>) -> Result<Vec<Rejected>, TxnError> {
        if refused.len() < 2 {
            return Ok(refused.into_iter().map(|(_, record)| record).collect());
        }
        tracing::warn!(
            count = refused.len(),
            "kafka refused a batch of records for good (the topic's max.message.bytes lowered?); sending them again one at a time, so that only the records too large are dead-lettered"
        );
        let mut alone = Vec::new();
        for (topic, record) in refused {
            let sent = self
                .topics
                .get(&topic)
                .and_then(|name| produce(&self.producer, name, None, &record.key, Some(Payload::Copied(&record.payload))));
            match sent {
                Ok(()) => {
                    self.settle("a record sent again alone")?;
                    alone.extend(self.take_rejected());
                }
                Err(error) if is_permanent(&error) => alone.push(Rejected { reason: error.to_string(), ..record }),
                Err(error) => return Err(TxnError::Aborted(format!("sending to {topic} again: {error}"))),
            }
        }
        Ok(alone)
    }
}
