//! An active split: a tantivy index being written, whose commit payload
//! records how far into its Kafka partition it is complete.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentMeta;
use tantivy::indexer::{IndexWriterOptions, MergeCandidate, MergePolicy, NoMergePolicy, UserOperation};
use tantivy::{Index, IndexWriter, ReloadPolicy};

use crate::IndexerError;
use logwarden_store::EventDocument;
use logwarden_store::schema::LogSchema;
use logwarden_store::storage::{SplitId, SplitLocation, SplitPayload, read_payload};

pub struct ActiveSplit {
    pub location: SplitLocation,
    pub id: SplitId,
    index: Index,
    writer: IndexWriter<EventDocument>,
    /// Offset up to which the split is committed (from its payload).
    pub committed_next: i64,
    /// Documents added since the last commit.
    pub pending_docs: u64,
    /// Payload bytes of those documents: what bounds writer memory.
    pub pending_bytes: u64,
    /// Documents in the split, committed or not.
    pub docs: u64,
    /// The last commit said the split is sealed (its manifest may still be
    /// missing after a crash).
    pub sealed: bool,
    /// When this process opened the split (wall clock).
    pub opened_at: DateTime<Utc>,
    writer_memory: usize,
    /// Documents not yet handed to the writer: they go over in batches of
    /// [`BATCH`], one channel message and one wake-up of its indexing
    /// thread per batch instead of per document.
    batch: Vec<UserOperation<EventDocument>>,
}

/// Documents handed to the writer at once.
const BATCH: usize = 256;

impl ActiveSplit {
    /// Opens an existing split, or creates it and commits an empty payload at
    /// `first_offset` right away, so the split's place in the partition is on
    /// disk before any event is added.
    pub fn open_or_create(
        location: SplitLocation,
        schema: &LogSchema,
        first_offset: i64,
        writer_memory: usize,
    ) -> Result<ActiveSplit, IndexerError> {
        std::fs::create_dir_all(&location.path).map_err(|e| IndexerError::io(&location.path, e))?;
        let dir =
            MmapDirectory::open(&location.path).map_err(|e| IndexerError::Tantivy(e.into()))?;
        let index = schema.open_or_create_index(dir)?;
        let payload = read_payload(&index)?;
        let writer = open_writer(&index, writer_memory, &location.path)?;
        let docs = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?
            .searcher()
            .num_docs();
        let id = SplitId::parse(&location.id).ok_or_else(|| IndexerError::corrupt(&location.path, "not a split id"))?;
        let mut split = ActiveSplit {
            location,
            id,
            index,
            writer,
            committed_next: first_offset,
            pending_docs: 0,
            pending_bytes: 0,
            docs,
            sealed: false,
            opened_at: Utc::now(),
            writer_memory,
            batch: Vec::with_capacity(BATCH),
        };
        match payload {
            Some(payload) => {
                split.committed_next = payload.next_offset;
                split.sealed = payload.sealed;
            }
            None => split.commit(first_offset)?,
        }
        Ok(split)
    }

    /// Adds a document made from a payload of `bytes`.
    pub fn add(&mut self, doc: EventDocument, bytes: usize) -> Result<(), IndexerError> {
        self.batch.push(UserOperation::Add(doc));
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        self.pending_docs += 1;
        self.pending_bytes += bytes as u64;
        self.docs += 1;
        Ok(())
    }

    /// Commits with the partition's next offset in the payload
    /// (`prepare_commit` + `set_payload`: a plain commit would clear it).
    pub fn commit(&mut self, next_offset: i64) -> Result<(), IndexerError> {
        self.commit_with(next_offset, false)
    }

    /// Hands the batched documents to the writer.
    fn flush(&mut self) -> Result<(), IndexerError> {
        if !self.batch.is_empty() {
            self.writer.run(self.batch.drain(..))?;
        }
        Ok(())
    }

    fn commit_with(&mut self, next_offset: i64, sealed: bool) -> Result<(), IndexerError> {
        self.flush()?;
        let payload = SplitPayload {
            partition: self.location.partition,
            next_offset,
            sealed,
        };
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload.encode());
        prepared.commit()?;
        self.committed_next = next_offset;
        self.pending_docs = 0;
        self.pending_bytes = 0;
        self.sealed = sealed;
        Ok(())
    }

    /// Closes the split for good: a last commit marks it sealed (so a crash
    /// from here on finishes the seal rather than adding to the split), its
    /// segments are merged into one, and the writer is released. Returns
    /// the split's directory, ready for its manifest.
    pub fn finish(mut self) -> Result<SplitLocation, IndexerError> {
        if !self.sealed || self.pending_docs > 0 {
            let next = self.committed_next;
            self.commit_with(next, true)?;
        }
        // Let background merges end first, so the segment list is final;
        // then merge what is left into one segment with a writer that
        // merges nothing on its own.
        self.writer.wait_merging_threads()?;
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() > 1 {
            let mut writer = open_writer(&self.index, self.writer_memory, &self.location.path)?;
            writer.set_merge_policy(Box::new(NoMergePolicy));
            writer.merge(&segments).wait()?;
            writer.wait_merging_threads()?;
        }
        Ok(self.location)
    }
}


/// Segments an open split may hold before its smallest are merged.
const MAX_OPEN_SEGMENTS: usize = 64;

/// The merge policy of an open split: none while it holds fewer than
/// [`MAX_OPEN_SEGMENTS`] segments (one per commit), so no merge competes
/// with indexing for the CPU; past that, its smallest half is merged into
/// one (on the writer's merge thread, not the consumer's), so a split
/// open for an hour of one-second commits keeps a bounded number of
/// segments for searches, each document rewritten about log₃₂(commits)
/// times. Sealing merges what is left into one segment.
#[derive(Debug)]
pub(crate) struct OpenSplitMerges;

impl MergePolicy for OpenSplitMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        if segments.len() < MAX_OPEN_SEGMENTS {
            return Vec::new();
        }
        let mut by_size: Vec<&SegmentMeta> = segments.iter().collect();
        by_size.sort_by_key(|s| s.num_docs());
        let smallest = by_size[..MAX_OPEN_SEGMENTS / 2].iter().map(|s| s.id()).collect();
        vec![MergeCandidate(smallest)]
    }
}

/// A split's writer: one indexing thread with `memory` bytes of arena (a
/// segment is flushed to disk, uncommitted, when it fills), one merge
/// thread, [`OpenSplitMerges`]. The writer lock may still be held for a
/// moment by a consumer that is releasing the partition in a rebalance:
/// retry briefly.
fn open_writer(index: &Index, memory: usize, path: &Path) -> Result<IndexWriter<EventDocument>, IndexerError> {
    let options = IndexWriterOptions::builder()
        .memory_budget_per_thread(memory)
        .num_worker_threads(1)
        .num_merge_threads(1)
        .build();
    let started = Instant::now();
    loop {
        match index.writer_with_options(options.clone()) {
            Ok(writer) => {
                writer.set_merge_policy(Box::new(OpenSplitMerges));
                return Ok(writer);
            }
            Err(tantivy::TantivyError::LockFailure(..))
                if started.elapsed() < Duration::from_secs(30) =>
            {
                tracing::debug!(path = %path.display(), "split writer lock busy; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::index::SegmentId;

    #[test]
    fn an_open_split_merges_only_its_smallest_half_and_only_past_the_bound() {
        let index = Index::create_in_ram(LogSchema::new().schema);
        let metas: Vec<SegmentMeta> = (0..MAX_OPEN_SEGMENTS as u32)
            .map(|i| index.new_segment_meta(SegmentId::generate_random(), 1000 - i))
            .collect();
        let policy = OpenSplitMerges;
        assert!(policy.compute_merge_candidates(&metas[..MAX_OPEN_SEGMENTS - 1]).is_empty());
        let candidates = policy.compute_merge_candidates(&metas);
        assert_eq!(candidates.len(), 1);
        let mut merged: Vec<SegmentId> = candidates[0].0.clone();
        merged.sort();
        let mut smallest: Vec<SegmentId> =
            metas[MAX_OPEN_SEGMENTS / 2..].iter().map(SegmentMeta::id).collect();
        smallest.sort();
        assert_eq!(merged, smallest, "the 32 segments with the fewest documents");
    }
}
