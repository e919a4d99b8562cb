//! The splits on disk and an open reader for each. Active splits are
//! refreshed per search, so what the indexer committed a moment ago is
//! visible; sealed splits never change and are not reloaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use logwarden_store::storage::{self, SplitLocation};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

pub struct SplitCatalog {
    data_dir: PathBuf,
    readers: Mutex<HashMap<PathBuf, CachedReader>>,
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

impl SplitCatalog {
    pub fn new(data_dir: &Path) -> SplitCatalog {
        SplitCatalog {
            data_dir: data_dir.to_path_buf(),
            readers: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh searcher over every split of the streams `admits` accepts.
    pub fn searchers(&self, admits: impl Fn(&str) -> bool) -> anyhow::Result<Vec<OpenSplit>> {
        let locations = storage::list_splits(&self.data_dir)
            .with_context(|| format!("listing splits in {}", self.data_dir.display()))?;
        let mut readers = self.readers.lock().unwrap();
        readers.retain(|path, _| locations.iter().any(|l| &l.path == path));
        let mut open = Vec::with_capacity(locations.len());
        for location in locations {
            if !admits(&location.stream) {
                continue;
            }
            let reader = match readers.get_mut(&location.path) {
                Some(cached) if cached.sealed => cached.reader.clone(),
                Some(cached) => {
                    // Seen sealed from now on: one last reload picks up the
                    // merge that sealing did.
                    cached.sealed = storage::manifest_path(&location.path).exists();
                    cached
                        .reader
                        .reload()
                        .with_context(|| format!("reloading split {}", location.path.display()))?;
                    cached.reader.clone()
                }
                None => {
                    let index = Index::open_in_dir(&location.path)
                        .with_context(|| format!("opening split {}", location.path.display()))?;
                    let reader = index
                        .reader_builder()
                        .reload_policy(ReloadPolicy::Manual)
                        .try_into()?;
                    let sealed = storage::manifest_path(&location.path).exists();
                    readers.insert(location.path.clone(), CachedReader { reader: reader.clone(), sealed });
                    reader
                }
            };
            open.push(OpenSplit {
                location,
                searcher: reader.searcher(),
            });
        }
        Ok(open)
    }
}
