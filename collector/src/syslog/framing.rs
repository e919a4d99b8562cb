//! RFC 6587 framing of syslog over a byte stream, detected per message:
//! octet counting (`LEN SP MSG`) when a frame starts with a digit and the
//! digits end in a space, otherwise non-transparent framing ended by LF
//! (NUL and CRLF tolerated). Oversized messages keep their first
//! `max` bytes and are flagged; the rest is skipped, never a whole message.

use bytes::{Buf, BytesMut};

/// One message without its framing.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    /// The message was longer than the limit and was cut.
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a frame boundary.
    Start,
    /// Skipping the rest of an oversized octet-counted message.
    Skip(usize),
    /// Skipping the rest of an oversized newline-terminated message.
    SkipLine,
}

/// Octet counts longer than this many digits are not octet counts.
const MAX_DIGITS: usize = 10;

#[derive(Debug)]
pub struct Decoder {
    max: usize,
    state: State,
}

impl Decoder {
    pub fn new(max: usize) -> Decoder {
        Decoder {
            max,
            state: State::Start,
        }
    }

    /// The next complete message in `buf`, consuming its bytes; `None` when
    /// more input is needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        loop {
            match self.state {
                State::Skip(remaining) => {
                    let n = remaining.min(buf.len());
                    buf.advance(n);
                    if n < remaining {
                        self.state = State::Skip(remaining - n);
                        return None;
                    }
                    self.state = State::Start;
                }
                State::SkipLine => match buf.iter().position(|&b| b == b'\n' || b == 0) {
                    Some(end) => {
                        buf.advance(end + 1);
                        self.state = State::Start;
                    }
                    None => {
                        buf.clear();
                        return None;
                    }
                },
                State::Start => {
                    let blank = buf
                        .iter()
                        .take_while(|&&b| matches!(b, b'\n' | b'\r' | 0))
                        .count();
                    buf.advance(blank);
                    if buf.is_empty() {
                        return None;
                    }
                    match octet_count(buf) {
                        Count::NeedMore => return None,
                        Count::Octets { digits, len } => return self.octet_frame(buf, digits, len),
                        Count::NotCounted => return self.line_frame(buf),
                    }
                }
            }
        }
    }

    /// What is left at end of stream: a last message without its LF.
    pub fn finish(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if let Some(frame) = self.decode(buf) {
            return Some(frame);
        }
        if self.state != State::Start || buf.is_empty() {
            buf.clear();
            return None;
        }
        let bytes = trim_end(&buf[..]).to_vec();
        buf.clear();
        (!bytes.is_empty()).then_some(Frame {
            bytes,
            truncated: false,
        })
    }

    fn octet_frame(&mut self, buf: &mut BytesMut, digits: usize, len: usize) -> Option<Frame> {
        let header = digits + 1;
        let keep = len.min(self.max);
        if buf.len() < header + keep {
            return None;
        }
        buf.advance(header);
        let bytes = buf.split_to(keep).to_vec();
        if len > keep {
            self.state = State::Skip(len - keep);
        }
        Some(Frame {
            bytes: trim_end(&bytes).to_vec(),
            truncated: len > keep,
        })
    }

    fn line_frame(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        let window = buf.len().min(self.max + 1);
        match buf[..window].iter().position(|&b| b == b'\n' || b == 0) {
            Some(end) => {
                let bytes = trim_end(&buf[..end]).to_vec();
                buf.advance(end + 1);
                Some(Frame {
                    bytes,
                    truncated: false,
                })
            }
            None if buf.len() > self.max => {
                let bytes = buf.split_to(self.max).to_vec();
                self.state = State::SkipLine;
                Some(Frame {
                    bytes,
                    truncated: true,
                })
            }
            None => None,
        }
    }
}

enum Count {
    NeedMore,
    Octets { digits: usize, len: usize },
    NotCounted,
}

fn octet_count(buf: &[u8]) -> Count {
    if !matches!(buf[0], b'1'..=b'9') {
        return Count::NotCounted;
    }
    for (i, &b) in buf.iter().enumerate().take(MAX_DIGITS + 1) {
        match b {
            b'0'..=b'9' if i < MAX_DIGITS => {}
            b' ' => {
                let len = std::str::from_utf8(&buf[..i])
                    .ok()
                    .and_then(|d| d.parse().ok());
                return match len {
                    Some(len) => Count::Octets { digits: i, len },
                    None => Count::NotCounted,
                };
            }
            _ => return Count::NotCounted,
        }
    }
    if buf.len() <= MAX_DIGITS {
        Count::NeedMore
    } else {
        Count::NotCounted
    }
}

/// Drops a trailing CR, LF or NUL that senders add inside the frame.
fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| !matches!(b, b'\n' | b'\r' | 0))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of `chunk` bytes and collects every frame.
    fn frames(input: &[u8], max: usize, chunk: usize) -> Vec<(String, bool)> {
        let mut decoder = Decoder::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(frame) = decoder.decode(&mut buf) {
                out.push((String::from_utf8(frame.bytes).unwrap(), frame.truncated));
            }
        }
        if let Some(frame) = decoder.finish(&mut buf) {
            out.push((String::from_utf8(frame.bytes).unwrap(), frame.truncated));
        }
        out
    }

    fn whole(texts: &[&str]) -> Vec<(String, bool)> {
        texts.iter().map(|t| (t.to_string(), false)).collect()
    }

    #[test]
    fn both_framings_mix_on_one_connection_in_any_chunking() {
        let input = b"<13>Jan  1 00:00:00 h a: one\n12 <13>two\nthree\r\n<13>four\x005 <13>5\n";
        for chunk in 1..input.len() {
            assert_eq!(
                frames(input, 1024, chunk),
                whole(&[
                    "<13>Jan  1 00:00:00 h a: one",
                    "<13>two\nthre",
                    "e",
                    "<13>four",
                    "<13>5"
                ]),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn octet_counted_messages_may_hold_newlines() {
        let msg = "<13>line one\nline two";
        let input = format!("{} {msg}{} {msg}", msg.len(), msg.len());
        assert_eq!(frames(input.as_bytes(), 1024, 7), whole(&[msg, msg]));
    }

    #[test]
    fn oversized_messages_are_cut_and_flagged_not_dropped() {
        let long = "x".repeat(100);
        let input = format!("100 {long}<13>next\n{long}\n<13>after\n");
        let got = frames(input.as_bytes(), 40, 9);
        assert_eq!(
            got,
            vec![
                ("x".repeat(40), true),
                ("<13>next".to_string(), false),
                ("x".repeat(40), true),
                ("<13>after".to_string(), false),
            ]
        );
    }

    #[test]
    fn a_last_message_without_terminator_is_kept() {
        assert_eq!(frames(b"<13>a\n<13>b", 64, 3), whole(&["<13>a", "<13>b"]));
        assert_eq!(frames(b"123", 64, 1), whole(&["123"]));
        assert_eq!(frames(b"\n\r\n\x00", 64, 1), whole(&[]));
    }

    #[test]
    fn digits_that_are_not_a_count_are_text() {
        assert_eq!(
            frames(b"2026-01-01 text\n12345678901 y\n", 64, 4),
            whole(&["2026-01-01 text", "12345678901 y"])
        );
    }
}
