use std::path::{Path, PathBuf};

use thiserror::Error;

/// What goes wrong reading or writing splits, manifests and keys; each
/// names the file.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
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

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
