//! The report: figures beside their baselines, machine facts and versions;
//! printed as a table or as JSON.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: Option<f64>,
    pub unit: &'static str,
    /// What bounds this figure, measured in the same run.
    pub baseline: Option<String>,
    pub baseline_value: Option<f64>,
    /// value / baseline_value.
    pub ratio: Option<f64>,
    /// The goal from the issues, as text.
    pub goal: Option<String>,
    pub goal_met: Option<bool>,
    /// Why a figure has no value, or how to read it.
    pub note: Option<String>,
}

/// What a goal constrains.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    ValueAtLeast(f64),
    ValueAtMost(f64),
    RatioAtLeast(f64),
}

impl Figure {
    pub fn new(name: impl Into<String>, value: Option<f64>, unit: &'static str) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit,
            baseline: None,
            baseline_value: None,
            ratio: None,
            goal: None,
            goal_met: None,
            note: None,
        }
    }

    pub fn baseline(mut self, what: impl Into<String>, value: Option<f64>) -> Figure {
        self.baseline = Some(what.into());
        self.baseline_value = value;
        self.ratio = match (self.value, value) {
            (Some(v), Some(b)) if b > 0.0 => Some(v / b),
            _ => None,
        };
        self
    }

    pub fn goal(mut self, goal: Goal) -> Figure {
        let (text, met) = match goal {
            Goal::ValueAtLeast(g) => (
                format!(">= {}", human(g, self.unit)),
                self.value.map(|v| v >= g),
            ),
            Goal::ValueAtMost(g) => (
                format!("<= {}", human(g, self.unit)),
                self.value.map(|v| v <= g),
            ),
            Goal::RatioAtLeast(g) => (format!("ratio >= {g}"), self.ratio.map(|r| r >= g)),
        };
        self.goal = Some(text);
        self.goal_met = met;
        self
    }

    /// A note under the table; an empty one is none.
    pub fn note(mut self, note: impl Into<String>) -> Figure {
        let note = note.into();
        self.note = (!note.is_empty()).then_some(note);
        self
    }
}

/// `1234567.0, "ev/s"` → `1.23M ev/s`; bytes as MiB/GiB.
pub fn human(value: f64, unit: &str) -> String {
    match unit {
        "bytes" => {
            let mib = value / (1024.0 * 1024.0);
            if mib >= 1024.0 {
                format!("{:.2} GiB", mib / 1024.0)
            } else {
                format!("{mib:.1} MiB")
            }
        }
        "ms" | "s" | "MB/s" | "CPU s/GB" => format!("{} {unit}", significant(value)),
        _ => {
            let (scaled, suffix) = if value.abs() >= 1e6 {
                (value / 1e6, "M")
            } else if value.abs() >= 1e3 {
                (value / 1e3, "k")
            } else {
                (value, "")
            };
            format!("{}{suffix} {unit}", significant(scaled))
        }
    }
}

pub fn significant(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The figures as an aligned text table, with notes under it.
pub fn table(figures: &[Figure]) -> String {
    let rows: Vec<[String; 5]> = figures
        .iter()
        .map(|f| {
            let value = match f.value {
                Some(v) => human(v, f.unit),
                None => "n/a".to_string(),
            };
            let baseline = match (&f.baseline, f.baseline_value) {
                (Some(what), Some(v)) => format!("{what}: {}", human(v, f.unit)),
                (Some(what), None) => format!("{what}: n/a"),
                _ => String::new(),
            };
            let ratio = f.ratio.map(|r| format!("{r:.2}")).unwrap_or_default();
            let goal = match (&f.goal, f.goal_met) {
                (Some(goal), Some(true)) => format!("{goal} (met)"),
                (Some(goal), Some(false)) => format!("{goal} (NOT met)"),
                (Some(goal), None) => goal.clone(),
                _ => String::new(),
            };
            [f.name.clone(), value, baseline, ratio, goal]
        })
        .collect();
    let header = ["figure", "value", "baseline (same run)", "ratio", "goal"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let mut text = String::from("|");
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            let _ = write!(text, " {cell}{} |", " ".repeat(pad));
        }
        out.push_str(&text);
        out.push('\n');
    };
    line(&mut out, &header.map(String::from));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for row in &rows {
        line(&mut out, row);
    }
    let notes: Vec<String> = figures
        .iter()
        .filter_map(|f| f.note.as_ref().map(|n| format!("- {}: {n}", f.name)))
        .collect();
    if !notes.is_empty() {
        out.push_str("\nnotes:\n");
        out.push_str(&notes.join("\n"));
        out.push('\n');
    }
    out
}

/// Cores, CPU model, memory, kernel, load: read from /proc.
pub fn machine() -> Value {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split(':').nth(1))
        .map(|m| m.trim().to_string());
    let meminfo = read("/proc/meminfo");
    let mem_kib = |key: &str| -> Option<u64> {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    serde_json::json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu_model": model,
        "memory_bytes": mem_kib("MemTotal:").map(|k| k * 1024),
        "memory_available_bytes": mem_kib("MemAvailable:").map(|k| k * 1024),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "hostname": gethostname::gethostname().to_string_lossy(),
    })
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse::<f64>().ok());
    Some([parts.next()??, parts.next()??, parts.next()??])
}

/// Versions of what was measured; `git_commit` is the source tree's state
/// now (`-dirty` when it has uncommitted changes), not necessarily the
/// binary's.
pub fn versions(kafka_script: Option<&Path>) -> Value {
    let (_, librdkafka) = rdkafka::util::get_rdkafka_version();
    let git = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string());
    serde_json::json!({
        "logwarden": env!("CARGO_PKG_VERSION"),
        "git_commit": git,
        "rustc": env!("LOGWARDEN_BENCH_RUSTC"),
        "librdkafka": librdkafka,
        "tantivy": tantivy::version_string(),
        "kafka": crate::kafka::broker_version(kafka_script),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_goals_and_table() {
        let f = Figure::new("collector", Some(300_000.0), "ev/s")
            .baseline("raw producer", Some(400_000.0))
            .goal(Goal::RatioAtLeast(0.7));
        assert_eq!(f.ratio, Some(0.75));
        assert_eq!(f.goal_met, Some(true));
        let missing = Figure::new("histogram p50", None, "ms").note("unsupported");
        let text = table(&[f, missing]);
        assert!(text.contains("300k ev/s"), "{text}");
        assert!(text.contains("0.75"), "{text}");
        assert!(text.contains("n/a"), "{text}");
        assert!(text.contains("- histogram p50: unsupported"), "{text}");
        let silent = Figure::new("collector per core", Some(1.0), "ev/s").note("");
        assert!(silent.note.is_none() && !table(&[silent]).contains("notes:"), "an empty note is none");
        assert_eq!(human(1.5 * 1024.0 * 1024.0 * 1024.0, "bytes"), "1.50 GiB");
    }
}
