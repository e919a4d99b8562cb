//! The wire payload read without serde, for the shape nearly every event
//! has: one object of strings, whole numbers, and the `fields` object.
//! Each key goes straight to the schema's slot table and each value
//! straight into the document, with no visitor between them; a string's
//! end is found sixteen bytes at a time (SSE2), its escapes checked on
//! the way.
//!
//! It reads exactly what serde_json reads, or declines: anything it does
//! not know to the byte (a key with an escape, a number too long for its
//! fast path that serde_json also refuses, nesting deeper than
//! [`MAX_DEPTH`], any JSON error) makes [`read`] answer `None`, and the
//! caller reads the payload again with serde_json, whose answer stands,
//! errors included. What it hands to serde_json is only ever a piece of
//! the payload to check or decode the way the whole parse would (a
//! string with escapes, a float, an array or object). The two readers
//! act on the document through the same [`Builder`] methods; the fuzz
//! target `document` and the tests below check that both give the same
//! document for any input.
//!
//! Why: the one-pass mapping spent ~60 % of its time building the
//! document around serde_json's parse (the visitors, the key dispatch
//! through `deserialize_any`), and serde_json's byte-at-a-time key and
//! value framing (BENCHMARKS.md, "A reader of its own for the wire
//! event").

use std::borrow::Cow;

use serde::de::IgnoredAny;

use logwarden_event::json_bytes::next_special;

use super::{Builder, FreeValue};
use crate::schema::Slot;

/// Arrays and objects nested deeper than this are declined (serde_json
/// refuses past 128 levels; an array in a free field of `fields` starts
/// at the third).
const MAX_DEPTH: usize = 100;

/// Reads `raw` into `builder` when the fast reader reads it exactly as
/// serde_json would; `None` when it declines (the builder then holds
/// part of the event, and the caller resets it).
pub(super) fn read<'de>(builder: &mut Builder<'_, 'de>, raw: &'de str) -> Option<()> {
    let mut reader = Reader { raw, bytes: raw.as_bytes(), at: 0 };
    reader.space();
    reader.expect(b'{')?;
    reader.members(|reader, key| event_member(reader, builder, key))?;
    reader.space();
    (reader.at == reader.bytes.len()).then_some(())
}

/// A top-level key's value, where the slot table sends it (as
/// `EventSeed` does with serde_json).
fn event_member<'de>(reader: &mut Reader<'de>, b: &mut Builder<'_, 'de>, key: &'de str) -> Option<()> {
    match b.schema.slot(key) {
        Some(Slot::Timestamp) => {
            let text = reader.str_or_other()?;
            b.timestamp(text);
        }
        Some(Slot::Ingested(field)) => {
            if let Some(text) = reader.str_or_other()? {
                b.ingested(field, &text);
            }
        }
        Some(Slot::Text(field)) => {
            if let Some(text) = reader.str_or_other()? {
                b.parts.push_text(field, text);
            }
        }
        Some(Slot::Keyword(field)) if reader.peek()? == b'"' => b.parts.push_text(field, reader.string()?),
        Some(Slot::Keyword(field)) => match reader.value()? {
            Scalar::Str(text) => b.parts.push_text(field, text),
            Scalar::U64(n) => b.parts.push_number_text(field, n),
            Scalar::I64(n) => b.parts.push_number_text(field, n),
            Scalar::F64(n) => b.parts.push_float_text(field, n),
            other => other.check()?,
        },
        Some(Slot::Stream(field)) => {
            if let Some(stream) = reader.str_or_other()? {
                b.stream(field, stream);
            }
        }
        Some(Slot::Number(field)) => match reader.value()? {
            Scalar::U64(n) => b.parts.push(field, super::Part::U64(n)),
            // Negative: not a whole number field's value.
            Scalar::I64(_) => {}
            other => other.check()?,
        },
        Some(Slot::Skip) => reader.skip()?,
        Some(Slot::Free) => {
            if reader.peek()? == b'{' {
                reader.at += 1;
                reader.members(|reader, key| {
                    if b.schema.free_field_indexed(key) {
                        let value = reader.value()?.into_free(reader.raw)?;
                        b.free(key, value, false);
                        Some(())
                    } else {
                        reader.skip()
                    }
                })?;
            } else {
                reader.skip()?;
            }
        }
        None if b.schema.free_field_indexed(key) => {
            let value = reader.value()?.into_free(reader.raw)?;
            b.free(key, value, true);
        }
        None => reader.skip()?,
    }
    Some(())
}

/// A value as read: a string, a number, a literal, or an array or object
/// (its text, not yet checked).
enum Scalar<'de> {
    Str(Cow<'de, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    Composite(&'de str),
}

impl<'de> Scalar<'de> {
    /// The string, `Some(None)` for any other valid value.
    fn into_str(self) -> Option<Option<Cow<'de, str>>> {
        match self {
            Scalar::Str(text) => Some(Some(text)),
            other => other.check().map(|()| None),
        }
    }

    /// `Some` when the value is valid JSON: an array or object is checked
    /// as serde_json checks a value it skips; the rest were checked when
    /// read.
    fn check(self) -> Option<()> {
        match self {
            Scalar::Composite(text) => serde_json::from_str::<IgnoredAny>(text).ok().map(drop),
            _ => Some(()),
        }
    }

    /// A free field's value, as `FreeSeed` converts it.
    fn into_free(self, raw: &str) -> Option<FreeValue> {
        Some(match self {
            Scalar::Str(text) => FreeValue::of_str(raw, text),
            Scalar::U64(n) => FreeValue::of_u64(n),
            Scalar::I64(n) => FreeValue::I64(n),
            Scalar::F64(n) => FreeValue::of_f64(n),
            Scalar::Bool(b) => FreeValue::Bool(b),
            Scalar::Null => FreeValue::Null,
            Scalar::Composite(text) => FreeValue::of_json(serde_json::from_str(text).ok()?),
        })
    }
}

/// A position in the payload.
struct Reader<'de> {
    raw: &'de str,
    bytes: &'de [u8],
    at: usize,
}

impl<'de> Reader<'de> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Skips JSON's four whitespace bytes.
    #[inline]
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// The members of an object whose `{` was read, each key handed to
    /// `member`, which reads its value; through the closing `}`.
    #[inline]
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'de str) -> Option<()>) -> Option<()> {
        self.space();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            self.space();
            let key = self.key()?;
            self.space();
            self.expect(b':')?;
            self.space();
            member(self, key)?;
            self.space();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A key (declined when it holds an escape: keys have none in
    /// practice).
    #[inline(always)]
    fn key(&mut self) -> Option<&'de str> {
        match self.string_bounds()? {
            (start, end, false) => self.raw.get(start..end),
            _ => None,
        }
    }

    /// A string: borrowed, or decoded when it holds escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'de, str>> {
        let (start, end, escaped) = self.string_bounds()?;
        if escaped { self.decode_string(start, end).map(Cow::Owned) } else { self.raw.get(start..end).map(Cow::Borrowed) }
    }

    /// A string value, `Some(None)` for any other valid value.
    #[inline]
    fn str_or_other(&mut self) -> Option<Option<Cow<'de, str>>> {
        if self.peek()? == b'"' { self.string().map(Some) } else { self.value()?.into_str() }
    }

    /// Any value.
    #[inline]
    fn value(&mut self) -> Option<Scalar<'de>> {
        match self.peek()? {
            b'"' => self.string().map(Scalar::Str),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true", Scalar::Bool(true)),
            b'f' => self.literal(b"false", Scalar::Bool(false)),
            b'n' => self.literal(b"null", Scalar::Null),
            b'[' | b'{' => self.composite().map(Scalar::Composite),
            _ => None,
        }
    }

    /// Any value, read through and checked, not kept.
    #[inline]
    fn skip(&mut self) -> Option<()> {
        if self.peek()? == b'"' {
            // Its escapes were checked in finding its end.
            self.string_bounds().map(drop)
        } else {
            self.value()?.check()
        }
    }

    fn literal(&mut self, word: &[u8], value: Scalar<'de>) -> Option<Scalar<'de>> {
        self.bytes.get(self.at..)?.starts_with(word).then(|| {
            self.at += word.len();
            value
        })
    }

    /// A string from its opening quote: where its text starts and ends,
    /// and whether it holds a backslash (its escapes checked as JSON
    /// reads them).
    #[inline(always)]
    fn string_bounds(&mut self) -> Option<(usize, usize, bool)> {
        self.expect(b'"')?;
        let start = self.at;
        let at = next_special(self.bytes, start);
        match *self.bytes.get(at)? {
            b'"' => {
                self.at = at + 1;
                Some((start, at, false))
            }
            b'\\' => self.escaped_string_end(start, at),
            // A control byte, which JSON does not allow in a string.
            _ => None,
        }
    }

    /// The rest of a string holding a backslash at `at`: its end, each
    /// escape checked on the way.
    #[cold]
    fn escaped_string_end(&mut self, start: usize, mut at: usize) -> Option<(usize, usize, bool)> {
        loop {
            match *self.bytes.get(at)? {
                b'"' => {
                    self.at = at + 1;
                    return Some((start, at, true));
                }
                b'\\' => at = next_special(self.bytes, escape(self.bytes, at)?.1),
                _ => return None,
            }
        }
    }

    /// The string between `start` and `end`, its escapes decoded.
    fn decode_string(&self, start: usize, end: usize) -> Option<String> {
        let text = self.bytes.get(start..end)?;
        let mut decoded = Vec::with_capacity(text.len());
        unescape(text, |piece| decoded.extend_from_slice(piece))?;
        // The payload is UTF-8 and every escape decodes to a whole char.
        String::from_utf8(decoded).ok()
    }

    /// A number: a whole number of up to 18 digits read here, any other
    /// (a fraction, an exponent, more digits, `-0`) checked and read by
    /// serde_json as the whole parse reads it.
    #[inline]
    fn number(&mut self) -> Option<Scalar<'de>> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let digits_start = self.at;
        let mut n: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            n = n.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            self.at += 1;
        }
        let digits = self.at - digits_start;
        if digits == 0 || (digits > 1 && self.bytes[digits_start] == b'0') {
            return None;
        }
        let whole = !matches!(self.peek(), Some(b'.' | b'e' | b'E'));
        if whole && digits <= 18 && !(negative && n == 0) {
            // 18 digits fit in an i64 either way.
            return Some(if negative { Scalar::I64(-(n as i64)) } else { Scalar::U64(n) });
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.digits()?;
        }
        let text = self.raw.get(start..self.at)?;
        match serde_json::from_str::<serde_json::Number>(text).ok()? {
            n if n.is_u64() => n.as_u64().map(Scalar::U64),
            n if n.is_i64() => n.as_i64().map(Scalar::I64),
            n => n.as_f64().map(Scalar::F64),
        }
    }

    /// One digit or more.
    fn digits(&mut self) -> Option<()> {
        let from = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        (self.at > from).then_some(())
    }

    /// An array or object's text, from its opening bracket to the one
    /// that closes it (strings stepped over whole); checked by the caller.
    fn composite(&mut self) -> Option<&'de str> {
        let start = self.at;
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return None;
                    }
                    self.at += 1;
                }
                b']' | b'}' => {
                    depth -= 1;
                    self.at += 1;
                    if depth == 0 {
                        return self.raw.get(start..self.at);
                    }
                }
                b'"' => {
                    self.string_bounds()?;
                }
                _ => self.at += 1,
            }
        }
    }
}

/// Hands the pieces of a string's text (without its quotes) that make it
/// once its escapes are decoded to `piece`: the runs between escapes as
/// they are, each escape as the UTF-8 of its char. `None` for an escape
/// [`escape`] declines.
fn unescape(text: &[u8], mut piece: impl FnMut(&[u8])) -> Option<()> {
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'\\', &text[from..]) {
        let at = from + found;
        piece(&text[from..at]);
        let (c, end) = escape(text, at)?;
        piece(c.encode_utf8(&mut [0; 4]).as_bytes());
        from = end;
    }
    piece(&text[from..]);
    Some(())
}

/// The char an escape that starts at `at` (a backslash) stands for, and
/// where the escape ends, when JSON has it: a backslash and one of
/// `"\/bfnrt`, or `\u` and four hex digits. `\u` escapes of surrogates
/// are declined (no char is one), so that serde_json's handling of pairs
/// and lone halves stands.
#[inline]
fn escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let c = match *bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\x08',
        b'f' => '\x0c',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hex = bytes.get(at + 2..at + 6)?;
            let code = hex.iter().try_fold(0u32, |n, &b| Some(n * 16 + char::from(b).to_digit(16)?))?;
            return char::from_u32(code).map(|c| (c, at + 6));
        }
        _ => return None,
    };
    Some((c, at + 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{FreeFields, LogSchema};

    /// What the mapping gives, written out whole (spans and owned text
    /// told apart), or the reason it refused.
    fn outcome(mapped: Result<crate::schema::Mapped, String>) -> Result<String, String> {
        mapped.map(|m| format!("{:?} {} {}", m.document, m.timestamp, m.stream()))
    }

    /// Whether the fast reader reads `raw` itself (rather than declining).
    fn reads(schema: &LogSchema, raw: &str) -> bool {
        let mut builder = Builder {
            schema,
            parts: super::super::Parts { raw, parts: Vec::new() },
            timestamp: None,
            stream: None,
            free: Vec::new(),
        };
        read(&mut builder, raw).is_some()
    }

    const T: &str = r#""@timestamp":"2026-01-01T00:00:00Z""#;

    /// Wire events as the collector writes them, and JSON logs' shapes:
    /// the fast reader reads each itself, and to the same document.
    fn everyday() -> Vec<String> {
        [
            r#""event.ingested":"2026-01-01T00:00:01.5Z","event.id":"f1:42","event.original":"Jan  1 00:00:00 web01 sshd[42]: Failed password for root","message":"Failed password for root","stream":"auth","host.name":"web01","log.file.path":"/var/log/auth.log","log.offset":4242,"process.name":"sshd","process.pid":42,"user.name":"root","fields":{"pam.tty":"pts/0","user.id":"0"}"#,
            r#""message":"GET /a?q=\"x\" HTTP/1.1 caf\u00e9 \ud55c\uae00 \\ \/ \b\f\n\r\t","event.original":"10.0.0.1 - - \"GET /\" 200","http.response.status_code":200,"source.ip":"10.0.0.1""#,
            r#""message":"한글 로그 ✓","level":"warn","duration":0.25,"bytes":-12,"ok":true,"gone":null,"tags":["a","b"],"ctx":{"k":[1,2.5,{"z":null}]},"fields":{"lat":-1.5e-3,"n":18446744073709551615,"t":"2026-01-01T00:00:00Z","when":"1 hour ago"}"#,
            r#" "host.name" : 7 , "user.name" : -3 , "event.action" : 2.5e1 , "process.pid" : -1 , "log.offset" : 1.5 , "stream" : 5 "#,
            r#""fields":[1,2],"message":null,"host.name":false,"event.original":{"a":"\"}\""}"#,
            r#""fields":"x","message":{"a":1},"@timestamp":"2026-01-01T00:00:00.000001+09:00""#,
            r#""stream":"app","stream":"auth","message":"one","message":"two","fields":{"d":"1","d":"2"},"d":"top""#,
            // A JSON line as its event.original (skipped) and a message long
            // enough for the sixteen-byte steps between and after escapes.
            r#""event.original":"{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"log.level\":\"info\",\"message\":\"request completed in 12 ms\"}","message":"request completed in 12 ms for \"/api/v1/search?q=card\" from the gateway\tdone""#,
        ]
        .iter()
        .map(|members| format!("{{{T},{members}}}"))
        .collect()
    }

    /// Payloads the fast reader declines: serde_json reads them (or
    /// refuses them), and the mapping's answer is serde_json's.
    fn declined() -> Vec<String> {
        let deep = format!("{{{T},\"x\":{}1{}}}", "[".repeat(120), "]".repeat(120));
        let too_deep = format!("{{{T},\"x\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let mut payloads: Vec<String> = [
            // A key with an escape; surrogate escapes, paired and lone.
            r#"{"@timest\u0061mp":"2026-01-01T00:00:00Z"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","message":"\ud83d\ude00"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","message":"\ud83d"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","event.original":"\udc00"}"#,
            // Not JSON, in each place the reader looks.
            r#"{"@timestamp":"2026-01-01T00:00:00Z",}"#,
            r#"{"@timestamp" "2026-01-01T00:00:00Z"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z""message":"x"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","n":01}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","n":-}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","n":1.}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","n":1e}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","n":+1}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","n":.5}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","n":1e400}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","t":tru}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","t":truex}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","message":"\x"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","event.original":"\u12g4"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","event.original":"a long run of plain text, then \"quoted\", then \q"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","event.original":"a long run of plain text, then \"quoted\" \ud800 a half"}"#,
            "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event.original\":\"a long run of plain text, then \\\"quoted\\\" and a\u{1}control byte\"}",
            r#"{"@timestamp":"2026-01-01T00:00:00Z","a":[1,}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","a":[1,2}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","a":{"b"}}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z"} x"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z"}}"#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z""#,
            r#"{"@timestamp":"2026-01-01T00:00:00Z","message":"abc"#,
            "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"message\":\"tab\there\"}",
            "\u{a0}{\"@timestamp\":\"2026-01-01T00:00:00Z\"}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        payloads.extend([deep, too_deep]);
        payloads
    }

    #[test]
    fn reads_everyday_events_itself_and_as_serde_json_does() {
        for schema in [LogSchema::new(), LogSchema::with_free_fields(FreeFields::new(&["*"]))] {
            for raw in everyday() {
                assert!(reads(&schema, &raw), "declined {raw}");
                let fast = outcome(schema.document(raw.as_bytes(), 3));
                assert!(fast.is_ok(), "{raw}: {fast:?}");
                assert_eq!(fast, outcome(schema.document_through_serde(raw.as_bytes(), 3)), "{raw}");
            }
        }
    }

    #[test]
    fn declines_what_it_does_not_read_as_serde_json_does() {
        for schema in [LogSchema::new(), LogSchema::with_free_fields(FreeFields::new(&["*"]))] {
            for raw in declined() {
                assert!(!reads(&schema, &raw), "read {raw}");
                assert_eq!(
                    outcome(schema.document(raw.as_bytes(), 3)),
                    outcome(schema.document_through_serde(raw.as_bytes(), 3)),
                    "{raw}"
                );
            }
        }
    }

    /// Every prefix of every payload above (cut anywhere, even inside a
    /// char) and every single-byte change to a structural byte: the same
    /// answer as serde_json, document or reason.
    #[test]
    fn cut_or_changed_anywhere_the_answer_is_serde_jsons() {
        let schema = LogSchema::with_free_fields(FreeFields::new(&["*"]));
        let same = |bytes: &[u8]| {
            assert_eq!(
                outcome(schema.document(bytes, 3)),
                outcome(schema.document_through_serde(bytes, 3)),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        };
        for raw in everyday().into_iter().chain(declined()) {
            let bytes = raw.as_bytes();
            for end in 0..=bytes.len() {
                same(&bytes[..end]);
            }
            for at in 0..bytes.len() {
                for replacement in [b'"', b'\\', b',', b':', b'{', b'}', b'[', b']', b' ', b'0', b'-', b'e', b'.', 0x1f] {
                    let mut changed = bytes.to_vec();
                    changed[at] = replacement;
                    same(&changed);
                }
            }
        }
    }
}
