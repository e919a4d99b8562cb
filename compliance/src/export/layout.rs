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
pub const FORMAT: u32 = 1;

pub fn manifest_name(stream: &str, partition: i32, split: &str) -> String {
    format!("manifests/{stream}/p{partition}/{split}.manifest.json")
}

pub fn deletion_name(stream: &str, partition: i32, split: &str) -> String {
    format!("manifests/{stream}/p{partition}/{split}.deletion.json")
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
}
