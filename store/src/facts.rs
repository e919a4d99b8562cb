//! What a split's index holds, computed from its files: the record hash,
//! count, offsets and time range a manifest states, and the hash of every
//! file. Sealing writes these facts; `verify` recomputes and compares them.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use tantivy::directory::MmapDirectory;
use tantivy::schema::Value;
use tantivy::{Index, ReloadPolicy, TantivyDocument};

use crate::StoreError;
use crate::merkle::RecordsTree;
use crate::schema::{LogSchema, OFFSET, from_tantivy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFacts {
    pub event_count: u64,
    pub first_offset: Option<i64>,
    pub last_offset: Option<i64>,
    pub min_timestamp: Option<DateTime<Utc>>,
    pub max_timestamp: Option<DateTime<Utc>>,
    pub records_sha256: String,
    /// The RFC 9162 Merkle tree hash over the records (format-2 manifests).
    pub records_merkle_root: String,
    /// Offsets held more than once (always empty for a healthy split).
    pub duplicate_offsets: Vec<i64>,
}

impl SplitFacts {
    /// Reads every record of the index at `dir` in offset order.
    pub fn compute(dir: &Path, schema: &LogSchema) -> Result<SplitFacts, StoreError> {
        let ordered = OrderedRecords::open(dir)?;
        let mut hasher = RecordsHasher::new();
        let mut tree = RecordsTree::default();
        let mut duplicate_offsets = Vec::new();
        let mut previous = None;
        ordered.visit(dir, schema, |offset, source| {
            if previous == Some(offset) {
                duplicate_offsets.push(offset as i64);
            }
            previous = Some(offset);
            hasher.update(offset, source);
            tree.push(offset, source);
        })?;
        Ok(SplitFacts {
            event_count: ordered.order.len() as u64,
            first_offset: ordered.order.first().map(|o| o.0 as i64),
            last_offset: ordered.order.last().map(|o| o.0 as i64),
            min_timestamp: ordered.min_ts,
            max_timestamp: ordered.max_ts,
            records_sha256: hasher.finish(),
            records_merkle_root: tree.root_hex(),
            duplicate_offsets,
        })
    }
}

/// The SHA-256 a manifest states over a split's records: (offset, length,
/// stored event) of each, in offset order. Sealing, `verify` and the audit
/// bundle check all hash through this one type.
pub struct RecordsHasher(Sha256);

impl RecordsHasher {
    pub fn new() -> RecordsHasher {
        RecordsHasher(Sha256::new())
    }

    /// Adds the next record (offsets must come in increasing order).
    pub fn update(&mut self, offset: u64, source: &str) {
        self.0.update(offset.to_be_bytes());
        self.0.update((source.len() as u64).to_be_bytes());
        self.0.update(source.as_bytes());
    }

    pub fn finish(self) -> String {
        format!("{:x}", self.0.finalize())
    }
}

impl Default for RecordsHasher {
    fn default() -> Self {
        RecordsHasher::new()
    }
}

/// Calls `visit(offset, stored event)` for every record of the split index
/// at `dir`, in offset order (the order its manifest hashes them in).
pub fn for_each_record(
    dir: &Path,
    schema: &LogSchema,
    visit: impl FnMut(u64, &str),
) -> Result<(), StoreError> {
    OrderedRecords::open(dir)?.visit(dir, schema, visit)
}

/// A split's live records sorted by offset, with its time range.
struct OrderedRecords {
    searcher: tantivy::Searcher,
    /// (offset, segment, doc) of every live record, sorted by offset.
    order: Vec<(u64, u32, u32)>,
    min_ts: Option<DateTime<Utc>>,
    max_ts: Option<DateTime<Utc>>,
}

impl OrderedRecords {
    fn open(dir: &Path) -> Result<OrderedRecords, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt {
            path: dir.to_path_buf(),
            message,
        };
        let directory = MmapDirectory::open(dir).map_err(|e| corrupt(e.to_string()))?;
        let index = Index::open(directory)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        let mut order: Vec<(u64, u32, u32)> = Vec::with_capacity(searcher.num_docs() as usize);
        let mut min_ts = None;
        let mut max_ts = None;
        for (segment, reader) in searcher.segment_readers().iter().enumerate() {
            let offsets = reader.fast_fields().u64(OFFSET)?;
            let times = reader
                .fast_fields()
                .date(logwarden_event::fields::TIMESTAMP)?;
            for doc in reader.doc_ids_alive() {
                let offset = offsets
                    .first(doc)
                    .ok_or_else(|| corrupt(format!("record {doc} has no offset")))?;
                order.push((offset, segment as u32, doc));
                if let Some(time) = times.first(doc).map(from_tantivy) {
                    min_ts = Some(min_ts.map_or(time, |m: DateTime<Utc>| m.min(time)));
                    max_ts = Some(max_ts.map_or(time, |m: DateTime<Utc>| m.max(time)));
                }
            }
        }
        order.sort_unstable();
        Ok(OrderedRecords { searcher, order, min_ts, max_ts })
    }

    /// Calls `visit` for every record in offset order. A damaged doc store
    /// block can make tantivy panic instead of failing (a flipped byte in
    /// a zstd block may decompress to a block whose index points outside
    /// it): that is reported as a corrupt split, as a failed read is.
    fn visit(
        &self,
        dir: &Path,
        schema: &LogSchema,
        visit: impl FnMut(u64, &str),
    ) -> Result<(), StoreError> {
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.read_records(dir, schema, visit)
        }));
        read.unwrap_or_else(|_| {
            Err(StoreError::Corrupt {
                path: dir.to_path_buf(),
                message: "a stored record is unreadable (damaged doc store)".into(),
            })
        })
    }

    fn read_records(
        &self,
        dir: &Path,
        schema: &LogSchema,
        mut visit: impl FnMut(u64, &str),
    ) -> Result<(), StoreError> {
        let stores = self
            .searcher
            .segment_readers()
            .iter()
            .map(|r| r.get_store_reader(64))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::io(dir, e))?;
        for &(offset, segment, doc) in &self.order {
            let document: TantivyDocument = stores[segment as usize].get(doc)?;
            let source = document
                .get_first(schema.source)
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            visit(offset, source);
        }
        Ok(())
    }
}

/// Names of the files that are not part of the index's content.
fn is_bookkeeping(name: &str) -> bool {
    name.starts_with(".tantivy-")
        || name.ends_with(".lock")
        || name.ends_with(".tmp")
        || name == "manifest.json"
        || name == "deletion.json"
}

/// SHA-256 of every index file of a split directory, by name.
pub fn files_sha256(dir: &Path) -> Result<BTreeMap<String, String>, StoreError> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_bookkeeping(&name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        files.insert(name, file_sha256(&entry.path())?);
    }
    Ok(files)
}

fn file_sha256(path: &Path) -> Result<String, StoreError> {
    let mut file = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}
