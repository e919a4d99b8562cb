//! Building a bundle from a data directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use logwarden_store::facts::{for_each_record, rfc3339};
use logwarden_store::keys::{ManifestSigner, public_key_path};
use logwarden_store::manifest::{Manifest, hex_sha256};
use logwarden_store::schema::LogSchema;
use logwarden_store::storage::{self, SplitId, SplitKind, SplitLocation};

use super::dsse::{Digest, Envelope, STATEMENT_TYPE, Statement, Subject};
use super::filter::{ExportQuery, filtered_split, matching_offsets};
use super::layout::{self, ExportPredicate, PartitionSegment, PolicyRecord, PresetRecord};
use crate::{ComplianceError, Policies, ReportOptions};

pub struct ExportRequest {
    pub data_dir: PathBuf,
    pub stream: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `compliance.max_export_bytes`.
    pub max_bytes: u64,
    /// The manifest signing key (its `.pub.pem` goes in the bundle).
    pub signing_key: PathBuf,
    /// Policies for the report; `None` reports integrity only.
    pub policies: Option<Policies>,
    /// Who asked (key name, or the OS user for the CLI).
    pub requested_by: String,
    /// Only the records matching this query, each with an inclusion proof.
    pub query: Option<ExportQuery>,
    /// The bundle directory to create; must not exist.
    pub out: PathBuf,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    pub out: PathBuf,
    /// SHA-256 of `statement.json`, which names every file's SHA-256.
    pub bundle_sha256: String,
    pub key_id: String,
    pub records: u64,
    pub manifests: u64,
    pub bytes: u64,
    pub empty: bool,
    /// Records exported with an inclusion proof (`--query`).
    pub proven_records: u64,
}

/// Writes the bundle beside `out` and renames it into place when complete;
/// nothing is left behind on error.
pub fn export(request: &ExportRequest) -> Result<ExportSummary, ComplianceError> {
    if request.from >= request.to {
        return Err(ComplianceError::InvalidExport("`from` must be before `to`".into()));
    }
    if !logwarden_event::is_valid_stream_name(&request.stream) {
        return Err(ComplianceError::InvalidExport(format!("`{}` is not a stream name", request.stream)));
    }
    if request.out.exists() {
        return Err(ComplianceError::InvalidExport(format!("{} already exists", request.out.display())));
    }
    if !request.signing_key.exists() {
        return Err(ComplianceError::InvalidExport(format!(
            "no signing key at {}: nothing was ever sealed with it",
            request.signing_key.display()
        )));
    }
    let signer = ManifestSigner::load_or_create(&request.signing_key)?;
    let tmp = storage::unique_tmp(&request.out);
    let result = write_bundle(request, &signer, &tmp);
    match result {
        Ok(mut summary) => {
            std::fs::rename(&tmp, &request.out).map_err(|e| ComplianceError::io(&request.out, e))?;
            summary.out = request.out.clone();
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Collects written files and their hashes; refuses past the byte limit.
struct BundleWriter<'a> {
    root: &'a Path,
    files: BTreeMap<String, String>,
    bytes: u64,
    limit: u64,
}

impl BundleWriter<'_> {
    fn put(&mut self, name: &str, bytes: &[u8]) -> Result<(), ComplianceError> {
        self.bytes += bytes.len() as u64;
        if self.bytes > self.limit {
            return Err(ComplianceError::ExportTooLarge { limit: self.limit });
        }
        let path = self.root.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ComplianceError::io(dir, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| ComplianceError::io(&path, e))?;
        self.files.insert(name.to_string(), hex_sha256(bytes));
        Ok(())
    }
}

fn overlaps(manifest: &Manifest, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let time = |t: &Option<String>| t.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.to_utc());
    let body = &manifest.body;
    match (time(&body.window_start), time(&body.window_end)) {
        (Some(start), Some(end)) => start < to && end > from,
        _ => match (time(&body.min_timestamp), time(&body.max_timestamp)) {
            (Some(min), Some(max)) => min < to && max >= from,
            _ => false,
        },
    }
}

fn write_bundle(request: &ExportRequest, signer: &ManifestSigner, root: &Path) -> Result<ExportSummary, ComplianceError> {
    let schema = LogSchema::new();
    std::fs::create_dir_all(root).map_err(|e| ComplianceError::io(root, e))?;
    let mut out = BundleWriter { root, files: BTreeMap::new(), bytes: 0, limit: request.max_bytes };
    let locations = storage::list_split_dirs(&request.data_dir, None).map_err(|e| ComplianceError::io(&request.data_dir, e))?;
    let mut by_partition: BTreeMap<i32, Vec<SplitLocation>> = BTreeMap::new();
    for location in locations.into_iter().filter(|l| l.stream == request.stream) {
        by_partition.entry(location.partition).or_default().push(location);
    }
    let mut partitions = Vec::new();
    let mut unsealed = Vec::new();
    let mut total_records = 0;
    let mut total_manifests = 0;
    let mut total_proven = 0;
    let mut whole_splits = Vec::new();
    for (partition, locations) in by_partition {
        let mut chain = Vec::new();
        for location in locations {
            match Manifest::read(&location.path)? {
                Some(manifest) => chain.push((manifest, location)),
                None => {
                    let start = SplitId::parse(&location.id).map(|id| id.kind);
                    let may_overlap = match start {
                        Some(SplitKind::Window(start)) => start < request.to.timestamp(),
                        _ => true,
                    };
                    if may_overlap {
                        unsealed.push(format!("{}/p{}/{}", location.stream, partition, location.id));
                    }
                }
            }
        }
        chain.sort_by_key(|(m, _)| m.body.seq);
        let first = chain.iter().position(|(m, _)| overlaps(m, request.from, request.to));
        let last = chain.iter().rposition(|(m, _)| overlaps(m, request.from, request.to));
        let (Some(first), Some(last)) = (first, last) else { continue };
        let mut segment = PartitionSegment {
            partition,
            first_seq: chain[first].0.body.seq,
            last_seq: chain[last].0.body.seq,
            manifests: 0,
            records: 0,
            empty_windows: 0,
            deleted_splits: 0,
            proven_records: 0,
        };
        for (manifest, location) in &chain[first..=last] {
            let split = &location.id;
            let manifest_file = storage::manifest_path(&location.path);
            let bytes = std::fs::read(&manifest_file).map_err(|e| ComplianceError::io(&manifest_file, e))?;
            out.put(&layout::manifest_name(&request.stream, partition, split), &bytes)?;
            segment.manifests += 1;
            let deletion_file = storage::deletion_path(&location.path);
            if deletion_file.exists() {
                let bytes = std::fs::read(&deletion_file).map_err(|e| ComplianceError::io(&deletion_file, e))?;
                out.put(&layout::deletion_name(&request.stream, partition, split), &bytes)?;
                segment.deleted_splits += 1;
            }
            if manifest.body.event_count == 0 && manifest.body.files_sha256.is_empty() {
                segment.empty_windows += 1;
            } else if storage::has_index(&location.path) {
                let records_name = layout::records_name(&request.stream, partition, split);
                let range = (request.from, request.to);
                match (&request.query, manifest.body.merkle_root()) {
                    (Some(query), Some(_)) => {
                        if let Some(filtered) = filtered_split(&location.path, manifest, &schema, query, range)? {
                            let proven = filtered.proofs.proofs.len() as u64;
                            segment.records += proven;
                            segment.proven_records += proven;
                            out.put(&records_name, &filtered.ndjson)?;
                            let proofs = serde_json::to_vec_pretty(&filtered.proofs).expect("proofs serialize");
                            out.put(&layout::proofs_name(&request.stream, partition, split), &proofs)?;
                        }
                    }
                    (Some(query), None) => {
                        // Format 1: no Merkle root, so a split with a match goes whole.
                        if !matching_offsets(&location.path, &schema, query, range.0, range.1)?.is_empty() {
                            let records = records_ndjson(&location.path, &schema)?;
                            segment.records += records.1;
                            out.put(&records_name, &records.0)?;
                            whole_splits.push(format!("{}/p{partition}/{split}", request.stream));
                        }
                    }
                    (None, _) => {
                        let records = records_ndjson(&location.path, &schema)?;
                        segment.records += records.1;
                        out.put(&records_name, &records.0)?;
                    }
                }
            }
        }
        total_records += segment.records;
        total_manifests += segment.manifests;
        total_proven += segment.proven_records;
        partitions.push(segment);
    }
    let empty = total_records == 0;
    let note = if partitions.is_empty() {
        format!("no sealed split or window of stream {} in this range: the bundle holds no records and no manifests", request.stream)
    } else if let (Some(query), true) = (&request.query, empty) {
        format!("no record in this range matches the query `{}`: the manifests show every window of the range", query.text)
    } else if empty {
        "no record in this range: the manifests show which windows were sealed empty or deleted".to_string()
    } else if let Some(query) = &request.query {
        let mut note = format!(
            "only the records of the range matching the query `{}`, each with an inclusion proof against its split's manifest (proofs/)",
            query.text
        );
        if !whole_splits.is_empty() {
            note.push_str(&format!("; {} split(s) of manifest format 1 (no Merkle root) are exported whole", whole_splits.len()));
        }
        note
    } else {
        "whole sealed splits: records of the first and last splits may fall outside the range".to_string()
    };
    let predicate = ExportPredicate {
        format: layout::FORMAT,
        stream: request.stream.clone(),
        from: rfc3339(request.from),
        to: rfc3339(request.to),
        created_at: rfc3339(Utc::now()),
        requested_by: request.requested_by.clone(),
        key_id: signer.key_id().to_string(),
        empty,
        note,
        records: total_records,
        partitions,
        unsealed_not_exported: unsealed,
        query: request.query.as_ref().map(|q| q.text.clone()),
        whole_splits,
        policy: request.policies.as_ref().map(|p| policy_record(p, &request.stream)),
    };
    let public_key = public_key_path(&request.signing_key);
    let key = std::fs::read(&public_key).map_err(|e| ComplianceError::io(&public_key, e))?;
    out.put(layout::PUBLIC_KEY, &key)?;
    let report = crate::build(&ReportOptions {
        data_dir: request.data_dir.clone(),
        policies: request.policies.clone(),
        at: Utc::now(),
        from: Some(request.from),
        verify_max_age: std::time::Duration::from_secs(7 * 24 * 3600),
        public_key: None,
    })?;
    out.put(layout::REPORT, &serde_json::to_vec_pretty(&report).expect("report serializes"))?;
    out.put(layout::EXPORT, &serde_json::to_vec_pretty(&predicate).expect("predicate serializes"))?;
    out.put(layout::VERIFY_MD, super::instructions::text(&predicate).as_bytes())?;
    let sums = sums(&out.files);
    out.put(layout::SUMS, sums.as_bytes())?;
    let statement = Statement {
        kind: STATEMENT_TYPE.to_string(),
        subject: out.files.iter().map(|(name, hash)| Subject { name: name.clone(), digest: Digest { sha256: hash.clone() } }).collect(),
        predicate_type: layout::PREDICATE_TYPE.to_string(),
        predicate: serde_json::to_value(&predicate).expect("predicate serializes"),
    };
    let statement = serde_json::to_vec_pretty(&statement).expect("statement serializes");
    let envelope = Envelope::sign(&statement, signer);
    let signature = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(&envelope.signatures[0].sig).expect("own signature decodes")
    };
    let bundle_sha256 = hex_sha256(&statement);
    out.put(layout::STATEMENT, &statement)?;
    out.put(layout::ENVELOPE, &serde_json::to_vec_pretty(&envelope).expect("envelope serializes"))?;
    out.put(layout::SIGNATURE, &signature)?;
    Ok(ExportSummary {
        out: root.to_path_buf(),
        bundle_sha256,
        key_id: signer.key_id().to_string(),
        records: total_records,
        manifests: total_manifests,
        bytes: out.bytes,
        empty,
        proven_records: total_proven,
    })
}

/// `sha256sum` lines for every file but the sums themselves and the statement.
pub(super) fn sums(files: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (name, hash) in files {
        if ![layout::SUMS, layout::STATEMENT, layout::ENVELOPE, layout::SIGNATURE].contains(&name.as_str()) {
            text.push_str(&format!("{hash}  {name}\n"));
        }
    }
    text
}

/// A split's records as bundle lines, in offset order; and their count.
fn records_ndjson(split: &Path, schema: &LogSchema) -> Result<(Vec<u8>, u64), ComplianceError> {
    let mut text = Vec::new();
    let mut count = 0;
    for_each_record(split, schema, |offset, source| {
        count += 1;
        record_line(&mut text, offset, source);
    })?;
    Ok((text, count))
}

/// Appends one bundle line: the stored event byte for byte when it is a
/// single-line JSON value, else as a `source` string.
pub(super) fn record_line(text: &mut Vec<u8>, offset: u64, source: &str) {
    let raw = !source.contains('\n')
        && source.trim() == source
        && serde_json::from_str::<&serde_json::value::RawValue>(source).is_ok();
    if raw {
        let _ = writeln!(text, "{{\"offset\":{offset},\"event\":{source}}}");
    } else {
        let _ = writeln!(text, "{}", serde_json::json!({ "offset": offset, "source": source }));
    }
}

/// What the configuration says of `stream`: the laws it cites and its hold.
fn policy_record(policies: &Policies, stream: &str) -> PolicyRecord {
    let policy = policies.streams.get(stream).cloned().unwrap_or_else(logwarden_config::StreamPolicy::keep_forever);
    let duration = |d: std::time::Duration| match d.as_secs() {
        secs if secs > 0 && secs % 31_557_600 == 0 => format!("{}y", secs / 31_557_600),
        secs if secs > 0 && secs % 86_400 == 0 => format!("{}d", secs / 86_400),
        _ => humantime::format_duration(d).to_string(),
    };
    PolicyRecord {
        retention: policy.retention.map(duration),
        hot: policy.hot.map(duration),
        presets: policy
            .presets
            .iter()
            .map(|p| PresetRecord { name: p.name.to_string(), citation: p.citation.to_string(), min_retention: p.min_retention.map(duration) })
            .collect(),
        legal_hold: policy.legal_hold,
        legal_hold_reason: policy.legal_hold_reason.clone(),
        legal_hold_since: policy.legal_hold_since.map(rfc3339),
    }
}
