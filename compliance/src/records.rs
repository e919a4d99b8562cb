//! The durable facts a report needs that the store did not keep before.
//!
//! - `DATA_DIR/verify/last.json`: written by every `logwarden verify
//!   --data-dir` (intact or not), so a report can tell how long ago the
//!   whole store was last checked.
//! - `DATA_DIR/keys/pinned.pub.pem`: the public key an operator pinned
//!   (`logwarden compliance pin-key`). Reports verify with it, so a signing
//!   key swapped afterwards fails the chain instead of passing unnoticed.
//!   A key given to the report (`--public-key`, an auditor's own copy)
//!   counts as pinned too.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use logwarden_store::facts::rfc3339;
use logwarden_store::keys::ManifestVerifier;
use logwarden_store::verify::VerifyReport;
use serde::{Deserialize, Serialize};

use crate::ComplianceError;

/// The outcome of the last full `logwarden verify --data-dir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastVerify {
    pub verified_at: String,
    pub key_id: String,
    pub intact: bool,
    pub problems: usize,
    pub chains: usize,
    pub manifests: u64,
    pub verified_splits: u64,
}

impl LastVerify {
    pub fn of(report: &VerifyReport, at: DateTime<Utc>) -> LastVerify {
        LastVerify {
            verified_at: rfc3339(at),
            key_id: report.key_id.clone(),
            intact: report.is_intact(),
            problems: report.problems.len(),
            chains: report.chains.len(),
            manifests: report.chains.iter().map(|c| c.manifests).sum(),
            verified_splits: report.chains.iter().map(|c| c.verified_splits).sum(),
        }
    }

    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("verify").join("last.json")
    }

    pub fn write(&self, data_dir: &Path) -> Result<(), ComplianceError> {
        let path = LastVerify::path(data_dir);
        let dir = path.parent().expect("has a parent");
        std::fs::create_dir_all(dir).map_err(|e| ComplianceError::io(dir, e))?;
        let text = serde_json::to_vec_pretty(self).expect("serializes");
        Ok(logwarden_store::storage::write_atomically(&path, &text)?)
    }

    /// The record, `None` when no verify ever wrote one.
    pub fn read(data_dir: &Path) -> Result<Option<LastVerify>, ComplianceError> {
        let path = LastVerify::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| ComplianceError::Corrupt {
                        path,
                        message: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ComplianceError::io(&path, e)),
        }
    }

    pub fn verified_at(&self) -> Option<DateTime<Utc>> {
        logwarden_store::schema::parse_time(&self.verified_at)
    }
}

/// Where a pinned public key is kept.
pub fn pinned_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("pinned.pub.pem")
}

/// Pins the public key at `public_key`: checks it is an Ed25519 public key
/// and copies it to [`pinned_key_path`]; returns its key id.
pub fn pin_key(data_dir: &Path, public_key: &Path) -> Result<String, ComplianceError> {
    let verifier = ManifestVerifier::load(public_key)?;
    let pem = std::fs::read(public_key).map_err(|e| ComplianceError::io(public_key, e))?;
    let path = pinned_key_path(data_dir);
    let dir = path.parent().expect("has a parent");
    std::fs::create_dir_all(dir).map_err(|e| ComplianceError::io(dir, e))?;
    logwarden_store::storage::write_atomically(&path, &pem)?;
    Ok(verifier.key_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_verify_round_trips_and_a_pinned_key_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LastVerify::read(dir.path()).unwrap(), None);
        let at = Utc::now();
        let record = LastVerify::of(&VerifyReport::default(), at);
        record.write(dir.path()).unwrap();
        assert_eq!(LastVerify::read(dir.path()).unwrap(), Some(record.clone()));
        assert!(record.intact);
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "nope").unwrap();
        assert!(pin_key(dir.path(), &garbage).is_err());
        assert!(!pinned_key_path(dir.path()).exists());
        let signer =
            logwarden_store::keys::ManifestSigner::load_or_create(&dir.path().join("k.pem"))
                .unwrap();
        let id = pin_key(
            dir.path(),
            &logwarden_store::keys::public_key_path(&dir.path().join("k.pem")),
        )
        .unwrap();
        assert_eq!(id, signer.key_id());
        assert!(pinned_key_path(dir.path()).exists());
    }
}
