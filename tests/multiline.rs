//! Multiline file inputs against the real broker: a Java log with stack
//! traces becomes one event per trace, every line of it searchable.

mod support;

use std::fmt::Write;
use std::time::Duration;

use serde_json::Value;
use support::push::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(180);
const TRACES: usize = 3;

/// A Java application log: each trace is a start line, the exception and its
/// frames, one nested `Caused by:` block; a plain line follows each trace.
fn java_log() -> (String, Vec<String>) {
    let mut log = String::new();
    let mut traces = Vec::new();
    for i in 0..TRACES {
        let mut trace = String::new();
        writeln!(trace, "2026-11-24 21:00:0{i},123 ERROR [main] com.example.Service - request {i} failed").unwrap();
        writeln!(trace, "java.lang.IllegalStateException: tracemarker{i} broken").unwrap();
        for frame in 0..5 {
            writeln!(trace, "\tat com.example.Service.handle{frame}(Service.java:{})", 10 + frame).unwrap();
        }
        writeln!(trace, "Caused by: java.io.IOException: disk gone").unwrap();
        writeln!(trace, "\tat java.base/java.io.FileInputStream.open0(Native Method)").unwrap();
        writeln!(trace, "\t... 12 more").unwrap();
        log.push_str(&trace);
        traces.push(trace.trim_end().to_string());
        writeln!(log, "2026-11-24 21:00:0{i},500 INFO [main] com.example.Service - plainline{i} recovered").unwrap();
    }
    (log, traces)
}

#[test]
fn a_java_stack_trace_is_one_event() {
    let data = temp_dir("multiline");
    let topic = unique("lw-multiline");
    let log = data.join("app.log");
    let (text, traces) = java_log();
    std::fs::write(&log, &text).unwrap();
    let config = data.join("logwarden.toml");
    std::fs::write(
        &config,
        format!(
            "[[collector.files]]\ninclude = [{:?}]\nmultiline = {{ start = '^\\d{{4}}-\\d{{2}}-\\d{{2}} ', timeout = \"500ms\" }}\n",
            log.display().to_string()
        ),
    )
    .unwrap();
    let data_arg = data.join("node").display().to_string();
    let config_arg = config.display().to_string();
    let node = Logwarden::start(&[
        "run", "--config", &config_arg, "--data-dir", &data_arg, "--http-addr", "127.0.0.1:0", "--topic", &topic,
        "--group", &topic,
    ]);
    node.wait_for_count("*", 2 * TRACES as u64, TIMEOUT);
    for (i, trace) in traces.iter().enumerate() {
        let hits = node.search(&format!("tracemarker{i}"), 10)["hits"].as_array().unwrap().clone();
        assert_eq!(hits.len(), 1, "one event for trace {i}: {hits:?}");
        assert_eq!(hits[0]["event.original"].as_str(), Some(trace.as_str()), "every line of trace {i}");
        let message = hits[0]["message"].as_str().unwrap();
        for line in trace.lines().skip(1) {
            assert!(message.contains(line.trim()), "message of trace {i} lacks {line:?}: {message:?}");
        }
        assert_eq!(node.count(&format!("plainline{i}")), 1, "the line after trace {i} is its own event");
    }
    // Frames are searchable words of their trace's event.
    assert_eq!(node.count("FileInputStream"), TRACES as u64);
    node.stop();
    std::fs::remove_dir_all(&data).unwrap();
}

/// The committed offset of the file in the checkpoints topic.
fn checkpoint_offset(brokers: &str, log: &std::path::Path) -> Option<u64> {
    support::exactly::committed_file_offset(brokers, log)
}

#[test]
fn a_pending_trace_is_not_checkpointed_survives_kill_9_and_is_sent_at_shutdown() {
    let brokers = shared_brokers();
    let dir = temp_dir("multiline-crash");
    let log = dir.join("app.log");
    let (text, traces) = java_log();
    // The first trace and the start of the second: the first is complete once
    // the second starts; the second stays pending (the timeout is long).
    let second = text.find("2026-11-24 21:00:01,123").unwrap();
    std::fs::write(&log, &text[..second + 200]).unwrap();
    let config = dir.join("logwarden.toml");
    std::fs::write(
        &config,
        format!(
            "[[collector.files]]\ninclude = [{:?}]\nmultiline = {{ start = '^\\d{{4}}-\\d{{2}}-\\d{{2}} ', timeout = \"1h\" }}\n",
            log.display().to_string()
        ),
    )
    .unwrap();
    let data = dir.join("data");
    let topic = unique("lw-multiline-crash");
    let (config_arg, data_arg) = (config.display().to_string(), data.display().to_string());
    let args = ["collector", "--config", &config_arg, "--data-dir", &data_arg, "--topic", &topic];
    let collector = Collector::start(&args, &brokers, &[]);
    let has = |events: &[Value], trace: &str| events.iter().any(|e| e["event.original"].as_str() == Some(trace));
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| e.len() >= 2);
    assert!(has(&events, &traces[0]), "the first trace is one event: {events:?}");
    let plain = text[..second].lines().last().unwrap();
    assert!(has(&events, plain), "the line after it too: {events:?}");
    // The checkpoint stops where the pending second trace starts.
    let started = std::time::Instant::now();
    while checkpoint_offset(&brokers, &log) != Some(second as u64) && started.elapsed() < TIMEOUT {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(checkpoint_offset(&brokers, &log), Some(second as u64), "checkpoint at the start of the pending trace");
    collector.kill();

    // The rest of the file arrives; after a restart the whole second trace is
    // read again from its first line, and SIGTERM sends the pending last one.
    std::fs::write(&log, &text).unwrap();
    let collector = Collector::start(&args, &brokers, &[]);
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| has(e, &traces[1]));
    assert!(has(&events, &traces[1]), "the second trace whole after the crash: {events:?}");
    collector.stop();
    let events = read_topic(&brokers, &topic, TIMEOUT, |e| has(e, &traces[2]));
    assert!(has(&events, &traces[2]), "the last trace is sent at shutdown: {events:?}");
    assert!(events.iter().all(|e| e["event.original"].as_str().is_some_and(|o| o.starts_with("2026-"))), "no half trace was sent");
    std::fs::remove_dir_all(&dir).unwrap();
}
