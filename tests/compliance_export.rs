//! Black-box tests of the audit export: a real pipeline (`logwarden run`
//! over a loghub log plus live events, 4-second windows so splits seal),
//! stopped, then `logwarden export` → `logwarden verify BUNDLE` on the
//! intact bundle, on copies with one thing broken each, the openssl and
//! sha256sum commands of its VERIFY.md, an empty range, the size limit,
//! and `POST /api/v1/exports` with an auditor and an analyst key, recorded
//! in the audit stream.

mod support;

use support::compliance::{
    ANALYST, AUDITOR, access_files, audit_record_where, auth_keys, copy_dir, files, logwarden, ok, relative, save_config, tar_of, verify_bundle, wait_until_sealed,
};

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::Value;
use support::{Logwarden, indexer_sections, loghub, temp_dir, unique};

/// A pipeline over `DIR/logs` and `DIR/live` into the `access` stream, kept
/// 400 days for PIPA, with an auditor and an analyst key; then `extra`.
fn write_config(dir: &Path, name: &str, topic: &str, group: &str, extra: &str) -> String {
    let stream = "[streams.access]\nretention = \"400d\"\npresets = [\"kr-pipa-access\"]\n";
    save_config(dir, name, &[&indexer_sections(dir, topic, group, 2), &access_files(dir, true), stream, &auth_keys(true), extra, "\n"])
}

/// `logwarden verify BUNDLE`: (exit code, stdout + stderr).
fn verify(bundle: &Path) -> (i32, String) {
    verify_bundle(bundle, None)
}

/// Runs the ```sh block of VERIFY.md in the bundle with `sh -e`.
fn run_verify_md(bundle: &Path) -> Output {
    let text = std::fs::read_to_string(bundle.join("VERIFY.md")).unwrap();
    let script = text.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    Command::new("sh").arg("-e").arg("-c").arg(script).current_dir(bundle).output().unwrap()
}

#[test]
fn an_export_verifies_offline_and_each_tampering_is_named() {
    let dir = temp_dir("export");
    let topic = unique("lw-export");
    let config = write_config(&dir, "logwarden.toml", &topic, &unique("g"), "");
    let data = dir.join("data");
    let data_s = data.to_str().unwrap();

    // A loghub log (ending in a newline), then live events during the run.
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let mut log = std::fs::read_to_string(loghub("OpenSSH_2k.log")).unwrap();
    if !log.ends_with('\n') {
        log.push('\n');
    }
    let lines = log.lines().count() as u64;
    std::fs::write(dir.join("logs").join("OpenSSH_2k.log"), &log).unwrap();
    std::fs::create_dir_all(dir.join("live")).unwrap();
    let mut live = std::fs::File::create(dir.join("live").join("live.json")).unwrap();
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    const LIVE: u64 = 24;
    for i in 0..LIVE {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        writeln!(live, r#"{{"@timestamp":"{now}","message":"live event {i}","host.name":"web{}"}}"#, i % 3).unwrap();
        live.flush().unwrap();
        std::thread::sleep(Duration::from_millis(250));
    }
    wait_until_sealed(&data, lines + LIVE, Duration::from_secs(120));
    node.stop();

    // Everything: every record, verified offline.
    let to = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let bundle = dir.join("bundle");
    let b = bundle.to_str().unwrap();
    let summary: Value = serde_json::from_str(&ok(logwarden(&["export", "--config", &config, "--stream", "access", "--from", "2000-01-01T00:00:00Z", "--to", &to, "--out", b]))).unwrap();
    assert_eq!(summary["records"], lines + LIVE, "{summary:#}");
    let cli_digest = summary["bundle_sha256"].as_str().unwrap().to_string();
    assert_eq!(summary["empty"], false);
    let (code, text) = verify(&bundle);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("OK: "), "{text}");
    let report: Value = serde_json::from_slice(&logwarden(&["verify", b, "--json"]).stdout).unwrap();
    assert_eq!(report["records_verified"], lines + LIVE, "{report:#}");
    assert!(report["empty_windows"].as_u64().unwrap() > 0, "empty windows are in the bundle: {report:#}");
    assert!(report["problems"].as_array().unwrap().is_empty());
    let records: u64 = files(&bundle, "records/").iter().map(|f| std::fs::read_to_string(f).unwrap().lines().count() as u64).sum();
    assert_eq!(records, lines + LIVE);
    let first: Value = serde_json::from_str(std::fs::read_to_string(&files(&bundle, "records/")[0]).unwrap().lines().next().unwrap()).unwrap();
    assert!(first["offset"].is_u64() && first["event"].is_object(), "{first}");
    // With the pinned key (the store's public key) too.
    let pinned = data.join("keys").join("manifest-signing.pem.pub.pem");
    ok(logwarden(&["verify", b, "--public-key", pinned.to_str().unwrap()]));

    // VERIFY.md's openssl and sha256sum commands succeed on the intact bundle.
    let output = run_verify_md(&bundle);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(report["key_id"].as_str().unwrap()) && stdout.contains("Signature Verified Successfully"), "{stdout}");
    assert_eq!(verify(&bundle).0, 0, "the commands leave nothing behind");

    // One byte of one record flipped.
    let flipped = dir.join("flipped");
    copy_dir(&bundle, &flipped);
    let victim = files(&flipped, "records/").into_iter().last().unwrap();
    let text = std::fs::read_to_string(&victim).unwrap();
    let at = text.find("live event").or_else(|| text.find("sshd")).unwrap();
    let mut bytes = text.into_bytes();
    bytes[at] ^= 0x01;
    std::fs::write(&victim, bytes).unwrap();
    let (code, text) = verify(&flipped);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("first broken item: {}", relative(&flipped, &victim))), "{text}");
    let flipped_item = relative(&flipped, &victim);
    // sha256sum alone sees it too.
    assert!(!run_verify_md(&flipped).status.success());

    // One record dropped.
    let dropped = dir.join("dropped");
    copy_dir(&bundle, &dropped);
    let victim = files(&dropped, "records/").into_iter().next().unwrap();
    let text = std::fs::read_to_string(&victim).unwrap();
    let kept: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&victim, kept).unwrap();
    let (code, text) = verify(&dropped);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("first broken item: {}", relative(&dropped, &victim))), "{text}");

    // One manifest dropped.
    let unmanifested = dir.join("unmanifested");
    copy_dir(&bundle, &unmanifested);
    let manifests = files(&unmanifested, "manifests/");
    let victim = manifests[manifests.len() / 2].clone();
    std::fs::remove_file(&victim).unwrap();
    let (code, text) = verify(&unmanifested);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("first broken item: {}: missing", relative(&unmanifested, &victim))), "{text}");

    // The public key swapped for another.
    let swapped = dir.join("swapped");
    copy_dir(&bundle, &swapped);
    let other = dir.join("other.pem");
    assert!(Command::new("openssl").args(["genpkey", "-algorithm", "ed25519", "-out"]).arg(&other).status().unwrap().success());
    let public = Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&other).output().unwrap();
    std::fs::write(swapped.join("public-key.pem"), public.stdout).unwrap();
    let (code, text) = verify(&swapped);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("first broken item: public-key.pem"), "{text}");
    assert!(!run_verify_md(&swapped).status.success(), "openssl refuses the signature");
    // A pinned key that is not the bundle's.
    let output = logwarden(&["verify", b, "--public-key", dir.join("swapped").join("public-key.pem").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));

    // A range with no data: an empty bundle that verifies and says so.
    let empty = dir.join("empty");
    let summary: Value = serde_json::from_str(&ok(logwarden(&["export", "--data-dir", data_s, "--stream", "access", "--from", "1990-01-01T00:00:00Z", "--to", "1990-01-02T00:00:00Z", "--out", empty.to_str().unwrap()]))).unwrap();
    assert_eq!((summary["empty"].as_bool(), summary["records"].as_u64()), (Some(true), Some(0)));
    let (code, text) = verify(&empty);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("(empty)"), "{text}");
    let export: Value = serde_json::from_str(&std::fs::read_to_string(empty.join("export.json")).unwrap()).unwrap();
    assert!(export["note"].as_str().unwrap().contains("no sealed split"), "{export:#}");
    assert!(std::fs::read_to_string(empty.join("VERIFY.md")).unwrap().contains("This bundle holds no records"));
    assert!(run_verify_md(&empty).status.success());

    // Refused: a query that does not parse, and an export over compliance.max_export_bytes.
    let output = logwarden(&["export", "--data-dir", data_s, "--stream", "access", "--from", "2000-01-01T00:00:00Z", "--to", &to, "--query", "message:(unclosed", "--out", dir.join("q").to_str().unwrap()]);
    assert!(!output.status.success() && String::from_utf8_lossy(&output.stderr).contains("--query"), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!dir.join("q").exists());
    let small = write_config(&dir, "small.toml", &topic, &unique("g"), "[compliance]\nmax_export_bytes = 4096");
    let output = logwarden(&["export", "--config", &small, "--stream", "access", "--from", "2000-01-01T00:00:00Z", "--to", &to, "--out", dir.join("big").to_str().unwrap()]);
    assert!(!output.status.success() && String::from_utf8_lossy(&output.stderr).contains("compliance.max_export_bytes (4096 bytes)"), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!dir.join("big").exists(), "nothing is left of a refused export");

    // The endpoint: auditors get a tar that verifies, analysts a 403.
    let api = Logwarden::start(&["query-api", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    let client = reqwest::blocking::Client::new();
    let post = |key: &str, body: Value| client.post(api.url("/api/v1/exports")).bearer_auth(key).json(&body).send().unwrap();
    let range = serde_json::json!({"stream": "access", "from": "2000-01-01T00:00:00Z", "to": to});
    let response = post(AUDITOR, range.clone());
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-tar");
    let digest = response.headers()["x-logwarden-bundle-sha256"].to_str().unwrap().to_string();
    let tar = dir.join("served.tar");
    std::fs::write(&tar, response.bytes().unwrap()).unwrap();
    let unpacked = dir.join("served");
    std::fs::create_dir_all(&unpacked).unwrap();
    assert!(Command::new("tar").arg("xf").arg(&tar).arg("-C").arg(&unpacked).status().unwrap().success());
    let served = std::fs::read_dir(&unpacked).unwrap().next().unwrap().unwrap().path();
    let (code, text) = verify(&served);
    assert_eq!(code, 0, "{text}");
    assert_eq!(String::from_utf8_lossy(&Command::new("sha256sum").arg(served.join("statement.json")).output().unwrap().stdout).split(' ').next(), Some(digest.as_str()));
    let response = post(ANALYST, range.clone());
    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().unwrap()["error"]["code"], "forbidden");
    let response = post(AUDITOR, serde_json::json!({"stream": "access", "from": "2000-01-01T00:00:00Z", "to": to, "out": "/tmp/x"}));
    assert_eq!(response.status(), 400, "no path is taken from the request");
    let response = post(AUDITOR, serde_json::json!({"stream": "access", "from": "2000-01-01T00:00:00Z", "to": to, "query": "message:(unclosed"}));
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().unwrap()["error"]["code"], "invalid_query");
    assert!(!data.join("exports").read_dir().unwrap().any(|_| true), "the server keeps no copy");
    server_verifies_bundles(&client, &api, &data, &std::fs::read(&tar).unwrap(), &flipped, &flipped_item, lines + LIVE);
    assert!(!data.join("exports").read_dir().unwrap().any(|_| true), "nothing is left of a verified bundle");
    api.stop();
    let record = audit_record_where(&topic, "audit-export", |e| e["user.name"] == "auditor");
    assert_eq!(record["user.name"], "auditor");
    assert_eq!(record["fields"]["export.stream"], "access");
    assert_eq!(record["fields"]["export.bundle.sha256"], digest.as_str(), "{record:#}");
    assert_eq!(record["fields"]["export.records"], (lines + LIVE).to_string());

    // Over the limit through the API: a 413 naming the limit.
    let api = Logwarden::start(&["query-api", "--config", &small, "--http-addr", "127.0.0.1:0"]);
    let response = client.post(api.url("/api/v1/exports")).bearer_auth(AUDITOR).json(&range).send().unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.text().unwrap().contains("compliance.max_export_bytes"));
    let over = vec![0u8; 4096 + (1 << 20) + 1];
    let response = client.post(api.url("/api/v1/exports/verify")).bearer_auth(AUDITOR).body(over).send().unwrap();
    assert_eq!(response.status(), 413, "a bundle to verify is held to the same limit");
    assert!(response.text().unwrap().contains("compliance.max_export_bytes (4096 bytes"));
    api.stop();

    // The exports listed from the audit stream once the pipeline indexed
    // their records: the API's and the command line's, newest first.
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    let started = std::time::Instant::now();
    let list = loop {
        let list: Value = client.get(node.url("/api/v1/exports?from=now-1h")).bearer_auth(AUDITOR).send().unwrap().json().unwrap();
        let digests: Vec<&str> = list["exports"].as_array().into_iter().flatten().filter_map(|e| e["bundle_sha256"].as_str()).collect();
        if digests.contains(&digest.as_str()) && digests.contains(&cli_digest.as_str()) {
            break list;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the exports are not listed: {list:#}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let exports = list["exports"].as_array().unwrap();
    let at = |sha: &str| exports.iter().position(|e| e["bundle_sha256"] == sha).unwrap();
    let (api_export, cli_export) = (&exports[at(&digest)], &exports[at(&cli_digest)]);
    assert!(at(&digest) < at(&cli_digest), "newest first: {list:#}");
    assert_eq!((api_export["who"].as_str(), api_export["via"].as_str(), api_export["stream"].as_str()), (Some("auditor"), Some("api"), Some("access")), "{list:#}");
    assert_eq!(api_export["records"], lines + LIVE);
    assert_eq!((api_export["from"].as_str(), api_export["to"].as_str()), (Some("2000-01-01T00:00:00Z"), Some(to.as_str())));
    assert_eq!(api_export["key_id"], report["key_id"]);
    assert!(cli_export["who"].as_str().unwrap().starts_with("cli:") && cli_export["via"] == "cli", "{list:#}");
    let one: Value = client.get(node.url("/api/v1/exports?from=now-1h&limit=1")).bearer_auth(AUDITOR).send().unwrap().json().unwrap();
    assert_eq!(one["exports"].as_array().unwrap().len(), 1);
    assert!(one["total"].as_u64().unwrap() >= 2, "{one:#}");
    assert_eq!(client.get(node.url("/api/v1/exports")).bearer_auth(ANALYST).send().unwrap().status(), 403);
    let document: Value = client.get(node.url("/api/v1/openapi.json")).send().unwrap().json().unwrap();
    for (path, method, statuses) in [("/api/v1/exports", "get", &["200", "400", "403"][..]), ("/api/v1/exports/verify", "post", &["200", "400", "403", "413"][..])] {
        for status in statuses {
            assert!(document["paths"][path][method]["responses"][status].is_object(), "{method} {path}: no {status} response");
        }
    }
    node.stop();
}

/// `POST /api/v1/exports/verify`: the served tar is intact and signed by
/// the store's key, then by the pinned key once it is pinned; a bundle
/// with one record's byte flipped names that file first; a body that is no
/// bundle is a 400; analysts get a 403.
fn server_verifies_bundles(client: &reqwest::blocking::Client, api: &Logwarden, data: &Path, served: &[u8], flipped: &Path, flipped_item: &str, records: u64) {
    let check = |key: &str, body: Vec<u8>| {
        client.post(api.url("/api/v1/exports/verify")).bearer_auth(key).header("content-type", "application/x-tar").body(body).send().unwrap()
    };
    let response = check(AUDITOR, served.to_vec());
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["intact"], true, "{answer:#}");
    assert!(answer["first_broken"].is_null());
    assert_eq!((answer["key"]["matches"].as_bool(), answer["key"]["trusted"].as_str()), (Some(true), Some("store")), "{answer:#}");
    assert_eq!(answer["report"]["records_verified"], records);
    ok(logwarden(&["compliance", "pin-key", "--data-dir", data.to_str().unwrap()]));
    let answer: Value = check(AUDITOR, served.to_vec()).json().unwrap();
    assert_eq!((answer["intact"].as_bool(), answer["key"]["matches"].as_bool(), answer["key"]["trusted"].as_str()), (Some(true), Some(true), Some("pinned")), "{answer:#}");

    let answer: Value = check(AUDITOR, tar_of(flipped)).json().unwrap();
    assert_eq!(answer["intact"], false, "{answer:#}");
    assert_eq!(answer["first_broken"]["item"], flipped_item, "{answer:#}");
    assert!(!answer["report"]["problems"].as_array().unwrap().is_empty());

    let response = check(AUDITOR, b"this is not a tar, it is not a bundle".repeat(40));
    assert_eq!(response.status(), 400);
    let error: Value = response.json().unwrap();
    assert_eq!(error["error"]["code"], "invalid_bundle", "{error:#}");
    assert!(error["error"]["message"].as_str().unwrap().contains("not an export bundle"), "{error:#}");
    assert_eq!(check(AUDITOR, Vec::new()).status(), 400);

    let response = check(ANALYST, served.to_vec());
    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().unwrap()["error"]["code"], "forbidden");
}

