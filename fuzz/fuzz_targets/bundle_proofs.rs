#![no_main]
//! What `logwarden verify BUNDLE` reads from an untrusted bundle: a records
//! file and a proofs file (input split at the first NUL byte). Parsing
//! either never panics; a records file that parses has increasing offsets;
//! any proof's path is walked (RFC 9162 §2.1.3.2) without panicking for
//! any index, tree size and path length, and only the root it leads to
//! verifies. Trees built from the parsed records prove each of their
//! leaves.
use libfuzzer_sys::fuzz_target;
use logwarden_compliance::export::proofs::{parse_proofs, parse_records};
use logwarden_store::merkle::{Levels, from_hex, record_leaf, root_from_proof, verify_inclusion};

fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (records, proofs) = (String::from_utf8_lossy(&data[..cut]), &data[(cut + 1).min(data.len())..]);
    let parsed = parse_records(&records);
    if let Ok(parsed) = &parsed {
        assert!(parsed.windows(2).all(|w| w[0].offset < w[1].offset), "offsets increase");
        let leaves: Vec<_> = parsed.iter().take(64).map(|r| record_leaf(r.offset, &r.source)).collect();
        let levels = Levels::new(leaves.clone());
        for (i, leaf) in leaves.iter().enumerate() {
            let path = levels.proof(i).expect("a leaf has a path");
            assert!(verify_inclusion(leaf, i as u64, leaves.len() as u64, &path, &levels.root()));
        }
    }
    let Ok(split) = parse_proofs(proofs) else { return };
    let leaf = match &parsed {
        Ok(parsed) if !parsed.is_empty() => record_leaf(parsed[0].offset, &parsed[0].source),
        _ => record_leaf(0, ""),
    };
    for proof in split.proofs.iter().take(64) {
        let Some(path) = proof.path.iter().take(128).map(|h| from_hex(h)).collect::<Option<Vec<_>>>() else { continue };
        match root_from_proof(&leaf, proof.index, split.tree_size, &path) {
            Some(root) => assert!(verify_inclusion(&leaf, proof.index, split.tree_size, &path, &root)),
            None => assert!(!verify_inclusion(&leaf, proof.index, split.tree_size, &path, &[0u8; 32])),
        }
    }
});
