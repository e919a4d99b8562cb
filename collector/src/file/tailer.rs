//! Tailing one file: reading new bytes, cutting them into lines, noticing
//! truncation, and going back to the committed offset when a transaction
//! aborts.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::file::checkpoint::{FileId, Fingerprint, Prefix, FINGERPRINT_BYTES};

const READ_CHUNK: usize = 1024 * 1024;

thread_local! {
    /// The read buffer of the thread reading files: zeroed once, reused by
    /// every read of every file (a file holds only its unterminated tail).
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One line cut from a file, with the offset of its first byte.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub start: u64,
    pub text: String,
    /// The line was longer than the limit and was cut there.
    pub truncated: bool,
}

/// What [`TailedFile::read_lines`] produced: lines and the offset the
/// checkpoint may move to once all of them are acknowledged.
#[derive(Debug)]
pub struct Chunk {
    pub lines: Vec<Line>,
    pub end: u64,
}

#[derive(Debug)]
pub struct TailedFile {
    pub path: PathBuf,
    pub id: FileId,
    file: File,
    /// Next byte to read.
    read_offset: u64,
    /// Everything before this offset is in committed events.
    pub acked_offset: u64,
    /// Bytes of a line not yet terminated by a newline, starting at
    /// `read_offset - partial.len()`.
    partial: Vec<u8>,
    partial_since: Option<Instant>,
    /// Set when the file was found truncated (or rewritten): what was read
    /// before belongs to other content.
    pub truncated: bool,
    /// The path no longer leads to this file (renamed away or deleted).
    pub detached: bool,
    /// The content's first bytes (at most [`FINGERPRINT_BYTES`]) as this
    /// tailer saw them: the prefix its position was claimed with, then
    /// what it read from offset 0. Never read again later: a file
    /// truncated and rewritten since would lend its new first bytes to the
    /// old content's position.
    head: Vec<u8>,
    /// The fingerprint of `head`, to recognize the content after a restart.
    pub fingerprint: Option<Fingerprint>,
    /// How many times reading went back to an earlier offset (truncation,
    /// rewind after a failed batch): whatever was built from lines read
    /// before is stale.
    pub resets: u64,
}

impl TailedFile {
    /// Opens `path` to resume at a checkpoint's `offset`, taken when the file
    /// started with the bytes of `expected` (`None`: trusted by inode alone).
    /// The collector claims positions through [`crate::file::Positions`]
    /// and tails with [`TailedFile::from_file`]; this is the tests' way in.
    #[cfg(test)]
    pub fn open(path: &Path, offset: u64, expected: Option<Fingerprint>) -> std::io::Result<TailedFile> {
        let file = File::open(path)?;
        let prefix = Prefix::of(&file)?;
        let offset = if offset > 0 && expected.is_some_and(|f| !f.matches_prefix(&prefix)) {
            tracing::warn!(path = %path.display(), offset, "file content differs from its checkpoint (inode reused or rewritten); reading it from the start");
            0
        } else {
            offset
        };
        TailedFile::from_file(path, file, offset, &prefix)
    }

    /// Tails `file` (opened at `path`) from `offset` of the content whose
    /// first bytes were `prefix` when its position was claimed. Should the
    /// file be truncated and written again since, the first read notices.
    pub fn from_file(path: &Path, file: File, offset: u64, prefix: &Prefix) -> std::io::Result<TailedFile> {
        let meta = file.metadata()?;
        let id = FileId { dev: meta.dev(), ino: meta.ino() };
        // A checkpoint past the end means the file was truncated or the inode
        // reused: start over rather than skip data.
        let offset = if offset > meta.len() { 0 } else { offset };
        let head = prefix.bytes().to_vec();
        Ok(TailedFile {
            path: path.to_path_buf(),
            id,
            file,
            read_offset: offset,
            acked_offset: offset,
            partial: Vec::new(),
            partial_since: None,
            truncated: false,
            detached: false,
            fingerprint: Fingerprint::of_bytes(&head),
            head,
            resets: 0,
        })
    }

    /// Reads what was appended since the last call, up to one chunk.
    /// A trailing line without newline is held back until it has been
    /// unchanged for `partial_timeout`, then sent as it is.
    pub fn read_lines(&mut self, max_line: usize, partial_timeout: Duration) -> std::io::Result<Option<Chunk>> {
        self.read_lines_within(READ_CHUNK, max_line, partial_timeout)
    }

    /// [`TailedFile::read_lines`], reading at most `limit` bytes (at most
    /// one chunk).
    pub fn read_lines_within(
        &mut self,
        limit: usize,
        max_line: usize,
        partial_timeout: Duration,
    ) -> std::io::Result<Option<Chunk>> {
        let len = self.file.metadata()?.len();
        // Truncated and written again before we looked (past our offset, or
        // at all when nothing was read yet): the first bytes tell.
        let rewritten = self.fingerprint.is_some_and(|f| !f.matches(&self.file).unwrap_or(true));
        if len < self.read_offset || rewritten {
            self.handle_truncation(len);
        }
        let want = READ_CHUNK.min(limit).min((len - self.read_offset) as usize);
        let mut lines = Vec::new();
        let mut line_start = self.read_offset - self.partial.len() as u64;
        let n = READ_BUF.with_borrow_mut(|buf| -> std::io::Result<usize> {
            if want == 0 {
                return Ok(0);
            }
            if buf.len() < READ_CHUNK {
                buf.resize(READ_CHUNK, 0);
            }
            let n = self.file.read_at(&mut buf[..want], self.read_offset)?;
            self.learn_head(&buf[..n]);
            let mut rest = &buf[..n];
            while let Some(pos) = memchr::memchr(b'\n', rest) {
                let (line, span) = if self.partial.is_empty() {
                    self.partial_since = None;
                    cut_line(line_start, &rest[..pos], max_line)
                } else {
                    self.partial.extend_from_slice(&rest[..pos]);
                    self.take_partial(line_start, max_line)
                };
                rest = &rest[pos + 1..];
                line_start += span + 1;
                lines.push(line);
            }
            if !rest.is_empty() {
                self.partial.extend_from_slice(rest);
                self.partial_since = Some(Instant::now());
            }
            Ok(n)
        })?;
        self.read_offset += n as u64;
        // An over-long unterminated line is cut now instead of growing forever.
        while self.partial.len() > max_line {
            let tail = self.partial.split_off(max_line);
            let consumed = self.partial.len() as u64;
            lines.push(Line { start: line_start, text: lossy(&self.partial), truncated: true });
            line_start += consumed;
            self.partial = tail;
        }
        let idle = self.partial_since.is_some_and(|since| since.elapsed() >= partial_timeout);
        if n == 0 && !self.partial.is_empty() && idle {
            let consumed = self.partial.len() as u64;
            lines.push(Line { start: line_start, text: lossy(&self.partial), truncated: false });
            self.partial.clear();
            self.partial_since = None;
            line_start += consumed;
        }
        if lines.is_empty() {
            return Ok(None);
        }
        Ok(Some(Chunk { lines, end: line_start }))
    }

    /// Takes the buffered bytes as one line (cut to `max_line`); returns the
    /// line and how many bytes it spanned in the file.
    fn take_partial(&mut self, start: u64, max_line: usize) -> (Line, u64) {
        let line = cut_line(start, &self.partial, max_line);
        self.partial.clear();
        self.partial_since = None;
        line
    }

    fn handle_truncation(&mut self, len: u64) {
        tracing::warn!(path = %self.path.display(), offset = self.read_offset, len, "file truncated; reading it again from the start");
        self.read_offset = 0;
        self.partial.clear();
        self.partial_since = None;
        // The committed offset restarts with the new content.
        self.truncated = true;
        self.acked_offset = 0;
        self.head.clear();
        self.fingerprint = None;
        self.resets += 1;
    }

    /// Extends `head` with the bytes just read at `read_offset`, while it
    /// is shorter than a fingerprint and the read follows it.
    fn learn_head(&mut self, read: &[u8]) {
        let (known, at) = (self.head.len() as u64, self.read_offset);
        if known >= FINGERPRINT_BYTES || at > known || at + read.len() as u64 <= known {
            return;
        }
        let from = (known - at) as usize;
        let to = read.len().min((FINGERPRINT_BYTES - at) as usize);
        self.head.extend_from_slice(&read[from..to]);
        self.fingerprint = Fingerprint::of_bytes(&self.head);
    }

    /// Goes back to `offset` (a committed position, after a transaction
    /// aborted): what was read past it is read again.
    pub fn rewind(&mut self, offset: u64) {
        self.read_offset = offset;
        self.acked_offset = offset;
        self.partial.clear();
        self.partial_since = None;
        self.resets += 1;
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Bytes appended past what was read (0 when the file shrank: the next
    /// read notices the truncation).
    pub fn unread(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len().saturating_sub(self.read_offset))
    }

    /// Read to the end, nothing held back, everything read committed.
    pub fn is_drained(&self) -> std::io::Result<bool> {
        Ok(self.acked_offset >= self.read_offset
            && self.partial.is_empty()
            && self.file.metadata()?.len() <= self.read_offset)
    }
}

/// `bytes` (a line without its newline) as a line starting at `start`:
/// without a final `\r`, cut to `max_line`; with how many bytes it spanned.
fn cut_line(start: u64, bytes: &[u8], max_line: usize) -> (Line, u64) {
    let span = bytes.len() as u64;
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let truncated = bytes.len() > max_line;
    (Line { start, text: lossy(&bytes[..bytes.len().min(max_line)]), truncated }, span)
}

/// The text of a line: one copy when it is valid UTF-8, invalid bytes
/// replaced otherwise.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_file(name: &str, content: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("lw-tail-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path
    }

    fn texts(chunk: &Chunk) -> Vec<&str> {
        chunk.lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn complete_lines_then_a_held_back_tail() {
        let path = temp_file("a", b"one\r\ntwo\nthr");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        let chunk = t.read_lines(1024, Duration::from_secs(3600)).unwrap().unwrap();
        assert_eq!(texts(&chunk), ["one", "two"]);
        assert_eq!(chunk.end, 9);
        assert_eq!(chunk.lines[1].start, 5);
        assert!(t.read_lines(1024, Duration::from_secs(3600)).unwrap().is_none());
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"ee\n").unwrap();
        let chunk = t.read_lines(1024, Duration::from_secs(3600)).unwrap().unwrap();
        assert_eq!(texts(&chunk), ["three"]);
        assert_eq!((chunk.lines[0].start, chunk.end), (9, 15));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_read_within_a_limit_stops_at_the_last_whole_line_in_it() {
        let path = temp_file("limit", b"one\ntwo\nthree\n");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        assert_eq!(t.unread().unwrap(), 14);
        // Six bytes hold "one\n" and "tw": the rest of the line is read later.
        let chunk = t.read_lines_within(6, 1024, Duration::from_secs(3600)).unwrap().unwrap();
        assert_eq!((texts(&chunk), chunk.end), (vec!["one"], 4));
        assert_eq!(t.unread().unwrap(), 8);
        assert!(t.read_lines_within(0, 1024, Duration::from_secs(3600)).unwrap().is_none());
        let chunk = t.read_lines(1024, Duration::from_secs(3600)).unwrap().unwrap();
        assert_eq!((texts(&chunk), chunk.end), (vec!["two", "three"], 14));
        assert_eq!(t.unread().unwrap(), 0);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn unterminated_last_line_is_sent_after_the_timeout() {
        let path = temp_file("b", b"first\nlast");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        let chunk = t.read_lines(1024, Duration::ZERO).unwrap().unwrap();
        assert_eq!(texts(&chunk), ["first"]);
        let chunk = t.read_lines(1024, Duration::ZERO).unwrap().unwrap();
        assert_eq!(texts(&chunk), ["last"]);
        assert_eq!(chunk.end, 10);
        assert!(!t.is_drained().unwrap(), "read, not yet committed");
        t.acked_offset = chunk.end;
        assert!(t.is_drained().unwrap());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn long_lines_are_cut_and_flagged_not_dropped() {
        let path = temp_file("c", b"abcdefghij\nxy\n");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        let chunk = t.read_lines(4, Duration::ZERO).unwrap().unwrap();
        assert_eq!(texts(&chunk), ["abcd", "xy"]);
        assert!(chunk.lines[0].truncated);
        assert_eq!(chunk.end, 14);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn resumes_from_a_checkpoint_and_restarts_after_truncation() {
        let path = temp_file("d", b"aaa\nbbb\n");
        let mut t = TailedFile::open(&path, 4, None).unwrap();
        assert_eq!(texts(&t.read_lines(1024, Duration::ZERO).unwrap().unwrap()), ["bbb"]);
        std::fs::write(&path, b"c\n").unwrap();
        assert_eq!(texts(&t.read_lines(1024, Duration::ZERO).unwrap().unwrap()), ["c"]);
        // A checkpoint beyond the end of the file is not trusted.
        let t = TailedFile::open(&path, 100, None).unwrap();
        assert_eq!(t.acked_offset, 0);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_reused_inode_with_other_content_is_read_from_the_start() {
        let path = temp_file("f", b"old line one\nold line two\n");
        let old = TailedFile::open(&path, 0, None).unwrap().fingerprint;
        assert!(old.is_some());
        // Same path, same inode, other content of at least the same length.
        std::fs::write(&path, b"new line one\nnew line two\nnew three\n").unwrap();
        let mut t = TailedFile::open(&path, 13, old).unwrap();
        assert_eq!(t.acked_offset, 0, "the old file's offset is not applied to new content");
        assert_eq!(texts(&t.read_lines(1024, Duration::ZERO).unwrap().unwrap())[0], "new line one");
        // The same content (a renamed file, or a restart) resumes.
        let t = TailedFile::open(&path, 13, t.fingerprint).unwrap();
        assert_eq!(t.acked_offset, 13);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_truncation_hidden_by_new_writes_is_noticed() {
        let path = temp_file("h", b"old 1\nold 2\n");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        assert_eq!(texts(&t.read_lines(1024, Duration::ZERO).unwrap().unwrap()), ["old 1", "old 2"]);
        // Truncated, then more written than was there before.
        std::fs::write(&path, b"new 1\nnew 2\nnew 3\n").unwrap();
        assert_eq!(texts(&t.read_lines(1024, Duration::ZERO).unwrap().unwrap()), ["new 1", "new 2", "new 3"]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn content_replaced_before_the_first_read_is_noticed() {
        // Opened at offset 0 (new content, or rewound there after an
        // aborted transaction), then copytruncated and written again before
        // anything was read: what is read is other content, under a new
        // position, not the old content's.
        let path = temp_file("i", b"old 1\nold 2\n");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        std::fs::write(&path, b"new 1\nnew 2\nnew 3\n").unwrap();
        assert_eq!(texts(&t.read_lines(1024, Duration::ZERO).unwrap().unwrap()), ["new 1", "new 2", "new 3"]);
        assert!(t.truncated, "the old content's position must not move over the new content");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_fingerprint_grows_with_the_bytes_read_and_never_from_a_later_look() {
        let path = temp_file("g", b"ab\n");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        assert_eq!(t.fingerprint.map(|f| f.bytes), Some(3));
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all("ab\n".repeat(1000).as_bytes()).unwrap();
        assert_eq!(t.fingerprint.map(|f| f.bytes), Some(3), "nothing more read yet");
        t.read_lines(1024, Duration::ZERO).unwrap().unwrap();
        assert!(t.fingerprint.is_some_and(|f| f.is_complete()));
        assert_eq!(t.fingerprint, Fingerprint::of_bytes("ab\n".repeat(1001).as_bytes()));
        // After a truncation, the fingerprint is the new content's as read,
        // even when the file changes again before the position is written.
        std::fs::write(&path, b"new 1\n").unwrap();
        t.read_lines(1024, Duration::ZERO).unwrap().unwrap();
        assert!(t.truncated);
        assert_eq!(t.fingerprint, Fingerprint::of_bytes(b"new 1\n"));
        std::fs::write(&path, b"other content, longer than the first\n").unwrap();
        assert_eq!(t.fingerprint, Fingerprint::of_bytes(b"new 1\n"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_aborted_transaction_rewinds_to_the_committed_offset() {
        let path = temp_file("e", b"a\nb\n");
        let mut t = TailedFile::open(&path, 0, None).unwrap();
        let chunk = t.read_lines(1024, Duration::ZERO).unwrap().unwrap();
        assert_eq!(texts(&chunk), ["a", "b"]);
        assert!(!t.is_drained().unwrap(), "read but not committed");
        t.rewind(2);
        let again = t.read_lines(1024, Duration::ZERO).unwrap().unwrap();
        assert_eq!(texts(&again), ["b"]);
        t.acked_offset = again.end;
        assert!(t.is_drained().unwrap());
        std::fs::remove_file(path).unwrap();
    }
}
