//! Black-box tests of query-filtered audit exports: a real pipeline
//! (`logwarden run`, 4-second windows so splits seal), then `logwarden
//! export --query` → `logwarden verify BUNDLE` with only the bundle and a
//! pinned public key (the data directory moved away): every exported record
//! is proven by its Merkle inclusion proof against its split's signed
//! manifest. Then one exported event, one proof and one manifest signature
//! edited, each named; a store whose older manifests are of format 1 (no
//! Merkle root) still verifies and exports; the CLI export is recorded in
//! the audit stream; the law and the legal hold are in the bundle; the API
//! serves filtered exports too.

mod support;

use support::compliance::{
    AUDITOR, access_files, audit_record_where, auth_keys, copy_dir, files, logwarden, ok, relative, save_config, verify_bundle, wait_until_sealed,
};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use logwarden_store::keys::ManifestSigner;
use logwarden_store::manifest::Manifest;
use logwarden_store::storage;
use serde_json::Value;
use support::{Logwarden, indexer_sections, temp_dir, unique};

const LIVE: u64 = 30;
/// Matches a third of the live events. Not by host: the Kafka key holds the
/// host name, so one host's events may land alone in a partition and fill
/// splits of their own; one host and one file put every event in one split.
const QUERY: &str = "user.name:user1";

/// A pipeline over `DIR/live` into the `access` stream, kept 400 days for
/// PIPA and under legal hold, with an auditor key.
fn write_config(dir: &Path, topic: &str, group: &str) -> String {
    let stream = r#"[streams.access]
retention = "400d"
presets = ["kr-pipa-access"]
legal_hold = true
legal_hold_reason = "case 2026-17"
legal_hold_since = "2026-11-01"
"#;
    save_config(dir, "logwarden.toml", &[&indexer_sections(dir, topic, group, 2), &access_files(dir, false), stream, &auth_keys(false)])
}

/// `logwarden verify BUNDLE --public-key KEY`: (exit code, stdout + stderr).
fn verify(bundle: &Path, key: &Path) -> (i32, String) {
    verify_bundle(bundle, Some(key))
}

/// Rewrites the older half of each chain's manifests as format 1 (no
/// Merkle root), re-chained and re-signed with the store's key: a store
/// sealed partly before Merkle roots existed.
fn downgrade_older_manifests(data: &Path) -> usize {
    let signer = ManifestSigner::load_or_create(&data.join("keys").join("manifest-signing.pem")).unwrap();
    let mut chains: BTreeMap<(String, i32), Vec<(Manifest, PathBuf)>> = BTreeMap::new();
    for location in storage::list_split_dirs(data, None).unwrap() {
        if let Some(manifest) = Manifest::read(&location.path).unwrap() {
            chains.entry((location.stream, location.partition)).or_default().push((manifest, location.path));
        }
    }
    let mut downgraded = 0;
    for chain in chains.values_mut() {
        chain.sort_by_key(|(m, _)| m.body.seq);
        let older = chain.len() / 2;
        let mut prev: Option<String> = None;
        for (i, (manifest, path)) in chain.iter().enumerate() {
            let mut body = manifest.body.clone();
            if i < older {
                body.format = 1;
                body.records_merkle_root = None;
                downgraded += 1;
            }
            body.prev_manifest_sha256 = prev.clone();
            let signed = Manifest::sign(body, &signer);
            signed.write(path).unwrap();
            prev = Some(signed.sha256());
        }
    }
    downgraded
}

#[test]
fn a_query_export_proves_each_record_by_inclusion_proof_offline() {
    let dir = temp_dir("export-query");
    let topic = unique("lw-export-q");
    let config = write_config(&dir, &topic, &unique("g"));
    let data = dir.join("data");

    std::fs::create_dir_all(dir.join("live")).unwrap();
    let mut live = std::fs::File::create(dir.join("live").join("live.json")).unwrap();
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    for i in 0..LIVE {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        writeln!(live, r#"{{"@timestamp":"{now}","message":"live event {i}","host.name":"web","user.name":"user{}"}}"#, i % 3).unwrap();
        live.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_until_sealed(&data, LIVE, Duration::from_secs(120));
    node.stop();
    let matching = LIVE / 3;

    // The auditor's own copy of the public key, and nothing else of the store.
    let pinned = dir.join("pinned.pub.pem");
    std::fs::copy(data.join("keys").join("manifest-signing.pem.pub.pem"), &pinned).unwrap();
    let to = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let bundle = dir.join("bundle");
    let b = bundle.to_str().unwrap();
    let summary: Value = serde_json::from_str(&ok(logwarden(&[
        "export", "--config", &config, "--stream", "access", "--from", "2000-01-01T00:00:00Z", "--to", &to, "--query", QUERY, "--out", b,
    ])))
    .unwrap();
    assert_eq!(summary["records"], matching, "{summary:#}");
    assert_eq!(summary["proven_records"], matching, "{summary:#}");

    // Only the matching records are in the bundle, with one proofs file per records file.
    let records = files(&bundle, "records/");
    let proofs = files(&bundle, "proofs/");
    assert!(!records.is_empty() && records.len() == proofs.len(), "{records:?} {proofs:?}");
    let mut lines = 0;
    let mut partial_split = false;
    for file in &records {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            assert_eq!(record["event"]["user.name"], "user1", "{record}");
            lines += 1;
        }
        let split = file.file_name().unwrap().to_str().unwrap().trim_end_matches(".ndjson");
        let manifest = files(&bundle, "manifests/").into_iter().find(|m| m.to_str().unwrap().ends_with(&format!("{split}.manifest.json"))).unwrap();
        let manifest: Value = serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
        assert_eq!(manifest["body"]["format"], 2);
        assert!(manifest["body"]["records_merkle_root"].is_string());
        partial_split |= manifest["body"]["event_count"].as_u64().unwrap() > text.lines().count() as u64;
    }
    assert_eq!(lines, matching);
    assert!(partial_split, "some split is exported without its other records");

    // The law and the hold, in the signed predicate.
    let export: Value = serde_json::from_str(&std::fs::read_to_string(bundle.join("export.json")).unwrap()).unwrap();
    assert_eq!(export["query"], QUERY);
    assert!(export["policy"]["presets"][0]["citation"].as_str().unwrap().contains("제8조"), "{export:#}");
    assert_eq!(export["policy"]["legal_hold"], true);
    assert_eq!(export["policy"]["legal_hold_reason"], "case 2026-17");
    assert!(export["policy"]["legal_hold_since"].as_str().unwrap().starts_with("2026-11-01T00:00:00"), "{export:#}");

    // VERIFY.md says what the proofs are and which law applies; its openssl
    // and sha256sum commands pass on the filtered bundle.
    let verify_md = std::fs::read_to_string(bundle.join("VERIFY.md")).unwrap();
    assert!(verify_md.contains("## Inclusion proofs") && verify_md.contains("RFC 9162"), "{verify_md}");
    assert!(verify_md.contains("legal hold in force since 2026-11-01") && verify_md.contains("제8조"), "{verify_md}");
    let script = verify_md.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let output = Command::new("sh").arg("-e").arg("-c").arg(script).current_dir(&bundle).output().unwrap();
    assert!(output.status.success(), "{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));

    // Offline: the data directory is gone; the bundle and the pinned key suffice.
    let away = dir.join("data-away");
    std::fs::rename(&data, &away).unwrap();
    let (code, text) = verify(&bundle, &pinned);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("{matching} records proven by inclusion proof")), "{text}");
    assert!(text.contains("legal hold since 2026-11-01"), "{text}");
    assert!(text.contains("OK: ") && text.contains("(by inclusion proof)"), "{text}");
    let report: Value = serde_json::from_slice(&logwarden(&["verify", b, "--json"]).stdout).unwrap();
    let proven: u64 = report["inclusion"].as_array().unwrap().iter().map(|s| s["proven"].as_array().unwrap().len() as u64).sum();
    assert_eq!((report["records_proven"].as_u64(), proven), (Some(matching), matching), "{report:#}");
    std::fs::rename(&away, &data).unwrap();

    // One exported event edited: named by file, line and offset.
    let edited = dir.join("edited-event");
    copy_dir(&bundle, &edited);
    let victim = files(&edited, "records/").into_iter().last().unwrap();
    let text = std::fs::read_to_string(&victim).unwrap();
    std::fs::write(&victim, text.replacen("live event", "LIVE event", 1)).unwrap();
    let (code, out) = verify(&edited, &pinned);
    assert_eq!(code, 1, "{out}");
    let name = relative(&edited, &victim);
    assert!(out.contains(&format!("first broken item: {name}")), "{out}");
    assert!(out.contains(&format!("BROKEN {name}: line 1 (offset ")) && out.contains("does not lead to the Merkle root"), "{out}");

    // One proof edited: the proofs file is named, and the record it no longer proves.
    let bad_proof = dir.join("edited-proof");
    copy_dir(&bundle, &bad_proof);
    let victim = files(&bad_proof, "proofs/").into_iter().find(|f| std::fs::read_to_string(f).unwrap().contains("\"path\": [\n")).expect("a proof with a path");
    let mut proofs: Value = serde_json::from_str(&std::fs::read_to_string(&victim).unwrap()).unwrap();
    let hash = proofs["proofs"][0]["path"][0].as_str().unwrap().to_string();
    let flipped = format!("{}{}", if hash.starts_with('0') { '1' } else { '0' }, &hash[1..]);
    proofs["proofs"][0]["path"][0] = flipped.into();
    std::fs::write(&victim, serde_json::to_vec_pretty(&proofs).unwrap()).unwrap();
    let (code, out) = verify(&bad_proof, &pinned);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("first broken item: {}", relative(&bad_proof, &victim))), "{out}");
    assert!(out.contains("does not lead to the Merkle root"), "{out}");

    // One manifest signature edited.
    let bad_sig = dir.join("edited-signature");
    copy_dir(&bundle, &bad_sig);
    let split = records[0].file_name().unwrap().to_str().unwrap().trim_end_matches(".ndjson").to_string();
    let victim = files(&bad_sig, "manifests/").into_iter().find(|m| m.to_str().unwrap().ends_with(&format!("{split}.manifest.json"))).unwrap();
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(&victim).unwrap()).unwrap();
    let signature = manifest["signature"].as_str().unwrap().to_string();
    manifest["signature"] = format!("{}{}", if signature.starts_with('A') { 'B' } else { 'A' }, &signature[1..]).into();
    std::fs::write(&victim, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let (code, out) = verify(&bad_sig, &pinned);
    assert_eq!(code, 1, "{out}");
    let name = relative(&bad_sig, &victim);
    assert!(out.contains(&format!("first broken item: {name}")), "{out}");
    assert!(out.contains(&format!("BROKEN {name}: manifest signature is invalid")), "{out}");

    // The CLI export is in the audit stream: who, what, the query, the range, the digest.
    let record = audit_record_where(&topic, "audit-export", |e| e["fields"]["export.query"] == QUERY);
    assert!(record["user.name"].as_str().unwrap().starts_with("cli:"), "{record:#}");
    assert_eq!(record["observer.product"], "logwarden cli");
    assert_eq!(record["fields"]["export.bundle.sha256"], summary["bundle_sha256"], "{record:#}");
    assert_eq!(record["fields"]["export.stream"], "access");
    assert_eq!(record["fields"]["export.from"], "2000-01-01T00:00:00Z");
    assert_eq!(record["fields"]["export.to"], to.as_str());
    assert!(record["@timestamp"].is_string());

    // The API serves filtered exports too.
    let api = Logwarden::start(&["query-api", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    let response = reqwest::blocking::Client::new()
        .post(api.url("/api/v1/exports"))
        .bearer_auth(AUDITOR)
        .json(&serde_json::json!({"stream": "access", "from": "2000-01-01T00:00:00Z", "to": to, "query": QUERY}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let tar = dir.join("served.tar");
    std::fs::write(&tar, response.bytes().unwrap()).unwrap();
    api.stop();
    let unpacked = dir.join("served");
    std::fs::create_dir_all(&unpacked).unwrap();
    assert!(Command::new("tar").arg("xf").arg(&tar).arg("-C").arg(&unpacked).status().unwrap().success());
    let served = std::fs::read_dir(&unpacked).unwrap().next().unwrap().unwrap().path();
    let (code, out) = verify(&served, &pinned);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{matching} records proven")), "{out}");
    let record = audit_record_where(&topic, "audit-export", |e| e["user.name"] == "auditor");
    assert_eq!(record["fields"]["export.query"], QUERY);

    // A store whose older manifests are format 1: it verifies, says so, and
    // exports (whole, filtered: format-1 splits with a match go whole).
    let old = dir.join("old-store");
    copy_dir(&data, &old);
    let downgraded = downgrade_older_manifests(&old);
    assert!(downgraded > 0);
    let out = ok(logwarden(&["verify", "--data-dir", old.to_str().unwrap()]));
    assert!(out.contains("of format 1, without a Merkle root"), "{out}");
    let whole = dir.join("old-whole");
    ok(logwarden(&["export", "--data-dir", old.to_str().unwrap(), "--stream", "access", "--from", "2000-01-01T00:00:00Z", "--to", &to, "--out", whole.to_str().unwrap()]));
    let (code, out) = verify(&whole, &pinned);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{downgraded} manifest(s) of format 1")), "{out}");
    assert!(out.contains(&format!("({LIVE} records)")), "{out}");
    let filtered = dir.join("old-filtered");
    let summary: Value = serde_json::from_str(&ok(logwarden(&[
        "export", "--data-dir", old.to_str().unwrap(), "--stream", "access", "--from", "2000-01-01T00:00:00Z", "--to", &to, "--query", QUERY, "--out", filtered.to_str().unwrap(),
    ])))
    .unwrap();
    let (code, out) = verify(&filtered, &pinned);
    assert_eq!(code, 0, "{out}");
    let export: Value = serde_json::from_str(&std::fs::read_to_string(filtered.join("export.json")).unwrap()).unwrap();
    let whole_splits = export["whole_splits"].as_array().map_or(0, |w| w.len());
    assert!(whole_splits > 0, "{export:#}");
    assert!(summary["records"].as_u64().unwrap() >= matching, "{summary:#}");
    assert!(summary["proven_records"].as_u64().unwrap() < matching, "{summary:#}");
}
