//! [`Inner`]: what the [`Delivery`](super::Delivery) handle and the drainer
//! share (the producer, the spool and the flags between them), and
//! [`DeliveryError`].

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use logwarden_config::KafkaConfig;
use thiserror::Error;
use tokio::sync::Notify;

use crate::producer::{self as kafka, EventProducer};
use crate::spool::{Spool, SpoolError};

#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("delivery task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot write the dead-letter file: {0}")]
    DeadLetter(std::io::Error),
    #[error("cannot create the kafka producer: {0}")]
    Producer(#[from] rdkafka::error::KafkaError),
    #[error("{0}")]
    Fenced(String),
}

impl DeliveryError {
    /// Kafka is unavailable and the spool has no room: retry later.
    pub fn is_spool_full(&self) -> bool {
        matches!(self, DeliveryError::Spool(SpoolError::Full { .. }))
    }
}

pub(super) struct Inner {
    /// Replaced when librdkafka reports a fatal error (see [`Inner::replace_if_fatal`]).
    pub(super) producer: Mutex<Arc<EventProducer>>,
    pub(super) kafka: KafkaConfig,
    pub(super) topic: String,
    /// The spool's folder, which also holds the dead-letter file.
    pub(super) spool_dir: std::path::PathBuf,
    pub(super) spool: Mutex<Spool>,
    /// Mirror of the spool's size, readable without the lock.
    pub(super) spooled_bytes: AtomicU64,
    /// Set when Kafka failed a delivery; cleared when the spool is drained.
    pub(super) kafka_down: AtomicBool,
    pub(super) kafka_timeout: Duration,
    pub(super) full_reported: AtomicBool,
    /// Wakes the drainer when records were spooled.
    pub(super) wake: Notify,
    /// `Some`: transactions with positions (exactly once); `None`: the
    /// acknowledging producer (at least once: a crash between Kafka's
    /// acknowledgement and the spool's cleanup sends a segment again).
    pub(super) exactly: Option<super::exactly::Exactly>,
    /// Set when another collector with the same id fenced this one.
    pub(super) fenced: AtomicBool,
    /// Cancelled when fenced: the owner stops the process.
    pub(super) stop: tokio_util::sync::CancellationToken,
}

impl Inner {
    /// Keeps the records Kafka refused for good in the dead-letter file.
    pub(super) async fn dead_letter(self: &Arc<Self>, rejected: Vec<kafka::Rejected>) -> Result<(), DeliveryError> {
        if rejected.is_empty() {
            return Ok(());
        }
        let inner = self.clone();
        tokio::task::spawn_blocking(move || super::dead_letter::keep(&inner.spool_dir, &inner.topic, &rejected))
            .await?
            .map_err(|error| {
                tracing::error!(%error, dir = %self.spool_dir.display(), "cannot write the dead-letter file");
                DeliveryError::DeadLetter(error)
            })
    }

    pub(super) fn producer(&self) -> Arc<EventProducer> {
        self.producer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// After a failed delivery: an idempotent producer in a fatal state
    /// (librdkafka's `fatal_error`, e.g. a broken sequence after broker data
    /// loss) fails every later message, so it is replaced by a new one.
    pub(super) fn replace_if_fatal(&self, used: &Arc<EventProducer>) {
        use rdkafka::producer::Producer;
        let Some((code, reason)) = used.client().fatal_error() else {
            return;
        };
        tracing::error!(
            ?code,
            reason,
            "kafka producer hit a fatal error; replacing it"
        );
        match kafka::create_producer(&self.kafka) {
            Ok(fresh) => {
                let mut current = self.producer.lock().unwrap_or_else(|e| e.into_inner());
                if Arc::ptr_eq(&current, used) {
                    *current = Arc::new(fresh);
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot create a new kafka producer; retrying on the next failure")
            }
        }
    }
}
