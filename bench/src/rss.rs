//! A component's resident memory over a stage: sampled from `/proc` about
//! once a second with the events searchable at that moment, summarised as
//! the peak and the RSS when a quarter, half, three quarters and all of the
//! corpus were searchable.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

/// One sample: seconds since the stage started, resident bytes (`VmRSS`)
/// and of them the process's own memory (`RssAnon`: heaps, arenas,
/// stacks) and mapped files' pages (`RssFile`: the segments tantivy reads
/// through mmap, which the kernel can drop and read again), events
/// searchable.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RssSample {
    pub seconds: f64,
    pub rss_bytes: u64,
    pub anon_bytes: u64,
    pub file_bytes: u64,
    pub events: u64,
}

/// The RSS when a share of the corpus was first searchable.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RssAtShare {
    /// Percent of the corpus.
    pub percent: u32,
    pub rss_bytes: u64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RssOverTime {
    pub interval_seconds: f64,
    /// Largest sampled `VmRSS` (the kernel's `VmHWM` is the exact peak).
    pub peak_sampled_bytes: u64,
    /// Largest sampled `RssAnon`.
    pub peak_sampled_anon_bytes: u64,
    pub at_share: Vec<RssAtShare>,
    pub samples: Vec<RssSample>,
}

pub struct RssSampler {
    pid: u32,
    started: Instant,
    interval: Duration,
    last: Option<Instant>,
    samples: Vec<RssSample>,
}

impl RssSampler {
    pub fn new(pid: u32, interval: Duration) -> RssSampler {
        RssSampler {
            pid,
            started: Instant::now(),
            interval,
            last: None,
            samples: Vec::new(),
        }
    }

    /// Samples when `interval` has passed since the last sample (or
    /// `force`), recording `events` searchable now.
    pub fn sample(&mut self, events: u64, force: bool) -> anyhow::Result<()> {
        let now = Instant::now();
        if !force && self.last.is_some_and(|last| now - last < self.interval) {
            return Ok(());
        }
        self.last = Some(now);
        let resident = resident_of(self.pid)?;
        self.samples.push(RssSample {
            seconds: (now - self.started).as_secs_f64(),
            rss_bytes: resident.rss,
            anon_bytes: resident.anon,
            file_bytes: resident.file,
            events,
        });
        Ok(())
    }

    /// The samples and their summary for a corpus of `total` events.
    pub fn finish(self, total: u64) -> RssOverTime {
        summarise(self.samples, total, self.interval)
    }
}

fn summarise(samples: Vec<RssSample>, total: u64, interval: Duration) -> RssOverTime {
    let at_share = [25u32, 50, 75, 100]
        .into_iter()
        .filter_map(|percent| {
            let wanted = (total as u128 * u128::from(percent)).div_ceil(100) as u64;
            samples
                .iter()
                .find(|s| s.events >= wanted)
                .map(|s| RssAtShare {
                    percent,
                    rss_bytes: s.rss_bytes,
                    seconds: s.seconds,
                })
        })
        .collect();
    RssOverTime {
        interval_seconds: interval.as_secs_f64(),
        peak_sampled_bytes: samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0),
        peak_sampled_anon_bytes: samples.iter().map(|s| s.anon_bytes).max().unwrap_or(0),
        at_share,
        samples,
    }
}

/// A live process's resident bytes, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy)]
pub struct Resident {
    /// `VmRSS`.
    pub rss: u64,
    /// `RssAnon`.
    pub anon: u64,
    /// `RssFile`.
    pub file: u64,
}

pub fn resident_of(pid: u32) -> anyhow::Result<Resident> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let bytes = |field: &str| -> anyhow::Result<u64> {
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
        Ok(kib * 1024)
    };
    Ok(Resident { rss: bytes("VmRSS")?, anon: bytes("RssAnon")?, file: bytes("RssFile")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_own_rss_at_the_interval_and_summarises_by_share() {
        let mut sampler = RssSampler::new(std::process::id(), Duration::from_secs(3600));
        sampler.sample(0, false).unwrap();
        sampler.sample(10, false).unwrap(); // within the interval: skipped
        sampler.sample(60, true).unwrap();
        let ballast = vec![1u8; 64 << 20];
        std::hint::black_box(&ballast);
        sampler.sample(100, true).unwrap();
        let over = sampler.finish(100);
        assert_eq!(over.samples.len(), 3);
        assert_eq!(over.samples.iter().map(|s| s.events).collect::<Vec<_>>(), [0, 60, 100]);
        assert!(over.samples[2].rss_bytes >= over.samples[0].rss_bytes + (60 << 20));
        // The ballast is the process's own memory, not a file's.
        assert!(over.samples[2].anon_bytes >= over.samples[0].anon_bytes + (60 << 20));
        for s in &over.samples {
            assert!(s.anon_bytes + s.file_bytes <= s.rss_bytes, "{s:?}");
        }
        assert_eq!(over.peak_sampled_bytes, over.samples[2].rss_bytes);
        assert_eq!(over.peak_sampled_anon_bytes, over.samples[2].anon_bytes);
        let shares: Vec<(u32, u64)> = over.at_share.iter().map(|a| (a.percent, a.rss_bytes)).collect();
        let (at60, at100) = (over.samples[1].rss_bytes, over.samples[2].rss_bytes);
        assert_eq!(shares, [(25, at60), (50, at60), (75, at100), (100, at100)]);
    }

    #[test]
    fn a_share_never_reached_is_left_out() {
        let sample = |events| RssSample { seconds: 0.0, rss_bytes: 1, anon_bytes: 1, file_bytes: 0, events };
        let over = summarise(vec![sample(10), sample(49)], 100, Duration::from_secs(1));
        assert_eq!(over.at_share.iter().map(|a| a.percent).collect::<Vec<_>>(), [25]);
    }
}
