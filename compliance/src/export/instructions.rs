//! VERIFY.md: how an auditor checks the bundle with `openssl` and
//! `sha256sum` alone (the commands run as written in the tests).

use super::dsse::PAYLOAD_TYPE;
use super::layout::ExportPredicate;

pub fn text(predicate: &ExportPredicate) -> String {
    let empty = if predicate.empty { format!("\n**This bundle holds no records.** {}\n", predicate.note) } else { String::new() };
    let filtered = match &predicate.query {
        Some(query) => format!("\n**Filtered export**: only the records of the range matching the query `{query}`; each is proven by an inclusion proof (below).\n"),
        None => String::new(),
    };
    let policy = match &predicate.policy {
        Some(p) => {
            let mut text = format!("\n## Legal basis (from the configuration at export time)\n\n- retention: {}\n", p.retention.as_deref().unwrap_or("kept forever"));
            for preset in &p.presets {
                text.push_str(&format!("- `{}`: {}\n", preset.name, preset.citation));
            }
            if p.legal_hold {
                text.push_str(&format!(
                    "- legal hold in force since {}: {}\n",
                    p.legal_hold_since.as_deref().unwrap_or("(no start date configured)"),
                    p.legal_hold_reason.as_deref().unwrap_or("no reason given")
                ));
            }
            text
        }
        None => String::new(),
    };
    format!(
        r#"# Audit export: stream `{stream}`, {from} to {to}

Exported {created} by `{by}`; {records} records; signed with Ed25519 key `{key}`.
{empty}{filtered}{policy}
## What is here

- `records/<stream>/p<N>/<split>.ndjson`: every record of each sealed split
  (whole splits, so the first and last may reach outside the range), one
  `{{"offset":N,"event":{{...}}}}` per line in offset order; `event` is the
  stored event byte for byte. In a filtered export, only the matching
  records of a split are here (a split whose manifest is of format 1, which
  has no Merkle root, is exported whole: see `whole_splits` in export.json).
- `proofs/<stream>/p<N>/<split>.proofs.json` (filtered exports): for each
  record, its leaf `index` in the split and the audit `path` (RFC 9162
  §2.1.3) to the `records_merkle_root` its signed manifest states.
- `manifests/<stream>/p<N>/<split>.manifest.json`: the signed manifest of
  every split and empty window of the chain segment covering the range
  (`deletion.json` beside a split whose data retention deleted).
- `public-key.pem`: the Ed25519 key that signed the manifests and this bundle.
- `report.json`: the compliance report at export time; `export.json`: what
  was exported (the same as the signed statement's predicate).
- `statement.json`: an in-toto Statement v1 naming every file with its
  SHA-256; `statement.dsse.json`: its DSSE envelope; `statement.sig`: the raw
  signature; `SHA256SUMS`: the same hashes for `sha256sum -c`.

## Check it with openssl and sha256sum

Run from inside the bundle directory; each step fails loudly if broken.

```sh
# 1. The key: this prints its id; it must be the key id you pinned ({key}).
openssl pkey -pubin -in public-key.pem -outform DER | tail -c 32 | sha256sum | cut -c1-16
# 2. The signature over statement.json. DSSE signs "DSSEv1 <len(type)> <type> <len(body)> <body>".
pae=$(mktemp)
printf 'DSSEv1 {type_len} {payload_type} %s ' "$(wc -c < statement.json | tr -d ' ')" > "$pae"
cat statement.json >> "$pae"
openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in "$pae" -sigfile statement.sig
rm -f "$pae"
# 3. SHA256SUMS is the list the statement signed (its hash is in statement.json) ...
grep -q "$(sha256sum SHA256SUMS | cut -d' ' -f1)" statement.json
# 4. ... and every file matches it.
sha256sum -c --quiet SHA256SUMS
echo "bundle signature and file hashes OK"
```

Steps 1-4 prove the files are the ones the key holder signed. That every
record matches its split's manifest (the SHA-256 over offset, length and
event of each record, in offset order), that the manifests form an unbroken
chain and that deletion records are genuine is checked by
`logwarden verify <this directory> [--public-key pinned.pem]`, offline.

## Inclusion proofs (filtered exports)

A manifest of format 2 signs `records_merkle_root`: the RFC 9162 Merkle tree
hash over the split's records in offset order, where a leaf hash is
`SHA-256(0x00 || offset as 8 bytes big-endian || stored event bytes)` and a
node hash is `SHA-256(0x01 || left || right)`. A record is proven by
recomputing the root from its leaf hash, its `index`, the tree size (the
manifest's `event_count`) and its `path`, with the algorithm of RFC 9162
§2.1.3.2 (any Certificate Transparency library verifies it), and comparing it
with the manifest's root; the manifest's signature is checked with the key
above. No other record of the split is needed.
"#,
        stream = predicate.stream,
        from = predicate.from,
        to = predicate.to,
        created = predicate.created_at,
        by = predicate.requested_by,
        records = predicate.records,
        key = predicate.key_id,
        filtered = filtered,
        policy = policy,
        type_len = PAYLOAD_TYPE.len(),
        payload_type = PAYLOAD_TYPE,
    )
}
