//! Lines that raise alerts, written at known instants to a file the
//! collector tails, and the alerts the hook received for them.
//!
//! Two kinds, each told apart by a label of its Alertmanager body:
//! - a kernel line SigmaHQ's `lnx_shell_susp_log_entries` matches
//!   (`entered promiscuous mode`), from a host of its own (`host_name`);
//! - an SSH brute force: ten failed logins from an address of its own
//!   (`source_ip`, in 198.18.0.0/15, the benchmarking range), which fires
//!   logwarden's `ssh_brute_force` correlation.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::receiver::Received;
use crate::stats::{Distribution, distribution};

/// Failed logins in one brute force: the correlation's threshold.
pub const BURST: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A SigmaHQ Linux detection rule.
    Rule,
    /// logwarden's SSH brute-force correlation.
    Correlation,
}

struct Written {
    kind: Kind,
    /// The label value the alert carries: host name or source address.
    key: String,
    at: Instant,
}

pub struct Triggers {
    file: File,
    tag: String,
    written: Vec<Written>,
    background: usize,
}

/// Latency from the line written (the last line of a brute force) to the
/// alert's body received by the hook.
#[derive(Debug, Clone, Serialize)]
pub struct AlertLatency {
    /// Triggers were written this far apart.
    pub interval_ms: u64,
    /// How far ahead of the clock the triggers' timestamps were set, to
    /// follow the corpus's last event.
    pub event_time_ahead_ms: u64,
    /// Background failed logins written meanwhile, and their rate.
    pub background_lines: usize,
    pub background_per_sec: f64,
    pub rule_written: usize,
    pub rule_received: usize,
    pub correlation_written: usize,
    pub correlation_received: usize,
    pub all: Option<Distribution>,
    pub rule: Option<Distribution>,
    pub correlation: Option<Distribution>,
}

impl Triggers {
    pub fn create(path: &Path) -> anyhow::Result<Triggers> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        Ok(Triggers {
            file,
            tag: format!("{:06x}", nanos & 0xff_ffff),
            written: Vec::new(),
            background: 0,
        })
    }

    pub fn written(&self) -> usize {
        self.written.len()
    }

    /// The `n`th trigger: every tenth a brute force, the others a rule line.
    pub fn write_next(&mut self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let n = self.written.len();
        let stamp = now.format("%b %e %H:%M:%S");
        let (kind, key, text) = if n % 10 == 9 {
            let ip = format!("198.18.{}.{}", (n / 250) % 256, n % 250 + 1);
            let host = format!("lwbrute-{}", self.tag);
            let mut text = String::new();
            for i in 0..BURST {
                text.push_str(&format!(
                    "{stamp} {host} sshd[{}]: Failed password for invalid user bench{i} from {ip} port {} ssh2\n",
                    4000 + n,
                    40000 + i
                ));
            }
            (Kind::Correlation, ip, text)
        } else {
            let host = format!("lwalert-{}-{n}", self.tag);
            let text = format!(
                "{stamp} {host} kernel: [{n}.000000] device eth0 entered promiscuous mode\n"
            );
            (Kind::Rule, host, text)
        };
        self.file
            .write_all(text.as_bytes())
            .context("writing an alert trigger")?;
        self.file.flush()?;
        self.written.push(Written {
            kind,
            key,
            at: Instant::now(),
        });
        Ok(())
    }

    /// Background lines written so far.
    pub fn background(&self) -> usize {
        self.background
    }

    /// One failed SSH login from an address never used again (198.19.0.0/16):
    /// a hit for the correlation that never reaches its threshold.
    pub fn write_background(&mut self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let n = self.background;
        let line = format!(
            "{} lwnoise-{} sshd[{}]: Failed password for root from 198.19.{}.{} port 22 ssh2\n",
            now.format("%b %e %H:%M:%S"),
            self.tag,
            3000 + n % 1000,
            (n / 254) % 256,
            n % 254 + 1
        );
        self.file
            .write_all(line.as_bytes())
            .context("writing a background line")?;
        self.file.flush()?;
        self.background += 1;
        Ok(())
    }

    /// How many triggers have an alert among `received`.
    pub fn answered(&self, received: &[Received]) -> usize {
        self.written
            .iter()
            .filter(|w| first_received(w, received).is_some())
            .count()
    }

    pub fn result(&self, received: &[Received], interval: std::time::Duration) -> AlertLatency {
        let mut rule = Vec::new();
        let mut correlation = Vec::new();
        for w in &self.written {
            let Some(at) = first_received(w, received) else {
                continue;
            };
            let ms = at.saturating_duration_since(w.at).as_secs_f64() * 1000.0;
            match w.kind {
                Kind::Rule => rule.push(ms),
                Kind::Correlation => correlation.push(ms),
            }
        }
        let count = |kind| self.written.iter().filter(|w| w.kind == kind).count();
        let all: Vec<f64> = rule.iter().chain(&correlation).copied().collect();
        AlertLatency {
            interval_ms: interval.as_millis() as u64,
            event_time_ahead_ms: 0,
            background_lines: self.background,
            background_per_sec: 0.0,
            rule_written: count(Kind::Rule),
            rule_received: rule.len(),
            correlation_written: count(Kind::Correlation),
            correlation_received: correlation.len(),
            all: distribution(&all),
            rule: distribution(&rule),
            correlation: distribution(&correlation),
        }
    }
}

/// When the first alert for `written` arrived.
fn first_received(written: &Written, received: &[Received]) -> Option<Instant> {
    let label = match written.kind {
        Kind::Rule => "host_name",
        Kind::Correlation => "source_ip",
    };
    received
        .iter()
        .filter(|(_, body)| {
            body["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|alert| {
                    alert["labels"][label].as_str() == Some(written.key.as_str())
                        && (written.kind == Kind::Rule)
                            == (alert["labels"]["kind"] != "correlation")
                })
        })
        .map(|(at, _)| *at)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn matches_alerts_by_their_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.log");
        let mut triggers = Triggers::create(&path).unwrap();
        for _ in 0..10 {
            triggers.write_next(Utc::now()).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 9 + BURST);
        assert_eq!(text.matches("entered promiscuous mode").count(), 9);
        let host = triggers.written[0].key.clone();
        let ip = triggers.written[9].key.clone();
        assert_eq!(ip, "198.18.0.10");
        let later = Instant::now() + std::time::Duration::from_millis(5);
        let body = |labels: Value| json!({"alerts": [{"labels": labels}]});
        let received = vec![
            (later, body(json!({"host_name": host, "kind": "detection"}))),
            (later, body(json!({"source_ip": ip, "kind": "correlation"}))),
            // Another host's alert, and a detection alert carrying the address: not these.
            (
                later,
                body(json!({"host_name": "web01", "kind": "detection"})),
            ),
            (
                later,
                body(json!({"source_ip": "198.18.0.1", "kind": "detection"})),
            ),
        ];
        assert_eq!(triggers.answered(&received), 2);
        let latency = triggers.result(&received, std::time::Duration::from_millis(250));
        assert_eq!((latency.rule_written, latency.rule_received), (9, 1));
        assert_eq!(
            (latency.correlation_written, latency.correlation_received),
            (1, 1)
        );
        assert_eq!(latency.all.unwrap().count, 2);
    }
}
