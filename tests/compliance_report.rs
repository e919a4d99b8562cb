//! Black-box tests of the retention report: a real pipeline (`logwarden
//! run` over generated logs spanning five days plus live events, 4-second
//! windows so splits seal), stopped, then `logwarden compliance report`
//! on the intact store and on copies with one thing broken each, and the
//! HTTP endpoint with an auditor and an analyst key.

mod support;

use support::compliance::{ANALYST, AUDITOR, access_files, audit_record, auth_keys, copy_dir, logwarden, ok, save_config, wait_until_sealed};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::Value;
use support::{Logwarden, indexer_sections, temp_dir, unique};

/// A config for `data`, with `stream` settings for the `access` stream.
fn write_config(dir: &Path, name: &str, topic: &str, group: &str, stream: &str) -> String {
    let stream = format!("[streams.access]\n{stream}\n");
    save_config(dir, name, &[&indexer_sections(dir, topic, group, 2), &access_files(dir, true), &stream, &auth_keys(true)])
}

const COMPLIANT_POLICY: &str = "retention = \"400d\"\npresets = [\"kr-pipa-access\"]";

/// Every manifest under `data`: (split dir, manifest body).
fn manifests(data: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    let streams = data.join("streams");
    for stream in std::fs::read_dir(&streams).unwrap() {
        for partition in std::fs::read_dir(stream.unwrap().path()).unwrap() {
            for split in std::fs::read_dir(partition.unwrap().path()).unwrap() {
                let split = split.unwrap().path();
                if let Ok(text) = std::fs::read_to_string(split.join("manifest.json")) {
                    let manifest: Value = serde_json::from_str(&text).unwrap();
                    out.push((split, manifest["body"].clone()));
                }
            }
        }
    }
    out
}

fn report(args: &[&str]) -> Value {
    let mut all = vec!["compliance", "report"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(logwarden(&all))).unwrap()
}

fn stream<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["streams"].as_array().unwrap().iter().find(|s| s["stream"] == name).unwrap_or_else(|| panic!("no stream {name}: {report:#}"))
}

fn codes(stream: &Value) -> Vec<String> {
    stream["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_retention_report_proves_an_intact_store_and_names_each_breach() {
    let dir = temp_dir("compliance");
    let topic = unique("lw-compliance");
    let group = unique("g");
    let config = write_config(&dir, "logwarden.toml", &topic, &group, COMPLIANT_POLICY);
    let data = dir.join("data");
    let data_s = data.to_str().unwrap();

    // Five days of logs up to now, then live events during the run.
    let generated = ok(logwarden(&["generate", "--out", dir.join("logs").to_str().unwrap(), "--lines", "3000", "--span", "120h"]));
    let lines: u64 = generated.lines().map(|l| l.rsplit(": ").next().unwrap().trim_end_matches(" lines").parse::<u64>().unwrap()).sum();
    std::fs::create_dir_all(dir.join("live")).unwrap();
    let live_path = dir.join("live").join("live.json");
    let mut live = std::fs::File::create(&live_path).unwrap();
    let node = Logwarden::start(&["run", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    const LIVE: u64 = 40;
    for i in 0..LIVE {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        writeln!(live, r#"{{"@timestamp":"{now}","message":"live event {i}","host.name":"web{}"}}"#, i % 5).unwrap();
        live.flush().unwrap();
        std::thread::sleep(Duration::from_millis(250));
    }
    wait_until_sealed(&data, lines + LIVE, Duration::from_secs(120));
    node.stop();

    // As of the last seal: every window up to then is sealed.
    let all = manifests(&data);
    let at = all.iter().map(|(_, b)| b["sealed_at"].as_str().unwrap().to_string()).max().unwrap();
    ok(logwarden(&["compliance", "pin-key", "--data-dir", data_s]));

    // Intact: COMPLIANT, with the law cited and every fact in place.
    let intact = report(&["--config", &config, "--at", &at]);
    assert_eq!(intact["status"], "COMPLIANT", "{intact:#}");
    let access = stream(&intact, "access");
    assert_eq!(access["status"], "COMPLIANT", "{access:#}");
    assert_eq!(access["presets"][0]["name"], "kr-pipa-access");
    assert!(access["presets"][0]["citation"].as_str().unwrap().contains("제8조"));
    assert_eq!(access["retention"]["configured"], "400d");
    assert_eq!(access["retention"]["required"], "365d 6h");
    assert_eq!(access["retention"]["margin"], "34d 18h");
    assert_eq!(access["retention"]["binding_law"].as_str().unwrap().split(' ').next(), Some("kr-pipa-access"));
    assert!(access["windows"]["expected"].as_u64().unwrap() > 0);
    assert_eq!(access["windows"]["expected"], access["windows"]["present"]);
    assert_eq!(access["chain"]["intact"], true);
    assert_eq!(access["chain"]["verified_splits"], access["chain"]["sealed_splits"]);
    assert_eq!(intact["key"]["pinned"], true);
    let volume = access["volume"].as_array().unwrap();
    assert!(volume.len() >= 5, "{volume:?}");
    assert_eq!(volume.iter().map(|d| d["events"].as_u64().unwrap()).sum::<u64>(), lines + LIVE);
    assert!(volume.iter().all(|d| d["low"] == false && d["bytes"].as_u64().unwrap() > 0));

    // CSV and the printable HTML page, to a file.
    let csv = ok(logwarden(&["compliance", "report", "--config", &config, "--at", &at, "--format", "csv"]));
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let row = rows.find(|r| r.starts_with("access,")).unwrap();
    let status_col = header.iter().position(|h| *h == "status").unwrap();
    assert_eq!(row.split(',').nth(status_col), Some("COMPLIANT"));
    let page = dir.join("report.html");
    ok(logwarden(&["compliance", "report", "--config", &config, "--at", &at, "--format", "html", "--lang", "ko", "--out", page.to_str().unwrap()]));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("로그 보존 준수 보고서") && html.contains("@media print") && html.contains("COMPLIANT"), "{html}");
    assert!(!html.contains("<script"));

    // Data dir alone: no law is checked, the integrity facts still are.
    let bare = report(&["--data-dir", data_s, "--at", &at]);
    assert_eq!(bare["policy_source"], "none");
    assert_eq!(stream(&bare, "access")["status"], "COMPLIANT");
    assert!(stream(&bare, "access")["presets"].as_array().unwrap().is_empty());

    // The endpoint: auditors get it (and it is audited), analysts may not.
    let api = Logwarden::start(&["query-api", "--config", &config, "--http-addr", "127.0.0.1:0"]);
    let client = reqwest::blocking::Client::new();
    let get = |key: &str, query: &[(&str, &str)]| client.get(api.url("/api/v1/compliance/report")).bearer_auth(key).query(query).send().unwrap();
    let response = get(AUDITOR, &[("at", &at)]);
    assert_eq!(response.status(), 200);
    let served: Value = response.json().unwrap();
    assert_eq!(stream(&served, "access")["status"], "COMPLIANT", "{served:#}");
    let response = get(AUDITOR, &[("at", &at), ("format", "html"), ("lang", "en")]);
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(response.text().unwrap().contains("Log retention compliance report"));
    let response = get(AUDITOR, &[("format", "pdf")]);
    assert_eq!(response.status(), 400);
    let response = get(ANALYST, &[]);
    assert_eq!(response.status(), 403);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    let document: Value = client.get(api.url("/api/v1/openapi.json")).send().unwrap().json().unwrap();
    let operation = &document["paths"]["/api/v1/compliance/report"]["get"];
    for status in ["200", "400", "401", "403", "503"] {
        assert!(operation["responses"][status].is_object(), "no {status} response described");
    }
    assert!(document["components"]["schemas"]["ComplianceReport"].is_object());
    api.stop();
    // The served report is in the audit stream's topic, with its status.
    let record = audit_record(&topic, "compliance-report");
    assert_eq!(record["user.name"], "auditor");
    assert_eq!(record["fields"]["compliance.status"], "COMPLIANT", "{record:#}");
    assert_eq!(record["fields"]["compliance.report.sha256"].as_str().map(str::len), Some(64));

    // Unpinned key: AT_RISK, key_not_pinned.
    let unpinned = dir.join("data-unpinned");
    copy_dir(&data, &unpinned);
    std::fs::remove_file(unpinned.join("keys").join("pinned.pub.pem")).unwrap();
    let r = report(&["--config", &config, "--data-dir", unpinned.to_str().unwrap(), "--at", &at]);
    let s = stream(&r, "access");
    assert_eq!((s["status"].as_str(), codes(s)), (Some("AT_RISK"), vec!["key_not_pinned".to_string()]), "{s:#}");

    // A deleted split directory in the middle of a window chain: chain broken, gap listed.
    let gone = dir.join("data-gone");
    copy_dir(&data, &gone);
    let (victim, body) = middle_window(&manifests(&gone));
    std::fs::remove_dir_all(&victim).unwrap();
    let r = report(&["--config", &config, "--data-dir", gone.to_str().unwrap(), "--at", &at]);
    let s = stream(&r, "access");
    assert_eq!(s["status"], "NON_COMPLIANT");
    assert!(codes(s).contains(&"chain_broken".into()) && codes(s).contains(&"gap".into()), "{s:#}");
    let missing = &s["windows"]["missing"][0];
    assert_eq!(missing["partition"], body["partition"]);
    assert_eq!(missing["from"].as_str().unwrap()[..19], body["window_start"].as_str().unwrap()[..19]);

    // A removed manifest: chain broken.
    let unsigned = dir.join("data-nomanifest");
    copy_dir(&data, &unsigned);
    let (split, _) = manifests(&unsigned).into_iter().find(|(p, b)| b["event_count"].as_u64().unwrap() > 0 && p.join("meta.json").exists()).unwrap();
    std::fs::remove_file(split.join("manifest.json")).unwrap();
    let r = report(&["--config", &config, "--data-dir", unsigned.to_str().unwrap(), "--at", &at]);
    let s = stream(&r, "access");
    assert_eq!(s["status"], "NON_COMPLIANT");
    assert!(codes(s).contains(&"chain_broken".into()), "{s:#}");
    assert!(s["chain"]["problems"].as_array().unwrap().iter().any(|p| p["what"].as_str().unwrap().contains("without a manifest")));

    // A retention under the law's floor is refused when the config loads,
    // so a report never runs on it.
    let short = write_config(&dir, "short.toml", &topic, &group, "retention = \"30d\"\npresets = [\"kr-pipa-access\"]");
    let output = logwarden(&["compliance", "report", "--config", &short]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("streams.access.retention") && stderr.contains("제8조"), "{stderr}");

    // Data deleted (by a 2-day retention, thirty days on) before the
    // 1-year floor of the law the stream cites, while under legal hold.
    let deleted = dir.join("data-deleted");
    copy_dir(&data, &deleted);
    let careless = write_config(&dir, "careless.toml", &topic, &group, "retention = \"2d\"");
    let later = (Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let retention: Value = serde_json::from_str(&ok(logwarden(&["retention", "--config", &careless, "--data-dir", deleted.to_str().unwrap(), "--now", &later, "--json"]))).unwrap();
    assert!(!retention["deleted"].as_array().unwrap().is_empty(), "{retention}");
    let held = write_config(&dir, "held.toml", &topic, &group, &format!("{COMPLIANT_POLICY}\nlegal_hold = true\nlegal_hold_reason = \"case 2026-17\""));
    let after = (Utc::now() + chrono::Duration::days(31)).to_rfc3339();
    let r = report(&["--config", &held, "--data-dir", deleted.to_str().unwrap(), "--at", &after]);
    let s = stream(&r, "access");
    assert_eq!(s["status"], "NON_COMPLIANT");
    let c = codes(s);
    assert!(c.contains(&"deleted_before_floor".into()) && c.contains(&"deleted_under_hold".into()), "{c:?}");
    assert!(c.contains(&"verify_stale".into()), "the last verify is 31 days old: {c:?}");
    assert_eq!(s["legal_hold_reason"], "case 2026-17");
    let deletions = s["deletions"].as_array().unwrap();
    assert_eq!(deletions.len(), retention["deleted"].as_array().unwrap().len());
    assert!(deletions.iter().all(|d| d["signature_valid"] == true && !d["record"]["signature"].as_str().unwrap().is_empty()));
    let reason = &s["reasons"][0];
    assert!(!reason["en"].as_str().unwrap().is_empty() && !reason["ko"].as_str().unwrap().is_empty());

    // No manifests at all: INSUFFICIENT_DATA.
    let empty = dir.join("data-empty");
    copy_dir(&data, &empty);
    std::fs::remove_dir_all(empty.join("streams")).unwrap();
    let r = report(&["--config", &config, "--data-dir", empty.to_str().unwrap(), "--at", &at]);
    let s = stream(&r, "access");
    assert_eq!(s["status"], "INSUFFICIENT_DATA");
    assert_eq!(codes(s), vec!["no_manifests".to_string()]);
}

/// A window split (with events or empty) that is neither the first nor the
/// last window of its partition's chain.
fn middle_window(all: &[(PathBuf, Value)]) -> (PathBuf, Value) {
    let windows: Vec<&(PathBuf, Value)> = all.iter().filter(|(_, b)| b["stream"] == "access" && b["window_start"].is_string()).collect();
    for (path, body) in &windows {
        let starts: Vec<&str> = windows.iter().filter(|(_, b)| b["partition"] == body["partition"]).map(|(_, b)| b["window_start"].as_str().unwrap()).collect();
        let start = body["window_start"].as_str().unwrap();
        if starts.iter().any(|s| *s < start) && starts.iter().any(|s| *s > start) {
            return (path.clone(), body.clone());
        }
    }
    panic!("no window in the middle of a chain: {windows:?}");
}
