//! `logwarden verify --data-dir DIR`: checks every manifest chain, every
//! signature and every sealed split against its manifest, and reports each
//! broken link: an edited record or file, a deleted split, a forged or
//! edited manifest, a deletion without its signed record.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use tantivy::Index;
use tantivy::directory::MmapDirectory;

use crate::StoreError;
use crate::facts::{SplitFacts, files_sha256, rfc3339};
use crate::keys::ManifestVerifier;
use crate::manifest::{DeletionRecord, FORMAT_MERKLE, Manifest};
use crate::schema::LogSchema;
use crate::storage::read_payload;
use crate::storage::{self, SplitLocation};

#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub key_id: String,
    pub chains: Vec<ChainSummary>,
    /// Every problem found, in chain order; the first is the first broken link.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Default, Serialize)]
pub struct ChainSummary {
    pub stream: String,
    pub partition: i32,
    pub manifests: u64,
    /// Sealed splits whose records and files match their manifest.
    pub verified_splits: u64,
    /// Sealed splits deleted by retention, with a valid deletion record.
    pub deleted_splits: u64,
    pub empty_windows: u64,
    /// Manifests of format 1, which have no Merkle root: their splits
    /// verify whole, but a single record of them cannot be proven alone.
    pub format1_manifests: u64,
    /// Splits still being written (no manifest yet).
    pub active_splits: u64,
    /// Events in the verified splits.
    pub verified_events: u64,
    pub head_seq: Option<u64>,
    pub head_sealed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub stream: String,
    pub partition: i32,
    pub split: String,
    pub seq: Option<u64>,
    pub what: String,
}

/// Verifies everything under `data_dir`; `progress(done, total)` is called
/// after each split.
pub fn verify(
    data_dir: &Path,
    verifier: &ManifestVerifier,
    mut progress: impl FnMut(usize, usize),
) -> Result<VerifyReport, StoreError> {
    let schema = LogSchema::new();
    let locations =
        storage::list_split_dirs(data_dir, None).map_err(|e| StoreError::io(data_dir, e))?;
    let total = locations.len();
    let mut groups: BTreeMap<(String, i32), Vec<SplitLocation>> = BTreeMap::new();
    for location in locations {
        groups
            .entry((location.stream.clone(), location.partition))
            .or_default()
            .push(location);
    }
    let mut report = VerifyReport {
        key_id: verifier.key_id().to_string(),
        ..VerifyReport::default()
    };
    let mut done = 0;
    for ((stream, partition), locations) in groups {
        let mut chain = ChainCheck {
            summary: ChainSummary {
                stream,
                partition,
                ..ChainSummary::default()
            },
            problems: Vec::new(),
        };
        let mut manifests = Vec::new();
        for location in &locations {
            chain.read_split(location, verifier, &mut manifests);
            done += 1;
            progress(done, total);
        }
        manifests.sort_by_key(|(m, _): &(Manifest, &SplitLocation)| m.body.seq);
        chain.check_links(&manifests);
        for (manifest, location) in &manifests {
            chain.check_contents(manifest, location, verifier, &schema);
        }
        chain.problems.sort_by_key(|p| p.seq.unwrap_or(u64::MAX));
        report.problems.extend(chain.problems);
        report.chains.push(chain.summary);
    }
    Ok(report)
}

struct ChainCheck {
    summary: ChainSummary,
    problems: Vec<Problem>,
}

impl ChainCheck {
    fn problem(&mut self, split: &str, seq: Option<u64>, what: impl Into<String>) {
        self.problems.push(Problem {
            stream: self.summary.stream.clone(),
            partition: self.summary.partition,
            split: split.to_string(),
            seq,
            what: what.into(),
        });
    }

    /// Reads a split's manifest and checks its signature; a split without
    /// one must be an unsealed, active split.
    fn read_split<'a>(
        &mut self,
        location: &'a SplitLocation,
        verifier: &ManifestVerifier,
        manifests: &mut Vec<(Manifest, &'a SplitLocation)>,
    ) {
        match Manifest::read(&location.path) {
            Ok(Some(manifest)) => {
                let body = &manifest.body;
                if !manifest.signature_is_valid(verifier) {
                    self.problem(&location.id, Some(body.seq), "manifest signature is invalid: the manifest was edited or forged");
                } else if body.stream != location.stream || body.partition != location.partition || body.split_id != location.id {
                    self.problem(&location.id, Some(body.seq), format!("manifest belongs to {}/p{}/{}: it was moved", body.stream, body.partition, body.split_id));
                }
                self.summary.manifests += 1;
                if body.format < FORMAT_MERKLE {
                    self.summary.format1_manifests += 1;
                }
                manifests.push((manifest, location));
            }
            Ok(None) => match open_payload(&location.path) {
                Ok(Some(payload)) if payload.sealed => self.problem(
                    &location.id,
                    None,
                    "sealed split without a manifest: the manifest was deleted (or a seal was interrupted: start the indexer to finish it)",
                ),
                Ok(_) => self.summary.active_splits += 1,
                Err(e) => self.problem(&location.id, None, format!("unreadable split: {e}")),
            },
            Err(e) => self.problem(&location.id, None, format!("unreadable manifest: {e}")),
        }
    }

    /// Sequence numbers run from 0 without gaps, and each manifest names
    /// the hash of the one before it.
    fn check_links(&mut self, manifests: &[(Manifest, &SplitLocation)]) {
        let mut expected_seq = 0;
        let mut previous: Option<&Manifest> = None;
        for (manifest, location) in manifests {
            let body = &manifest.body;
            if body.seq > expected_seq {
                let missing = if body.seq == expected_seq + 1 {
                    format!("{expected_seq}")
                } else {
                    format!("{expected_seq}..{}", body.seq - 1)
                };
                self.problem(&location.id, Some(body.seq), format!("manifest seq {missing} missing before this one: a sealed split and its manifest were deleted"));
            } else if body.seq < expected_seq {
                self.problem(
                    &location.id,
                    Some(body.seq),
                    format!("seq {} appears twice: a manifest was forged", body.seq),
                );
            }
            match (previous, &body.prev_manifest_sha256) {
                (None, None) => {}
                (Some(prev), Some(hash)) if prev.sha256() == *hash => {}
                (Some(prev), Some(_)) if prev.body.seq + 1 == body.seq => self.problem(
                    &location.id,
                    Some(body.seq),
                    format!("previous-manifest hash does not match manifest seq {}: that manifest was replaced", prev.body.seq),
                ),
                (_, _) if body.seq != expected_seq => {} // already reported as a gap
                (_, _) => self.problem(&location.id, Some(body.seq), "previous-manifest hash does not match the chain"),
            }
            expected_seq = body.seq + 1;
            previous = Some(manifest);
        }
        if let Some(head) = previous {
            self.summary.head_seq = Some(head.body.seq);
            self.summary.head_sealed_at = Some(head.body.sealed_at.clone());
        }
    }

    /// A sealed split's records and files match its manifest; a deleted
    /// one has a valid deletion record for exactly this manifest.
    fn check_contents(
        &mut self,
        manifest: &Manifest,
        location: &SplitLocation,
        verifier: &ManifestVerifier,
        schema: &LogSchema,
    ) {
        let body = &manifest.body;
        let seq = Some(body.seq);
        if body.event_count == 0 && body.files_sha256.is_empty() {
            self.summary.empty_windows += 1;
            return;
        }
        if !storage::has_index(&location.path) {
            match DeletionRecord::read(&location.path) {
                Ok(Some(deletion))
                    if deletion.signature_is_valid(verifier)
                        && deletion.body.manifest_sha256 == manifest.sha256() =>
                {
                    self.summary.deleted_splits += 1;
                }
                Ok(Some(_)) => self.problem(
                    &location.id,
                    seq,
                    "deletion record is forged (bad signature or another manifest)",
                ),
                Ok(None) => self.problem(
                    &location.id,
                    seq,
                    "split data deleted without a signed deletion record",
                ),
                Err(e) => self.problem(
                    &location.id,
                    seq,
                    format!("unreadable deletion record: {e}"),
                ),
            }
            return;
        }
        match files_sha256(&location.path) {
            Ok(files) => {
                for (name, hash) in &body.files_sha256 {
                    match files.get(name) {
                        None => self.problem(&location.id, seq, format!("file {name} is missing")),
                        Some(actual) if actual != hash => self.problem(
                            &location.id,
                            seq,
                            format!("file {name} was modified (SHA-256 differs)"),
                        ),
                        Some(_) => {}
                    }
                }
                for name in files.keys().filter(|n| !body.files_sha256.contains_key(*n)) {
                    self.problem(
                        &location.id,
                        seq,
                        format!("file {name} was added after sealing"),
                    );
                }
            }
            Err(e) => self.problem(&location.id, seq, format!("cannot hash files: {e}")),
        }
        match SplitFacts::compute(&location.path, schema) {
            Ok(facts) => {
                let mut mismatches = Vec::new();
                if facts.records_sha256 != body.records_sha256 {
                    mismatches.push(
                        "records SHA-256 (a record was edited, added or removed)".to_string(),
                    );
                }
                match body.merkle_root() {
                    Some(root) if root != facts.records_merkle_root => {
                        mismatches.push("records Merkle root".to_string())
                    }
                    None if body.format >= FORMAT_MERKLE => {
                        mismatches.push(format!("format {} manifest without a Merkle root", body.format))
                    }
                    _ => {}
                }
                if facts.event_count != body.event_count {
                    mismatches.push(format!(
                        "event count {} (manifest says {})",
                        facts.event_count, body.event_count
                    ));
                }
                if facts.first_offset != body.first_offset || facts.last_offset != body.last_offset
                {
                    mismatches.push("offset range".into());
                }
                if facts.max_timestamp.map(rfc3339) != body.max_timestamp
                    || facts.min_timestamp.map(rfc3339) != body.min_timestamp
                {
                    mismatches.push("time range".into());
                }
                if !facts.duplicate_offsets.is_empty() {
                    mismatches.push(format!(
                        "{} offsets held twice",
                        facts.duplicate_offsets.len()
                    ));
                }
                if mismatches.is_empty() {
                    self.summary.verified_splits += 1;
                    self.summary.verified_events += facts.event_count;
                } else {
                    self.problem(
                        &location.id,
                        seq,
                        format!(
                            "split does not match its manifest: {}",
                            mismatches.join("; ")
                        ),
                    );
                }
            }
            Err(e) => self.problem(&location.id, seq, format!("cannot read split records: {e}")),
        }
    }
}

fn open_payload(dir: &Path) -> Result<Option<storage::SplitPayload>, StoreError> {
    let directory = MmapDirectory::open(dir).map_err(|e| StoreError::Corrupt {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    read_payload(&Index::open(directory)?)
}
