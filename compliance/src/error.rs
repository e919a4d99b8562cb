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
    /// An audit export over `compliance.max_export_bytes`.
    #[error("the export is larger than compliance.max_export_bytes ({limit} bytes): narrow the time range")]
    ExportTooLarge { limit: u64 },
    /// An export request that cannot be served as asked.
    #[error("{0}")]
    InvalidExport(String),
}

impl ComplianceError {
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ComplianceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
