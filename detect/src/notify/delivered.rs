//! The record of alerts a hook has handled, so that a restart (or a
//! consumer group read again from the start) never notifies twice.
//!
//! One append-only file per hook, `DATA_DIR/detect/delivered/<hook>.ids`,
//! one line per handled alert, synced to disk before the alert's offset is
//! committed:
//!
//! ```text
//! <alert id>\t<unix secs handled>                                      suppressed or dead-lettered
//! <alert id>\t<unix secs handled>\t<suppression key>\t<first_seen ms>  sent
//! ```
//!
//! The third and fourth columns keep when (event time) an alert of a rule
//! and group was last sent, so suppression survives a restart. A torn last
//! line (a crash mid-write) is cut off at start. When the file holds more
//! than [`KEEP`] lines it is rewritten (atomically) with the newest ones,
//! plus the last sent line of every rule and group still inside the
//! longest suppression window.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alert::digest_id;

/// Lines kept when the record is compacted.
pub const KEEP: usize = 100_000;

/// One parsed line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line<'a> {
    id: &'a str,
    /// Suppression key and the sent alert's `first_seen`.
    sent: Option<(&'a str, DateTime<Utc>)>,
}

fn parse(line: &str) -> Option<Line<'_>> {
    let mut columns = line.split('\t');
    let id = columns.next().filter(|id| valid_id(id))?;
    columns.next()?.parse::<i64>().ok()?;
    let sent = match (columns.next(), columns.next()) {
        (None, _) => None,
        (Some(key), Some(ms)) => Some((key, DateTime::from_timestamp_millis(ms.parse().ok()?)?)),
        (Some(_), None) => return None,
    };
    Some(Line { id, sent })
}

/// Whether `id` can be kept in the record: not empty, no whitespace or
/// control characters (they would break the line format).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A hook's delivered record: the ids it handled and, per rule and group,
/// when the last alert was sent.
#[derive(Debug)]
pub struct Delivered {
    path: PathBuf,
    horizon: Duration,
    file: Arc<File>,
    ids: HashSet<String>,
    last_sent: HashMap<String, DateTime<Utc>>,
    lines: usize,
}

/// What a load of the file yields.
#[derive(Debug)]
struct Loaded {
    file: File,
    ids: HashSet<String>,
    last_sent: HashMap<String, DateTime<Utc>>,
    lines: usize,
}

impl Delivered {
    /// Where the record of hook `hook` lives. A name that is not a plain
    /// file name is made one, with a digest so that two names stay apart.
    pub fn path(data_dir: &Path, hook: &str) -> PathBuf {
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        let name = if !hook.is_empty() && !hook.starts_with('.') && hook.chars().all(plain) {
            hook.to_string()
        } else {
            let safe: String = hook.chars().map(|c| if plain(c) { c } else { '_' }).collect();
            format!("{}-{}", safe.trim_start_matches('.'), &digest_id(&[hook])[..8])
        };
        data_dir.join("detect").join("delivered").join(format!("{name}.ids"))
    }

    /// Opens (or creates) the record of `hook` and loads it, compacting it
    /// when it is long. `horizon` is the longest suppression window.
    /// Blocking: call from a blocking thread.
    pub fn open(data_dir: &Path, hook: &str, horizon: Duration) -> io::Result<Delivered> {
        let path = Delivered::path(data_dir, hook);
        let loaded = load(&path, horizon)?;
        Ok(Delivered {
            path,
            horizon,
            file: Arc::new(loaded.file),
            ids: loaded.ids,
            last_sent: loaded.last_sent,
            lines: loaded.lines,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// When (event time) an alert under suppression key `key` was last sent.
    pub fn last_sent(&self, key: &str) -> Option<DateTime<Utc>> {
        self.last_sent.get(key).copied()
    }

    /// The number of ids in the record.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends `id` as handled, and synced to disk when this returns;
    /// `sent` holds the suppression key and `first_seen` of a sent alert.
    pub async fn record(&mut self, id: &str, sent: Option<(&str, DateTime<Utc>)>) -> io::Result<()> {
        if !valid_id(id) || sent.is_some_and(|(key, _)| !valid_id(key)) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("`{id}` cannot be recorded")));
        }
        let now = Utc::now().timestamp();
        let line = match sent {
            None => format!("{id}\t{now}\n"),
            Some((key, at)) => format!("{id}\t{now}\t{key}\t{}\n", at.timestamp_millis()),
        };
        // A long-running hook compacts too, not only at start.
        let compact = self.lines + 1 > 2 * KEEP;
        let (file, path, horizon) = (self.file.clone(), self.path.clone(), self.horizon);
        let reloaded = tokio::task::spawn_blocking(move || -> io::Result<Option<Loaded>> {
            (&*file).write_all(line.as_bytes())?;
            file.sync_data()?;
            if compact { load(&path, horizon).map(Some) } else { Ok(None) }
        })
        .await
        .map_err(io::Error::other)??;
        match reloaded {
            Some(loaded) => {
                self.file = Arc::new(loaded.file);
                self.ids = loaded.ids;
                self.last_sent = loaded.last_sent;
                self.lines = loaded.lines;
            }
            None => {
                self.ids.insert(id.to_string());
                if let Some((key, at)) = sent {
                    remember(&mut self.last_sent, key, at);
                }
                self.lines += 1;
            }
        }
        Ok(())
    }
}

fn remember(last_sent: &mut HashMap<String, DateTime<Utc>>, key: &str, at: DateTime<Utc>) {
    let entry = last_sent.entry(key.to_string()).or_insert(at);
    *entry = (*entry).max(at);
}

/// Reads the record at `path` (cutting off a torn last line), compacts it
/// when it has more than [`KEEP`] lines, and opens it for appending.
fn load(path: &Path, horizon: Duration) -> io::Result<Loaded> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let (mut bytes, existed) = match std::fs::read(path) {
        Ok(bytes) => (bytes, true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Vec::new(), false),
        Err(e) => return Err(e),
    };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < bytes.len() {
        tracing::warn!(path = %path.display(), bytes = bytes.len() - complete, "ignoring the torn last line of a delivered record");
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(complete as u64)?;
        file.sync_data()?;
        bytes.truncate(complete);
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.len() > KEEP {
        let before = lines.len();
        lines = compact(&lines, KEEP, horizon);
        let mut out = lines.join("\n");
        out.push('\n');
        logwarden_store::storage::write_atomically(path, out.as_bytes()).map_err(io::Error::other)?;
        tracing::info!(path = %path.display(), before, after = lines.len(), "compacted a delivered record");
    }
    let mut ids = HashSet::with_capacity(lines.len());
    let mut last_sent = HashMap::new();
    for line in &lines {
        let Some(line) = parse(line) else {
            tracing::warn!(path = %path.display(), line, "skipping an unreadable line of a delivered record");
            continue;
        };
        ids.insert(line.id.to_string());
        if let Some((key, at)) = line.sent {
            remember(&mut last_sent, key, at);
        }
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    if !existed {
        File::open(dir)?.sync_all()?;
    }
    Ok(Loaded { file, ids, last_sent, lines: lines.len() })
}

/// The newest `keep` lines, preceded by the last sent line of every
/// suppression key they do not hold whose time is within `horizon` of the
/// newest sent time (so compaction never lifts a suppression early).
fn compact<'a>(lines: &[&'a str], keep: usize, horizon: Duration) -> Vec<&'a str> {
    let start = lines.len().saturating_sub(keep);
    let parsed: Vec<Option<Line<'a>>> = lines.iter().map(|l| parse(l)).collect();
    let sent = |i: usize| parsed[i].and_then(|l| l.sent);
    let newest = (0..lines.len()).filter_map(|i| sent(i).map(|(_, at)| at)).max();
    let covered: HashSet<&str> = (start..lines.len()).filter_map(|i| sent(i).map(|(key, _)| key)).collect();
    let mut older: HashMap<&str, (usize, DateTime<Utc>)> = HashMap::new();
    for i in 0..start {
        if let Some((key, at)) = sent(i)
            && !covered.contains(key)
            && older.get(key).is_none_or(|&(_, seen)| at >= seen)
        {
            older.insert(key, (i, at));
        }
    }
    let since = newest.map(|n| n - chrono::Duration::from_std(horizon).unwrap_or(chrono::Duration::MAX));
    let mut kept: Vec<usize> = older
        .into_values()
        .filter(|&(_, at)| since.is_some_and(|since| at >= since))
        .map(|(i, _)| i)
        .collect();
    kept.sort_unstable();
    kept.into_iter()
        .map(|i| lines[i])
        .chain((start..lines.len()).filter(|&i| parsed[i].is_some()).map(|i| lines[i]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[tokio::test]
    async fn a_record_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = Delivered::open(dir.path(), "oncall", Duration::ZERO).unwrap();
        assert!(record.is_empty());
        record.record("a1", None).await.unwrap();
        record.record("a2", Some(("k1", at(1000)))).await.unwrap();
        record.record("a3", Some(("k1", at(900)))).await.unwrap();
        assert!(record.contains("a2"));
        drop(record);
        let record = Delivered::open(dir.path(), "oncall", Duration::ZERO).unwrap();
        assert_eq!(record.len(), 3);
        assert!(record.contains("a1") && record.contains("a3") && !record.contains("a4"));
        assert_eq!(record.last_sent("k1"), Some(at(1000)), "the latest, not the last written");
        assert_eq!(record.last_sent("k2"), None);
        let text = std::fs::read_to_string(dir.path().join("detect/delivered/oncall.ids")).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().nth(1).unwrap().starts_with("a2\t") && text.lines().nth(1).unwrap().ends_with("\tk1\t1000000"));
    }

    #[tokio::test]
    async fn a_torn_last_line_is_ignored_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = Delivered::path(dir.path(), "slack");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "a1\t1\na2\t2\tk\t5000\na3\t3\tk\t90").unwrap();
        let mut record = Delivered::open(dir.path(), "slack", Duration::ZERO).unwrap();
        assert_eq!(record.len(), 2);
        assert!(!record.contains("a3"));
        assert_eq!(record.last_sent("k"), Some(at(5)));
        record.record("a4", None).await.unwrap();
        drop(record);
        let record = Delivered::open(dir.path(), "slack", Duration::ZERO).unwrap();
        assert!(record.contains("a4") && record.len() == 3, "the next line starts on its own");
    }

    #[test]
    fn unreadable_lines_are_skipped() {
        assert_eq!(parse("a1\t12"), Some(Line { id: "a1", sent: None }));
        assert_eq!(parse("a1\t12\tk\t1000"), Some(Line { id: "a1", sent: Some(("k", at(1))) }));
        for bad in ["", "a1", "a1\tx", "a1\t12\tk", "a1\t12\tk\tz", "\t12"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_long_record_is_compacted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = Delivered::path(dir.path(), "hook");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::new();
        // Early lines: a key sent long ago (outside the horizon) and one
        // sent within it, neither seen again in the newest lines.
        text.push_str("old-out\t1\tgone\t1000\n");
        text.push_str("old-in\t1\tstill\t9000000\n");
        for i in 0..KEEP + 10 {
            text.push_str(&format!("id-{i}\t1\tbusy\t{}\n", 10_000_000 + i as i64));
        }
        std::fs::write(&path, text).unwrap();
        let record = Delivered::open(dir.path(), "hook", Duration::from_secs(3600)).unwrap();
        assert_eq!(record.len(), KEEP + 1);
        assert!(!record.contains("id-0") && !record.contains("id-9") && record.contains("id-10"));
        assert!(record.contains(&format!("id-{}", KEEP + 9)));
        assert_eq!(record.last_sent("still"), Some(at(9000)));
        assert_eq!(record.last_sent("gone"), None);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, KEEP + 1);
    }

    #[test]
    fn hook_names_become_plain_file_names() {
        let dir = Path::new("/data");
        assert_eq!(Delivered::path(dir, "on-call_1"), Path::new("/data/detect/delivered/on-call_1.ids"));
        let odd = Delivered::path(dir, "../etc/x");
        assert_eq!(odd.parent().unwrap(), Path::new("/data/detect/delivered"));
        assert_ne!(Delivered::path(dir, "a/b"), Delivered::path(dir, "a_b"));
    }
}
