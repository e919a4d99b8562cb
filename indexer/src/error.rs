use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum IndexerError {
    #[error(transparent)]
    Store(#[from] logwarden_store::StoreError),
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("dead-letter topic: {0}")]
    DeadLetter(String),
    #[error("{path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("{path}: corrupt: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl IndexerError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        IndexerError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
