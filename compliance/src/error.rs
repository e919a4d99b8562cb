use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ComplianceError {
    #[error(transparent)]
    Store(#[from] logwarden_store::StoreError),
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: corrupt: {message}")]
    Corrupt { path: PathBuf, message: String },
}

impl ComplianceError {
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ComplianceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
