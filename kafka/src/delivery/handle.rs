//! [`Delivery`]: the handle push sources deliver through.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logwarden_config::{KafkaConfig, SpoolConfig};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::exactly::ExactlyOnce;
use super::inner::{DeliveryError, Inner};
use crate::metrics;
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
    /// Opens the spool (keeping what a previous run left in it) for a
    /// transactional producer: every transaction carries a position in the
    /// checkpoints topic (see [`super::exactly`]), so an acknowledged event
    /// is in the topic exactly once for `read_committed` consumers. The
    /// producer starts with the drainer ([`Delivery::spawn_drainer`]).
    pub fn open(kafka: &KafkaConfig, spool: &SpoolConfig, identity: ExactlyOnce) -> Result<Delivery, DeliveryError> {
        // A message Kafka does not take within the spool's patience fails
        // its transaction, which is aborted and spooled.
        let mut kafka = kafka.clone();
        kafka
            .producer
            .entry("message.timeout.ms".into())
            .or_insert_with(|| spool.kafka_timeout.as_millis().to_string());
        let store = Spool::open(&spool.dir, spool.max_bytes, spool.fsync)?;
        let used = store.used_bytes();
        if used > 0 {
            tracing::info!(dir = %spool.dir.display(), bytes = used, "spool holds events from a previous run; draining them to kafka");
        }
        metrics::spool_bytes(used);
        Ok(Delivery {
            inner: Arc::new(Inner {
                topic: kafka.topic.clone(),
                spool_dir: spool.dir.clone(),
                kafka,
                spool: Mutex::new(store),
                spooled_bytes: AtomicU64::new(used),
                kafka_down: AtomicBool::new(used > 0),
                kafka_timeout: spool.kafka_timeout,
                full_reported: AtomicBool::new(false),
                wake: Notify::new(),
                exactly: super::exactly::Exactly::new(identity),
                fenced: AtomicBool::new(false),
                stop: CancellationToken::new(),
            }),
        })
    }

    /// Starts the task that starts the producer and drains the spool to
    /// Kafka; it stops with `shutdown`, and cancels `shutdown` when another
    /// process with the same id fenced this one.
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

    /// Whether another process with the same id fenced this one (it
    /// refuses events and stops).
    pub fn fenced(&self) -> bool {
        self.inner.fenced.load(Ordering::Acquire)
    }

    /// Whether events currently go to the spool rather than to Kafka.
    pub fn spooling(&self) -> bool {
        self.inner.kafka_down.load(Ordering::Acquire)
            || self.inner.spooled_bytes.load(Ordering::Acquire) > 0
    }

    /// Waits until the transactional producer has started (and settled
    /// what the last one left), up to `timeout`; whether it has.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        super::exactly::wait_ready(&self.inner, timeout).await
    }

    /// Whether the last spool write was refused for lack of room.
    pub fn spool_full(&self) -> bool {
        self.inner.full_reported.load(Ordering::Acquire)
    }

    /// Returns once the records are committed in Kafka or in the spool.
    /// Straight to Kafka, concurrent deliveries share transactions (group
    /// commit); each returns after the commit that holds its records.
    pub async fn deliver(&self, records: Vec<Record>) -> Result<Delivered, DeliveryError> {
        if records.is_empty() {
            return Ok(Delivered::Kafka);
        }
        if self.fenced() {
            return Err(DeliveryError::Fenced("another process with the same collector.id took over".into()));
        }
        if self.spooling() {
            return self.spool(records).await;
        }
        if !super::exactly::wait_ready(&self.inner, self.inner.kafka_timeout).await {
            if !self.inner.kafka_down.swap(true, Ordering::AcqRel) {
                tracing::error!(topic = %self.inner.topic, "kafka producer not ready: events go to the spool until it is");
            }
            return self.spool(records).await;
        }
        let (records, note) = match super::exactly::deliver(&self.inner, records).await? {
            super::exactly::Direct::Committed => return Ok(Delivered::Kafka),
            super::exactly::Direct::Spool(records) => (records, None),
            super::exactly::Direct::InDoubt(records, nonce) => (records, Some(nonce)),
        };
        if records.is_empty() {
            // Every record was refused for good (and dead-lettered).
            return Ok(Delivered::Kafka);
        }
        if !self.inner.kafka_down.swap(true, Ordering::AcqRel) {
            tracing::error!(topic = %self.inner.topic, "kafka unavailable: events go to the spool until it is back");
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

    /// Waits until no delivery is waiting for or inside a transaction
    /// (at shutdown), up to `timeout`; whether none is.
    pub fn flush(&self, timeout: Duration) -> bool {
        let started = Instant::now();
        while !self.inner.exactly.idle() {
            if started.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}
