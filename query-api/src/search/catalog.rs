//! The splits on disk and an open reader for each. Active splits are
//! refreshed per search, so what the indexer committed a moment ago is
//! visible; sealed splits never change and are not reloaded.
//!
//! Reloading a reader opens every segment of the split again (and takes
//! tantivy's meta lock), so an active split is reloaded only when its
//! `meta.json` changed since it was last loaded, that is after a commit;
//! the range of its events' times is read from its doc values once per
//! load, not once per search.
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
use logwarden_event::fields;
use logwarden_store::manifest::Manifest;
use logwarden_store::schema::from_tantivy;
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
    /// Readers of active splits reloaded since.
    reloaded: AtomicU64,
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
    /// `meta.json` as read before the reader was last loaded (`None`:
    /// unreadable then, so the next search reloads).
    meta: Option<Vec<u8>>,
    /// The range of the loaded segments' `@timestamp` doc values.
    events: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl CachedReader {
    /// Reloads the reader if a commit changed `meta.json` since it was
    /// last loaded, or when `force`d; returns whether it reloaded.
    fn refresh(&mut self, path: &Path, force: bool) -> anyhow::Result<bool> {
        let meta = read_meta(path);
        if !force && meta.is_some() && meta == self.meta {
            return Ok(false);
        }
        self.reader
            .reload()
            .with_context(|| format!("reloading split {}", path.display()))?;
        self.meta = meta;
        self.events = events_span(&self.reader.searcher());
        Ok(true)
    }
}

fn read_meta(split: &Path) -> Option<Vec<u8>> {
    std::fs::read(split.join("meta.json")).ok()
}

/// The range of the times of a split's events, from its segments' doc
/// values; `None` when it holds none.
fn events_span(searcher: &Searcher) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let mut range: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for segment in searcher.segment_readers() {
        if segment.num_docs() == 0 {
            continue;
        }
        let column = segment.fast_fields().date(fields::TIMESTAMP).ok()?;
        let (min, max) = (from_tantivy(column.min_value()), from_tantivy(column.max_value()));
        range = Some(range.map_or((min, max), |(a, b)| (a.min(min), b.max(max))));
    }
    range
}

pub struct OpenSplit {
    pub location: SplitLocation,
    pub searcher: Searcher,
    /// The range of its events' times (`None`: it holds none), as of the
    /// searcher.
    pub events: Option<(DateTime<Utc>, DateTime<Utc>)>,
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
            reloaded: AtomicU64::new(0),
        }
    }

    /// How many splits this catalog opened so far (each is opened once,
    /// then its reader is cached).
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// How many times a cached reader was reloaded (after a commit).
    pub fn reloaded(&self) -> u64 {
        self.reloaded.load(Ordering::Relaxed)
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
            let cached = self.reader(&mut state, &location)?;
            selection.open.push(OpenSplit {
                location,
                searcher: cached.reader.searcher(),
                events: cached.events,
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

    /// The split's cached reader, reloaded while the split is active and
    /// a commit changed it; opened on first use.
    fn reader<'s>(&self, state: &'s mut State, location: &SplitLocation) -> anyhow::Result<&'s CachedReader> {
        if state.readers.contains_key(&location.path) {
            let cached = state.readers.get_mut(&location.path).expect("checked above");
            if !cached.sealed {
                // Seen sealed from now on: one last reload picks up the
                // merge that sealing did.
                cached.sealed = storage::manifest_path(&location.path).exists();
                if cached.refresh(&location.path, cached.sealed)? {
                    self.reloaded.fetch_add(1, Ordering::Relaxed);
                }
            }
            return Ok(cached);
        }
        // Read before the reader loads: a commit in between only makes
        // the next search reload once more.
        let meta = read_meta(&location.path);
        let index = Index::open_in_dir(&location.path)
            .with_context(|| format!("opening split {}", location.path.display()))?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let sealed = storage::manifest_path(&location.path).exists();
        let events = events_span(&reader.searcher());
        Ok(state
            .readers
            .entry(location.path.clone())
            .or_insert(CachedReader { reader, sealed, meta, events }))
    }
}
