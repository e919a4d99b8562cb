//! An active split: a tantivy index being written, whose commit payload
//! records how far into its Kafka partition it is complete.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tantivy::index::{SegmentId, SegmentMeta};
use tantivy::indexer::{IndexWriterOptions, MergeCandidate, MergePolicy, NoMergePolicy, UserOperation};
use tantivy::{Index, IndexWriter, ReloadPolicy};

use crate::IndexerError;
use logwarden_store::EventDocument;
use logwarden_store::directory::SplitDirectory;
use logwarden_store::schema::LogSchema;
use logwarden_store::storage::{SplitId, SplitLocation, SplitPayload, read_payload};

pub struct ActiveSplit {
    pub location: SplitLocation,
    pub id: SplitId,
    index: Index,
    /// The index's directory, to write its managed-file list once sealed.
    directory: SplitDirectory,
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
        let directory =
            SplitDirectory::open(&location.path).map_err(|e| IndexerError::Tantivy(e.into()))?;
        let index = schema.open_or_create_index(directory.clone())?;
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
            directory,
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
    /// segments are merged into as few as [`MAX_MERGED_DOCS`] allows (one
    /// up to that size; [`seal_merges`]), and the writer is released.
    /// Returns the split's directory, ready for its manifest.
    pub fn finish(self) -> Result<SplitLocation, IndexerError> {
        self.finish_capped(MAX_MERGED_DOCS)
    }

    fn finish_capped(mut self, cap: u32) -> Result<SplitLocation, IndexerError> {
        if !self.sealed || self.pending_docs > 0 {
            let next = self.committed_next;
            self.commit_with(next, true)?;
        }
        // Let background merges end first, so the segment list is final;
        // then merge what is left with a writer that merges nothing on
        // its own.
        self.writer.wait_merging_threads()?;
        let groups = seal_merges(&self.index.searchable_segment_metas()?, cap);
        if !groups.is_empty() {
            // One seal merges at a time in the process, whatever the
            // partition: what a merge holds grows with its documents.
            let _one_at_a_time = SEAL_MERGE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut writer = open_writer(&self.index, self.writer_memory, &self.location.path)?;
            writer.set_merge_policy(Box::new(NoMergePolicy));
            for group in groups {
                writer.merge(&group).wait()?;
            }
            writer.wait_merging_threads()?;
        }
        // The list names the files left, before they are hashed into the
        // manifest.
        self.directory.flush().map_err(|e| IndexerError::io(&self.location.path, e))?;
        Ok(self.location)
    }
}

/// Segments of one tier merged into one, and the ratio of sizes between
/// one tier and the next.
const MERGE_FACTOR: usize = 32;
/// The most documents a merge writes, open split or seal. What a merge
/// holds grows with its documents, outside the writer's budget: its own
/// memory (doc id and term ordinal maps: 20–31 bytes per document for
/// this schema, measured merging the bench's splits of 0.7–3.2 M
/// documents into one) and the pages of the segments it reads, which
/// tantivy maps (~120 bytes per document, counted in the process's RSS
/// until the merge ends). Unbounded, sealing a split of
/// `indexer.split_max_events` (20 M) into one segment would have held
/// ~500 MiB of its own and ~2.4 GiB of mapped pages. At this cap a merge
/// holds ~50 and ~250 MiB, and a full split seals into about ten
/// segments.
pub(crate) const MAX_MERGED_DOCS: u32 = 2_000_000;

/// Serializes seal merges across a process's partitions (see
/// [`ActiveSplit::finish`]).
static SEAL_MERGE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The smallest-first run of `sorted` (ascending by documents) that a
/// merge of at most `cap` documents takes, at most `most` segments;
/// `None` when fewer than two fit.
fn capped<'a>(sorted: &[&'a SegmentMeta], most: usize, cap: u32) -> Option<Vec<&'a SegmentMeta>> {
    let mut total = 0u64;
    let chosen: Vec<&SegmentMeta> = sorted
        .iter()
        .take(most)
        .take_while(|s| {
            total += u64::from(s.num_docs());
            total <= u64::from(cap)
        })
        .copied()
        .collect();
    (chosen.len() >= 2).then_some(chosen)
}

/// What sealing merges: the segments, smallest first, in runs of at most
/// `cap` documents ([`MAX_MERGED_DOCS`]); once the two smallest left do
/// not fit together, no two larger do either, and the rest stay as they
/// are. Below the cap that is every segment into one.
fn seal_merges(segments: &[SegmentMeta], cap: u32) -> Vec<Vec<SegmentId>> {
    let mut by_size: Vec<&SegmentMeta> = segments.iter().collect();
    by_size.sort_by_key(|s| s.num_docs());
    let mut groups = Vec::new();
    let mut rest = &by_size[..];
    while let Some(run) = capped(rest, rest.len(), cap) {
        rest = &rest[run.len()..];
        groups.push(run.iter().map(|s| s.id()).collect());
    }
    groups
}
/// Segments an open split may hold whatever their tiers; past it its
/// smallest are merged even across tiers.
const MAX_OPEN_SEGMENTS: usize = 128;

/// A segment's tier: ⌊log₃₂ documents⌋ (1–31 documents: 0, 32–1,023: 1, …).
fn tier(segment: &SegmentMeta) -> u32 {
    segment.num_docs().max(1).ilog(MERGE_FACTOR as u32)
}

/// The merge policy of an open split, tiered: once a tier holds
/// [`MERGE_FACTOR`] segments, its smallest [`MERGE_FACTOR`] are merged
/// into one (on the writer's merge thread, not the consumer's). A merge of
/// one tier's segments lands in a higher tier, so a document is merged at
/// most once per tier above its commit's, fewer than log₃₂ of the split's
/// documents: 3 times for an hour of 25-document commits four times a
/// second (360,000 documents), at most 4 up to 33 million. Up to
/// `MERGE_FACTOR - 1` segments wait in each tier, [`MAX_OPEN_SEGMENTS`]
/// in all. No merge writes more than [`MAX_MERGED_DOCS`]: a tier's
/// merge takes fewer of its smallest segments when the 32 would be more,
/// and a segment too large to merge with the next stays as it is.
/// Sealing merges what is left ([`seal_merges`]).
///
/// (The policy before merged the 32 smallest of any 64: once merged
/// segments were among the smallest, each merge rewrote them again; over
/// an hour of such commits a document was written 8.5 times.)
#[derive(Debug)]
pub struct OpenSplitMerges;

impl MergePolicy for OpenSplitMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let mut by_size: Vec<&SegmentMeta> = segments.iter().collect();
        by_size.sort_by_key(|s| s.num_docs());
        let merge = |chosen: Vec<&SegmentMeta>| vec![MergeCandidate(chosen.iter().map(|s| s.id()).collect())];
        // Sorted by size, a tier's segments are next to each other.
        let mut start = 0;
        while start < by_size.len() {
            let this = tier(by_size[start]);
            let len = by_size[start..].iter().take_while(|s| tier(s) == this).count();
            if len >= MERGE_FACTOR {
                if let Some(chosen) = capped(&by_size[start..], MERGE_FACTOR, MAX_MERGED_DOCS) {
                    return merge(chosen);
                }
            }
            start += len;
        }
        if by_size.len() >= MAX_OPEN_SEGMENTS {
            if let Some(chosen) = capped(&by_size, MERGE_FACTOR, MAX_MERGED_DOCS) {
                return merge(chosen);
            }
        }
        Vec::new()
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

    use std::collections::HashMap;

    fn segments(index: &Index, sizes: &[u32]) -> Vec<SegmentMeta> {
        sizes.iter().map(|&docs| index.new_segment_meta(SegmentId::generate_random(), docs)).collect()
    }

    fn chosen(policy: &OpenSplitMerges, metas: &[SegmentMeta]) -> Vec<u32> {
        let candidates = policy.compute_merge_candidates(metas);
        assert!(candidates.len() <= 1, "one merge at a time");
        let by_id: HashMap<SegmentId, u32> = metas.iter().map(|m| (m.id(), m.num_docs())).collect();
        let mut sizes: Vec<u32> = candidates.iter().flat_map(|c| c.0.iter().map(|id| by_id[id])).collect();
        sizes.sort();
        sizes
    }

    #[test]
    fn a_tier_is_merged_once_it_holds_the_merge_factor_and_only_its_smallest() {
        let index = Index::create_in_ram(LogSchema::new().schema);
        let policy = OpenSplitMerges;
        // 31 segments of tier 0 (1–31 documents) and 31 of tier 1: nothing.
        let mut sizes: Vec<u32> = (1..=31).chain(1000 - 30..=1000).collect();
        assert!(chosen(&policy, &segments(&index, &sizes)).is_empty());
        // A 32nd in tier 1: its 32 smallest, tier 0 left alone.
        sizes.extend([33, 2000]);
        assert_eq!(chosen(&policy, &segments(&index, &sizes)), [&[33][..], &(1000 - 30..=1000).collect::<Vec<_>>()].concat());
        // A 32nd in tier 0 too: the lower tier first.
        sizes.push(7);
        let mut tier0: Vec<u32> = (1..=31).chain([7]).collect();
        tier0.sort();
        assert_eq!(chosen(&policy, &segments(&index, &sizes)), tier0);
        // Five tiers of 31 hold more than the cap: the 32 smallest of all.
        let five: Vec<u32> = (0..5).flat_map(|t| (0..31).map(move |i| 32u32.pow(t) + i)).collect();
        let mut smallest = five.clone();
        smallest.sort();
        smallest.truncate(MERGE_FACTOR);
        assert_eq!(chosen(&policy, &segments(&index, &five)), smallest);
    }

    /// Commits of `sizes` one after the other into a simulated split whose
    /// merges end at once: (the most merges any document went through,
    /// documents written per document committed, the most segments held).
    /// Asserts that no merge writes more than [`MAX_MERGED_DOCS`].
    fn simulate(sizes: impl Iterator<Item = u32>) -> (u32, f64, usize) {
        let index = Index::create_in_ram(LogSchema::new().schema);
        let policy = OpenSplitMerges;
        // Each segment with the most merges any of its documents went through.
        let mut held: Vec<(SegmentMeta, u32)> = Vec::new();
        let (mut committed, mut written, mut most_held) = (0u64, 0u64, 0);
        for docs in sizes {
            held.push((index.new_segment_meta(SegmentId::generate_random(), docs), 0));
            committed += u64::from(docs);
            written += u64::from(docs);
            loop {
                let metas: Vec<SegmentMeta> = held.iter().map(|(m, _)| m.clone()).collect();
                let Some(candidate) = policy.compute_merge_candidates(&metas).pop() else { break };
                let (merged, kept): (Vec<_>, Vec<_>) = held.into_iter().partition(|(m, _)| candidate.0.contains(&m.id()));
                let docs: u32 = merged.iter().map(|(m, _)| m.num_docs()).sum();
                assert!(docs <= MAX_MERGED_DOCS, "a merge of {docs} documents");
                let depth = merged.iter().map(|(_, d)| d + 1).max().unwrap();
                written += u64::from(docs);
                held = kept;
                held.push((index.new_segment_meta(SegmentId::generate_random(), docs), depth));
            }
            most_held = most_held.max(held.len());
        }
        let deepest = held.iter().map(|(_, d)| *d).max().unwrap_or(0);
        (deepest, written as f64 / committed as f64, most_held)
    }

    #[test]
    fn an_hour_of_small_commits_merges_each_document_at_most_once_per_tier() {
        // An hour of commits four times a second, 25 documents each
        // (360,000 documents: tiers 0 to 3): merged at most 3 times.
        let (deepest, per_document, most) = simulate(std::iter::repeat_n(25, 4 * 3600));
        assert!(deepest <= 3, "{deepest} merges");
        assert!(per_document <= 4.0, "{per_document} writes per document");
        assert!(most < MAX_OPEN_SEGMENTS, "{most} segments");
        // Commits of any size from 1 to 5,000 documents: at most once per
        // tier between a commit's and the split's.
        let mut x = 0x9e3779b97f4a7c15u64;
        let random = std::iter::from_fn(move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Some((x % 5_000) as u32 + 1)
        });
        let sizes: Vec<u32> = random.take(10_000).collect();
        let total: u64 = sizes.iter().map(|&s| u64::from(s)).sum();
        let tiers = (total as u32).ilog(MERGE_FACTOR as u32);
        let (deepest, per_document, most) = simulate(sizes.into_iter());
        assert!(deepest <= tiers, "{deepest} merges, {tiers} tiers");
        assert!(per_document <= f64::from(tiers) + 1.0, "{per_document} writes per document");
        assert!(most <= MAX_OPEN_SEGMENTS, "{most} segments");
    }

    #[test]
    fn no_merge_writes_more_than_the_cap() {
        let index = Index::create_in_ram(LogSchema::new().schema);
        let policy = OpenSplitMerges;
        let cap = MAX_MERGED_DOCS;
        // 40 segments of one tier (tier 3: 32,768–1,048,575 documents):
        // the smallest that fit, not 32.
        assert_eq!(chosen(&policy, &segments(&index, &[cap / 8; 40])), vec![cap / 8; 8]);
        assert_eq!(chosen(&policy, &segments(&index, &[cap / 2; 40])), vec![cap / 2; 2]);
        // 32 too large to pair under the cap: nothing, whatever the tier
        // below holds.
        let mut large: Vec<u32> = vec![cap / 2 + 1; 32];
        large.extend(1..=31);
        assert!(chosen(&policy, &segments(&index, &large)).is_empty());
        // Past the segment cap (100 of tier 4 that cannot pair, 28 of
        // tier 3): the smallest that fit.
        let mut crowded: Vec<u32> = vec![1_100_000.max(cap / 2 + 1); 100];
        crowded.extend([cap / 4; 28]);
        assert_eq!(chosen(&policy, &segments(&index, &crowded)), vec![cap / 4; 4]);
        // A split of 20 M documents committed 200,000 at a time.
        let (_, per_document, most) = simulate(std::iter::repeat_n(200_000, 100));
        assert!(per_document <= 3.0, "{per_document} writes per document");
        assert!(most < MAX_OPEN_SEGMENTS, "{most} segments");
    }

    #[test]
    fn a_seal_merges_everything_into_one_below_the_cap_and_into_runs_under_it_above() {
        let index = Index::create_in_ram(LogSchema::new().schema);
        let docs = |metas: &[SegmentMeta], groups: &[Vec<SegmentId>]| -> Vec<Vec<u32>> {
            let by_id: HashMap<SegmentId, u32> = metas.iter().map(|m| (m.id(), m.num_docs())).collect();
            groups.iter().map(|g| g.iter().map(|id| by_id[id]).collect()).collect()
        };
        let small = segments(&index, &[30, 1_000, 31, 900_000, 1_000_000]);
        assert_eq!(docs(&small, &seal_merges(&small, MAX_MERGED_DOCS)), vec![vec![30, 31, 1_000, 900_000, 1_000_000]]);
        // One segment, or none: nothing to merge.
        assert!(seal_merges(&segments(&index, &[5]), MAX_MERGED_DOCS).is_empty());
        assert!(seal_merges(&[], MAX_MERGED_DOCS).is_empty());
        // 20 M documents: runs of at most the cap; what cannot pair stays.
        let cap = MAX_MERGED_DOCS;
        let full = segments(&index, &[cap / 4, cap / 4, cap / 4, cap / 4, cap / 4, cap - 1, cap, cap + 5, 100]);
        let groups = docs(&full, &seal_merges(&full, cap));
        assert_eq!(groups, vec![vec![100, cap / 4, cap / 4, cap / 4], vec![cap / 4, cap / 4]]);
        assert!(groups.iter().all(|g| g.iter().map(|&d| u64::from(d)).sum::<u64>() <= u64::from(cap)));
    }

    /// A split of `commits` commits of `per_commit` events each, in `dir`.
    fn split_of(dir: &std::path::Path, commits: u32, per_commit: u32) -> ActiveSplit {
        let schema = LogSchema::new();
        let location = SplitLocation {
            stream: "auth".into(),
            partition: 0,
            id: SplitId::new(logwarden_store::storage::SplitKind::Late, 0).to_string(),
            path: dir.join("split"),
        };
        let mut split = ActiveSplit::open_or_create(location, &schema, 0, 15_000_000).unwrap();
        let mut offset = 0;
        for _ in 0..commits {
            for _ in 0..per_commit {
                let payload = format!(r#"{{"@timestamp":"2026-12-06T03:00:00Z","message":"line {offset}","stream":"auth"}}"#);
                let mapped = schema.document(payload.as_bytes(), offset).unwrap();
                split.add(mapped.document, payload.len()).unwrap();
                offset += 1;
            }
            split.commit(offset as i64).unwrap();
        }
        split
    }

    fn segment_sizes(path: &std::path::Path) -> (Vec<u32>, u64) {
        let index = Index::open(SplitDirectory::open(path).unwrap()).unwrap();
        let mut sizes: Vec<u32> = index.searchable_segment_metas().unwrap().iter().map(|m| m.num_docs()).collect();
        sizes.sort();
        let searcher = index.reader().unwrap().searcher();
        (sizes, searcher.num_docs())
    }

    #[test]
    fn a_split_past_the_cap_seals_into_runs_under_it_with_every_event() {
        // 7 commits of 10 events, sealed with a cap of 25: runs of 2 (20
        // events) and one left alone.
        let dir = tempfile::tempdir().unwrap();
        let split = split_of(dir.path(), 7, 10);
        let location = split.finish_capped(25).unwrap();
        let (sizes, docs) = segment_sizes(&location.path);
        assert_eq!(docs, 70);
        assert_eq!(sizes, vec![10, 20, 20, 20]);
        // Under the cap: one segment.
        let dir = tempfile::tempdir().unwrap();
        let location = split_of(dir.path(), 7, 10).finish().unwrap();
        assert_eq!(segment_sizes(&location.path), (vec![70], 70));
    }
}
