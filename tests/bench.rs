//! Black-box test of `logwarden bench`: a tiny run (seconds) against the
//! real broker proves the harness works end to end. No timing thresholds:
//! it checks that every figure was measured, is positive, and that ratios
//! were computed from baselines of the same run.

mod support;

use std::process::Command;

use serde_json::Value;

/// Runs `logwarden bench ARGS --json --out DIR/report.json --work-dir
/// DIR/work` against the test broker; what it printed on stdout.
fn bench(dir: &std::path::Path, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .arg("bench")
        .args(args)
        .args(["--json", "--out"])
        .arg(dir.join("report.json"))
        .arg("--work-dir")
        .arg(dir.join("work"))
        .env("LOGWARDEN_KAFKA_BROKERS", support::brokers())
        .env("LOGWARDEN_LOG", "warn")
        .output()
        .expect("running logwarden bench");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed:\n{stderr}");
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

#[test]
fn tiny_bench_reports_every_figure_with_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let printed = bench(dir.path(), &["--lines", "20000", "--quick"]);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).expect("--out holds JSON");
    assert_eq!(printed, saved);
    let report = saved;
    // Each run works in a directory of its own under --work-dir, so a
    // second run never resumes the first one's data dirs.
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run_dir = runs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(run_dir.starts_with("run-"), "{run_dir}");
    assert!(runs[0].join("corpus").join("auth.log").is_file(), "{run_dir} holds no corpus");

    assert!(report["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(report["machine"]["memory_bytes"].as_u64().unwrap() > 0);
    for key in ["logwarden", "rustc", "librdkafka", "tantivy", "kafka"] {
        assert!(
            report["versions"][key].is_string(),
            "version of {key} missing"
        );
    }
    assert_eq!(report["corpus"]["lines"], 20000);
    let files: Vec<&str> = report["corpus"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"app.json") && files.contains(&"auth.log"),
        "{files:?}"
    );

    let stages = &report["stages"];
    assert!(
        stages["perf_test"]["records_per_sec"].as_f64().unwrap() > 0.0,
        "perf-test did not run: {}",
        stages["perf_test_skipped"]
    );
    let freshness = &stages["pipeline_run"]["freshness"];
    assert!(freshness["markers_written"].as_u64().unwrap() >= 20);
    assert_eq!(freshness["markers_found"], freshness["markers_written"]);

    let figures = report["figures"].as_array().unwrap();
    let figure = |name: &str| -> &Value {
        figures
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("figure `{name}` missing"))
    };
    for name in [
        "collector events/s",
        "collector events/s vs Kafka",
        "raw producer events/s vs Kafka",
        "collector MB/s (raw log)",
        "collector events/s per core",
        "indexer events/s",
        "indexer events per CPU-second",
        "indexer MB/s (raw log)",
        "indexer MB/s per core",
    ] {
        let f = figure(name);
        assert!(f["value"].as_f64().unwrap() > 0.0, "{name}: {f}");
        assert!(f["baseline_value"].as_f64().unwrap() > 0.0, "{name}: {f}");
        let ratio = f["ratio"].as_f64().unwrap();
        let expected = f["value"].as_f64().unwrap() / f["baseline_value"].as_f64().unwrap();
        assert!(
            (ratio - expected).abs() < 1e-9 * expected.max(1.0),
            "{name}: {f}"
        );
    }
    for name in [
        "indexer peak RSS",
        "collector peak RSS",
        "query-api peak RSS",
        "pipeline (run) peak RSS",
        "collector CPU s per GB",
        "indexer CPU s per GB",
        "pipeline (run) CPU s per GB",
        "pipeline (run) events/s",
        "freshness p50 (line written to searchable)",
        "freshness p99",
        "freshness max",
        "search p50: term over the last hour",
        "search p99: full text over a day",
    ] {
        let f = figure(name);
        assert!(f["value"].as_f64().unwrap() > 0.0, "{name}: {f}");
    }
    // The indexer's own memory is part of its resident set.
    let (anon, peak) = (figure("indexer peak anonymous RSS (sampled)"), figure("indexer peak RSS"));
    let anon = anon["value"].as_f64().unwrap();
    assert!(anon > 0.0 && anon <= peak["value"].as_f64().unwrap(), "{anon} of {peak}");
    // The lag is measured (0 is a value: a small corpus may never lag).
    for name in ["indexer lag during the load (p50)", "indexer lag during the load (max)"] {
        let f = figure(name);
        assert!(f["value"].as_f64().is_some_and(|v| v >= 0.0), "{name}: {f}");
    }
    // A query the API does not serve yet is reported, not fatal.
    for query in stages["search"].as_array().unwrap() {
        let status = query["status"].as_str().unwrap();
        assert!(status == "ok" || status == "unsupported", "{query}");
        assert_eq!(
            status == "ok",
            query["latency"]["p50_ms"].as_f64().is_some()
        );
    }
    assert!(figure("collector events/s")["goal"].is_string());

    // The detector: beside rsigma's own engine on the same events and rules,
    // its CPU share of the pipeline, and every alert triggered reached the
    // webhook receiver.
    let detection = &stages["detection"];
    let rules = &detection["baselines"]["rules"];
    assert!(rules["detection_rules"].as_u64().unwrap() >= 100, "{rules}");
    assert_eq!(rules["correlations"], 1, "{rules}");
    assert_eq!(rules["rsigma_rules"], rules["detection_rules"], "both sides run the same rules: {rules}");
    assert!(detection["baselines"]["hits"].as_u64().unwrap() > 0, "the corpus feeds the brute-force correlation");
    for name in [
        "detector events/s",
        "detector events/s per core",
        "logwarden RuleSet::evaluate, 1 thread",
        "detect stage work (decode+view+rules), 1 thread",
    ] {
        let f = figure(name);
        assert!(f["value"].as_f64().unwrap() > 0.0, "{name}: {f}");
        assert!(f["baseline_value"].as_f64().unwrap() > 0.0, "{name}: {f}");
        assert!(f["ratio"].as_f64().unwrap() > 0.0, "{name}: {f}");
    }
    let share = figure("detector CPU share of the pipeline");
    let percent = share["value"].as_f64().unwrap();
    assert!(percent > 0.0 && percent < 100.0, "{share}");
    assert!(share["goal"].is_string());
    let latency = &detection["latency"];
    assert_eq!(latency["rule_written"].as_u64().unwrap() + latency["correlation_written"].as_u64().unwrap(), 20);
    assert!(latency["correlation_written"].as_u64().unwrap() >= 1, "{latency}");
    assert_eq!(latency["rule_received"], latency["rule_written"], "{latency}");
    assert_eq!(latency["correlation_received"], latency["correlation_written"], "{latency}");
    for name in ["alert latency p50 (line written to webhook)", "alert latency p99", "alert latency p99, correlation"] {
        let f = figure(name);
        assert!(f["value"].as_f64().unwrap() > 0.0, "{name}: {f}");
    }
}

/// `--rounds 2`: the indexer and its same-schema baseline alternate, the
/// pipeline runs twice; the per CPU-second figures are the medians of the
/// rounds' rates, and the freshness figures pool every round's markers.
#[test]
fn rounds_alternate_the_indexer_with_its_baseline_and_pool_the_markers() {
    let dir = tempfile::tempdir().unwrap();
    let report = bench(
        dir.path(),
        &["--lines", "5000", "--rounds", "2", "--skip-detect", "--skip-perf-test", "--search-repeats", "1", "--min-markers", "5"],
    );
    let rounds = &report["stages"]["rounds"];
    let rates = |stage: &str, rate: &str| -> Vec<f64> {
        let list = rounds[stage].as_array().unwrap_or_else(|| panic!("{stage} rounds missing: {rounds}"));
        list.iter().map(|r| r[rate].as_f64().unwrap()).collect()
    };
    for stage in ["collector", "raw_producer", "indexer", "indexer_same_schema", "pipeline"] {
        let wall = rates(stage, "events_per_sec");
        assert_eq!(wall.len(), 2, "{stage}: {rounds}");
        assert!(wall.iter().all(|&r| r > 0.0), "{stage}: {rounds}");
    }
    let (indexer, same) = (rates("indexer", "events_per_cpu_second"), rates("indexer_same_schema", "events_per_cpu_second"));
    // Three baseline runs around two indexer rounds; each round's baseline
    // is the mean CPU per event of the runs on either side.
    let runs = rates("same_schema_runs", "events_per_cpu_second");
    assert_eq!(runs.len(), 3, "{rounds}");
    for (round, bracket) in same.iter().enumerate() {
        let expected = 2.0 / (1.0 / runs[round] + 1.0 / runs[round + 1]);
        assert!((bracket - expected).abs() <= expected * 1e-9, "round {round}: {bracket} against {expected} of {runs:?}");
    }
    let figure = |name: &str| -> Value {
        report["figures"].as_array().unwrap().iter().find(|f| f["name"] == name).cloned()
            .unwrap_or_else(|| panic!("figure `{name}` missing"))
    };
    // Of two rounds the median is the lower.
    let per_cpu = figure("indexer events per CPU-second");
    assert_eq!(per_cpu["value"].as_f64().unwrap(), indexer.iter().copied().fold(f64::MAX, f64::min), "{per_cpu}");
    assert_eq!(per_cpu["baseline_value"].as_f64().unwrap(), same.iter().copied().fold(f64::MAX, f64::min), "{per_cpu}");
    assert!(per_cpu["note"].as_str().unwrap().contains("same schema, rounds"), "{per_cpu}");
    let ratios: Vec<f64> = indexer.iter().zip(&same).map(|(i, s)| i / s).collect();
    let named = format!("ratio per round: {:.2}, {:.2}", ratios[0], ratios[1]);
    assert!(per_cpu["note"].as_str().unwrap().contains(&named), "{named} in {per_cpu}");
    // Every round's markers, each found once.
    let freshness = &report["stages"]["pipeline_run"]["freshness"];
    assert!(freshness["markers_written"].as_u64().unwrap() >= 10, "{freshness}");
    assert_eq!(freshness["markers_found"], freshness["markers_written"], "{freshness}");
    assert_eq!(freshness["latency"]["count"], freshness["markers_found"], "{freshness}");
    // The slowest markers, the slowest first, its latency the maximum.
    let slowest = freshness["slowest"].as_array().unwrap();
    assert_eq!(slowest.len(), 5, "{freshness}");
    assert_eq!(slowest[0]["latency_ms"], freshness["latency"]["max_ms"], "{freshness}");
    assert!(slowest.windows(2).all(|w| w[0]["latency_ms"].as_f64() >= w[1]["latency_ms"].as_f64()), "{freshness}");
    assert!(slowest.iter().all(|m| m["round"].as_u64().unwrap() < 2), "{freshness}");
    // Only the first round's index is searched and kept.
    let run = std::fs::read_dir(dir.path().join("work")).unwrap().next().unwrap().unwrap().path();
    assert!(run.join("indexer-data").is_dir() && !run.join("indexer-data-1").exists(), "{}", run.display());
    assert!(run.join("indexer-1.log").is_file() && run.join("run-1.log").is_file(), "{}", run.display());
    assert!(!report["stages"]["search"].as_array().unwrap().is_empty());
}
