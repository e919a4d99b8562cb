//! The detector end to end: the real OpenSSH log through collector, Kafka,
//! the detection and correlation stages and an Alertmanager-shaped hook to
//! a real HTTP receiver; and the same under kill -9.
//!
//! Expected alerts come from a script over the log (below): failed SSH
//! logins per source address, ten within five minutes raise an alert and
//! start the count afresh.

mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::Value;
use support::push::read_topic;
use support::receiver::Receiver;
use support::{Logwarden, brokers, loghub, temp_dir, unique};

const RULE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/linux/ssh_brute_force.yml");

/// (source address, first event of the window as `MM-DDTHH:MM:SS`) of each
/// expected alert, computed from the log text alone.
fn expected_alerts(log: &Path) -> BTreeSet<(String, String)> {
    let failure = regex::Regex::new(
        r"^(\w{3} +\d+ \d\d:\d\d:\d\d) \S+ sshd\[\d+\]: (?:Failed \S+ for (?:invalid user )?.*? from (\S+) port \d+|Invalid user .*? from (\S+)(?: port \d+)?$)",
    )
    .unwrap();
    let mut windows: BTreeMap<String, VecDeque<NaiveDateTime>> = BTreeMap::new();
    let mut alerts = BTreeSet::new();
    for line in std::fs::read_to_string(log).unwrap().lines() {
        let Some(c) = failure.captures(line) else { continue };
        let ip = c.get(2).or(c.get(3)).unwrap().as_str().to_string();
        let at = NaiveDateTime::parse_from_str(&format!("2000 {}", &c[1]), "%Y %b %e %H:%M:%S").unwrap();
        let window = windows.entry(ip.clone()).or_default();
        window.push_back(at);
        while window.front().is_some_and(|&t| t < at - chrono::Duration::minutes(5)) {
            window.pop_front();
        }
        if window.len() >= 10 {
            alerts.insert((ip, window[0].format("%m-%dT%H:%M:%S").to_string()));
            window.clear();
        }
    }
    alerts
}

/// (source.ip label, startsAt as `MM-DDTHH:MM:SS`) of an Alertmanager body.
fn posted(body: &Value) -> (String, String) {
    assert_eq!(body["version"], "4", "{body}");
    assert_eq!(body["status"], "firing");
    let alert = &body["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "SSH Brute Force From One Source");
    assert_eq!(alert["labels"]["severity"], "high");
    let starts = alert["startsAt"].as_str().unwrap();
    (alert["labels"]["source_ip"].as_str().unwrap().to_string(), starts[5..19].to_string())
}

fn config(dir: &Path, name: &str, receiver: &str) -> std::path::PathBuf {
    let hook = format!("[[detect.hooks]]\nname = \"oncall\"\ntype = \"alertmanager\"\nurl = \"{receiver}\"\n");
    support::detect::write_config(dir, name, &format!("rules = [\"{RULE}\"]"), &hook)
}

#[test]
fn brute_force_alerts_reach_an_alertmanager_receiver() {
    let log = loghub("OpenSSH_2k.log");
    let expected = expected_alerts(&log);
    assert!(expected.len() > 20, "the log holds brute forces: {expected:?}");
    let receiver = Receiver::start();
    let dir = temp_dir("detect-e2e");
    let name = unique("detect-e2e");
    let config = config(&dir, &name, &receiver.url);
    let run = Logwarden::start(&["run", "--config", config.to_str().unwrap(), "--http-addr", "127.0.0.1:0", "--input", log.to_str().unwrap()]);

    let bodies = receiver.wait_for(expected.len(), Duration::from_secs(120));
    // A little longer: nothing more may come.
    std::thread::sleep(Duration::from_secs(3));
    let bodies = receiver.bodies().into_iter().chain(bodies.into_iter().take(0)).collect::<Vec<_>>();
    let got: Vec<(String, String)> = bodies.iter().map(posted).collect();
    let distinct: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(distinct, expected, "alerts posted vs computed from the log");
    assert_eq!(got.len(), expected.len(), "each alert posted once");

    // The alerts are events of the `alerts` stream, searchable like any other.
    run.wait_for_count("stream:alerts", expected.len() as u64, Duration::from_secs(60));
    let hits = run.search("stream:alerts AND source.ip:\"183.62.140.253\"", 1);
    assert!(hits["total"].as_u64().unwrap_or(0) > 0, "{hits}");
    run.stop();
}

/// Alert ids of `logwarden rules test` over the log: the uninterrupted run.
fn backtest_ids(log: &Path) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["rules", "test", "--rules", RULE, "--events", log.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn kill_9_the_detector_mid_stream_and_every_alert_keeps_its_id() {
    let source = loghub("OpenSSH_2k.log");
    let expected_ids = backtest_ids(&source);
    assert_eq!(expected_ids.len(), expected_alerts(&source).len(), "the backtest agrees with the script");
    let receiver = Receiver::start();
    let dir = temp_dir("detect-kill");
    let name = unique("detect-kill");
    let config = config(&dir, &name, &receiver.url);
    let config = config.to_str().unwrap();

    // The log is written while the collector tails it and the detector is killed.
    let log = dir.join("auth.log");
    let lines: Vec<String> = std::fs::read_to_string(&source).unwrap().lines().map(str::to_string).collect();
    let mut file = std::fs::File::create(&log).unwrap();
    let mut collector = Logwarden::start(&["collector", "--config", config, "--input", log.to_str().unwrap()]);
    let mut detector = Some(Logwarden::start(&["detect", "--config", config]));
    let started = Instant::now();
    let mut kills = 0;
    let mut next_kill = Duration::from_secs(4);
    for chunk in lines.chunks(40) {
        for line in chunk {
            writeln!(file, "{line}").unwrap();
        }
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(250));
        if started.elapsed() >= next_kill && kills < 4 {
            detector.take().unwrap().kill();
            kills += 1;
            detector = Some(Logwarden::start(&["detect", "--config", config]));
            next_kill = started.elapsed() + Duration::from_millis(2500);
        }
    }
    assert_eq!(kills, 4, "the detector was killed while the log was written");

    // Every expected alert on the alerts topic, each exactly once (transactions).
    let alerts = read_topic(&brokers(), &format!("{name}.alerts"), Duration::from_secs(180), |read| {
        read.iter().filter_map(|a| a["id"].as_str()).collect::<BTreeSet<_>>().len() >= expected_ids.len()
    });
    std::thread::sleep(Duration::from_secs(3));
    let alerts_again = read_topic(&brokers(), &format!("{name}.alerts"), Duration::from_secs(10), |read| read.len() > alerts.len());
    let ids: Vec<String> = alerts_again.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    let unexpected: Vec<String> = alerts_again
        .iter()
        .filter(|a| !expected_ids.contains(a["id"].as_str().unwrap()))
        .map(|a| format!("{} {} count {}", a["group"]["key"], a["first_seen"], a["count"]))
        .collect();
    assert_eq!(distinct, expected_ids, "alert ids after {kills} kills vs an uninterrupted run; unexpected: {unexpected:#?}");
    assert_eq!(ids.len(), distinct.len(), "no alert twice on the alerts topic");

    // The receiver saw each at least once.
    let bodies = receiver.wait_for(expected_ids.len(), Duration::from_secs(120));
    let posted: BTreeSet<String> = bodies.iter().map(|b| b["alerts"][0]["annotations"]["alert_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(posted, expected_ids, "every alert reached the receiver");
    eprintln!("{} alerts, {} POSTs after {kills} kills", expected_ids.len(), bodies.len());
    detector.take().unwrap().stop();
    collector.signal(libc::SIGTERM);
    let _ = collector.child.wait();
}

#[test]
fn a_standalone_detector_serves_metrics_health_and_readiness() {
    use std::io::BufRead;
    let receiver = Receiver::start();
    let dir = temp_dir("detect-metrics");
    let name = unique("detect-metrics");
    let config = config(&dir, &name, &receiver.url);
    let log = loghub("OpenSSH_2k.log");
    let collector = Logwarden::start(&["collector", "--config", config.to_str().unwrap(), "--input", log.to_str().unwrap()]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["detect", "--config", config.to_str().unwrap(), "--metrics-addr", "127.0.0.1:0"])
        .env("LOGWARDEN_KAFKA_BROKERS", brokers())
        .env("LOGWARDEN_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("logwarden: telemetry listening on ").map(str::to_string))
        .expect("the detector announces its telemetry address");
    std::thread::spawn(move || for _ in lines {});
    let get = |path: &str| reqwest::blocking::get(format!("{addr}{path}")).unwrap();
    assert_eq!(get("/healthz").status(), 200);
    assert_eq!(get("/readyz").status(), 200);
    receiver.wait_for(expected_alerts(&log).len(), Duration::from_secs(120));
    // The log's lines, and the alert events the detector itself wrote to
    // the events topic (read after the alerts went out, and skipped as the
    // `alerts` stream).
    let want = (2000 + expected_alerts(&log).len()) as f64;
    let read_events = |metrics: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with("logwarden_detect_events_total"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let started = Instant::now();
    let mut metrics = get("/metrics").text().unwrap();
    while read_events(&metrics) != Some(want) && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
        metrics = get("/metrics").text().unwrap();
    }
    assert_eq!(read_events(&metrics), Some(want), "{metrics}");
    assert!(metrics.contains("logwarden_detect_hook_sent_total"), "{metrics}");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success(), "SIGTERM stops the detector cleanly");
    drop(collector);
}
