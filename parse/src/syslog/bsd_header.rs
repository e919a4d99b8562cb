//! The RFC 3164 header, tag and Cisco mnemonic read by hand: the same
//! matches, in the same priority order, as the regular expressions kept in
//! [`super::rfc3164`] (leftmost-first: an optional part is tried present
//! before absent, a bounded repetition longest first), at a fraction of
//! their cost on the collector's hot path.
//!
//! The regular expressions' `\d`, `\w` and `\s` are Unicode classes; these
//! matchers know their ASCII part only. Whenever one of those classes would
//! be tested on a non-ASCII character, the matcher gives up with
//! [`NonAscii`] and the caller asks the regular expression instead, so both
//! agree on every input.

/// A Unicode class was about to be tested on a non-ASCII character.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct NonAscii;

type Step<T> = Result<T, NonAscii>;

/// The capture groups of the header expression, by name.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header<'a> {
    pub pri: Option<&'a str>,
    pub seq: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub iso: Option<&'a str>,
    pub offset: Option<&'a str>,
    pub mon: Option<&'a str>,
    pub day: Option<&'a str>,
    pub year: Option<&'a str>,
    pub time: Option<&'a str>,
    pub frac: Option<&'a str>,
    pub zone: Option<&'a str>,
    /// Where the header (and the spaces after it) ends.
    pub end: usize,
}

/// `tag[pid]:` or `tag:` at the start of the message part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tag<'a> {
    pub tag: &'a str,
    pub pid: Option<&'a str>,
    pub end: usize,
}

/// A Cisco `%FAC-SEV-MNEMONIC:` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cisco<'a> {
    pub code: &'a str,
    pub severity: u8,
    pub end: usize,
}

/// Whether byte `i` is a `\d`; `Err` when the regex's Unicode `\d` decides.
fn digit(s: &[u8], i: usize) -> Step<bool> {
    match s.get(i) {
        Some(b) if b.is_ascii_digit() => Ok(true),
        Some(b) if !b.is_ascii() => Err(NonAscii),
        _ => Ok(false),
    }
}

/// The number of `\d` from `i` on, at most `max`.
fn digits(s: &[u8], i: usize, max: usize) -> Step<usize> {
    let mut n = 0;
    while n < max && digit(s, i + n)? {
        n += 1;
    }
    Ok(n)
}

/// `\d` at each of `positions` past `i` (checked left to right).
fn digits_at(s: &[u8], i: usize, positions: &[usize]) -> Step<bool> {
    for &p in positions {
        if !digit(s, i + p)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn byte_is(s: &[u8], i: usize, b: u8) -> bool {
    s.get(i) == Some(&b)
}

/// The ASCII part of Unicode `White_Space` (`\s`): not `u8::is_ascii_whitespace`,
/// which leaves out the vertical tab.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `:? +` at `i`: where the header ends, or `None`.
fn tail(s: &[u8], i: usize) -> Option<usize> {
    let spaces = |from: usize| {
        let n = s[from.min(s.len())..].iter().take_while(|&&b| b == b' ').count();
        (n > 0).then_some(from + n)
    };
    if byte_is(s, i, b':')
        && let Some(end) = spaces(i + 1)
    {
        return Some(end);
    }
    spaces(i)
}

/// `(?:<(?P<pri>\d{1,3})>)?(?:(?P<seq>\d{1,10}): )?(?:(?P<origin>[A-Za-z0-9][\w.\-]*): )?[*.]?`
/// then the ISO or the BSD timestamp, then `:? +`.
pub(super) fn header(line: &str) -> Step<Option<Header<'_>>> {
    let s = line.as_bytes();
    let text = |from: usize, to: usize| Some(&line[from..to]);
    let pri = if byte_is(s, 0, b'<') {
        let n = digits(s, 1, 3)?;
        (n > 0 && byte_is(s, 1 + n, b'>')).then(|| (2 + n, text(1, 1 + n)))
    } else {
        None
    };
    for (at, pri) in [pri, Some((0, None))].into_iter().flatten() {
        let n = digits(s, at, 10)?;
        let seq =
            (n > 0 && byte_is(s, at + n, b':') && byte_is(s, at + n + 1, b' ')).then(|| (at + n + 2, text(at, at + n)));
        for (at, seq) in [seq, Some((at, None))].into_iter().flatten() {
            let origin = match s.get(at) {
                Some(b) if b.is_ascii_alphanumeric() => {
                    let mut end = at + 1;
                    loop {
                        match s.get(end) {
                            Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') => end += 1,
                            Some(b) if !b.is_ascii() => return Err(NonAscii),
                            _ => break,
                        }
                    }
                    (byte_is(s, end, b':') && byte_is(s, end + 1, b' ')).then(|| (end + 2, text(at, end)))
                }
                _ => None,
            };
            for (at, origin) in [origin, Some((at, None))].into_iter().flatten() {
                let star = matches!(s.get(at), Some(b'*' | b'.')).then_some(at + 1);
                for at in [star, Some(at)].into_iter().flatten() {
                    let base = Header { pri, seq, origin, ..Header::default() };
                    if let Some(header) = iso(line, at, base)? {
                        return Ok(Some(header));
                    }
                    if let Some(header) = bsd(line, at, base)? {
                        return Ok(Some(header));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// `(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(?P<offset>Z|[+-]\d{2}:?\d{2})?`
/// then `:? +`.
fn iso<'a>(line: &'a str, at: usize, base: Header<'a>) -> Step<Option<Header<'a>>> {
    let s = line.as_bytes();
    let shape = [(0, b'd'), (1, b'd'), (2, b'd'), (3, b'd'), (4, b'-'), (5, b'd'), (6, b'd'), (7, b'-')];
    let shape2 = [(8, b'd'), (9, b'd'), (10, b'T'), (11, b'd'), (12, b'd'), (13, b':'), (14, b'd'), (15, b'd')];
    let shape3 = [(16, b':'), (17, b'd'), (18, b'd')];
    for (offset, want) in shape.into_iter().chain(shape2).chain(shape3) {
        let ok = if want == b'd' { digit(s, at + offset)? } else { byte_is(s, at + offset, want) };
        if !ok {
            return Ok(None);
        }
    }
    let seconds_end = at + 19;
    let fraction = if byte_is(s, seconds_end, b'.') { digits(s, seconds_end + 1, 9)? } else { 0 };
    // Longest fraction first, then shorter ones, then none.
    let ends = (1..=fraction).rev().map(|n| seconds_end + 1 + n).chain(std::iter::once(seconds_end));
    for iso_end in ends {
        let mut offsets = [None, None, Some(iso_end)];
        match s.get(iso_end) {
            Some(b'Z') => offsets[0] = Some(iso_end + 1),
            Some(b'+' | b'-') if digits_at(s, iso_end, &[1, 2])? => {
                if byte_is(s, iso_end + 3, b':') && digits_at(s, iso_end, &[4, 5])? {
                    offsets[0] = Some(iso_end + 6);
                }
                if digits_at(s, iso_end, &[3, 4])? {
                    offsets[1] = Some(iso_end + 5);
                }
            }
            _ => {}
        }
        for offset_end in offsets.into_iter().flatten() {
            if let Some(end) = tail(s, offset_end) {
                let offset = (offset_end > iso_end).then(|| &line[iso_end..offset_end]);
                return Ok(Some(Header { iso: Some(&line[at..iso_end]), offset, end, ..base }));
            }
        }
    }
    Ok(None)
}

/// `(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2})(?: (?P<year>\d{4}))? (?P<time>\d{2}:\d{2}:\d{2})`
/// `(?P<frac>\.\d{1,9})?(?: (?P<zone>[A-Z]{3,4}))?` then `:? +`.
fn bsd<'a>(line: &'a str, at: usize, base: Header<'a>) -> Step<Option<Header<'a>>> {
    let s = line.as_bytes();
    let upper = |i: usize| s.get(i).is_some_and(u8::is_ascii_uppercase);
    let lower = |i: usize| s.get(i).is_some_and(u8::is_ascii_lowercase);
    if !(upper(at) && lower(at + 1) && lower(at + 2)) {
        return Ok(None);
    }
    let mon = Some(&line[at..at + 3]);
    let spaces = if byte_is(s, at + 4, b' ') { 2 } else { 1 };
    for spaces in (1..=spaces).rev().filter(|&n| byte_is(s, at + 3, b' ') && (n == 1 || byte_is(s, at + 4, b' '))) {
        let day_at = at + 3 + spaces;
        let day_digits = digits(s, day_at, 2)?;
        for day_len in (1..=day_digits).rev() {
            let day_end = day_at + day_len;
            let day = Some(&line[day_at..day_end]);
            let year = (byte_is(s, day_end, b' ') && digits_at(s, day_end, &[1, 2, 3, 4])?)
                .then(|| (day_end + 5, Some(&line[day_end + 1..day_end + 5])));
            for (year_end, year) in [year, Some((day_end, None))].into_iter().flatten() {
                let time_at = year_end + 1;
                if !byte_is(s, year_end, b' ')
                    || !digits_at(s, time_at, &[0, 1])?
                    || !byte_is(s, time_at + 2, b':')
                    || !digits_at(s, time_at, &[3, 4])?
                    || !byte_is(s, time_at + 5, b':')
                    || !digits_at(s, time_at, &[6, 7])?
                {
                    continue;
                }
                let time_end = time_at + 8;
                let time = Some(&line[time_at..time_end]);
                let fraction = if byte_is(s, time_end, b'.') { digits(s, time_end + 1, 9)? } else { 0 };
                let frac_ends = (1..=fraction).rev().map(|n| time_end + 1 + n).chain(std::iter::once(time_end));
                for frac_end in frac_ends {
                    let frac = (frac_end > time_end).then(|| &line[time_end..frac_end]);
                    let letters = if byte_is(s, frac_end, b' ') {
                        s[(frac_end + 1).min(s.len())..].iter().take(4).take_while(|b| b.is_ascii_uppercase()).count()
                    } else {
                        0
                    };
                    let zones = (3..=letters).rev().map(|n| frac_end + 1 + n).chain(std::iter::once(frac_end));
                    for zone_end in zones {
                        if let Some(end) = tail(s, zone_end) {
                            let zone = (zone_end > frac_end).then(|| &line[frac_end + 1..zone_end]);
                            return Ok(Some(Header { mon, day, year, time, frac, zone, end, ..base }));
                        }
                    }
                }
            }
        }
    }
    Ok(None)
}

/// `^(?P<tag>(?:-- )?[^:\[\s]{1,128}(?: \d+(?:\.\d+)+)?)(?:\[(?P<pid>[^\]\s]{0,32})\]:?|:)(?: |$)`
pub(super) fn tag(body: &str) -> Step<Option<Tag<'_>>> {
    let s = body.as_bytes();
    let dashes = s.starts_with(b"-- ").then_some(3);
    for start in [dashes, Some(0)].into_iter().flatten() {
        // `[^:\[\s]{1,128}`: only the longest run can be followed by what
        // comes next (a space, `[` or `:`).
        let mut name_end = start;
        while name_end - start < 128 {
            match s.get(name_end) {
                Some(b) if !b.is_ascii() => return Err(NonAscii),
                Some(&b) if b != b':' && b != b'[' && !is_space(b) => name_end += 1,
                _ => break,
            }
        }
        if name_end == start {
            continue;
        }
        // ` \d+(?:\.\d+)+`, longest (the only one a `[` or `:` can follow).
        let version = if byte_is(s, name_end, b' ') {
            let first = digits(s, name_end + 1, usize::MAX)?;
            let mut end = name_end + 1 + first;
            let mut groups = 0;
            while first > 0 && byte_is(s, end, b'.') {
                let n = digits(s, end + 1, usize::MAX)?;
                if n == 0 {
                    break;
                }
                end += 1 + n;
                groups += 1;
            }
            (groups > 0).then_some(end)
        } else {
            None
        };
        for tag_end in [version, Some(name_end)].into_iter().flatten() {
            let tag = &body[..tag_end];
            let after = |i: usize| -> Option<usize> {
                if byte_is(s, i, b' ') { Some(i + 1) } else { (i == s.len()).then_some(i) }
            };
            match s.get(tag_end) {
                Some(b'[') => {
                    let pid_at = tag_end + 1;
                    let mut pid_end = pid_at;
                    while pid_end - pid_at < 32 {
                        match s.get(pid_end) {
                            Some(b) if !b.is_ascii() => return Err(NonAscii),
                            Some(&b) if b != b']' && !is_space(b) => pid_end += 1,
                            _ => break,
                        }
                    }
                    if !byte_is(s, pid_end, b']') {
                        continue;
                    }
                    let pid = Some(&body[pid_at..pid_end]);
                    let colon = byte_is(s, pid_end + 1, b':').then_some(pid_end + 2);
                    for at in [colon, Some(pid_end + 1)].into_iter().flatten() {
                        if let Some(end) = after(at) {
                            return Ok(Some(Tag { tag, pid, end }));
                        }
                    }
                }
                Some(b':') => {
                    if let Some(end) = after(tag_end + 1) {
                        return Ok(Some(Tag { tag, pid: None, end }));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(None)
}

/// `^%(?P<code>[A-Z0-9_]+-(?P<sev>[0-7])-[A-Z0-9_]+): ?` (ASCII classes only).
pub(super) fn cisco(body: &str) -> Option<Cisco<'_>> {
    let s = body.as_bytes();
    let word = |from: usize| {
        s[from.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
            .count()
    };
    if !byte_is(s, 0, b'%') {
        return None;
    }
    let facility = word(1);
    let dash = 1 + facility;
    if facility == 0 || !byte_is(s, dash, b'-') {
        return None;
    }
    let severity = *s.get(dash + 1).filter(|b| (b'0'..=b'7').contains(b))? - b'0';
    if !byte_is(s, dash + 2, b'-') {
        return None;
    }
    let mnemonic = word(dash + 3);
    let code_end = dash + 3 + mnemonic;
    if mnemonic == 0 || !byte_is(s, code_end, b':') {
        return None;
    }
    let end = if byte_is(s, code_end + 1, b' ') { code_end + 2 } else { code_end + 1 };
    Some(Cisco { code: &body[1..code_end], severity, end })
}
