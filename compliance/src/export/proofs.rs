//! Checking a filtered export's records: each record's inclusion proof
//! must lead from the record (its offset and stored bytes) to the Merkle
//! root its split's signed manifest commits to. Also the parser of the
//! records files every check shares.

use std::collections::HashMap;

use logwarden_store::manifest::Manifest;
use logwarden_store::merkle::{from_hex, record_leaf, verify_inclusion};
use serde::Serialize;

use super::check::BundleReport;
use super::layout::{RecordLine, SplitProofs};

/// One split's inclusion proofs as checked: the offsets proven, per event.
#[derive(Debug, Clone, Serialize)]
pub struct SplitInclusion {
    pub records: String,
    pub seq: u64,
    pub tree_size: u64,
    pub merkle_root: String,
    /// Offsets whose record and proof lead to the manifest's root.
    pub proven: Vec<u64>,
    /// Offsets whose record or proof does not.
    pub failed: Vec<u64>,
}

/// A record of a records file: its line number, offset and stored event.
#[derive(Debug)]
pub struct Record {
    pub line: usize,
    pub offset: u64,
    pub source: String,
}

/// Parses a records file (`{"offset":N,"event":…}` or `{"offset":N,
/// "source":"…"}` per line, offsets increasing); the error names the line.
pub fn parse_records(text: &str) -> Result<Vec<Record>, String> {
    let mut records: Vec<Record> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let parsed: RecordLine = serde_json::from_str(line).map_err(|e| format!("line {line_no} is not a record: {e}"))?;
        let source = match (&parsed.event, parsed.source) {
            (Some(raw), None) => raw.get().to_string(),
            (None, Some(text)) => text,
            _ => return Err(format!("line {line_no} has neither `event` nor `source`")),
        };
        if records.last().is_some_and(|r| parsed.offset <= r.offset) {
            return Err(format!("line {line_no}: offsets out of order"));
        }
        records.push(Record { line: line_no, offset: parsed.offset, source });
    }
    Ok(records)
}

/// Parses a proofs file.
pub fn parse_proofs(bytes: &[u8]) -> Result<SplitProofs, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// Checks every record of `records_name` against its proof in
/// `proofs_name` and the Merkle root of `manifest`, reporting each
/// record that fails by line and offset.
pub(super) fn check_proofs(
    dir: &std::path::Path,
    records_name: &str,
    proofs_name: &str,
    manifest: &Manifest,
    report: &mut BundleReport,
) {
    let body = &manifest.body;
    let root_hex = body.merkle_root().unwrap_or_default();
    let Some(root) = from_hex(root_hex) else {
        report.problem(proofs_name, format!("manifest seq {} has no valid Merkle root", body.seq));
        return;
    };
    let proofs = match std::fs::read(dir.join(proofs_name)) {
        Ok(bytes) => match parse_proofs(&bytes) {
            Ok(p) => p,
            Err(e) => return report.problem(proofs_name, format!("not a proofs file: {e}")),
        },
        Err(_) => return report.problem(proofs_name, format!("missing: the records of {records_name} have no inclusion proofs")),
    };
    let Ok(text) = std::fs::read_to_string(dir.join(records_name)) else {
        return report.problem(records_name, format!("missing: {proofs_name} proves records of it"));
    };
    if proofs.split != body.split_id || proofs.seq != body.seq {
        report.problem(proofs_name, format!("names split {} seq {}, not {} seq {}", proofs.split, proofs.seq, body.split_id, body.seq));
    }
    if proofs.tree_size != body.event_count {
        report.problem(proofs_name, format!("tree size {} differs from the {} events manifest seq {} signs", proofs.tree_size, body.event_count, body.seq));
    }
    if proofs.merkle_root != root_hex {
        report.problem(proofs_name, format!("names Merkle root {}, not the root manifest seq {} signs", proofs.merkle_root, body.seq));
    }
    let records = match parse_records(&text) {
        Ok(r) => r,
        Err(e) => return report.problem(records_name, e),
    };
    let mut by_offset: HashMap<u64, &super::layout::RecordProof> = HashMap::new();
    let mut last_index = None;
    for proof in &proofs.proofs {
        if last_index.is_some_and(|i| proof.index <= i) || by_offset.insert(proof.offset, proof).is_some() {
            report.problem(proofs_name, format!("proof of offset {}: leaf indexes are not in offset order", proof.offset));
        }
        last_index = Some(proof.index);
    }
    let mut result = SplitInclusion {
        records: records_name.to_string(),
        seq: body.seq,
        tree_size: body.event_count,
        merkle_root: root_hex.to_string(),
        proven: Vec::new(),
        failed: Vec::new(),
    };
    for record in &records {
        let (line, offset) = (record.line, record.offset);
        let Some(proof) = by_offset.remove(&offset) else {
            report.problem(records_name, format!("line {line} (offset {offset}): no inclusion proof in {proofs_name}"));
            result.failed.push(offset);
            continue;
        };
        let Some(path) = proof.path.iter().map(|h| from_hex(h)).collect::<Option<Vec<_>>>() else {
            report.problem(proofs_name, format!("proof of offset {offset}: a path hash is not 64 hex digits"));
            result.failed.push(offset);
            continue;
        };
        let leaf = record_leaf(offset, &record.source);
        if verify_inclusion(&leaf, proof.index, body.event_count, &path, &root) {
            result.proven.push(offset);
        } else {
            report.problem(
                records_name,
                format!(
                    "line {line} (offset {offset}): its inclusion proof in {proofs_name} does not lead to the Merkle root of manifest seq {}: the record or its proof was edited",
                    body.seq
                ),
            );
            result.failed.push(offset);
        }
    }
    let mut orphans: Vec<u64> = by_offset.into_keys().collect();
    orphans.sort_unstable();
    for offset in orphans {
        report.problem(proofs_name, format!("proof of offset {offset} has no record in {records_name}: a record was removed"));
    }
    report.records_proven += result.proven.len() as u64;
    report.inclusion.push(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_with_line_numbers_in_errors() {
        let text = "{\"offset\":1,\"event\":{\"a\":1}}\n{\"offset\":2,\"source\":\"x y\"}\n";
        let records = parse_records(text).unwrap();
        assert_eq!((records[0].offset, records[0].source.as_str()), (1, "{\"a\":1}"));
        assert_eq!((records[1].line, records[1].source.as_str()), (2, "x y"));
        assert!(parse_records("{\"offset\":2,\"source\":\"a\"}\n{\"offset\":1,\"source\":\"b\"}").unwrap_err().contains("line 2"));
        assert!(parse_records("{\"offset\":1}").unwrap_err().contains("neither"));
        assert!(parse_records("nope").unwrap_err().contains("line 1"));
        assert!(parse_proofs(b"{\"split\":\"s\"}").is_err());
    }
}
