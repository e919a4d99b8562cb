use std::path::Path;

use logwarden_store::StoreError;
use thiserror::Error;

/// What stops the indexer: the store (files, splits, manifests, keys, each
/// naming its path), tantivy, Kafka, or the dead-letter topic.
#[derive(Debug, Error)]
pub enum IndexerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("dead-letter topic: {0}")]
    DeadLetter(String),
}

impl IndexerError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        IndexerError::Store(StoreError::io(path, source))
    }

    pub(crate) fn corrupt(path: &Path, message: impl Into<String>) -> Self {
        IndexerError::Store(StoreError::Corrupt { path: path.to_path_buf(), message: message.into() })
    }
}
