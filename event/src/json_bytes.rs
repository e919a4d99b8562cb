//! Finding the bytes of JSON text that end a string's plain run: a quote,
//! a backslash, or a control byte (below 0x20), which a JSON string holds
//! only escaped. The wire event's writer copies the runs between them and
//! escapes each; the indexer's reader finds a string's end at the first
//! quote that is not escaped. Both scan every string of every event, so
//! this is written for speed: SSE2 where every x86-64 CPU has it, eight
//! bytes at a time elsewhere and for the tail.

/// The first byte at or after `at` that is a quote, a backslash or below
/// 0x20 (which ends a string's plain run), or `bytes.len()` when none is.
/// Sixteen bytes at a time with SSE2 (part of every x86-64 CPU), then
/// eight at a time, then one.
#[inline]
pub fn next_special(bytes: &[u8], mut at: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        while let Some(chunk) = bytes.get(at..at + 16) {
            // SAFETY: SSE2 is part of the x86-64 target every build has; the
            // load reads the sixteen bytes of `chunk`, unaligned.
            let found = unsafe {
                let v = _mm_loadu_si128(chunk.as_ptr().cast());
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                // A byte is below 0x20 when its unsigned max with 0x1f is 0x1f.
                let control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
            };
            if found != 0 {
                return at + found.trailing_zeros() as usize;
            }
            at += 16;
        }
    }
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = special_bytes(word);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return at;
        }
        at += 1;
    }
    at
}

/// The bytes of `word` (eight, little-endian) that are a quote, a
/// backslash or below 0x20: the high bit of each, exact up to the first
/// (the borrows of the subtractions reach only higher bytes).
#[inline]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero_byte(quote) | zero_byte(backslash) | (word.wrapping_sub(ONES * 0x20) & !word)) & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The high bits `special_bytes` sets: the first is the first quote,
    /// backslash or control byte, for every byte in every place.
    #[test]
    fn special_bytes_finds_the_first_special_byte() {
        for special_at in 0..8 {
            for byte in 0..=255u8 {
                let mut word = [b'a'; 8];
                word[special_at] = byte;
                // Bytes after it that would trip a sloppy test.
                for (i, b) in word.iter_mut().enumerate().skip(special_at + 1) {
                    *b = [0x00, b'"', 0x21, 0x5c, 0x1f][i % 5];
                }
                let found = special_bytes(u64::from_le_bytes(word));
                let expected = word.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                let got = (found != 0).then(|| (found.trailing_zeros() / 8) as usize);
                assert_eq!(got, expected, "{word:?}");
            }
        }
    }

    /// `next_special` finds the first quote, backslash or control byte from
    /// any start, whichever of its three steps (16 bytes, 8, 1) reaches it,
    /// and the end when there is none; the bytes after it would trip a
    /// sloppy scan.
    #[test]
    fn next_special_finds_the_first_special_byte_from_any_start() {
        for len in 0..40 {
            for special_at in 0..=len {
                for byte in 0..=255u8 {
                    let mut bytes: Vec<u8> = (0..len).map(|i| [b'a', 0x80, 0xff, b' ', 0x21, 0x7f][i % 6]).collect();
                    if special_at < len {
                        bytes[special_at] = byte;
                        for (i, b) in bytes.iter_mut().enumerate().skip(special_at + 1) {
                            *b = [0x00, b'"', 0x21, 0x5c, 0x1f][i % 5];
                        }
                    }
                    for start in [0, 1, 7, 9, 17].into_iter().filter(|&s| s <= len) {
                        let expected = bytes[start..]
                            .iter()
                            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                            .map_or(len, |at| start + at);
                        assert_eq!(next_special(&bytes, start), expected, "{bytes:?} from {start}");
                    }
                }
            }
        }
    }
}
