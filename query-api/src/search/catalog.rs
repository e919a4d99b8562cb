//! The splits on disk and an open reader for each, refreshed per search so
//! that what the indexer committed a moment ago is visible.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use logwarden_indexer::storage::{self, SplitLocation};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

pub struct SplitCatalog {
    data_dir: PathBuf,
    readers: Mutex<HashMap<PathBuf, IndexReader>>,
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

    /// A fresh searcher over every split, optionally of one stream only.
    pub fn searchers(&self, stream: Option<&str>) -> anyhow::Result<Vec<OpenSplit>> {
        let locations = storage::list_splits(&self.data_dir)
            .with_context(|| format!("listing splits in {}", self.data_dir.display()))?;
        let mut readers = self.readers.lock().unwrap();
        readers.retain(|path, _| locations.iter().any(|l| &l.path == path));
        let mut open = Vec::with_capacity(locations.len());
        for location in locations {
            if stream.is_some_and(|s| s != location.stream) {
                continue;
            }
            let reader = match readers.get(&location.path) {
                Some(reader) => {
                    reader
                        .reload()
                        .with_context(|| format!("reloading split {}", location.path.display()))?;
                    reader.clone()
                }
                None => {
                    let index = Index::open_in_dir(&location.path)
                        .with_context(|| format!("opening split {}", location.path.display()))?;
                    let reader = index
                        .reader_builder()
                        .reload_policy(ReloadPolicy::Manual)
                        .try_into()?;
                    readers.insert(location.path.clone(), reader.clone());
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
