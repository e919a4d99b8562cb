//! Manifests: the signed, hash-chained record of a sealed split.
//!
//! A manifest states what a split holds (stream, partition, offsets, event
//! count, time range), a SHA-256 over its records in offset order and over
//! each of its files, and the hash of the previous manifest of the same
//! stream and partition, so the manifests form a chain, as CloudTrail's
//! digest files do. The body is signed with Ed25519. A window with no
//! events gets a manifest too, so a missing hour can be told from an empty
//! one. When retention deletes a split's data, its manifest stays and a
//! signed deletion record is written beside it.
//!
//! Signatures and hashes are over the body's canonical JSON (serde's field
//! order, no whitespace); bodies refuse unknown fields.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::keys::{ManifestSigner, ManifestVerifier};
use crate::storage;

/// The manifest format sealing writes. Format 2 adds
/// [`ManifestBody::records_merkle_root`]; format 1 manifests (without it)
/// still read, sign-check and verify as they were written.
pub const FORMAT: u32 = 2;

/// The first format whose manifests commit to a Merkle root.
pub const FORMAT_MERKLE: u32 = 2;

/// Why a split was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealReason {
    /// Its event-time window ended (plus grace).
    WindowClosed,
    /// It reached `indexer.split_max_events`; the window continues in a new split.
    Size,
    /// The late split is sealed once per window, like the others.
    LateRotation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestBody {
    pub format: u32,
    pub stream: String,
    pub partition: i32,
    pub split_id: String,
    /// Position in the chain of this stream and partition, from 0.
    pub seq: u64,
    /// The event-time window, RFC 3339; absent for a late split.
    pub window_start: Option<String>,
    pub window_end: Option<String>,
    pub seal_reason: SealReason,
    pub first_offset: Option<i64>,
    pub last_offset: Option<i64>,
    /// The partition offset the split was complete up to when sealed.
    pub next_offset: i64,
    pub event_count: u64,
    pub min_timestamp: Option<String>,
    pub max_timestamp: Option<String>,
    /// SHA-256 over (offset, length, stored event) of every record, in offset order.
    pub records_sha256: String,
    /// Format 2: the RFC 9162 Merkle tree hash over the records in offset
    /// order (leaf = offset, then stored event; see `merkle`), so a single
    /// record can be proven to be in the split. Absent in format 1, and
    /// then absent from the signed bytes too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_merkle_root: Option<String>,
    /// SHA-256 of every file of the split's index, by name.
    pub files_sha256: BTreeMap<String, String>,
    /// Hash of the previous manifest in the chain; absent for the first.
    pub prev_manifest_sha256: Option<String>,
    pub sealed_at: String,
    pub key_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub body: ManifestBody,
    /// Ed25519 signature (base64) of the body's canonical JSON.
    pub signature: String,
}

impl ManifestBody {
    /// The Merkle root this manifest commits to, when it has one (format 2).
    pub fn merkle_root(&self) -> Option<&str> {
        self.records_merkle_root.as_deref()
    }
}

impl Manifest {
    pub fn sign(body: ManifestBody, signer: &ManifestSigner) -> Manifest {
        let signature = signer.sign(&canonical(&body));
        Manifest { body, signature }
    }

    /// The hash the next manifest of the chain refers to.
    pub fn sha256(&self) -> String {
        hex_sha256(&canonical(self))
    }

    pub fn signature_is_valid(&self, verifier: &ManifestVerifier) -> bool {
        verifier.verify(&canonical(&self.body), &self.signature)
    }

    pub fn write(&self, split_dir: &Path) -> Result<(), StoreError> {
        std::fs::create_dir_all(split_dir).map_err(|e| StoreError::io(split_dir, e))?;
        let text = serde_json::to_vec_pretty(self).expect("manifest serializes");
        storage::write_atomically(&storage::manifest_path(split_dir), &text)
    }

    /// Reads the manifest of a split directory; `Ok(None)` when it has none.
    pub fn read(split_dir: &Path) -> Result<Option<Manifest>, StoreError> {
        read_json(&crate::storage::manifest_path(split_dir))
    }
}

/// The signed evidence that retention deleted a sealed split's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionBody {
    pub format: u32,
    pub stream: String,
    pub partition: i32,
    pub split_id: String,
    /// The manifest of the deleted data.
    pub manifest_sha256: String,
    pub deleted_at: String,
    pub reason: String,
    pub key_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionRecord {
    pub body: DeletionBody,
    pub signature: String,
}

impl DeletionRecord {
    pub fn sign(body: DeletionBody, signer: &ManifestSigner) -> DeletionRecord {
        let signature = signer.sign(&canonical(&body));
        DeletionRecord { body, signature }
    }

    pub fn signature_is_valid(&self, verifier: &ManifestVerifier) -> bool {
        verifier.verify(&canonical(&self.body), &self.signature)
    }

    pub fn write(&self, split_dir: &Path) -> Result<(), StoreError> {
        let text = serde_json::to_vec_pretty(self).expect("deletion record serializes");
        storage::write_atomically(&storage::deletion_path(split_dir), &text)
    }

    pub fn read(split_dir: &Path) -> Result<Option<DeletionRecord>, StoreError> {
        read_json(&crate::storage::deletion_path(split_dir))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

fn canonical<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("manifest serializes")
}

/// A temporary name beside `path`, unique to this process and call, so two
/// processes writing the same file never share a temporary.
pub fn hex_sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn body(seq: u64, prev: Option<String>) -> ManifestBody {
        ManifestBody {
            format: FORMAT,
            stream: "auth".into(),
            partition: 0,
            split_id: "late-00000000000000000000".into(),
            seq,
            window_start: None,
            window_end: None,
            seal_reason: SealReason::LateRotation,
            first_offset: Some(0),
            last_offset: Some(9),
            next_offset: 10,
            event_count: 10,
            min_timestamp: None,
            max_timestamp: None,
            records_sha256: hex_sha256(b""),
            records_merkle_root: Some(hex_sha256(b"")),
            files_sha256: BTreeMap::new(),
            prev_manifest_sha256: prev,
            sealed_at: "2026-11-24T00:00:00Z".into(),
            key_id: "k".into(),
        }
    }

    #[test]
    fn an_edited_manifest_fails_its_signature_and_breaks_the_chain_hash() {
        let dir = tempfile::tempdir().unwrap();
        let signer = ManifestSigner::load_or_create(&dir.path().join("k.pem")).unwrap();
        let first = Manifest::sign(body(0, None), &signer);
        let second = Manifest::sign(body(1, Some(first.sha256())), &signer);
        second.write(dir.path()).unwrap();
        let read = Manifest::read(dir.path()).unwrap().unwrap();
        assert_eq!(read, second);
        assert!(read.signature_is_valid(&signer.verifier()));
        let mut edited = read.clone();
        edited.body.event_count = 9;
        assert!(!edited.signature_is_valid(&signer.verifier()));
        assert_ne!(edited.sha256(), read.sha256());
        let text = std::fs::read_to_string(crate::storage::manifest_path(dir.path())).unwrap();
        std::fs::write(
            crate::storage::manifest_path(dir.path()),
            text.replace("\"format\"", "\"extra\": 1, \"format\""),
        )
        .unwrap();
        assert!(matches!(
            Manifest::read(dir.path()),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_format_1_manifest_reads_back_to_the_bytes_it_was_signed_over() {
        let dir = tempfile::tempdir().unwrap();
        let signer = ManifestSigner::load_or_create(&dir.path().join("k.pem")).unwrap();
        let mut old = body(0, None);
        old.format = 1;
        old.records_merkle_root = None;
        let manifest = Manifest::sign(old, &signer);
        let text = serde_json::to_string(&manifest).unwrap();
        assert!(!text.contains("records_merkle_root"), "format 1 has no Merkle root field: {text}");
        let read: Manifest = serde_json::from_str(&text).unwrap();
        assert!(read.signature_is_valid(&signer.verifier()));
        assert_eq!(read.body.merkle_root(), None);
        assert_eq!(read.sha256(), manifest.sha256());
    }
}
