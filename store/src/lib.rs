//! What the split writer (the indexer) and its readers (the query API,
//! `logwarden verify`, retention, compliance) share, so that neither owns
//! it: no Kafka, no HTTP here.
//!
//! # Layout
//!
//! - `schema`: the tantivy schema, what it indexes, the settings splits
//!   are created with (zstd doc store), and the event →
//!   document mapping.
//! - `document`: a wire payload straight into a document (one pass, no
//!   intermediate `Value`).
//! - `directory`: [`directory::SplitDirectory`], the split writer's tantivy
//!   directory (tantivy's managed-file list written once per commit).
//! - `storage`: the on-disk layout of splits, split ids, the commit
//!   payload each split carries, and atomic file writes.
//! - `locked`: [`locked::LockedJsonFiles`], JSON files several processes
//!   change read-modify-write under a file lock (alert status, review
//!   states).
//! - `history`: stored events back in time order (backtests).
//! - `facts`: what a sealed split holds (counts, offsets, time range,
//!   hashes), read back from its index.
//! - `merkle`: the RFC 9162 Merkle tree over a split's records that
//!   format-2 manifests commit to, and its inclusion proofs.
//! - `manifest`: a sealed split's signed, hash-chained manifest and
//!   deletion records.
//! - `keys`: the Ed25519 key that signs manifests and its public half.
//! - `verify`: checks every chain, signature and split (`logwarden verify`).
//! - `error`: [`StoreError`], naming the file at fault.

pub mod directory;
mod error;
pub mod facts;
pub mod history;
pub mod keys;
pub mod locked;
pub mod manifest;
pub mod merkle;
mod names;
mod document;
pub mod schema;
pub mod storage;
pub mod verify;

pub use document::EventDocument;
pub use error::StoreError;
