//! One stream of one partition: its active splits (one per open window,
//! plus a late split), what has been sealed, and the head of its manifest
//! chain; sealing a split, writing its manifest (and the manifests of empty
//! windows) onto the chain.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};

use logwarden_store::facts::{SplitFacts, files_sha256, rfc3339};
use logwarden_store::manifest::{FORMAT, Manifest, ManifestBody, SealReason, hex_sha256};
use logwarden_store::storage::{self, SplitId, SplitKind, SplitLocation};

use crate::partition::SplitSettings;
use crate::split::ActiveSplit;
use crate::{IndexerError, metrics};

/// The head of a stream/partition manifest chain.
#[derive(Debug, Default)]
pub(crate) struct ChainHead {
    pub(crate) next_seq: u64,
    pub(crate) last_hash: Option<String>,
    /// Start of the newest window with a manifest.
    pub(crate) last_window: Option<i64>,
}

pub(crate) struct StreamSplits {
    pub(crate) name: String,
    pub(crate) active: BTreeMap<SplitKind, ActiveSplit>,
    /// The newest seal of each window: the offset it was complete up to,
    /// and why it was sealed.
    pub(crate) sealed_windows: BTreeMap<i64, (i64, SealReason)>,
    /// The offset the newest sealed late split was complete up to.
    pub(crate) late_sealed_next: i64,
    pub(crate) chain: ChainHead,
    /// Events indexed since the count was last reported (at commits: a
    /// metric update per event costs a visible share of the CPU).
    pub(crate) unreported: u64,
}

impl StreamSplits {
    pub(crate) fn new(name: &str) -> StreamSplits {
        StreamSplits {
            name: name.to_string(),
            active: BTreeMap::new(),
            sealed_windows: BTreeMap::new(),
            late_sealed_next: 0,
            chain: ChainHead::default(),
            unreported: 0,
        }
    }

    /// The offset everything sealed in this stream is complete up to.
    pub(crate) fn sealed_next(&self) -> Option<i64> {
        let windows = self.sealed_windows.values().map(|&(next, _)| next).max();
        windows.max((self.late_sealed_next > 0).then_some(self.late_sealed_next))
    }

    pub(crate) fn record_manifest(&mut self, manifest: &Manifest) {
        let body = &manifest.body;
        if body.seq >= self.chain.next_seq {
            self.chain.next_seq = body.seq + 1;
            self.chain.last_hash = Some(manifest.sha256());
        }
        match SplitId::parse(&body.split_id).map(|id| id.kind) {
            Some(SplitKind::Window(start)) => {
                let newest = self
                    .sealed_windows
                    .get(&start)
                    .is_none_or(|&(next, _)| body.next_offset >= next);
                if newest {
                    self.sealed_windows
                        .insert(start, (body.next_offset, body.seal_reason));
                }
                self.chain.last_window = self.chain.last_window.max(Some(start));
            }
            Some(SplitKind::Late) => {
                self.late_sealed_next = self.late_sealed_next.max(body.next_offset)
            }
            None => {}
        }
    }

    /// The split an event placed in `placement` goes to, or `None` when the
    /// split it belongs to already holds it.
    pub(crate) fn split_for(
        &mut self,
        placement: SplitKind,
        offset: i64,
        settings: &SplitSettings,
        partition: i32,
    ) -> Result<Option<&mut ActiveSplit>, IndexerError> {
        let kind = match placement {
            SplitKind::Window(start) if !self.active.contains_key(&placement) => {
                match self.sealed_windows.get(&start) {
                    Some(&(next, _)) if offset < next => return Ok(None),
                    // A window sealed for size continues in a new split.
                    None | Some((_, SealReason::Size)) => placement,
                    // A window closed before this event was read: late.
                    Some(_) => SplitKind::Late,
                }
            }
            other => other,
        };
        if !self.active.contains_key(&kind) {
            if kind == SplitKind::Late && offset < self.late_sealed_next {
                return Ok(None);
            }
            let id = SplitId::new(kind, offset).to_string();
            let path = storage::split_path(&settings.data_dir, &self.name, partition, &id);
            let location = SplitLocation {
                stream: self.name.clone(),
                partition,
                id,
                path,
            };
            let split = ActiveSplit::open_or_create(
                location,
                &settings.schema,
                offset,
                settings.writer_memory,
            )?;
            self.active.insert(kind, split);
        }
        let split = self.active.get_mut(&kind).expect("inserted above");
        Ok((offset >= split.committed_next).then_some(split))
    }

    pub(crate) fn seal_due(
        &mut self,
        now: DateTime<Utc>,
        next: i64,
        settings: &SplitSettings,
        partition: i32,
    ) -> Result<(), IndexerError> {
        let windowing = &settings.windowing;
        let mut due = Vec::new();
        for (kind, split) in &self.active {
            let reason = match *kind {
                SplitKind::Window(start) if windowing.is_closed(start, now) => {
                    SealReason::WindowClosed
                }
                _ if split.docs >= settings.max_events => SealReason::Size,
                SplitKind::Late
                    if split.docs > 0
                        && windowing.is_closed(windowing.start_of(split.opened_at), now) =>
                {
                    SealReason::LateRotation
                }
                _ => continue,
            };
            due.push((*kind, reason));
        }
        for (kind, reason) in due {
            let mut split = self.active.remove(&kind).expect("listed above");
            // An idle split's payload may lag (see `PartitionIndexer::commit`):
            // it is complete up to `next`, and its manifest says so.
            if split.pending_docs == 0 && split.committed_next < next {
                split.commit(next)?;
            }
            self.seal_split(split, Some(reason), settings, partition)?;
        }
        // Windows that passed without an event still get a manifest.
        if let Some(last) = self.chain.last_window {
            let mut start = last + windowing.window_secs();
            while windowing.is_closed(start, now)
                && !self.active.contains_key(&SplitKind::Window(start))
            {
                self.write_empty_window(start, next, settings, partition)?;
                start += windowing.window_secs();
            }
        }
        Ok(())
    }

    /// Seals `split` and writes its manifest at the head of the chain.
    /// `reason` is `None` when finishing a seal a crash interrupted.
    pub(crate) fn seal_split(
        &mut self,
        split: ActiveSplit,
        reason: Option<SealReason>,
        settings: &SplitSettings,
        partition: i32,
    ) -> Result<(), IndexerError> {
        let started = Instant::now();
        let kind = split.id.kind;
        let next = split.committed_next;
        let reason = reason.unwrap_or(match kind {
            SplitKind::Late => SealReason::LateRotation,
            SplitKind::Window(start) if settings.windowing.is_closed(start, Utc::now()) => {
                SealReason::WindowClosed
            }
            SplitKind::Window(_) => SealReason::Size,
        });
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
            ..self.next_body(&location.id, kind, reason, next, settings, partition)
        };
        self.append(Manifest::sign(body, &settings.signer), &location.path)?;
        metrics::sealed(&self.name, reason, started.elapsed());
        tracing::info!(stream = %self.name, partition, split = %location.id, events = facts.event_count, ?reason, "split sealed");
        Ok(())
    }

    pub(crate) fn write_empty_window(
        &mut self,
        start: i64,
        next: i64,
        settings: &SplitSettings,
        partition: i32,
    ) -> Result<(), IndexerError> {
        let id = SplitId::empty_window(start).to_string();
        let path = storage::split_path(&settings.data_dir, &self.name, partition, &id);
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
            ..self.next_body(
                &id,
                SplitKind::Window(start),
                SealReason::WindowClosed,
                next,
                settings,
                partition,
            )
        };
        self.append(Manifest::sign(body, &settings.signer), &path)?;
        metrics::sealed(
            &self.name,
            SealReason::WindowClosed,
            std::time::Duration::ZERO,
        );
        Ok(())
    }

    /// A manifest body at the head of the chain, facts left empty.
    pub(crate) fn next_body(
        &self,
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
            stream: self.name.clone(),
            partition,
            split_id: split_id.to_string(),
            seq: self.chain.next_seq,
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
            prev_manifest_sha256: self.chain.last_hash.clone(),
            sealed_at: rfc3339(Utc::now()),
            key_id: settings.signer.key_id().to_string(),
        }
    }

    pub(crate) fn append(
        &mut self,
        manifest: Manifest,
        split_dir: &std::path::Path,
    ) -> Result<(), IndexerError> {
        manifest.write(split_dir)?;
        self.record_manifest(&manifest);
        Ok(())
    }
}

