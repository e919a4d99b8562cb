//! What the stages measure: a component's figures over one stage
//! ([`Measured`]) and the whole pipeline's ([`Pipeline`]); `run` fills
//! them, `figures` sets them beside their baselines.

use serde::Serialize;

use crate::process::Usage;
use crate::rss::RssOverTime;
use crate::search::Freshness;

pub const MB: f64 = 1e6;
const GB: f64 = 1e9;

/// A component's figures over one stage.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub seconds: f64,
    pub events: u64,
    pub raw_bytes: u64,
    pub events_per_sec: f64,
    pub mb_per_sec: f64,
    pub usage: Option<Usage>,
    /// Events per CPU-second of the component's process (utime + stime):
    /// "per core" in the table.
    pub events_per_cpu_second: Option<f64>,
    pub mb_per_cpu_second: Option<f64>,
    pub cpu_seconds_per_gb: Option<f64>,
    /// Seconds from process start until the first event was seen (the
    /// indexer: first searchable); start-up's share of `seconds`.
    pub first_seen_seconds: Option<f64>,
    /// Resident memory sampled over the stage (the indexer's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_over_time: Option<RssOverTime>,
}

impl Measured {
    pub fn new(seconds: f64, events: u64, raw_bytes: u64, usage: Option<Usage>) -> Measured {
        let seconds = seconds.max(1e-9);
        let cpu = usage.map(|u| u.cpu_seconds).filter(|c| *c > 0.0);
        Measured {
            seconds,
            events,
            raw_bytes,
            events_per_sec: events as f64 / seconds,
            mb_per_sec: raw_bytes as f64 / MB / seconds,
            usage,
            events_per_cpu_second: cpu.map(|c| events as f64 / c),
            mb_per_cpu_second: cpu.map(|c| raw_bytes as f64 / MB / c),
            cpu_seconds_per_gb: cpu.map(|c| c / (raw_bytes as f64 / GB)),
            first_seen_seconds: None,
            rss_over_time: None,
        }
    }
}

/// The whole pipeline in one process, with marker lines during the load.
#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub measured: Measured,
    pub freshness: Freshness,
    /// Markers written before the corpus was fully searchable.
    pub markers_during_load: usize,
    /// Mean `logwarden_indexer_commit_seconds` from the process's /metrics.
    pub mean_commit_seconds: Option<f64>,
    /// The indexer's lag over its partitions while the corpus loaded
    /// (`logwarden_indexer_partition_lag_events`, summed, sampled every
    /// [`crate::run::LAG_SAMPLE`]): median and largest, in events.
    pub lag_p50_events: Option<f64>,
    pub lag_max_events: Option<f64>,
}

