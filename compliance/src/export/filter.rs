//! Query-filtered exports (`--query`): the records of a sealed split that
//! match the query and fall in the range, each with its inclusion proof
//! against the Merkle root the split's format-2 manifest signs, so an
//! auditor proves every exported record belongs to the split without
//! seeing the rest of it.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;

use chrono::{DateTime, Utc};
use logwarden_store::facts::for_each_record;
use logwarden_store::manifest::Manifest;
use logwarden_store::merkle::{Levels, record_leaf, to_hex};
use logwarden_store::schema::{LogSchema, OFFSET, to_tantivy};
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::{Index, Term};

use super::layout::{RecordProof, SplitProofs};
use crate::ComplianceError;

/// The query of a filtered export: the text as the caller wrote it (kept
/// in the bundle and the audit record) and its compiled form (the query
/// API's compiler, so the CLI and the API select the same records).
pub struct ExportQuery {
    pub text: String,
    pub query: Box<dyn Query>,
}

/// One split's matching records as bundle lines, and their proofs.
pub(super) struct FilteredSplit {
    pub ndjson: Vec<u8>,
    pub proofs: SplitProofs,
}

/// The matching records of the split at `dir` in `[from, to)` with their
/// proofs; `None` when no record matches. Refuses a split that no longer
/// matches its manifest's Merkle root (run `logwarden verify --data-dir`).
pub(super) fn filtered_split(
    dir: &Path,
    manifest: &Manifest,
    schema: &LogSchema,
    query: &ExportQuery,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Option<FilteredSplit>, ComplianceError> {
    let body = &manifest.body;
    let root = body.merkle_root().expect("called for format-2 manifests only");
    let wanted = matching_offsets(dir, schema, query, from, to)?;
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut leaves = Vec::with_capacity(body.event_count as usize);
    let mut ndjson = Vec::new();
    let mut chosen = Vec::new();
    for_each_record(dir, schema, |offset, source| {
        if wanted.contains(&offset) {
            chosen.push((offset, leaves.len()));
            super::write::record_line(&mut ndjson, offset, source);
        }
        leaves.push(record_leaf(offset, source));
    })?;
    let tree_size = leaves.len() as u64;
    let levels = Levels::new(leaves);
    if to_hex(&levels.root()) != root || tree_size != body.event_count {
        // The store itself is broken, not the request: not a 4xx.
        return Err(ComplianceError::Corrupt {
            path: dir.to_path_buf(),
            message: format!(
                "split {}/p{}/{} does not match its manifest's Merkle root: run `logwarden verify --data-dir`",
                body.stream, body.partition, body.split_id
            ),
        });
    }
    let proofs = chosen
        .into_iter()
        .map(|(offset, index)| RecordProof {
            offset,
            index: index as u64,
            path: levels.proof(index).unwrap_or_default().iter().map(to_hex).collect(),
        })
        .collect();
    Ok(Some(FilteredSplit {
        ndjson,
        proofs: SplitProofs {
            split: body.split_id.clone(),
            seq: body.seq,
            tree_size,
            merkle_root: root.to_string(),
            proofs,
        },
    }))
}

/// Offsets of the split's records that match `query` with `from <=
/// @timestamp < to`.
pub(super) fn matching_offsets(
    dir: &Path,
    schema: &LogSchema,
    query: &ExportQuery,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeSet<u64>, ComplianceError> {
    let index = Index::open_in_dir(dir)?;
    let searcher = index.reader()?.searcher();
    let term = |t: DateTime<Utc>| Term::from_field_date_for_search(schema.timestamp, to_tantivy(t));
    let range = RangeQuery::new(Bound::Included(term(from)), Bound::Excluded(term(to)));
    let both = BooleanQuery::new(vec![(Occur::Must, query.query.box_clone()), (Occur::Must, Box::new(range))]);
    let mut offsets = BTreeSet::new();
    for address in searcher.search(&both, &DocSetCollector)? {
        let segment = searcher.segment_reader(address.segment_ord);
        if let Some(offset) = segment.fast_fields().u64(OFFSET)?.first(address.doc_id) {
            offsets.insert(offset);
        }
    }
    Ok(offsets)
}
