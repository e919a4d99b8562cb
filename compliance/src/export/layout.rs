//! What a bundle holds and where:
//!
//! ```text
//! BUNDLE/VERIFY.md                                  how to check it with openssl and sha256sum
//! BUNDLE/public-key.pem                             the Ed25519 key that signed manifests and statement
//! BUNDLE/report.json                                the compliance report at export time
//! BUNDLE/export.json                                what was exported (the signed predicate, readable)
//! BUNDLE/manifests/<stream>/p<N>/<split>.manifest.json   exact copies, the whole chain segment
//! BUNDLE/manifests/<stream>/p<N>/<split>.deletion.json   signed deletion records
//! BUNDLE/records/<stream>/p<N>/<split>.ndjson       {"offset":N,"event":<stored event>} per line, offset order
//! BUNDLE/proofs/<stream>/p<N>/<split>.proofs.json   with --query: each record's inclusion proof (format-2 splits)
//! BUNDLE/SHA256SUMS                                 `sha256sum -c` input for every file above
//! BUNDLE/statement.json                             in-toto Statement v1: every file above with its SHA-256
//! BUNDLE/statement.dsse.json                        DSSE envelope of statement.json
//! BUNDLE/statement.sig                              the raw Ed25519 signature (for openssl)
//! ```

use serde::{Deserialize, Serialize};

pub const VERIFY_MD: &str = "VERIFY.md";
pub const PUBLIC_KEY: &str = "public-key.pem";
pub const REPORT: &str = "report.json";
pub const EXPORT: &str = "export.json";
pub const SUMS: &str = "SHA256SUMS";
pub const STATEMENT: &str = "statement.json";
pub const ENVELOPE: &str = "statement.dsse.json";
pub const SIGNATURE: &str = "statement.sig";
pub const PREDICATE_TYPE: &str = "https://logwarden.dev/audit-export/v1";
/// Format 2 adds query-filtered exports (`query`, inclusion proofs,
/// `whole_splits`) and the stream's legal basis (`policy`); format 1
/// bundles still verify.
pub const FORMAT: u32 = 2;

pub fn manifest_name(stream: &str, partition: i32, split: &str) -> String {
    format!("manifests/{stream}/p{partition}/{split}.manifest.json")
}

pub fn deletion_name(stream: &str, partition: i32, split: &str) -> String {
    format!("manifests/{stream}/p{partition}/{split}.deletion.json")
}

pub fn proofs_name(stream: &str, partition: i32, split: &str) -> String {
    format!("proofs/{stream}/p{partition}/{split}.proofs.json")
}

pub fn records_name(stream: &str, partition: i32, split: &str) -> String {
    format!("records/{stream}/p{partition}/{split}.ndjson")
}

/// One line of a records file. `event` is the stored event byte for byte;
/// a stored event that is not a single-line JSON value goes in `source` as
/// a string instead.
#[derive(Debug, Deserialize)]
pub struct RecordLine<'a> {
    pub offset: u64,
    #[serde(borrow)]
    pub event: Option<&'a serde_json::value::RawValue>,
    pub source: Option<String>,
}

/// What the statement says was exported (also `export.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportPredicate {
    pub format: u32,
    pub stream: String,
    pub from: String,
    pub to: String,
    pub created_at: String,
    pub requested_by: String,
    pub key_id: String,
    /// No record in the range: the bundle proves only what the manifests say.
    pub empty: bool,
    pub note: String,
    pub records: u64,
    pub partitions: Vec<PartitionSegment>,
    /// Splits still being written whose window may overlap the range: not
    /// exported (they have no manifest yet).
    pub unsealed_not_exported: Vec<String>,
    /// The query the records were filtered with (`--query`): only the
    /// matching records of the range are exported, each with an inclusion
    /// proof against its split's manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Splits of a filtered export whose manifest is format 1 (no Merkle
    /// root): exported whole, since one record of them cannot be proven
    /// alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whole_splits: Vec<String>,
    /// The law that applied to the stream at export time and its legal
    /// hold; absent for a `--data-dir` export (no configuration read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRecord>,
}

/// A stream's retention policy as the configuration stated it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRecord {
    /// `None`: kept forever.
    pub retention: Option<String>,
    pub hot: Option<String>,
    pub presets: Vec<PresetRecord>,
    pub legal_hold: bool,
    pub legal_hold_reason: Option<String>,
    /// Since when the hold is in force (`legal_hold_since`), RFC 3339.
    pub legal_hold_since: Option<String>,
}

/// A regulation preset the stream cites, with the law's text reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetRecord {
    pub name: String,
    pub citation: String,
    pub min_retention: Option<String>,
}

/// `proofs/<stream>/p<N>/<split>.proofs.json`: the inclusion proof of
/// each exported record of one split against the Merkle root its manifest
/// signs (RFC 9162 audit paths; leaf = SHA-256(0x00 || offset as 8 bytes
/// big-endian || stored event), node = SHA-256(0x01 || left || right)).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitProofs {
    pub split: String,
    /// The manifest's seq in its chain.
    pub seq: u64,
    /// Leaves in the tree: the split's event count.
    pub tree_size: u64,
    /// The manifest's `records_merkle_root`, repeated for convenience.
    pub merkle_root: String,
    pub proofs: Vec<RecordProof>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordProof {
    pub offset: u64,
    /// The record's position among the split's records in offset order.
    pub index: u64,
    /// Sibling hashes (hex) from the leaf up.
    pub path: Vec<String>,
}

/// The chain segment of one partition: every manifest from `first_seq` to
/// `last_seq`, with whole splits' records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionSegment {
    pub partition: i32,
    pub first_seq: u64,
    pub last_seq: u64,
    pub manifests: u64,
    pub records: u64,
    pub empty_windows: u64,
    pub deleted_splits: u64,
    /// Records exported with an inclusion proof (filtered exports).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub proven_records: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
