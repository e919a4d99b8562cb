//! Sealing off the consumer thread. A split whose window closed (or that
//! is full, or the late split of a past window) is handed to its
//! partition's sealer, which merges its segments (into one up to
//! `split::MAX_MERGED_DOCS` documents; one seal merges at a time in the
//! process), computes its facts and writes its manifest at the head of
//! the stream's chain, one seal after the other in the order they were
//! handed over (the chain's order), while the consumer goes on indexing.
//! Sealing an hour's split merges and hashes all of it: on the consumer
//! thread that was a pause of seconds in indexing, and in freshness, at
//! every window's end.
//!
//! The consumer knows at hand-over what the seal will say (the offset the
//! split is complete up to, and why it is sealed), and places later events
//! by that at once (`StreamSplits::note_seal`).
//!
//! A crash before the manifest is written leaves the split on disk, sealed
//! or not, and the next open of the partition seals it again; a partition
//! is let go (rebalance, shutdown) only once its sealer is done: dropping
//! the [`Sealer`] waits for the seals handed over.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use chrono::{DateTime, Utc};

use logwarden_store::facts::{SplitFacts, files_sha256, rfc3339};
use logwarden_store::manifest::{FORMAT, Manifest, ManifestBody, SealReason, hex_sha256};
use logwarden_store::storage::{self, SplitId, SplitKind};

use crate::partition::SplitSettings;
use crate::split::ActiveSplit;
use crate::{IndexerError, metrics};

/// The head of a stream/partition manifest chain.
#[derive(Debug, Default)]
pub(crate) struct ChainHead {
    next_seq: u64,
    last_hash: Option<String>,
}

impl ChainHead {
    /// Follows the chain past `manifest` if it is the newest seen.
    pub(crate) fn record(&mut self, manifest: &Manifest) {
        if manifest.body.seq >= self.next_seq {
            self.next_seq = manifest.body.seq + 1;
            self.last_hash = Some(manifest.sha256());
        }
    }
}

/// A seal handed over by the consumer.
pub(crate) enum Job {
    /// Finish `split` (seal commit, merge into as few segments as
    /// `split::MAX_MERGED_DOCS` allows) and write its manifest.
    Seal { stream: String, split: Box<ActiveSplit>, reason: SealReason },
    /// The manifest of a window of `stream` that passed without an event.
    EmptyWindow { stream: String, start: i64, next: i64 },
}

/// A partition's sealing thread and the seals handed to it.
pub(crate) struct Sealer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// Seals handed over and not done yet.
    pending: Mutex<usize>,
    done: Condvar,
    /// The first seal that failed; later ones are left to the next open.
    failure: Mutex<Option<IndexerError>>,
}

impl Sealer {
    /// Starts partition `partition`'s sealer, its chains' heads as read
    /// from the manifests on disk.
    pub(crate) fn start(
        settings: Arc<SplitSettings>,
        partition: i32,
        mut chains: HashMap<String, ChainHead>,
    ) -> Result<Sealer, IndexerError> {
        let (jobs, received) = mpsc::channel::<Job>();
        let state = Arc::new(State::default());
        let shared = state.clone();
        let data_dir = settings.data_dir.clone();
        let thread = std::thread::Builder::new()
            .name(format!("seal-p{partition}"))
            .spawn(move || {
                for job in received {
                    let failed = shared.failure.lock().unwrap_or_else(|e| e.into_inner()).is_some();
                    if !failed {
                        let result = match job {
                            Job::Seal { stream, split, reason } => {
                                let chain = chains.entry(stream.clone()).or_default();
                                seal(chain, &stream, *split, reason, &settings, partition)
                            }
                            Job::EmptyWindow { stream, start, next } => {
                                let chain = chains.entry(stream.clone()).or_default();
                                empty_window(chain, &stream, start, next, &settings, partition)
                            }
                        };
                        if let Err(error) = result {
                            metrics::error("seal");
                            tracing::error!(partition, %error, "sealing a split failed; the next start of the indexer seals it again");
                            shared.failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(error);
                        }
                    }
                    let mut pending = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
                    *pending -= 1;
                    shared.done.notify_all();
                }
            })
            .map_err(|e| IndexerError::io(&data_dir, e))?;
        Ok(Sealer { jobs: Some(jobs), thread: Some(thread), state })
    }

    /// Hands `job` over; fails if an earlier seal failed.
    pub(crate) fn hand(&self, job: Job) -> Result<(), IndexerError> {
        self.failed()?;
        *self.state.pending.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job).is_ok()).unwrap_or(false);
        if !sent {
            *self.state.pending.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            return Err(IndexerError::io(
                std::path::Path::new("sealer"),
                std::io::Error::other("the sealing thread has stopped"),
            ));
        }
        Ok(())
    }

    /// The failure of a seal handed over before, once.
    pub(crate) fn failed(&self) -> Result<(), IndexerError> {
        match self.state.failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Waits until every seal handed over is done.
    pub(crate) fn wait(&self) -> Result<(), IndexerError> {
        let mut pending = self.state.pending.lock().unwrap_or_else(|e| e.into_inner());
        while *pending > 0 {
            pending = self.state.done.wait(pending).unwrap_or_else(|e| e.into_inner());
        }
        drop(pending);
        self.failed()
    }
}

impl Drop for Sealer {
    /// Waits for the seals handed over (the thread ends once its queue is
    /// empty and closed).
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the sealing thread panicked; the next start of the indexer seals what it left");
            }
        }
    }
}

/// Why a split found unfinished when its partition is opened (or handed
/// over without a reason) is sealed.
pub(crate) fn reason_at(kind: SplitKind, settings: &SplitSettings, now: DateTime<Utc>) -> SealReason {
    match kind {
        SplitKind::Late => SealReason::LateRotation,
        SplitKind::Window(start) if settings.windowing.is_closed(start, now) => SealReason::WindowClosed,
        SplitKind::Window(_) => SealReason::Size,
    }
}

/// Seals `split` and writes its manifest at the head of `chain`.
fn seal(
    chain: &mut ChainHead,
    stream: &str,
    split: ActiveSplit,
    reason: SealReason,
    settings: &SplitSettings,
    partition: i32,
) -> Result<(), IndexerError> {
    let started = Instant::now();
    let kind = split.id.kind;
    let next = split.committed_next;
    let location = split.finish()?;
    let facts = SplitFacts::compute(&location.path, &settings.schema)?;
    let body = ManifestBody {
        first_offset: facts.first_offset,
        last_offset: facts.last_offset,
        event_count: facts.event_count,
        min_timestamp: facts.min_timestamp.map(rfc3339),
        max_timestamp: facts.max_timestamp.map(rfc3339),
        records_sha256: facts.records_sha256,
        records_merkle_root: Some(facts.records_merkle_root),
        files_sha256: files_sha256(&location.path)?,
        ..next_body(chain, stream, &location.id, kind, reason, next, settings, partition)
    };
    append(chain, Manifest::sign(body, &settings.signer), &location.path)?;
    metrics::sealed(stream, reason, started.elapsed());
    tracing::info!(stream, partition, split = %location.id, events = facts.event_count, ?reason, "split sealed");
    Ok(())
}

/// Writes the manifest of a window that passed without an event.
fn empty_window(
    chain: &mut ChainHead,
    stream: &str,
    start: i64,
    next: i64,
    settings: &SplitSettings,
    partition: i32,
) -> Result<(), IndexerError> {
    let id = SplitId::empty_window(start).to_string();
    let path = storage::split_path(&settings.data_dir, stream, partition, &id);
    let body = ManifestBody {
        first_offset: None,
        last_offset: None,
        event_count: 0,
        min_timestamp: None,
        max_timestamp: None,
        records_sha256: hex_sha256(b""),
        // The empty tree's hash (RFC 9162): SHA-256 of nothing.
        records_merkle_root: Some(hex_sha256(b"")),
        files_sha256: BTreeMap::new(),
        ..next_body(chain, stream, &id, SplitKind::Window(start), SealReason::WindowClosed, next, settings, partition)
    };
    append(chain, Manifest::sign(body, &settings.signer), &path)?;
    metrics::sealed(stream, SealReason::WindowClosed, std::time::Duration::ZERO);
    Ok(())
}

/// A manifest body at the head of `chain`, facts left empty.
#[allow(clippy::too_many_arguments)]
fn next_body(
    chain: &ChainHead,
    stream: &str,
    split_id: &str,
    kind: SplitKind,
    seal_reason: SealReason,
    next_offset: i64,
    settings: &SplitSettings,
    partition: i32,
) -> ManifestBody {
    let window = match kind {
        SplitKind::Window(start) => Some((start, start + settings.windowing.window_secs())),
        SplitKind::Late => None,
    };
    let time = |secs: i64| rfc3339(DateTime::from_timestamp(secs, 0).unwrap_or_default());
    ManifestBody {
        format: FORMAT,
        stream: stream.to_string(),
        partition,
        split_id: split_id.to_string(),
        seq: chain.next_seq,
        window_start: window.map(|w| time(w.0)),
        window_end: window.map(|w| time(w.1)),
        seal_reason,
        first_offset: None,
        last_offset: None,
        next_offset,
        event_count: 0,
        min_timestamp: None,
        max_timestamp: None,
        records_sha256: String::new(),
        records_merkle_root: None,
        files_sha256: BTreeMap::new(),
        prev_manifest_sha256: chain.last_hash.clone(),
        sealed_at: rfc3339(Utc::now()),
        key_id: settings.signer.key_id().to_string(),
    }
}

fn append(chain: &mut ChainHead, manifest: Manifest, split_dir: &std::path::Path) -> Result<(), IndexerError> {
    manifest.write(split_dir)?;
    chain.record(&manifest);
    Ok(())
}
