//! One Kafka partition's indexing state: per stream, its active splits (one
//! per open window, plus a late split), what has been sealed, and the head
//! of its manifest chain.
//!
//! Exactly once: every split's payload says up to which partition offset it
//! is complete. After a crash those may differ (the crash fell between two
//! split commits): consumption resumes at the smallest, and an event is
//! skipped by the split it belongs to when that split already holds it.
//! Which split an event belongs to depends only on the message and on what
//! is on disk (see `window`), so a re-read event finds the same split.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use logwarden_store::keys::ManifestSigner;
use logwarden_store::manifest::Manifest;
use logwarden_store::schema::LogSchema;
use crate::sealer::{ChainHead, Sealer};
use crate::split::ActiveSplit;
use logwarden_store::storage::{self, SplitId};
use crate::stream::StreamSplits;
use crate::window::Windowing;
use crate::{CommitReason, IndexerError, metrics};

/// What every partition of a process shares.
pub struct SplitSettings {
    pub data_dir: PathBuf,
    pub schema: LogSchema,
    pub writer_memory: usize,
    pub windowing: Windowing,
    pub max_events: u64,
    pub signer: ManifestSigner,
}

/// What became of a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Indexed,
    /// Already held by the split it belongs to (a re-read after a crash).
    Skipped,
    /// Cannot be indexed; the caller sends it to the dead-letter topic and
    /// then calls [`PartitionIndexer::consumed`].
    Rejected(String),
}

pub struct PartitionIndexer {
    pub partition: i32,
    settings: Arc<SplitSettings>,
    /// Looked up twice per event: foldhash (seeded per process, as
    /// hashbrown's own default) rather than SipHash, which was 0.3 % of
    /// the indexer's CPU.
    streams: HashMap<String, StreamSplits, foldhash::fast::RandomState>,
    /// Offset of the next message to read.
    pub next_offset: Option<i64>,
    pub last_commit: Instant,
    /// When idle splits' payloads were last moved to `next_offset`.
    last_idle_advance: Instant,
    /// The consumer reached the end of the partition after the last
    /// message indexed (set by the worker, cleared by the next message).
    pub caught_up: bool,
    /// The worker's fetch queue ran empty after the last message indexed:
    /// every message librdkafka had fetched is indexed (set by the
    /// worker, cleared by the next message). At a steady trickle this is
    /// the partition's end, which `caught_up` seldom sees: librdkafka
    /// says `PartitionEOF` only for a fetch that found nothing new, and a
    /// fetch waiting 100 ms finds the next transaction first. Not used
    /// for the lag: a fetch may be under way.
    pub drained: bool,
    /// Seals splits off the consumer thread; dropping the indexer waits
    /// for it.
    sealer: Sealer,
}

/// How long an idle split's payload may lag behind its partition (a
/// restart re-reads at most that much, skipping what splits hold).
const IDLE_ADVANCE: std::time::Duration = std::time::Duration::from_secs(10);
/// Uncommitted documents a split may hold before it commits (`DocLimit`).
pub const MAX_PENDING_DOCS: u64 = 500_000;

impl PartitionIndexer {
    /// Opens the partition's splits and manifests, finishes any seal a crash
    /// interrupted, and works out where to resume.
    pub fn open(
        settings: Arc<SplitSettings>,
        partition: i32,
    ) -> Result<PartitionIndexer, IndexerError> {
        let data_dir = &settings.data_dir;
        let locations = storage::list_split_dirs(data_dir, Some(partition))
            .map_err(|e| IndexerError::io(data_dir, e))?;
        let mut streams: HashMap<String, StreamSplits, _> = HashMap::default();
        let mut chains: HashMap<String, ChainHead> = HashMap::new();
        let mut unfinished = Vec::new();
        for location in locations {
            let stream = streams
                .entry(location.stream.clone())
                .or_insert_with(|| StreamSplits::new(&location.stream));
            match Manifest::read(&location.path) {
                Ok(Some(manifest)) => {
                    stream.record_manifest(&manifest);
                    chains.entry(location.stream.clone()).or_default().record(&manifest);
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    metrics::error("manifest");
                    tracing::error!(error = %e, "unreadable manifest; `logwarden verify` will report it");
                    continue;
                }
            }
            if !storage::has_index(&location.path) {
                continue;
            }
            let first = SplitId::parse(&location.id)
                .and_then(|id| id.first_offset)
                .unwrap_or(0);
            let split = ActiveSplit::open_or_create(
                location,
                &settings.schema,
                first,
                settings.writer_memory,
            )?;
            if split.sealed {
                unfinished.push(split);
            } else if let Some(older) = stream.active.insert(split.id.kind, split) {
                unfinished.push(older);
            }
        }
        let sealer = Sealer::start(settings.clone(), partition, chains)?;
        let mut indexer = PartitionIndexer {
            partition,
            settings,
            streams,
            next_offset: None,
            last_commit: Instant::now(),
            last_idle_advance: Instant::now(),
            caught_up: false,
            drained: false,
            sealer,
        };
        for split in unfinished {
            tracing::warn!(split = %split.location.id, "finishing a seal interrupted by a crash");
            let stream = indexer
                .streams
                .get_mut(&split.location.stream)
                .expect("stream loaded above");
            stream.hand_over(split, None, &indexer.settings, &indexer.sealer)?;
        }
        // Resume where the least advanced active split is; with none, after
        // everything sealed.
        let active_min = indexer.active().map(|s| s.committed_next).min();
        let sealed_max = indexer
            .streams
            .values()
            .filter_map(StreamSplits::sealed_next)
            .max();
        indexer.next_offset = active_min.or(sealed_max);
        Ok(indexer)
    }

    /// Indexes the message at `offset`, produced at `produced` (its Kafka
    /// timestamp).
    pub fn index(
        &mut self,
        offset: i64,
        produced: Option<DateTime<Utc>>,
        payload: &[u8],
    ) -> Result<Outcome, IndexerError> {
        let mapped = match self.settings.schema.document(payload, offset as u64) {
            Ok(mapped) => mapped,
            Err(reason) => return Ok(Outcome::Rejected(reason)),
        };
        let (timestamp, stream_name) = (mapped.timestamp, mapped.stream());
        if !self.streams.contains_key(stream_name) {
            self.streams
                .insert(stream_name.to_string(), StreamSplits::new(stream_name));
        }
        let stream = self.streams.get_mut(stream_name).expect("inserted above");
        let placement = self
            .settings
            .windowing
            .place(timestamp, produced.unwrap_or(timestamp));
        self.next_offset = Some(offset + 1);
        self.caught_up = false;
        self.drained = false;
        let Some(split) = stream.split_for(placement, offset, &self.settings, self.partition)?
        else {
            metrics::replay_skipped(stream_name);
            return Ok(Outcome::Skipped);
        };
        split.add(mapped.document, payload.len())?;
        stream.unreported += 1;
        Ok(Outcome::Indexed)
    }

    /// Marks a rejected message as handled (sent to the dead-letter topic).
    pub fn consumed(&mut self, offset: i64) {
        self.next_offset = Some(offset + 1);
    }

    /// Commits the splits holding new documents with the partition's next
    /// offset; splits without any keep their payload until
    /// [`IDLE_ADVANCE`] passed (or a rebalance or shutdown), so an idle
    /// split costs no commit per interval.
    pub fn commit(&mut self, reason: CommitReason) -> Result<(), IndexerError> {
        self.commit_where(reason, |_| true)
    }

    /// Commits only the split holding the most uncommitted documents.
    fn commit_largest(&mut self, reason: CommitReason) -> Result<(), IndexerError> {
        let largest = self.active().map(|s| s.pending_bytes).max().unwrap_or(0);
        self.commit_where(reason, |s| s.pending_bytes == largest && largest > 0)
    }

    fn commit_where(
        &mut self,
        reason: CommitReason,
        wanted: impl Fn(&ActiveSplit) -> bool,
    ) -> Result<(), IndexerError> {
        let Some(next) = self.next_offset else {
            return Ok(());
        };
        let started = Instant::now();
        let advance_idle = reason.advances_idle_splits()
            || self.last_idle_advance.elapsed() >= IDLE_ADVANCE;
        let due: Vec<&mut ActiveSplit> = self
            .streams
            .values_mut()
            .flat_map(|s| s.active.values_mut())
            .filter(|split| {
                // A split ahead of the partition (replay after a crash) keeps
                // its payload: lowering it would let it take its events again.
                let ahead = split.committed_next >= next && split.pending_docs == 0;
                !ahead && wanted(split) && (split.pending_docs > 0 || advance_idle)
            })
            .collect();
        let docs: u64 = due.iter().map(|s| s.pending_docs).sum();
        let splits = due.len() as u64;
        commit_all(due, next)?;
        for stream in self.streams.values_mut() {
            if stream.unreported > 0 {
                metrics::indexed(&stream.name, stream.unreported);
                stream.unreported = 0;
            }
        }
        if advance_idle && !matches!(reason, CommitReason::DocLimit | CommitReason::MemoryLimit) {
            self.last_idle_advance = Instant::now();
        }
        if !matches!(reason, CommitReason::DocLimit | CommitReason::MemoryLimit) {
            self.last_commit = Instant::now();
        }
        if splits > 0 {
            let took = started.elapsed();
            metrics::commit(reason, splits, took);
            tracing::debug!(
                partition = self.partition,
                next,
                docs,
                splits,
                ?reason,
                took_ms = took.as_millis() as u64,
                "committed splits"
            );
        }
        Ok(())
    }

    /// Uncommitted payload bytes in this partition's splits.
    pub fn pending_bytes(&self) -> u64 {
        self.active().map(|s| s.pending_bytes).sum()
    }

    /// Commits a split that reached [`MAX_PENDING_DOCS`] (`DocLimit`), or
    /// the largest split when `over_memory` (`MemoryLimit`).
    pub fn commit_if_full(&mut self, over_memory: bool) -> Result<(), IndexerError> {
        if self.active().any(|s| s.pending_docs >= MAX_PENDING_DOCS) {
            self.commit_where(CommitReason::DocLimit, |s| s.pending_docs >= MAX_PENDING_DOCS)?;
        }
        if over_memory {
            self.commit_largest(CommitReason::MemoryLimit)?;
        }
        Ok(())
    }

    /// Whether the partition is read to its end (or to the end of what
    /// was fetched) with uncommitted documents, and its last commit is at
    /// least `gap` old (`CommitReason::CaughtUp`).
    pub fn caught_up_due(&self, now: Instant, gap: std::time::Duration) -> bool {
        (self.caught_up || self.drained)
            && now.duration_since(self.last_commit) >= gap
            && self.active().any(|s| s.pending_docs > 0)
    }

    pub fn has_pending(&self) -> bool {
        self.active()
            .any(|s| s.pending_docs > 0 || Some(s.committed_next) < self.next_offset)
    }

    fn active(&self) -> impl Iterator<Item = &ActiveSplit> {
        self.streams.values().flat_map(|s| s.active.values())
    }

    /// Seals what is due at `now`: splits whose window closed, full splits,
    /// the late split once per window, and manifests for empty windows.
    /// Only when no split holds uncommitted documents and none is ahead of
    /// the partition's next offset (not while re-reading after a crash).
    /// The seals themselves run on the partition's sealing thread
    /// ([`Sealer`]); a seal that failed there fails this call.
    pub fn seal_due(&mut self, now: DateTime<Utc>) -> Result<(), IndexerError> {
        self.sealer.failed()?;
        let Some(next) = self.next_offset else {
            return Ok(());
        };
        // Splits ahead of `next` are re-reading after a crash; idle splits
        // behind it are moved up to it when sealed.
        if self
            .active()
            .any(|s| s.pending_docs > 0 || s.committed_next > next)
        {
            return Ok(());
        }
        for stream in self.streams.values_mut() {
            stream.seal_due(now, next, &self.settings, &self.sealer)?;
        }
        Ok(())
    }

    /// Waits until the seals handed over are done (their manifests
    /// written); the first that failed, if any.
    pub fn wait_sealed(&self) -> Result<(), IndexerError> {
        self.sealer.wait()
    }
}

/// Commits each of `splits` with `next` in its payload (never lowering
/// it), in parallel: a commit waits for its split's indexing thread to
/// serialize the new segment, so one split after the other those waits
/// would add up on the consumer thread. Each split's payload still moves
/// only once its own documents are committed.
fn commit_all(splits: Vec<&mut ActiveSplit>, next: i64) -> Result<(), IndexerError> {
    let commit = |split: &mut ActiveSplit| {
        let next = next.max(split.committed_next);
        split.commit(next)
    };
    if splits.len() <= 1 {
        return splits.into_iter().try_for_each(commit);
    }
    std::thread::scope(|scope| {
        let running: Vec<_> = splits
            .into_iter()
            .map(|split| scope.spawn(move || commit(split)))
            .collect();
        // Every commit is waited for before the first error is returned.
        let results: Vec<_> = running
            .into_iter()
            .map(|r| r.join().expect("split commit thread panicked"))
            .collect();
        results.into_iter().collect::<Result<(), _>>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use logwarden_store::facts::{SplitFacts, rfc3339};
    use logwarden_store::storage::{SplitKind, SplitLocation};
    use logwarden_store::keys::{ManifestVerifier, public_key_path};
    use logwarden_store::verify::verify;
    use std::time::Duration;

    const WINDOW: i64 = 60;

    fn settings(dir: &std::path::Path) -> Arc<SplitSettings> {
        Arc::new(SplitSettings {
            data_dir: dir.to_path_buf(),
            schema: LogSchema::new(),
            writer_memory: 15_000_000,
            windowing: Windowing::new(Duration::from_secs(WINDOW as u64), Duration::from_secs(10)),
            max_events: 150,
            signer: ManifestSigner::load_or_create(&dir.join("keys").join("k.pem")).unwrap(),
        })
    }

    fn verifier(dir: &std::path::Path) -> ManifestVerifier {
        ManifestVerifier::load(&public_key_path(&dir.join("keys").join("k.pem"))).unwrap()
    }

    /// Message `offset` of a test partition: mostly events a second apart
    /// starting an hour ago, every 7th from 2015 (late), every 50th garbage.
    fn message(offset: i64, start: DateTime<Utc>) -> (Option<DateTime<Utc>>, Vec<u8>) {
        let produced = start + chrono::Duration::seconds(offset + 1);
        if offset % 50 == 49 {
            return (Some(produced), format!("not json {offset}").into_bytes());
        }
        let time = if offset % 7 == 3 {
            "2015-12-10T06:55:46Z".to_string()
        } else {
            rfc3339(start + chrono::Duration::seconds(offset))
        };
        let stream = if offset % 2 == 0 { "auth" } else { "system" };
        let event = serde_json::json!({"@timestamp": time, "message": format!("line {offset}"), "stream": stream});
        (Some(produced), event.to_string().into_bytes())
    }

    /// Feeds messages `range` as a consumer would, from where the indexer
    /// says to resume; returns the offsets rejected.
    fn feed(indexer: &mut PartitionIndexer, upto: i64, start: DateTime<Utc>) -> Vec<i64> {
        let mut rejected = Vec::new();
        for offset in indexer.next_offset.unwrap_or(0)..upto {
            let (produced, payload) = message(offset, start);
            if let Outcome::Rejected(_) = indexer.index(offset, produced, &payload).unwrap() {
                rejected.push(offset);
                indexer.consumed(offset);
            }
            if offset % 40 == 0 {
                indexer.commit(CommitReason::Timeout).unwrap();
            }
        }
        rejected
    }

    fn searchable(dir: &std::path::Path) -> u64 {
        let schema = LogSchema::new();
        storage::list_splits(dir)
            .unwrap()
            .iter()
            .map(|l| SplitFacts::compute(&l.path, &schema).unwrap().event_count)
            .sum()
    }

    #[test]
    fn windows_seal_into_a_verifiable_chain_and_crashes_lose_or_repeat_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let start = Utc::now() - chrono::Duration::hours(1);
        let total = 600;
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        feed(&mut indexer, 250, start);
        // Crash: uncommitted work is lost with the process.
        drop(indexer);
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        feed(&mut indexer, 400, start);
        indexer.commit(CommitReason::Timeout).unwrap();
        // Windows up to offset ~300 close; full splits seal for size.
        indexer
            .seal_due(start + chrono::Duration::seconds(300))
            .unwrap();
        drop(indexer);
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        let rejected = feed(&mut indexer, total, start);
        assert!(
            !rejected.is_empty(),
            "re-read garbage is rejected again, the caller dead-letters it"
        );
        indexer.commit(CommitReason::Drained).unwrap();
        indexer
            .seal_due(Utc::now() + chrono::Duration::seconds(3 * WINDOW))
            .unwrap();
        // Seals run on the partition's sealing thread: wait for their manifests.
        indexer.wait_sealed().unwrap();

        let expected = (0..total).filter(|o| o % 50 != 49).count() as u64;
        assert_eq!(searchable(dir.path()), expected);
        let report = verify(dir.path(), &verifier(dir.path()), |_, _| {}).unwrap();
        assert!(report.is_intact(), "{:?}", report.problems);
        let verified: u64 = report.chains.iter().map(|c| c.verified_events).sum();
        assert_eq!(
            verified, expected,
            "every event is in a sealed, verified split"
        );
        assert_eq!(report.chains.len(), 2);
        assert!(
            report
                .chains
                .iter()
                .all(|c| c.active_splits == 0 && c.verified_splits >= 5)
        );

        // A window after the last event passes: it gets an empty manifest.
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        assert_eq!(indexer.next_offset, Some(total));
        indexer
            .seal_due(Utc::now() + chrono::Duration::seconds(6 * WINDOW))
            .unwrap();
        indexer.wait_sealed().unwrap();
        let report = verify(dir.path(), &verifier(dir.path()), |_, _| {}).unwrap();
        assert!(report.is_intact(), "{:?}", report.problems);
        assert!(
            report.chains.iter().all(|c| c.empty_windows >= 1),
            "{:?}",
            report.chains
        );
    }

    #[test]
    fn only_splits_with_new_events_commit_on_time_and_every_split_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let now = Utc::now();
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        let event = |stream: &str| {
            serde_json::json!({"@timestamp": rfc3339(now), "stream": stream}).to_string()
        };
        indexer.index(0, Some(now), event("auth").as_bytes()).unwrap();
        indexer.index(1, Some(now), event("system").as_bytes()).unwrap();
        indexer.commit(CommitReason::Timeout).unwrap();
        let committed = |indexer: &PartitionIndexer, stream: &str| {
            indexer.streams[stream].active.values().map(|s| s.committed_next).max().unwrap()
        };
        assert_eq!((committed(&indexer, "auth"), committed(&indexer, "system")), (2, 2));
        // Only system gets new events: the idle auth split is not committed.
        for offset in 2..5 {
            indexer.index(offset, Some(now), event("system").as_bytes()).unwrap();
        }
        indexer.commit(CommitReason::Timeout).unwrap();
        assert_eq!((committed(&indexer, "auth"), committed(&indexer, "system")), (2, 5));
        // Sealing is not held up by the idle split; a restart resumes at
        // the least advanced split and skips what the others hold.
        indexer.seal_due(now).unwrap();
        drop(indexer);
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        assert_eq!(indexer.next_offset, Some(2));
        for offset in 2..5 {
            assert_eq!(indexer.index(offset, Some(now), event("system").as_bytes()).unwrap(), Outcome::Skipped);
        }
        indexer.commit(CommitReason::Drained).unwrap();
        assert_eq!((committed(&indexer, "auth"), committed(&indexer, "system")), (5, 5));
        assert_eq!(searchable(dir.path()), 5, "each event once");
    }

    #[test]
    fn a_partition_read_to_its_end_commits_once_the_gap_passed() {
        let dir = tempfile::tempdir().unwrap();
        let mut indexer = PartitionIndexer::open(settings(dir.path()), 0).unwrap();
        let now = Utc::now();
        let gap = Duration::from_millis(250);
        let event = serde_json::json!({"@timestamp": rfc3339(now), "stream": "auth"}).to_string();
        indexer.index(0, Some(now), event.as_bytes()).unwrap();
        assert_eq!(searchable(dir.path()), 0);
        let later = indexer.last_commit + gap;
        assert!(!indexer.caught_up_due(later, gap), "not at the end of the partition yet");
        indexer.caught_up = true;
        assert!(!indexer.caught_up_due(indexer.last_commit, gap), "the gap since the last commit");
        assert!(indexer.caught_up_due(later, gap));
        indexer.commit(CommitReason::CaughtUp).unwrap();
        assert_eq!(searchable(dir.path()), 1, "the event is searchable");
        let committed = indexer.streams["auth"].active.values().map(|s| s.committed_next).max();
        assert_eq!(committed, Some(1), "the payload moved past the event");
        assert!(!indexer.caught_up_due(indexer.last_commit + gap, gap), "nothing left to commit");
        indexer.index(1, Some(now), event.as_bytes()).unwrap();
        assert!(!indexer.caught_up, "a new message clears it");
        // The fetch queue run empty counts as the end.
        indexer.drained = true;
        let later = indexer.last_commit + gap;
        assert!(indexer.caught_up_due(later, gap));
        indexer.index(2, Some(now), event.as_bytes()).unwrap();
        assert!(!indexer.drained && !indexer.caught_up_due(later, gap), "a new message clears it");
    }

    #[test]
    fn a_split_over_the_memory_budget_commits_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut indexer = PartitionIndexer::open(settings(dir.path()), 0).unwrap();
        let now = Utc::now();
        for (offset, stream) in ["auth", "auth", "system"].iter().enumerate() {
            let event = serde_json::json!({"@timestamp": rfc3339(now), "stream": stream}).to_string();
            indexer.index(offset as i64, Some(now), event.as_bytes()).unwrap();
        }
        assert!(indexer.pending_bytes() > 0);
        indexer.commit_if_full(true).unwrap();
        let pending = |stream: &str| indexer.streams[stream].active.values().map(|s| s.pending_docs).sum::<u64>();
        assert_eq!((pending("auth"), pending("system")), (0, 1), "the largest split committed");
    }

    #[test]
    fn a_late_event_for_a_sealed_window_goes_to_the_late_split() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let start = Utc::now() - chrono::Duration::hours(1);
        let mut indexer = PartitionIndexer::open(settings, 0).unwrap();
        let event = |t: DateTime<Utc>| {
            serde_json::json!({"@timestamp": rfc3339(t), "stream": "auth"}).to_string()
        };
        indexer
            .index(0, Some(start), event(start).as_bytes())
            .unwrap();
        indexer.commit(CommitReason::Timeout).unwrap();
        indexer
            .seal_due(start + chrono::Duration::seconds(2 * WINDOW))
            .unwrap();
        // Produced within the window's grace, but read after it was sealed.
        indexer
            .index(
                1,
                Some(start + chrono::Duration::seconds(WINDOW)),
                event(start).as_bytes(),
            )
            .unwrap();
        let kinds: Vec<_> = indexer.streams["auth"].active.keys().copied().collect();
        assert_eq!(kinds, vec![SplitKind::Late]);
        assert_eq!(
            indexer.index(2, None, b"[1,2]").unwrap(),
            Outcome::Rejected("payload is JSON but not an object".into())
        );
        assert!(
            matches!(indexer.index(3, None, br#"{"@timestamp":"yesterday"}"#).unwrap(), Outcome::Rejected(r) if r.contains("yesterday"))
        );
        // Past what tantivy's nanosecond dates hold: refused, not wrapped around.
        assert!(
            matches!(indexer.index(4, None, br#"{"@timestamp":"2263-01-01T00:00:00Z"}"#).unwrap(), Outcome::Rejected(r) if r.contains("outside the times"))
        );
    }

    /// A data dir whose every split is sealed: two streams, several windows.
    fn sealed_data_dir() -> (tempfile::TempDir, Arc<SplitSettings>) {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let start = Utc::now() - chrono::Duration::hours(1);
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        feed(&mut indexer, 400, start);
        indexer.commit(CommitReason::Drained).unwrap();
        indexer
            .seal_due(Utc::now() + chrono::Duration::seconds(3 * WINDOW))
            .unwrap();
        drop(indexer);
        (dir, settings)
    }

    fn problems(dir: &std::path::Path) -> Vec<String> {
        let report = verify(dir, &verifier(dir), |_, _| {}).unwrap();
        report
            .problems
            .iter()
            .map(|p| format!("{}/{}: {}", p.stream, p.split, p.what))
            .collect()
    }

    fn sealed_splits(dir: &std::path::Path, stream: &str) -> Vec<SplitLocation> {
        storage::list_splits(dir)
            .unwrap()
            .into_iter()
            .filter(|l| l.stream == stream)
            .collect()
    }

    #[test]
    fn verify_names_every_kind_of_tampering() {
        let (dir, _) = sealed_data_dir();
        assert_eq!(problems(dir.path()), Vec::<String>::new());
        let auth = sealed_splits(dir.path(), "auth");
        assert!(auth.len() >= 4);

        // A changed byte in a split's largest file.
        let victim = &auth[1];
        let file = std::fs::read_dir(&victim.path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "store"))
            .max_by_key(|p| std::fs::metadata(p).unwrap().len())
            .unwrap();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[0] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        let found = problems(dir.path());
        assert!(
            found
                .iter()
                .any(|p| p.contains(&victim.id) && p.contains("was modified")),
            "{found:?}"
        );

        // A whole split deleted, manifest and all.
        std::fs::remove_dir_all(&auth[2].path).unwrap();
        let found = problems(dir.path());
        assert!(
            found.iter().any(|p| p.contains("missing before this one")),
            "{found:?}"
        );

        // A manifest edited to hide an event.
        let manifest_path = storage::manifest_path(&auth[3].path);
        let text = std::fs::read_to_string(&manifest_path).unwrap();
        let edited = text.replacen("\"event_count\": ", "\"event_count\": 1", 1);
        assert_ne!(text, edited);
        std::fs::write(&manifest_path, edited).unwrap();
        let found = problems(dir.path());
        assert!(
            found
                .iter()
                .any(|p| p.contains(&auth[3].id) && p.contains("signature is invalid")),
            "{found:?}"
        );

        // A manifest deleted, its split left in place.
        let system = sealed_splits(dir.path(), "system");
        std::fs::remove_file(storage::manifest_path(&system[0].path)).unwrap();
        let found = problems(dir.path());
        assert!(
            found
                .iter()
                .any(|p| p.contains(&system[0].id) && p.contains("without a manifest")),
            "{found:?}"
        );
    }

    #[test]
    fn retention_deletes_expired_data_keeps_manifests_and_respects_legal_hold() {
        let (dir, settings) = sealed_data_dir();
        let config = logwarden_config::RawConfig::from_toml(
            "[streams.auth]\nretention = \"1d\"\n[streams.system]\nretention = \"1d\"\nlegal_hold = true\n",
        )
        .unwrap()
        .validate()
        .unwrap();
        let auth_before = sealed_splits(dir.path(), "auth").len();
        let system_before = sealed_splits(dir.path(), "system").len();

        // Today only the late splits (events from 2015) are past retention.
        let report =
            crate::retention::apply(dir.path(), &config, &settings.signer, Utc::now(), false)
                .unwrap();
        assert!(
            !report.deleted.is_empty()
                && report
                    .deleted
                    .iter()
                    .all(|s| s.starts_with("auth/") && s.contains("/late-")),
            "{report:?}"
        );
        assert!(
            !report.held.is_empty()
                && report
                    .held
                    .iter()
                    .all(|s| s.starts_with("system/") && s.contains("/late-")),
            "{report:?}"
        );
        let late_deleted = report.deleted.len();

        // Three days later the windows have expired too. A dry run deletes nothing.
        let later = Utc::now() + chrono::Duration::days(3);
        let dry =
            crate::retention::apply(dir.path(), &config, &settings.signer, later, true).unwrap();
        assert_eq!(dry.deleted.len(), auth_before - late_deleted);
        assert_eq!(
            sealed_splits(dir.path(), "auth").len(),
            auth_before - late_deleted
        );
        let report =
            crate::retention::apply(dir.path(), &config, &settings.signer, later, false).unwrap();
        assert_eq!(report.deleted.len(), auth_before - late_deleted);
        assert_eq!(
            report.held.len(),
            system_before,
            "legal hold keeps every system split"
        );
        assert!(sealed_splits(dir.path(), "auth").is_empty());
        assert_eq!(sealed_splits(dir.path(), "system").len(), system_before);

        let report = verify(dir.path(), &verifier(dir.path()), |_, _| {}).unwrap();
        assert!(report.is_intact(), "{:?}", report.problems);
        let auth = report.chains.iter().find(|c| c.stream == "auth").unwrap();
        assert_eq!(
            auth.deleted_splits as usize, auth_before,
            "manifests stay as evidence"
        );

        // Data removed without retention's signed record is caught.
        let deleted = storage::list_split_dirs(dir.path(), None)
            .unwrap()
            .into_iter()
            .find(|l| l.stream == "auth" && storage::deletion_path(&l.path).exists())
            .unwrap();
        std::fs::remove_file(storage::deletion_path(&deleted.path)).unwrap();
        let found = problems(dir.path());
        assert!(
            found
                .iter()
                .any(|p| p.contains(&deleted.id) && p.contains("without a signed deletion record")),
            "{found:?}"
        );
    }

    #[test]
    fn a_failed_seal_stops_the_partition_and_the_next_open_seals_the_split_again() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let start = Utc::now() - chrono::Duration::hours(1);
        let total = 120;
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        feed(&mut indexer, total, start);
        indexer.commit(CommitReason::Drained).unwrap();
        indexer.wait_sealed().unwrap();
        // Each unsealed split's manifest path is taken by a directory (root
        // ignores permissions): writing the manifest fails, as on a full or
        // broken disk.
        let unsealed: Vec<std::path::PathBuf> = storage::list_splits(dir.path())
            .unwrap()
            .into_iter()
            .map(|l| storage::manifest_path(&l.path))
            .filter(|manifest| !manifest.exists())
            .collect();
        assert!(!unsealed.is_empty());
        for manifest in &unsealed {
            std::fs::create_dir_all(manifest.join("in-the-way")).unwrap();
        }
        let later = Utc::now() + chrono::Duration::seconds(3 * WINDOW);
        indexer.seal_due(later).unwrap();
        let error = indexer.wait_sealed().expect_err("the seal's failure reaches the consumer");
        assert!(error.to_string().contains("manifest.json"), "the error names the file: {error}");
        drop(indexer);
        // The disk is mended. Nothing was lost meanwhile: the splits keep
        // their events, and verify names each unfinished one: the first
        // seal stopped between its seal commit and its manifest (as a crash
        // there would), the sealer took no seal after it.
        for manifest in &unsealed {
            std::fs::remove_dir_all(manifest).unwrap();
        }
        let expected = (0..total).filter(|o| o % 50 != 49).count() as u64;
        assert_eq!(searchable(dir.path()), expected);
        let report = verify(dir.path(), &verifier(dir.path()), |_, _| {}).unwrap();
        let interrupted = report.problems.iter().filter(|p| p.what.contains("a seal was interrupted")).count() as u64;
        let active: u64 = report.chains.iter().map(|c| c.active_splits).sum();
        assert_eq!((interrupted, active), (1, unsealed.len() as u64 - 1), "{:?}", report.problems);

        // The next open seals them again, in one chain.
        let mut indexer = PartitionIndexer::open(settings.clone(), 0).unwrap();
        indexer.seal_due(later).unwrap();
        indexer.wait_sealed().unwrap();
        assert!(unsealed.iter().all(|m| m.is_file()), "every split left unsealed has its manifest now");
        let report = verify(dir.path(), &verifier(dir.path()), |_, _| {}).unwrap();
        assert!(report.is_intact(), "{:?}", report.problems);
        let verified: u64 = report.chains.iter().map(|c| c.verified_events).sum();
        assert_eq!(verified, expected, "every event once, in a sealed and verified split");
        assert_eq!(searchable(dir.path()), expected);
    }
}
