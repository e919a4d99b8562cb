//! The splits on disk and an open reader for each. Active splits are
//! refreshed per search, so what the indexer committed a moment ago is
//! visible; sealed splits never change and are not reloaded.
//!
//! A search over a time range opens only the splits whose time range can
//! overlap it. What a split may hold is known without opening it: a sealed
//! split's manifest states its events' time range (read once, cached), and
//! an active window split's id states its window's start (its length is
//! `indexer.split_window`). Late splits without a manifest are opened and
//! pruned by their `@timestamp` doc values, as before.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use logwarden_store::manifest::Manifest;
use logwarden_store::storage::{self, SplitId, SplitKind, SplitLocation};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

/// A time range from the request: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl TimeFilter {
    pub fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether events in `[min, max]` can fall in the range.
    pub fn overlaps(&self, min: DateTime<Utc>, max: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| max >= f) && self.to.is_none_or(|t| min < t)
    }
}

/// What is known of a split's events before opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// Every event is within `[min, max]`.
    Within(DateTime<Utc>, DateTime<Utc>),
    /// The split holds no event.
    Empty,
    /// Unknown: the split must be opened to tell.
    Unknown,
}

pub struct SplitCatalog {
    data_dir: PathBuf,
    /// Length of a window split's window, in seconds.
    window_secs: i64,
    state: Mutex<State>,
    /// Splits opened (`Index::open_in_dir`) since the catalog was created.
    opened: AtomicU64,
}

#[derive(Default)]
struct State {
    readers: HashMap<PathBuf, CachedReader>,
    /// The span a sealed split's manifest states (sealed splits never change).
    sealed_spans: HashMap<PathBuf, Span>,
}

struct CachedReader {
    reader: IndexReader,
    /// The split had a manifest when last seen: its files are final.
    sealed: bool,
}

pub struct OpenSplit {
    pub location: SplitLocation,
    pub searcher: Searcher,
}

/// The splits a request searches, and how many were left out unopened.
pub struct Selection {
    pub open: Vec<OpenSplit>,
    /// Splits of the admitted streams, opened or not.
    pub total: usize,
    /// Splits left out by their metadata (id or manifest), never opened.
    pub pruned: usize,
}

impl SplitCatalog {
    /// A catalog of the splits under `data_dir`, whose window splits span
    /// `window` (the indexer's `split_window`).
    pub fn new(data_dir: &Path, window: Duration) -> SplitCatalog {
        SplitCatalog {
            data_dir: data_dir.to_path_buf(),
            window_secs: window.as_secs().max(1) as i64,
            state: Mutex::new(State::default()),
            opened: AtomicU64::new(0),
        }
    }

    /// How many splits this catalog opened so far (each is opened once,
    /// then its reader is cached).
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// A fresh searcher over every split of the streams `admits` accepts.
    pub fn searchers(&self, admits: impl Fn(&str) -> bool) -> anyhow::Result<Vec<OpenSplit>> {
        Ok(self.select(admits, TimeFilter::default())?.open)
    }

    /// A fresh searcher over every split of the streams `admits` accepts
    /// that may hold events in `time`; the others are not opened.
    pub fn select(&self, admits: impl Fn(&str) -> bool, time: TimeFilter) -> anyhow::Result<Selection> {
        let locations = storage::list_splits(&self.data_dir)
            .with_context(|| format!("listing splits in {}", self.data_dir.display()))?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Splits deleted since (retention, a merge's replacement) are forgotten.
        let present: HashSet<&Path> = locations.iter().map(|l| l.path.as_path()).collect();
        state.readers.retain(|path, _| present.contains(path.as_path()));
        state.sealed_spans.retain(|path, _| present.contains(path.as_path()));
        drop(present);
        let mut selection = Selection {
            open: Vec::new(),
            total: 0,
            pruned: 0,
        };
        for location in locations {
            if !admits(&location.stream) {
                continue;
            }
            selection.total += 1;
            if !time.is_unbounded() {
                let keep = match self.span(&mut state, &location) {
                    Span::Within(min, max) => time.overlaps(min, max),
                    Span::Empty => false,
                    Span::Unknown => true,
                };
                if !keep {
                    selection.pruned += 1;
                    continue;
                }
            }
            let reader = self.reader(&mut state, &location)?;
            selection.open.push(OpenSplit {
                location,
                searcher: reader.searcher(),
            });
        }
        Ok(selection)
    }

    /// What the split's metadata says of its events' times.
    fn span(&self, state: &mut State, location: &SplitLocation) -> Span {
        if let Some(span) = state.sealed_spans.get(&location.path) {
            return *span;
        }
        match Manifest::read(&location.path) {
            Ok(Some(manifest)) => {
                let body = &manifest.body;
                let parse = |t: &Option<String>| {
                    t.as_deref()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| t.to_utc())
                };
                let span = match (parse(&body.min_timestamp), parse(&body.max_timestamp)) {
                    (Some(min), Some(max)) => Span::Within(min, max),
                    _ if body.event_count == 0 => Span::Empty,
                    _ => Span::Unknown,
                };
                state.sealed_spans.insert(location.path.clone(), span);
                return span;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(split = %location.path.display(), error = %e, "unreadable manifest: opening the split");
                return Span::Unknown;
            }
        }
        match SplitId::parse(&location.id).map(|id| id.kind) {
            // Events of a window split have `@timestamp` in
            // [start, start + window): the window is in whole seconds.
            Some(SplitKind::Window(start)) => {
                let min = DateTime::from_timestamp(start, 0);
                let max = DateTime::from_timestamp(start + self.window_secs, 0)
                    .map(|end| end - chrono::Duration::nanoseconds(1));
                match (min, max) {
                    (Some(min), Some(max)) => Span::Within(min, max),
                    _ => Span::Unknown,
                }
            }
            Some(SplitKind::Late) | None => Span::Unknown,
        }
    }

    /// The split's cached reader, reloaded while the split is active;
    /// opened on first use.
    fn reader(&self, state: &mut State, location: &SplitLocation) -> anyhow::Result<IndexReader> {
        if let Some(cached) = state.readers.get_mut(&location.path) {
            if !cached.sealed {
                // Seen sealed from now on: one last reload picks up the
                // merge that sealing did.
                cached.sealed = storage::manifest_path(&location.path).exists();
                cached
                    .reader
                    .reload()
                    .with_context(|| format!("reloading split {}", location.path.display()))?;
            }
            return Ok(cached.reader.clone());
        }
        let index = Index::open_in_dir(&location.path)
            .with_context(|| format!("opening split {}", location.path.display()))?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let sealed = storage::manifest_path(&location.path).exists();
        state.readers.insert(
            location.path.clone(),
            CachedReader {
                reader: reader.clone(),
                sealed,
            },
        );
        Ok(reader)
    }
}
