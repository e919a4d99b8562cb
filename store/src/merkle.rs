//! The Merkle tree a format-2 manifest commits to over its split's
//! records, so one record can be proven to belong to a sealed, signed
//! split without the rest of the split (a query-filtered audit export).
//!
//! The tree is RFC 9162's (Certificate Transparency 2.0, the same as RFC
//! 6962 §2.1): a leaf hashes `SHA-256(0x00 || data)`, a node
//! `SHA-256(0x01 || left || right)`; a tree of `n` leaves splits at the
//! largest power of two below `n`, and the empty tree's hash is
//! `SHA-256("")`. Inclusion proofs are the audit paths of RFC 9162
//! §2.1.3, verified with its §2.1.3.2 algorithm, so any RFC 9162
//! verifier checks them too.
//!
//! A record's leaf data is its Kafka offset (8 bytes, big-endian) followed
//! by the stored event bytes: the proof binds the event to its offset.
//! Leaves are in offset order, the order the manifest's `records_sha256`
//! hashes them in.
//!
//! Written here rather than taken from a crate: the whole tree is the two
//! hash functions and two short recursions below, checked against the
//! Certificate Transparency test vectors; the crates that implement it
//! (`ct-merkle`) bring their own proof encodings, and the bundle format
//! must be one an auditor can re-implement from this comment alone.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The leaf hash of a stored record: its offset, then its bytes.
pub fn record_leaf(offset: u64, source: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(offset.to_be_bytes());
    hasher.update(source.as_bytes());
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The tree hash (MTH) of the leaf hashes `leaves`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (RFC 9162 §2.1.3.1), from the leaf's
/// sibling up; `None` when `index` is not a leaf of the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    path_into(leaves, index, &mut path);
    Some(path)
}

fn path_into(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if index < k {
        path_into(&leaves[..k], index, path);
        path.push(root(&leaves[k..]));
    } else {
        path_into(&leaves[k..], index - k, path);
        path.push(root(&leaves[..k]));
    }
}

/// The root the audit path `path` leads to from `leaf` at `index` in a
/// tree of `size` leaves (RFC 9162 §2.1.3.2); `None` when the path has the
/// wrong length for that position.
pub fn root_from_proof(leaf: &Hash, index: u64, size: u64, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

/// Whether `path` proves `leaf` is leaf `index` of the tree of `size`
/// leaves whose hash is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    root_from_proof(leaf, index, size, path).is_some_and(|r| r == *root)
}

/// Lower-case hex, as manifests and bundles write hashes.
pub fn to_hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 64 hex digits.
pub fn from_hex(text: &str) -> Option<Hash> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Builds the leaf hashes of a split in offset order, then its root.
#[derive(Debug, Default, Clone)]
pub struct RecordsTree {
    pub leaves: Vec<Hash>,
}

impl RecordsTree {
    pub fn push(&mut self, offset: u64, source: &str) {
        self.leaves.push(record_leaf(offset, source));
    }

    pub fn root_hex(&self) -> String {
        to_hex(&root(&self.leaves))
    }
}

/// Every level of a tree, bottom up, to answer many proofs of one tree
/// in `O(log n)` each. An RFC 9162 tree is the bottom-up pairing of each
/// level in which a last, unpaired node moves up unchanged.
pub struct Levels {
    levels: Vec<Vec<Hash>>,
}

impl Levels {
    pub fn new(leaves: Vec<Hash>) -> Levels {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("one level at least");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    [lone] => *lone,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
            levels.push(above);
        }
        Levels { levels }
    }

    pub fn size(&self) -> usize {
        self.levels[0].len()
    }

    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|top| top.first()) {
            Some(root) if self.size() > 0 => *root,
            _ => Sha256::digest(b"").into(),
        }
    }

    /// The same path as [`inclusion_proof`].
    pub fn proof(&self, index: usize) -> Option<Vec<Hash>> {
        if index >= self.size() {
            return None;
        }
        let mut path = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i >>= 1;
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// The Certificate Transparency reference leaves (RFC 6962 test data,
    /// as in transparency-dev/merkle and certificate-transparency-go).
    fn reference_leaves() -> Vec<Hash> {
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
            .iter()
            .map(|h| leaf_hash(&unhex(h)))
            .collect()
    }

    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn roots_match_the_reference_tree_heads_for_every_size() {
        let leaves = reference_leaves();
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(to_hex(&root(&leaves[..n])), *want, "tree of {n} leaves");
        }
    }

    #[test]
    fn proofs_match_the_reference_audit_paths() {
        let leaves = reference_leaves();
        let cases: [(usize, usize, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let path = inclusion_proof(&leaves[..size], index).unwrap();
            let hex: Vec<String> = path.iter().map(to_hex).collect();
            assert_eq!(hex, want, "leaf {index} of {size}");
            let root_hash = from_hex(ROOTS[size]).unwrap();
            assert!(verify_inclusion(&leaves[index], index as u64, size as u64, &path, &root_hash));
        }
    }

    #[test]
    fn every_leaf_of_every_size_proves_and_nothing_else_does() {
        let leaves: Vec<Hash> = (0..37u64).map(|i| record_leaf(i, &format!("event {i}"))).collect();
        for size in 1..=leaves.len() {
            let tree = &leaves[..size];
            let r = root(tree);
            for index in 0..size {
                let path = inclusion_proof(tree, index).unwrap();
                let (i, n) = (index as u64, size as u64);
                assert!(verify_inclusion(&tree[index], i, n, &path, &r), "leaf {index} of {size}");
                // Another leaf, index, size or path element does not verify.
                let other = record_leaf(index as u64, "edited");
                assert!(!verify_inclusion(&other, i, n, &path, &r));
                if size > 1 {
                    assert!(!verify_inclusion(&tree[index], (i + 1) % n, n, &path, &r));
                    let mut bad = path.clone();
                    bad[0][0] ^= 1;
                    assert!(!verify_inclusion(&tree[index], i, n, &bad, &r));
                    let mut short = path.clone();
                    short.pop();
                    assert!(!verify_inclusion(&tree[index], i, n, &short, &r));
                }
                let mut long = path.clone();
                long.push(r);
                assert!(!verify_inclusion(&tree[index], i, n, &long, &r));
            }
            assert!(inclusion_proof(tree, size).is_none());
            assert!(!verify_inclusion(&tree[0], size as u64, size as u64, &[], &r));
        }
    }

    #[test]
    fn levels_give_the_same_roots_and_paths_as_the_recursion() {
        for size in 0..=70u64 {
            let leaves: Vec<Hash> = (0..size).map(|i| record_leaf(i, "e")).collect();
            let levels = Levels::new(leaves.clone());
            assert_eq!(levels.root(), root(&leaves), "size {size}");
            for index in 0..=size as usize {
                assert_eq!(levels.proof(index), inclusion_proof(&leaves, index), "leaf {index} of {size}");
            }
        }
    }

    #[test]
    fn the_offset_is_part_of_the_leaf() {
        assert_ne!(record_leaf(1, "x"), record_leaf(2, "x"));
        let mut data = 7u64.to_be_bytes().to_vec();
        data.extend_from_slice(b"event");
        assert_eq!(record_leaf(7, "event"), leaf_hash(&data));
        assert_eq!(from_hex(&to_hex(&record_leaf(7, "event"))), Some(record_leaf(7, "event")));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }
}
