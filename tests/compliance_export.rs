//! Black-box tests of the audit export: a real pipeline (`logwarden run`
//! over a loghub log plus live events, 4-second windows so splits seal),
//! stopped, then `logwarden export` → `logwarden verify BUNDLE` on the
//! intact bundle, on copies with one thing broken each, the openssl and
//! sha256sum commands of its VERIFY.md, an empty range, the size limit,
//! and `POST /api/v1/exports` with an auditor and an analyst key, recorded
//! in the audit stream.

mod support;

use support::compliance::{audit_record_where, copy_dir, logwarden, wait_until_sealed};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use logwarden_config::auth::hash_key;
use serde_json::Value;
use support::{Logwarden, loghub, temp_dir, unique};

const AUDITOR: &str = "auditor-secret-0123456789";
const ANALYST: &str = "analyst-secret-0123456789";

fn ok(output: Output) -> String {
    assert!(output.status.success(), "{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `logwarden verify BUNDLE`: (exit code, stdout + stderr).
fn verify(bundle: &Path) -> (i32, String) {
    let output = logwarden(&["verify", bundle.to_str().unwrap()]);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

fn write_config(dir: &Path, name: &str, topic: &str, group: &str, extra: &str) -> String {
    let path = dir.join(name);
    let text = format!(
        r#"data_dir = "{data}"
[kafka]
topic = "{topic}"
partitions = 2
[indexer]
group = "{group}"
workers = 2
commit_interval = "100ms"
split_window = "4s"
seal_grace = "1s"
dlq_topic = "{topic}.dlq"
[[collector.files]]
include = ["{logs}/*", "{live}/*.json"]
stream = "access"
[streams.access]
retention = "400d"
presets = ["kr-pipa-access"]
[[auth.keys]]
name = "auditor"
role = "auditor"
hash = "{auditor}"
[[auth.keys]]
name = "analyst"
role = "analyst"
hash = "{analyst}"
{extra}
"#,
        data = dir.join("data").display(),
        logs = dir.join("logs").display(),
        live = dir.join("live").display(),
        auditor = hash_key(AUDITOR),
        analyst = hash_key(ANALYST),
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Files under `dir` whose relative path starts with `prefix`, sorted.
fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { walk(&path, out) } else { out.push(path) }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.retain(|p| p.strip_prefix(dir).unwrap().to_str().unwrap().starts_with(prefix));
    out.sort();
    out
}

fn relative(bundle: &Path, path: &Path) -> String {
    path.strip_prefix(bundle).unwrap().to_str().unwrap().to_string()
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
    api.stop();
}

