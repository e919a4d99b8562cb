//! Multiline file inputs against the real broker: a Java log with stack
//! traces becomes one event per trace, every line of it searchable.

mod support;

use std::fmt::Write;
use std::time::Duration;

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
