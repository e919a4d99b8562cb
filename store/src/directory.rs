//! A split writer's tantivy directory: [`MmapDirectory`], with tantivy's
//! list of the files it manages (`.managed.json`) written once per commit
//! instead of once per file.
//!
//! tantivy rewrites that list, through a new temporary file renamed over
//! the old one, for every file it creates: six per segment, so with a
//! commit a second per split most of a split's new and freed inodes were
//! the list's. On ext4 without a journal (this project's CI and bench
//! machines) every new inode scans past those freed in the last minutes
//! (`recently_deleted`): 5.6 % of the indexer's CPU in `perf`, on a 200 MB
//! bench topic. Here the list waits in memory and is written just before
//! `meta.json`, the write that makes a commit or a merge count, and by
//! [`SplitDirectory::flush`] (a sealed split's last word, before its files
//! are hashed into its manifest).
//!
//! What a crash may leave is files created since the list was last
//! written. tantivy writes the list first so that such files get deleted
//! once no commit refers to them; here, reading the list adds every
//! segment file in the directory (tantivy names them 32 hex digits, then a
//! dot), so the next garbage collection deletes them all the same.
//!
//! It also lowers the priority of tantivy's merge threads, the first time
//! one of them creates a file here ([`MERGE_NICE`]).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::{fmt, io};

use tantivy::directory::error::{DeleteError, LockError, OpenDirectoryError, OpenReadError};
use tantivy::directory::{
    DirectoryLock, FileHandle, FileSlice, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};
use tantivy::Directory;
use tantivy::directory::error::OpenWriteError;

/// tantivy's list of the files it manages (`MANAGED_FILEPATH`, not
/// exported).
const MANAGED: &str = ".managed.json";
/// tantivy's commit point (`META_FILEPATH`, not exported).
const META: &str = "meta.json";

/// An [`MmapDirectory`] that writes tantivy's managed-file list once per
/// commit; clones share the list not yet written.
#[derive(Clone)]
pub struct SplitDirectory {
    inner: MmapDirectory,
    root: PathBuf,
    /// The list as tantivy last gave it, when not written yet.
    pending: Arc<Mutex<Option<Vec<u8>>>>,
}

impl fmt::Debug for SplitDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitDirectory").field("root", &self.root).finish_non_exhaustive()
    }
}

impl SplitDirectory {
    pub fn open(root: &Path) -> Result<SplitDirectory, OpenDirectoryError> {
        Ok(SplitDirectory {
            inner: MmapDirectory::open(root)?,
            root: root.to_path_buf(),
            pending: Arc::default(),
        })
    }

    /// Writes the managed-file list if tantivy changed it since it was last
    /// written.
    pub fn flush(&self) -> io::Result<()> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = pending.as_deref() {
            self.inner.atomic_write(Path::new(MANAGED), list)?;
        }
        *pending = None;
        Ok(())
    }

    /// The list on disk with every segment file found beside it; the list
    /// as it was (tantivy reports it) when it is not a list of names.
    fn read_managed(&self) -> Result<Vec<u8>, OpenReadError> {
        let listed = match self.inner.atomic_read(Path::new(MANAGED)) {
            Ok(bytes) => Some(bytes),
            Err(OpenReadError::FileDoesNotExist(_)) => None,
            Err(e) => return Err(e),
        };
        let mut names: BTreeSet<String> = match &listed {
            Some(bytes) => match serde_json::from_slice(bytes) {
                Ok(names) => names,
                Err(_) => return Ok(listed.unwrap_or_default()),
            },
            None => BTreeSet::new(),
        };
        let entries = std::fs::read_dir(&self.root)
            .map_err(|e| OpenReadError::wrap_io_error(e, self.root.clone()))?;
        let mut found = false;
        for entry in entries {
            let entry = entry.map_err(|e| OpenReadError::wrap_io_error(e, self.root.clone()))?;
            if let Some(name) = entry.file_name().to_str().filter(|n| is_segment_file(n)) {
                found |= names.insert(name.to_string());
            }
        }
        match listed {
            Some(bytes) if !found => Ok(bytes),
            None if names.is_empty() => Err(OpenReadError::FileDoesNotExist(PathBuf::from(MANAGED))),
            _ => Ok(serde_json::to_vec(&names).expect("a set of strings serializes")),
        }
    }
}

/// Whether tantivy named the file for a segment: `<32 hex digits>.<ext>`
/// (`<id>.<opstamp>.del` for deletes). Such a file not in use is deleted,
/// so nothing else in a split directory may be named so (logwarden's own
/// are `manifest.json` and `deletion.json`).
fn is_segment_file(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 33 && bytes[32] == b'.' && bytes[..32].iter().all(u8::is_ascii_hexdigit)
}

/// The nice value tantivy's merge threads get added, so that under full
/// load the threads that read Kafka and index (nice 0) come first and
/// merges take what is left: on 2 cores a split's tiered merges all
/// fell due within seconds of each other (one per stream and partition, 10
/// merges of ~300,000 documents each, ~5 s), and the indexer's lag and the
/// slowest markers' freshness rose with them (BENCHMARKS.md). CFS still
/// gives a thread at +10 about a tenth of a busy core's time, so merges
/// never stop; an idle core is theirs.
pub const MERGE_NICE: i32 = 10;

/// tantivy names its merge threads `merge_thread_N` (its segment
/// updater's pool): the only threads that write a segment's files beside
/// the indexing threads, and the first write of a merge is its first
/// file. On Linux the nice value is each thread's own, so this lowers
/// only the calling thread's priority; a thread can always lower its own.
fn yield_if_merging() {
    thread_local!(static CHECKED: Cell<bool> = const { Cell::new(false) });
    if CHECKED.with(|checked| checked.replace(true)) {
        return;
    }
    let merging = std::thread::current().name().is_some_and(|name| name.starts_with("merge_thread_"));
    if merging {
        // SAFETY: gettid and setpriority take and return plain integers;
        // on the calling thread's own id they touch nothing else.
        let result = unsafe {
            let tid = libc::gettid();
            let current = thread_nice(tid);
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, current.max(MERGE_NICE))
        };
        if result != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "could not lower a merge thread's priority");
        }
    }
}

/// The nice value of thread `tid` (0 when it cannot be read: getpriority
/// returns -1 both for nice -1 and for an error).
fn thread_nice(tid: libc::pid_t) -> i32 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')')?.1.split_whitespace().nth(16)?.parse().ok())
        .unwrap_or(0)
}

impl Directory for SplitDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn open_read(&self, path: &Path) -> Result<FileSlice, OpenReadError> {
        self.inner.open_read(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        yield_if_merging();
        self.inner.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        if path != Path::new(MANAGED) {
            return self.inner.atomic_read(path);
        }
        if let Some(list) = self.pending.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            return Ok(list);
        }
        self.read_managed()
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        if path == Path::new(MANAGED) {
            *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = Some(data.to_vec());
            return Ok(());
        }
        if path == Path::new(META) {
            // The list names a commit's files before `meta.json` does. A
            // crash between the two renames may still leave the list
            // behind (tantivy syncs the directory before both): reading
            // the list adds the segment files it lacks.
            self.flush()?;
        }
        self.inner.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use tantivy::schema::{Schema, STORED, TEXT};
    use tantivy::{Index, IndexWriter, TantivyDocument, doc};

    use super::*;

    fn schema() -> (Schema, tantivy::schema::Field) {
        let mut builder = Schema::builder();
        let body = builder.add_text_field("body", TEXT | STORED);
        (builder.build(), body)
    }

    fn listed(dir: &Path) -> BTreeSet<String> {
        serde_json::from_slice(&std::fs::read(dir.join(MANAGED)).unwrap()).unwrap()
    }

    fn segment_files(dir: &Path) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| is_segment_file(n))
            .collect()
    }

    #[test]
    fn segment_file_names_are_told_apart() {
        assert!(is_segment_file("0123456789abcdef0123456789abcdef.idx"));
        assert!(is_segment_file("0123456789abcdef0123456789abcdef.42.del"));
        for other in ["meta.json", ".managed.json", "manifest.json", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdeg.idx"] {
            assert!(!is_segment_file(other), "{other}");
        }
    }

    #[test]
    fn the_list_is_written_with_each_commit_and_names_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let (schema, body) = schema();
        let directory = SplitDirectory::open(dir.path()).unwrap();
        let index = Index::create(directory.clone(), schema, Default::default()).unwrap();
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for round in 0..3 {
            writer.add_document(doc!(body => format!("event {round}"))).unwrap();
            writer.commit().unwrap();
            // Every file a commit refers to is on the list on disk.
            let on_disk = segment_files(dir.path());
            assert!(!on_disk.is_empty());
            assert!(listed(dir.path()).is_superset(&on_disk), "round {round}: {:?} lacks some of {on_disk:?}", listed(dir.path()));
        }
        drop(writer);
        directory.flush().unwrap();
        assert_eq!(listed(dir.path()).into_iter().filter(|n| is_segment_file(n)).collect::<BTreeSet<_>>(), segment_files(dir.path()));
    }

    #[test]
    fn files_a_crash_left_off_the_list_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let (schema, body) = schema();
        let index = Index::create(SplitDirectory::open(dir.path()).unwrap(), schema, Default::default()).unwrap();
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.add_document(doc!(body => "kept")).unwrap();
        writer.commit().unwrap();
        drop((writer, index));
        // A segment file written after the list, no commit naming it, and a
        // file that is not tantivy's.
        let orphan = "ffffffffffffffffffffffffffffffff.store";
        std::fs::write(dir.path().join(orphan), b"half a segment").unwrap();
        std::fs::write(dir.path().join("manifest.json"), b"{}").unwrap();
        assert!(!listed(dir.path()).contains(orphan));

        let index = Index::open(SplitDirectory::open(dir.path()).unwrap()).unwrap();
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.add_document(doc!(body => "more")).unwrap();
        writer.commit().unwrap();
        writer.wait_merging_threads().unwrap();

        assert!(!dir.path().join(orphan).exists(), "the orphan is collected");
        assert!(dir.path().join("manifest.json").exists(), "other files are left alone");
        let reader = index.reader().unwrap();
        assert_eq!(reader.searcher().num_docs(), 2);
    }

    /// The nice values of this process's threads named `prefix…`.
    fn nice_of_threads(prefix: &str) -> Vec<i32> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| {
                let task = task.ok()?;
                let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
                let tid: libc::pid_t = task.file_name().to_str()?.parse().ok()?;
                name.starts_with(prefix).then(|| thread_nice(tid))
            })
            .collect()
    }

    #[test]
    fn merges_run_below_the_indexing_threads() {
        let dir = tempfile::tempdir().unwrap();
        let (schema, body) = schema();
        let index = Index::create(SplitDirectory::open(dir.path()).unwrap(), schema, Default::default()).unwrap();
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        for round in 0..2 {
            writer.add_document(doc!(body => format!("event {round}"))).unwrap();
            writer.commit().unwrap();
        }
        let ours = thread_nice(unsafe { libc::gettid() });
        let segments = index.searchable_segment_ids().unwrap();
        assert_eq!(segments.len(), 2);
        writer.merge(&segments).wait().unwrap();
        // The writer (and its merge thread) is alive: its thread is listed.
        let merging = nice_of_threads("merge_thread_");
        assert!(merging.iter().any(|&nice| nice >= MERGE_NICE), "merge threads' nice values: {merging:?}");
        assert_eq!(thread_nice(unsafe { libc::gettid() }), ours, "the indexing side keeps its priority");
        assert_eq!(index.reader().unwrap().searcher().num_docs(), 2);
        drop(writer);
    }

    #[test]
    fn a_list_that_is_not_json_is_still_reported_by_tantivy() {
        let dir = tempfile::tempdir().unwrap();
        let (schema, _) = schema();
        Index::create(SplitDirectory::open(dir.path()).unwrap(), schema, Default::default()).unwrap();
        std::fs::write(dir.path().join(MANAGED), b"not json").unwrap();
        let Err(error) = Index::open(SplitDirectory::open(dir.path()).unwrap()) else { panic!("a corrupt list opened") };
        assert!(error.to_string().contains("Managed file cannot be deserialized"), "{error}");
    }
}
