//! [`Inner`]: what the [`Delivery`](super::Delivery) handle and the drainer
//! share (the transactional producer, the spool and the flags between
//! them), and [`DeliveryError`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use logwarden_config::KafkaConfig;
use thiserror::Error;
use tokio::sync::Notify;

use crate::spool::{Spool, SpoolError};

#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("delivery task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot write the dead-letter file: {0}")]
    DeadLetter(std::io::Error),
    /// The transaction holding these events failed in a way that leaves
    /// them neither surely in Kafka nor in the spool: the sender retries.
    #[error("{0}")]
    Transaction(String),
    #[error("{0}")]
    Fenced(String),
}

impl DeliveryError {
    /// Kafka is unavailable and the spool has no room: retry later.
    pub fn is_spool_full(&self) -> bool {
        matches!(self, DeliveryError::Spool(SpoolError::Full { .. }))
    }

    /// Another process with the same id took over: this one stops.
    pub fn is_fenced(&self) -> bool {
        matches!(self, DeliveryError::Fenced(_))
    }
}

pub(super) struct Inner {
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
    /// The transactional producer, its positions and the deliveries
    /// waiting for its next transaction.
    pub(super) exactly: super::exactly::Exactly,
    /// Set when another process with the same id fenced this one.
    pub(super) fenced: AtomicBool,
    /// Cancelled when fenced: the owner stops the process.
    pub(super) stop: tokio_util::sync::CancellationToken,
}
