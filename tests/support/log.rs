//! The log of a process started with `Logwarden::start_logged`: JSON lines
//! (`--log-format json`), kept as they come and echoed to the test's stderr.

use std::io::{BufRead, BufReader};
use std::process::ChildStderr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Clone)]
pub struct Log {
    records: Arc<Mutex<Vec<Value>>>,
}

impl Log {
    /// Reads `stderr` until it closes, on a thread of its own.
    pub fn capture(stderr: ChildStderr) -> Log {
        let records = Arc::new(Mutex::new(Vec::new()));
        let kept = records.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("{line}");
                // Lines that are not log records (a panic) are kept as text.
                let record = serde_json::from_str(&line).unwrap_or(Value::String(line));
                kept.lock().unwrap().push(record);
            }
        });
        Log { records }
    }

    /// Records so far.
    pub fn len(&self) -> usize {
        self.records.lock().unwrap().len()
    }

    /// Records from the `from`-th on whose message is `message`.
    pub fn with_message(&self, message: &str, from: usize) -> Vec<Value> {
        let records = self.records.lock().unwrap();
        records.iter().skip(from).filter(|r| r["message"] == message).cloned().collect()
    }

    /// Waits for a record with `message` from the `from`-th record on, and
    /// returns it; panics after `timeout`.
    pub fn wait_for(&self, message: &str, from: usize, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            if let Some(record) = self.with_message(message, from).into_iter().next() {
                return record;
            }
            assert!(started.elapsed() < timeout, "no log record `{message}` after {timeout:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
