//! Multiline events: continuation lines (stack traces, tracebacks) are
//! joined to the line that started them.
//!
//! The joiner holds the pending event's lines in memory; the offsets it hands
//! out say where the checkpoint may move once an event is acknowledged, so a
//! crash reads a pending event again from its first line, never half of it.

use std::time::Instant;

use logwarden_config::Multiline;

use crate::file::Line;

/// One event cut from a file: one line, or a start line and its continuations.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    /// Offset of the first byte of the first line.
    pub start: u64,
    /// Offset just past the last line: the checkpoint once acknowledged.
    pub end: u64,
    pub text: String,
    /// Why the record was cut short or split, for `parse.error`.
    pub cut: Option<String>,
}

#[derive(Debug)]
pub struct Joiner {
    config: Multiline,
    max_bytes: usize,
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Pending {
    start: u64,
    end: u64,
    text: String,
    lines: usize,
    cut: Option<String>,
    /// When the last line was added.
    touched: Instant,
}

impl Joiner {
    pub fn new(config: Multiline, max_bytes: usize) -> Joiner {
        Joiner { config, max_bytes, pending: None }
    }

    /// Adds a line spanning `start..end` in the file, read at `now`; returns
    /// the records it completes.
    pub fn push(&mut self, line: Line, end: u64, now: Instant, out: &mut Vec<Record>) {
        let line_cut = line.truncated.then(|| format!("line longer than {} bytes; truncated", self.max_bytes));
        let starts = self.config.start.is_match(&line.text);
        if let Some(pending) = &mut self.pending {
            if !starts {
                if pending.lines >= self.config.max_lines {
                    let reason = format!("multiline event longer than {} lines; continued in the next event", self.config.max_lines);
                    pending.cut.get_or_insert(reason);
                } else if pending.text.len() + 1 + line.text.len() > self.max_bytes {
                    let reason = format!("multiline event longer than {} bytes; continued in the next event", self.max_bytes);
                    pending.cut.get_or_insert(reason);
                } else {
                    pending.text.push('\n');
                    pending.text.push_str(&line.text);
                    pending.lines += 1;
                    pending.end = end;
                    pending.touched = now;
                    if pending.cut.is_none() {
                        pending.cut = line_cut;
                    }
                    return;
                }
            }
            out.extend(self.flush());
        }
        self.pending = Some(Pending { start: line.start, end, text: line.text, lines: 1, cut: line_cut, touched: now });
    }

    /// Sends the pending record once no line was added for the timeout.
    pub fn poll(&mut self, now: Instant) -> Option<Record> {
        let idle = self.pending.as_ref().is_some_and(|p| now.saturating_duration_since(p.touched) >= self.config.timeout);
        if idle { self.flush() } else { None }
    }

    /// Sends the pending record now (shutdown, file released).
    pub fn flush(&mut self) -> Option<Record> {
        self.pending.take().map(|p| Record { start: p.start, end: p.end, text: p.text, cut: p.cut })
    }

    /// Forgets the pending record: the file is read again from an earlier
    /// offset (rewind after a failed batch, truncation).
    pub fn clear(&mut self) {
        self.pending = None;
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_none()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn joiner(max_lines: usize, max_bytes: usize) -> Joiner {
        let config = Multiline {
            start: regex::Regex::new(r"^\d{4}-").unwrap(),
            timeout: Duration::from_secs(1),
            max_lines,
        };
        Joiner::new(config, max_bytes)
    }

    /// Pushes `text` as lines starting at `offset`; returns what completed.
    fn feed(j: &mut Joiner, offset: &mut u64, text: &str, now: Instant) -> Vec<Record> {
        let mut out = Vec::new();
        for line in text.lines() {
            let start = *offset;
            *offset += line.len() as u64 + 1;
            j.push(Line { start, text: line.to_string(), truncated: false }, *offset, now, &mut out);
        }
        out
    }

    const TRACE: &str = "2026-01-01 ERROR boom\njava.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)\n";

    #[test]
    fn continuation_lines_join_until_the_next_start() {
        let mut j = joiner(500, 1 << 20);
        let now = Instant::now();
        let mut offset = 0;
        assert!(feed(&mut j, &mut offset, TRACE, now).is_empty(), "held until the next start line");
        let out = feed(&mut j, &mut offset, "2026-01-01 INFO next\n", now);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, TRACE.trim_end());
        assert_eq!((out[0].start, out[0].end, out[0].cut.as_deref()), (0, TRACE.len() as u64, None));
        let last = j.flush().unwrap();
        assert_eq!((last.text.as_str(), last.start), ("2026-01-01 INFO next", TRACE.len() as u64));
        assert!(j.is_empty());
    }

    #[test]
    fn the_timeout_sends_the_pending_event() {
        let mut j = joiner(500, 1 << 20);
        let now = Instant::now();
        let mut offset = 0;
        feed(&mut j, &mut offset, TRACE, now);
        assert_eq!(j.poll(now + Duration::from_millis(999)), None);
        let record = j.poll(now + Duration::from_secs(1)).unwrap();
        assert_eq!(record.text.lines().count(), 4);
        assert!(j.poll(now + Duration::from_secs(5)).is_none());
    }

    #[test]
    fn leading_continuation_lines_are_an_event_of_their_own() {
        let mut j = joiner(500, 1 << 20);
        let mut offset = 0;
        let out = feed(&mut j, &mut offset, "\tat orphan\n\tat orphan2\n2026-01-01 x\n", Instant::now());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "\tat orphan\n\tat orphan2");
    }

    #[test]
    fn max_lines_cuts_flags_and_keeps_the_rest() {
        let mut j = joiner(3, 1 << 20);
        let mut offset = 0;
        let out = feed(&mut j, &mut offset, TRACE, Instant::now());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text.lines().count(), 3);
        assert!(out[0].cut.as_deref().unwrap().contains("3 lines"));
        let rest = j.flush().unwrap();
        assert_eq!(rest.text, "\tat a.B.d(B.java:2)");
        assert_eq!((out[0].end, rest.start, rest.end), (rest.start, rest.start, TRACE.len() as u64));
    }

    #[test]
    fn max_bytes_cuts_flags_and_keeps_the_rest() {
        let mut j = joiner(500, 40);
        let mut offset = 0;
        let out = feed(&mut j, &mut offset, TRACE, Instant::now());
        assert!(out.iter().all(|r| r.text.len() <= 40));
        assert!(out[0].cut.as_deref().unwrap().contains("40 bytes"));
        let mut all: Vec<String> = out.into_iter().map(|r| r.text).collect();
        all.extend(j.flush().map(|r| r.text));
        assert_eq!(all.join("\n"), TRACE.trim_end(), "nothing lost");
    }

    #[test]
    fn a_truncated_line_flags_its_event() {
        let mut j = joiner(500, 1 << 20);
        let mut out = Vec::new();
        let now = Instant::now();
        j.push(Line { start: 0, text: "2026-01-01 x".into(), truncated: false }, 13, now, &mut out);
        j.push(Line { start: 13, text: "\tat long".into(), truncated: true }, 30, now, &mut out);
        let record = j.flush().unwrap();
        assert!(record.cut.unwrap().contains("truncated"));
        assert_eq!(record.end, 30);
    }
}
