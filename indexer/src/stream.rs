//! One stream of one partition: its active splits (one per open window,
//! plus a late split) and what has been sealed; which splits are due for
//! sealing, handed to the partition's [`Sealer`] (which writes their
//! manifests, and those of empty windows, onto the stream's chain).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use logwarden_store::manifest::{Manifest, SealReason};
use logwarden_store::storage::{self, SplitId, SplitKind, SplitLocation};

use crate::IndexerError;
use crate::partition::SplitSettings;
use crate::sealer::{Job, Sealer, reason_at};
use crate::split::ActiveSplit;

pub(crate) struct StreamSplits {
    pub(crate) name: String,
    pub(crate) active: BTreeMap<SplitKind, ActiveSplit>,
    /// The newest seal of each window: the offset it was complete up to,
    /// and why it was sealed.
    pub(crate) sealed_windows: BTreeMap<i64, (i64, SealReason)>,
    /// The offset the newest sealed late split was complete up to.
    pub(crate) late_sealed_next: i64,
    /// Start of the newest window sealed (or handed over for sealing).
    pub(crate) last_window: Option<i64>,
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
            last_window: None,
            unreported: 0,
        }
    }

    /// The offset everything sealed in this stream is complete up to.
    pub(crate) fn sealed_next(&self) -> Option<i64> {
        let windows = self.sealed_windows.values().map(|&(next, _)| next).max();
        windows.max((self.late_sealed_next > 0).then_some(self.late_sealed_next))
    }

    /// Notes a seal found on disk (its manifest).
    pub(crate) fn record_manifest(&mut self, manifest: &Manifest) {
        let body = &manifest.body;
        if let Some(id) = SplitId::parse(&body.split_id) {
            self.note_seal(id.kind, body.next_offset, body.seal_reason);
        }
    }

    /// What a seal of a split of `kind` complete up to `next` means for
    /// where later events go, from the moment it is handed over.
    fn note_seal(&mut self, kind: SplitKind, next: i64, reason: SealReason) {
        match kind {
            SplitKind::Window(start) => {
                let newest = self.sealed_windows.get(&start).is_none_or(|&(known, _)| next >= known);
                if newest {
                    self.sealed_windows.insert(start, (next, reason));
                }
                self.last_window = self.last_window.max(Some(start));
            }
            SplitKind::Late => self.late_sealed_next = self.late_sealed_next.max(next),
        }
    }

    /// Hands `split` to `sealer`; `reason` is `None` when finishing a seal
    /// a crash interrupted.
    pub(crate) fn hand_over(
        &mut self,
        split: ActiveSplit,
        reason: Option<SealReason>,
        settings: &SplitSettings,
        sealer: &Sealer,
    ) -> Result<(), IndexerError> {
        let kind = split.id.kind;
        let reason = reason.unwrap_or_else(|| reason_at(kind, settings, Utc::now()));
        self.note_seal(kind, split.committed_next, reason);
        sealer.hand(Job::Seal { stream: self.name.clone(), split: Box::new(split), reason })
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

    /// Hands the splits due for sealing at `now` to `sealer`, and the
    /// windows that passed without an event.
    pub(crate) fn seal_due(
        &mut self,
        now: DateTime<Utc>,
        next: i64,
        settings: &SplitSettings,
        sealer: &Sealer,
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
            self.hand_over(split, Some(reason), settings, sealer)?;
        }
        // Windows that passed without an event still get a manifest.
        if let Some(last) = self.last_window {
            let mut start = last + windowing.window_secs();
            while windowing.is_closed(start, now)
                && !self.active.contains_key(&SplitKind::Window(start))
            {
                self.note_seal(SplitKind::Window(start), next, SealReason::WindowClosed);
                sealer.hand(Job::EmptyWindow { stream: self.name.clone(), start, next })?;
                start += windowing.window_secs();
            }
        }
        Ok(())
    }
}
