//! [`Delivery`]: the handle push sources deliver through.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logwarden_config::{KafkaConfig, SpoolConfig};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::exactly::ExactlyOnce;
use super::inner::{DeliveryError, Inner};
use super::produce::produce;
use crate::metrics;
use crate::producer as kafka;
use crate::spool::{Record, Spool, SpoolError};

/// Where delivered events are now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Kafka,
    Spool,
}

#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

impl Delivery {
    /// Opens the spool (keeping what a previous run left in it) and a
    /// producer whose messages fail after `spool.kafka_timeout`: at least
    /// once (see [`Delivery::open_exactly_once`]).
    pub fn open(kafka: &KafkaConfig, spool: &SpoolConfig) -> Result<Delivery, DeliveryError> {
        Delivery::open_with(kafka, spool, None)
    }

    /// [`Delivery::open`] with transactions: every transaction carries a
    /// position in the checkpoints topic (see [`super::exactly`]), so an
    /// acknowledged event is in the topic exactly once for `read_committed`
    /// consumers. The producer starts with the drainer.
    pub fn open_exactly_once(kafka: &KafkaConfig, spool: &SpoolConfig, identity: ExactlyOnce) -> Result<Delivery, DeliveryError> {
        Delivery::open_with(kafka, spool, Some(identity))
    }

    fn open_with(kafka: &KafkaConfig, spool: &SpoolConfig, identity: Option<ExactlyOnce>) -> Result<Delivery, DeliveryError> {
        let mut kafka = kafka.clone();
        kafka
            .producer
            .entry("message.timeout.ms".into())
            .or_insert_with(|| spool.kafka_timeout.as_millis().to_string());
        let producer = kafka::create_producer(&kafka)?;
        let store = Spool::open(&spool.dir, spool.max_bytes, spool.fsync)?;
        let used = store.used_bytes();
        if used > 0 {
            tracing::info!(dir = %spool.dir.display(), bytes = used, "spool holds events from a previous run; draining them to kafka");
        }
        metrics::spool_bytes(used);
        Ok(Delivery {
            inner: Arc::new(Inner {
                producer: Mutex::new(Arc::new(producer)),
                topic: kafka.topic.clone(),
                spool_dir: spool.dir.clone(),
                kafka,
                spool: Mutex::new(store),
                spooled_bytes: AtomicU64::new(used),
                kafka_down: AtomicBool::new(used > 0),
                kafka_timeout: spool.kafka_timeout,
                full_reported: AtomicBool::new(false),
                wake: Notify::new(),
                exactly: identity.map(super::exactly::Exactly::new),
                fenced: AtomicBool::new(false),
                stop: CancellationToken::new(),
            }),
        })
    }

    /// Starts the task that drains the spool to Kafka (and, exactly once,
    /// starts the producer); it stops with `shutdown`, and cancels
    /// `shutdown` when another collector with the same id fenced this one.
    pub fn spawn_drainer(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let stop = self.inner.stop.clone();
        let owner = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => owner.cancel(),
                _ = owner.cancelled() => {}
            }
        });
        tokio::spawn(super::drain::run(self.inner.clone(), shutdown))
    }

    /// Whether another collector with the same id fenced this one (it
    /// refuses pushed events and stops).
    pub fn fenced(&self) -> bool {
        self.inner.fenced.load(Ordering::Acquire)
    }

    /// Whether events currently go to the spool rather than to Kafka.
    pub fn spooling(&self) -> bool {
        self.inner.kafka_down.load(Ordering::Acquire)
            || self.inner.spooled_bytes.load(Ordering::Acquire) > 0
    }

    /// Whether the last spool write was refused for lack of room.
    pub fn spool_full(&self) -> bool {
        self.inner.full_reported.load(Ordering::Acquire)
    }

    /// Returns once the records are acknowledged by Kafka or in the spool.
    pub async fn deliver(&self, records: Vec<Record>) -> Result<Delivered, DeliveryError> {
        if records.is_empty() {
            return Ok(Delivered::Kafka);
        }
        if self.fenced() {
            return Err(DeliveryError::Fenced("another collector with the same collector.id took over".into()));
        }
        if self.inner.exactly.is_some() {
            return self.deliver_exactly_once(records).await;
        }
        if !self.spooling() {
            let inner = self.inner.clone();
            let (records_back, batch, producer) = tokio::task::spawn_blocking(move || {
                let deadline = Instant::now() + inner.kafka_timeout;
                let producer = inner.producer();
                let batch = produce(&producer, &inner.topic, &records, deadline);
                (records, batch, producer)
            })
            .await?;
            // librdkafka fails undelivered messages after kafka_timeout; the
            // outer bound only guards against a report that never comes.
            let bound = self.inner.kafka_timeout * 2 + Duration::from_secs(5);
            match tokio::time::timeout(bound, batch.settled()).await {
                Ok(Ok(())) => {
                    self.inner.dead_letter(batch.take_rejected()).await?;
                    return Ok(Delivered::Kafka);
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, events = records_back.len(), "kafka did not acknowledge events; spooling them")
                }
                Err(_) => tracing::warn!(
                    events = records_back.len(),
                    "no answer from kafka; spooling events"
                ),
            }
            self.inner.replace_if_fatal(&producer);
            if !self.inner.kafka_down.swap(true, Ordering::AcqRel) {
                tracing::error!(topic = %self.inner.topic, "kafka unavailable: pushed events go to the spool until it is back");
            }
            return self.spool(records_back).await;
        }
        self.spool(records).await
    }

    async fn deliver_exactly_once(&self, records: Vec<Record>) -> Result<Delivered, DeliveryError> {
        if self.spooling() {
            return self.spool(records).await;
        }
        if !super::exactly::wait_ready(&self.inner, self.inner.kafka_timeout).await {
            if !self.inner.kafka_down.swap(true, Ordering::AcqRel) {
                tracing::error!(topic = %self.inner.topic, "kafka producer not ready: pushed events go to the spool until it is");
            }
            return self.spool(records).await;
        }
        let inner = self.inner.clone();
        let direct = tokio::task::spawn_blocking(move || super::exactly::deliver(&inner, records)).await??;
        let (records, note) = match direct {
            super::exactly::Direct::Committed => return Ok(Delivered::Kafka),
            super::exactly::Direct::Spool(records) => (records, None),
            super::exactly::Direct::InDoubt(records, nonce) => (records, Some(nonce)),
        };
        if !self.inner.kafka_down.swap(true, Ordering::AcqRel) {
            tracing::error!(topic = %self.inner.topic, "kafka unavailable: pushed events go to the spool until it is back");
        }
        match note {
            None => self.spool(records).await,
            Some(nonce) => {
                let inner = self.inner.clone();
                let count = records.len() as u64;
                let result = tokio::task::spawn_blocking(move || {
                    let mut spool = inner.spool.lock().unwrap_or_else(|e| e.into_inner());
                    let result = spool.append_alone(&records, &nonce);
                    inner.spooled_bytes.store(spool.used_bytes(), Ordering::Release);
                    metrics::spool_bytes(spool.used_bytes());
                    result
                })
                .await?;
                match result {
                    Ok(_) => {
                        metrics::spooled(count);
                        self.inner.wake.notify_one();
                        Ok(Delivered::Spool)
                    }
                    Err(error) => {
                        metrics::spool_io_error();
                        tracing::error!(%error, "cannot write to the spool");
                        Err(error.into())
                    }
                }
            }
        }
    }

    async fn spool(&self, records: Vec<Record>) -> Result<Delivered, DeliveryError> {
        let inner = self.inner.clone();
        let count = records.len() as u64;
        let result = tokio::task::spawn_blocking(move || {
            let mut spool = inner.spool.lock().unwrap_or_else(|e| e.into_inner());
            let result = spool.append(&records);
            inner
                .spooled_bytes
                .store(spool.used_bytes(), Ordering::Release);
            metrics::spool_bytes(spool.used_bytes());
            result
        })
        .await?;
        match result {
            Ok(()) => {
                metrics::spooled(count);
                self.inner.wake.notify_one();
                if self.inner.full_reported.swap(false, Ordering::AcqRel) {
                    tracing::warn!("spool has room again; accepting events");
                }
                Ok(Delivered::Spool)
            }
            Err(error) => {
                if matches!(error, SpoolError::Full { .. }) {
                    metrics::spool_full();
                    if !self.inner.full_reported.swap(true, Ordering::AcqRel) {
                        tracing::error!(%error, "SPOOL FULL: kafka is unavailable and the spool has no room; refusing pushed events (HTTP 503, TCP paused, UDP dropped)");
                    }
                } else {
                    metrics::spool_io_error();
                    tracing::error!(%error, "cannot write to the spool");
                }
                Err(error.into())
            }
        }
    }

    /// Waits for Kafka to acknowledge what is in flight (at shutdown;
    /// exactly once, every delivery has committed or spooled already).
    pub fn flush(&self, timeout: Duration) -> bool {
        self.inner.exactly.is_some() || kafka::flush(&self.inner.producer(), timeout)
    }
}
