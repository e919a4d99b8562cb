//! A table of names fixed when it is built (the schema's top-level keys,
//! the free fields indexed), looked up once per key of every event the
//! indexer reads.
//!
//! A name is compared by its signature: its length and its first and last
//! eight bytes as words, which for names up to 16 bytes (nearly every ECS
//! key) say the whole name, so a lookup is a few word operations and no
//! `memcmp` call; longer names are compared byte for byte after their
//! signatures match. Open addressing with linear probing, a quarter full
//! at most, so a lookup mostly reads one slot.

use std::collections::HashMap;

/// Names and a value for each.
#[derive(Debug, Clone)]
pub(crate) struct NameTable<V> {
    entries: Vec<Entry<V>>,
    /// `1 + ` the entry's index, or 0 where no name hashes.
    slots: Vec<u32>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the slot.
    shift: u32,
}

#[derive(Debug, Clone)]
struct Entry<V> {
    signature: Signature,
    name: Box<str>,
    value: V,
}

/// The length and the first and last eight bytes of a name (zero-padded
/// when shorter): the whole name when it is 16 bytes or shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signature {
    len: usize,
    head: u64,
    tail: u64,
}

/// Names this long or shorter are told apart by their signature alone.
const SIGNATURE_COVERS: usize = 16;

impl Signature {
    #[inline]
    fn of(name: &[u8]) -> Signature {
        let len = name.len();
        if len >= 8 {
            let head = u64::from_le_bytes(name[..8].try_into().expect("8 bytes"));
            let tail = u64::from_le_bytes(name[len - 8..].try_into().expect("8 bytes"));
            Signature { len, head, tail }
        } else {
            // The name zero-padded to 8 bytes, read as little-endian, from
            // two overlapping loads rather than a copy of `len` bytes (a
            // call to memcpy per key).
            let head = if len >= 4 {
                let low = u32::from_le_bytes(name[..4].try_into().expect("4 bytes"));
                let high = u32::from_le_bytes(name[len - 4..].try_into().expect("4 bytes"));
                u64::from(low) | (u64::from(high) << (8 * (len - 4)))
            } else {
                name.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            };
            Signature { len, head, tail: 0 }
        }
    }

    #[inline]
    fn hash(self, shift: u32) -> usize {
        let mixed = (self.head ^ self.tail.rotate_left(29) ^ self.len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> shift) as usize
    }
}

impl<V> NameTable<V> {
    /// The table of `names`; of a name given twice, the last value holds.
    pub(crate) fn new(names: impl IntoIterator<Item = (impl Into<Box<str>>, V)>) -> NameTable<V> {
        let mut entries: Vec<Entry<V>> = Vec::new();
        let mut seen: HashMap<Box<str>, usize> = HashMap::new();
        for (name, value) in names {
            let name: Box<str> = name.into();
            match seen.get(&name) {
                Some(&at) => entries[at].value = value,
                None => {
                    seen.insert(name.clone(), entries.len());
                    entries.push(Entry { signature: Signature::of(name.as_bytes()), name, value });
                }
            }
        }
        // At least 4 slots per name, and a power of two.
        let bits = (entries.len().max(1) * 4).next_power_of_two().trailing_zeros().max(2);
        let shift = 64 - bits;
        let mask = (1usize << bits) - 1;
        let mut slots = vec![0u32; 1 << bits];
        for (i, entry) in entries.iter().enumerate() {
            let mut at = entry.signature.hash(shift);
            while slots[at] != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = u32::try_from(i + 1).expect("fewer than 2^32 names");
        }
        NameTable { entries, slots, shift }
    }

    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&V> {
        let bytes = name.as_bytes();
        let signature = Signature::of(bytes);
        let mask = self.slots.len() - 1;
        let mut at = signature.hash(self.shift);
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let entry = &self.entries[slot as usize - 1];
            if entry.signature == signature && (bytes.len() <= SIGNATURE_COVERS || entry.name.as_bytes() == bytes) {
                return Some(&entry.value);
            }
            at = (at + 1) & mask;
        }
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name is found with its value, and nothing else is: names
    /// that differ only past the signature's bytes, in length alone, by
    /// a zero byte, or are prefixes of one another.
    #[test]
    fn finds_each_name_and_nothing_else() {
        let names = [
            "", "a", "@timestamp", "event.ingested", "host.name", "log.file.path", "12345678", "123456789",
            "1234567812345678", "source.geo.country_iso_code", "source.geo.country_iso_codf", "a\0", "message",
        ];
        let table = NameTable::new(names.iter().enumerate().map(|(i, n)| (*n, i)));
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(&i), "{name:?}");
        }
        let absent = [
            "a\0\0", "b", "@timestamq", "host.nam", "host.names", "12345679", "1234567812345679", "source.geo.country_iso_coda",
            "source.geo.country_iso_cod", "source.geo.countrx_iso_code", "messagf", "\0",
        ];
        for name in absent {
            assert_eq!(table.get(name), None, "{name:?}");
        }
        let empty: NameTable<()> = NameTable::new(Vec::<(&str, ())>::new());
        assert!(empty.is_empty() && !empty.contains("x"));
    }

    /// A name shorter than 8 bytes is read as the 8 bytes it makes padded
    /// with zeros, whatever its length: every byte in its place, none
    /// read twice into another's.
    #[test]
    fn a_short_name_is_its_bytes_padded() {
        let bytes = [0x01u8, 0xff, 0x80, 0x7f, 0x00, 0x41, 0xfe];
        for len in 0..=bytes.len() {
            let mut padded = [0u8; 8];
            padded[..len].copy_from_slice(&bytes[..len]);
            let signature = Signature::of(&bytes[..len]);
            assert_eq!(signature, Signature { len, head: u64::from_le_bytes(padded), tail: 0 }, "{len} bytes");
        }
    }

    /// Many names that collide in their slots are all found (probing
    /// goes on past the slot a name hashes to), and the last value of a
    /// repeated name holds.
    #[test]
    fn many_names_and_repeats() {
        let names: Vec<String> = (0..5_000).map(|i| format!("vendor.field_{i}.long_suffix_past_sixteen")).collect();
        let table = NameTable::new(names.iter().map(|n| (n.as_str(), 1)).chain([(names[7].as_str(), 2)]));
        assert!(names.iter().enumerate().all(|(i, n)| table.get(n) == Some(if i == 7 { &2 } else { &1 })));
        assert!(!table.contains("vendor.field_5000.long_suffix_past_sixteen"));
    }
}
