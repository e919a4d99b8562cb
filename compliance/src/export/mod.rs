//! The audit export: a directory bundle of one stream's records over a
//! time range with the manifests and deletion records of the chain segment
//! covering it, the public key, the compliance report and a signed
//! statement over every file's SHA-256, checked offline by
//! `logwarden verify BUNDLE` (or `openssl` and `sha256sum`, see VERIFY.md).
//!
//! - `layout`: the bundle's file names and the signed predicate.
//! - `dsse`: the in-toto Statement v1 and its DSSE envelope (Ed25519).
//! - `write`: [`export`], building a bundle from a data directory.
//! - `filter`: query-filtered exports: the matching records of a split
//!   with their Merkle inclusion proofs.
//! - `check`: [`check`], verifying a bundle offline.
//! - `proofs`: checking the inclusion proofs of a filtered export, and
//!   the parsers of records and proofs files (fuzzed: bundles are
//!   untrusted input).
//! - `instructions`: the text of VERIFY.md.

mod check;
mod dsse;
mod filter;
mod instructions;
mod layout;
pub mod proofs;
mod write;

pub use check::{BundleProblem, BundleReport, check};
pub use filter::ExportQuery;
pub use layout::{ExportPredicate, PartitionSegment, PolicyRecord, PresetRecord, RecordProof, SplitProofs};
pub use write::{ExportRequest, ExportSummary, export};
