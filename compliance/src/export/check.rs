//! `logwarden verify BUNDLE`: checks a bundle offline, in the order trust
//! flows: the public key, the statement's signature, every file's SHA-256,
//! the manifests' signatures and chain, then every split's records against
//! its manifest and every deletion record.

use std::collections::BTreeMap;
use std::path::Path;

use logwarden_store::facts::RecordsHasher;
use logwarden_store::keys::ManifestVerifier;
use logwarden_store::manifest::{DeletionRecord, FORMAT_MERKLE, Manifest, hex_sha256};
use logwarden_store::merkle::RecordsTree;
use serde::Serialize;

use super::dsse::{Envelope, PAYLOAD_TYPE, Statement, pae};
use super::layout::{self, ExportPredicate};
use super::proofs::{SplitInclusion, check_proofs, parse_records};

#[derive(Debug, Default, Serialize)]
pub struct BundleReport {
    pub key_id: Option<String>,
    pub predicate: Option<ExportPredicate>,
    pub files: u64,
    pub manifests_verified: u64,
    pub splits_verified: u64,
    pub records_verified: u64,
    pub empty_windows: u64,
    pub deleted_splits: u64,
    /// Records of a filtered export proven by inclusion proof.
    pub records_proven: u64,
    /// Manifests of format 1 (no Merkle root): their splits verify whole.
    pub format1_manifests: u64,
    /// Per split of a filtered export, the records proven and failed.
    pub inclusion: Vec<SplitInclusion>,
    /// Every problem, in checking order; the first is the first broken item.
    pub problems: Vec<BundleProblem>,
}

impl BundleReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleProblem {
    /// The bundle file at fault.
    pub item: String,
    pub what: String,
}

impl BundleReport {
    pub(super) fn problem(&mut self, item: &str, what: impl Into<String>) {
        self.problems.push(BundleProblem { item: item.to_string(), what: what.into() });
    }
}

/// Checks the bundle directory `dir`; `pinned`, when given, is the public
/// key the auditor trusts (otherwise the bundle's own key is used, which
/// proves integrity but not origin).
pub fn check(dir: &Path, pinned: Option<&Path>) -> BundleReport {
    let mut report = BundleReport::default();
    let key_path = dir.join(layout::PUBLIC_KEY);
    let verifier = match ManifestVerifier::load(&key_path) {
        Ok(v) => v,
        Err(e) => {
            report.problem(layout::PUBLIC_KEY, format!("cannot read the public key: {e}"));
            return report;
        }
    };
    report.key_id = Some(verifier.key_id().to_string());
    if let Some(pinned) = pinned {
        match ManifestVerifier::load(pinned) {
            Ok(p) if p.key_id() == verifier.key_id() => {}
            Ok(p) => {
                report.problem(layout::PUBLIC_KEY, format!("key {} is not the pinned key {} ({})", verifier.key_id(), p.key_id(), pinned.display()));
                return report;
            }
            Err(e) => {
                report.problem(&pinned.display().to_string(), format!("cannot read the pinned key: {e}"));
                return report;
            }
        }
    }
    let Some(statement) = check_statement(dir, &verifier, &mut report) else { return report };
    let files = check_files(dir, &statement, &mut report);
    let predicate: ExportPredicate = match serde_json::from_value(statement.predicate.clone()) {
        Ok(p) => p,
        Err(e) => {
            report.problem(layout::STATEMENT, format!("predicate is not an audit export: {e}"));
            return report;
        }
    };
    if predicate.key_id != verifier.key_id() {
        report.problem(layout::PUBLIC_KEY, format!("key {} is not the key {} the statement names", verifier.key_id(), predicate.key_id));
    }
    let filtered = predicate.query.is_some();
    for segment in &predicate.partitions {
        check_segment(dir, &predicate.stream, segment, filtered, &files, &verifier, &mut report);
    }
    report.predicate = Some(predicate);
    report
}

/// The envelope's signature over `statement.json`'s exact bytes.
fn check_statement(dir: &Path, verifier: &ManifestVerifier, report: &mut BundleReport) -> Option<Statement> {
    let read = |name: &str, report: &mut BundleReport| match std::fs::read(dir.join(name)) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            report.problem(name, format!("cannot read: {e}"));
            None
        }
    };
    let envelope: Envelope = match serde_json::from_slice(&read(layout::ENVELOPE, report)?) {
        Ok(e) => e,
        Err(e) => {
            report.problem(layout::ENVELOPE, format!("not a DSSE envelope: {e}"));
            return None;
        }
    };
    let statement_bytes = read(layout::STATEMENT, report)?;
    let Some(payload) = envelope.payload_bytes() else {
        report.problem(layout::ENVELOPE, "payload is not base64");
        return None;
    };
    if envelope.payload_type != PAYLOAD_TYPE {
        report.problem(layout::ENVELOPE, format!("payloadType is {}, not {PAYLOAD_TYPE}", envelope.payload_type));
        return None;
    }
    let Some(signature) = envelope.signatures.first() else {
        report.problem(layout::ENVELOPE, "no signature");
        return None;
    };
    if !verifier.verify(&pae(&envelope.payload_type, &payload), &signature.sig) {
        if signature.keyid != verifier.key_id() {
            report.problem(layout::PUBLIC_KEY, format!("key {} is not the key {} that signed this bundle: the public key was replaced", verifier.key_id(), signature.keyid));
        } else {
            report.problem(layout::ENVELOPE, "signature does not verify: the statement or its signature was edited");
        }
        return None;
    }
    if payload != statement_bytes {
        report.problem(layout::STATEMENT, "differs from the signed payload in statement.dsse.json: it was edited");
        return None;
    }
    let raw_sig = read(layout::SIGNATURE, report)?;
    let signed = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(&signature.sig).unwrap_or_default()
    };
    if raw_sig != signed {
        report.problem(layout::SIGNATURE, "is not the envelope's signature");
    }
    match serde_json::from_slice::<Statement>(&payload) {
        Ok(s) if s.predicate_type == layout::PREDICATE_TYPE => Some(s),
        Ok(s) => {
            report.problem(layout::STATEMENT, format!("predicateType {} is not {}", s.predicate_type, layout::PREDICATE_TYPE));
            None
        }
        Err(e) => {
            report.problem(layout::STATEMENT, format!("not an in-toto statement: {e}"));
            None
        }
    }
}

/// Every file named in the statement is present with its SHA-256, no file
/// was added, and SHA256SUMS says the same. Returns the signed hashes.
fn check_files(dir: &Path, statement: &Statement, report: &mut BundleReport) -> BTreeMap<String, String> {
    let signed: BTreeMap<String, String> = statement.subject.iter().map(|s| (s.name.clone(), s.digest.sha256.clone())).collect();
    for (name, hash) in &signed {
        if name.split('/').any(|part| part == ".." || part.is_empty()) {
            report.problem(name, "is not a path inside the bundle");
            continue;
        }
        match std::fs::read(dir.join(name)) {
            Ok(bytes) if hex_sha256(&bytes) == *hash => report.files += 1,
            Ok(_) => report.problem(name, "SHA-256 differs from the signed statement: the file was edited"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => report.problem(name, "missing: the signed statement lists it"),
            Err(e) => report.problem(name, format!("cannot read: {e}")),
        }
    }
    let mut present = Vec::new();
    list_files(dir, "", &mut present);
    for name in present {
        if !signed.contains_key(&name) && ![layout::STATEMENT, layout::ENVELOPE, layout::SIGNATURE].contains(&name.as_str()) {
            report.problem(&name, "not in the signed statement: it was added");
        }
    }
    if let Ok(text) = std::fs::read_to_string(dir.join(layout::SUMS))
        && text != super::write::sums(&signed)
    {
        report.problem(layout::SUMS, "does not list the files of the signed statement");
    }
    signed
}

fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            list_files(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
}

/// One partition's manifests: signed, contiguous from `first_seq` to
/// `last_seq`, each naming the hash of the one before; every split's
/// records match its manifest, or a valid deletion record stands for them.
fn check_segment(
    dir: &Path,
    stream: &str,
    segment: &super::layout::PartitionSegment,
    filtered: bool,
    files: &BTreeMap<String, String>,
    verifier: &ManifestVerifier,
    report: &mut BundleReport,
) {
    let prefix = format!("manifests/{stream}/p{}/", segment.partition);
    let mut chain: Vec<(String, Manifest)> = Vec::new();
    for name in files.keys().filter(|n| n.starts_with(&prefix) && n.ends_with(".manifest.json")) {
        let Ok(bytes) = std::fs::read(dir.join(name)) else { continue }; // reported as missing
        match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(m) => chain.push((name.clone(), m)),
            Err(e) => report.problem(name, format!("not a manifest: {e}")),
        }
    }
    chain.sort_by_key(|(_, m)| m.body.seq);
    let mut expected = segment.first_seq;
    let mut previous: Option<&Manifest> = None;
    for (name, manifest) in &chain {
        let body = &manifest.body;
        if !manifest.signature_is_valid(verifier) {
            report.problem(name, "manifest signature is invalid: the manifest was edited or forged");
            continue;
        }
        let split = name.trim_start_matches(&prefix).trim_end_matches(".manifest.json");
        if body.stream != stream || body.partition != segment.partition || body.split_id != split {
            report.problem(name, format!("manifest belongs to {}/p{}/{}", body.stream, body.partition, body.split_id));
        }
        if body.seq != expected {
            report.problem(name, format!("chain broken: seq {} where {expected} was expected (a manifest of the range is missing)", body.seq));
        } else if let Some(prev) = previous
            && body.prev_manifest_sha256.as_deref() != Some(prev.sha256().as_str())
        {
            report.problem(name, format!("chain broken: previous-manifest hash does not match seq {}", prev.body.seq));
        }
        expected = body.seq + 1;
        previous = Some(manifest);
        report.manifests_verified += 1;
        if body.format < FORMAT_MERKLE {
            report.format1_manifests += 1;
        }
        let at = SplitAt { stream, partition: segment.partition, split, filtered };
        check_split(dir, &at, manifest, files, verifier, report);
    }
    if chain.is_empty() || expected != segment.last_seq + 1 {
        report.problem(&prefix, format!("chain segment ends at seq {} but the statement says {}", expected.saturating_sub(1), segment.last_seq));
    }
}

/// Where a split's files are in the bundle, and whether the bundle is
/// filtered (`--query`).
struct SplitAt<'a> {
    stream: &'a str,
    partition: i32,
    split: &'a str,
    filtered: bool,
}

fn check_split(
    dir: &Path,
    at: &SplitAt,
    manifest: &Manifest,
    files: &BTreeMap<String, String>,
    verifier: &ManifestVerifier,
    report: &mut BundleReport,
) {
    let (stream, partition, split) = (at.stream, at.partition, at.split);
    let body = &manifest.body;
    if body.event_count == 0 && body.files_sha256.is_empty() {
        report.empty_windows += 1;
        return;
    }
    let deletion = layout::deletion_name(stream, partition, split);
    if files.contains_key(&deletion) {
        match std::fs::read(dir.join(&deletion)).ok().and_then(|b| serde_json::from_slice::<DeletionRecord>(&b).ok()) {
            Some(d) if d.signature_is_valid(verifier) && d.body.manifest_sha256 == manifest.sha256() => report.deleted_splits += 1,
            Some(_) => report.problem(&deletion, "deletion record is forged (bad signature or another manifest)"),
            None => report.problem(&deletion, "unreadable deletion record"),
        }
        return;
    }
    let records = layout::records_name(stream, partition, split);
    if at.filtered {
        let proofs = layout::proofs_name(stream, partition, split);
        let (has_records, has_proofs) = (files.contains_key(&records), files.contains_key(&proofs));
        if !has_records && !has_proofs {
            return; // no record of this split matched the query
        }
        if body.merkle_root().is_some() {
            check_proofs(dir, &records, &proofs, manifest, report);
            return;
        }
        // A format-1 split with a match was exported whole: checked below.
    }
    let Ok(text) = std::fs::read_to_string(dir.join(&records)) else {
        report.problem(&records, format!("missing: split seq {} has {} records and no deletion record", body.seq, body.event_count));
        return;
    };
    let parsed = match parse_records(&text) {
        Ok(parsed) => parsed,
        Err(e) => return report.problem(&records, e),
    };
    let mut hasher = RecordsHasher::new();
    let mut tree = RecordsTree::default();
    for record in &parsed {
        hasher.update(record.offset, &record.source);
        tree.push(record.offset, &record.source);
    }
    let count = parsed.len() as u64;
    let first = parsed.first().map(|r| r.offset as i64);
    let last = parsed.last().map(|r| r.offset as i64);
    let mut mismatches = Vec::new();
    if hasher.finish() != body.records_sha256 {
        mismatches.push("records SHA-256 (a record was edited, added or removed)".to_string());
    }
    if body.merkle_root().is_some_and(|root| root != tree.root_hex()) {
        mismatches.push("records Merkle root".to_string());
    }
    if count != body.event_count {
        mismatches.push(format!("{count} records, the manifest says {}", body.event_count));
    }
    if first != body.first_offset || last != body.last_offset {
        mismatches.push("offset range".into());
    }
    if mismatches.is_empty() {
        report.splits_verified += 1;
        report.records_verified += count;
    } else {
        report.problem(&records, format!("does not match its manifest (seq {}): {}", body.seq, mismatches.join("; ")));
    }
}
