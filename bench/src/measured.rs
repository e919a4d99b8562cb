//! What the stages measure: a component's figures over one stage
//! ([`Measured`]) and the whole pipeline's ([`Pipeline`]); `run` fills
//! them, `figures` sets them beside their baselines.

use serde::Serialize;

use crate::process::{ThreadCpu, Usage};
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
    /// The CPU seconds of `usage` by thread (the indexer's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<ThreadCpu>,
}

impl Measured {
    pub fn new(seconds: f64, events: u64, raw_bytes: u64, usage: Option<Usage>) -> Measured {
        Measured { usage, ..Measured::with_cpu_seconds(seconds, events, raw_bytes, usage.map(|u| u.cpu_seconds)) }
    }

    /// Without a process of its own (a stage run inside the bench, raw
    /// tantivy): CPU measured over the stage, no RSS.
    pub fn with_cpu_seconds(seconds: f64, events: u64, raw_bytes: u64, cpu: Option<f64>) -> Measured {
        let seconds = seconds.max(1e-9);
        let cpu = cpu.filter(|c| *c > 0.0);
        Measured {
            seconds,
            events,
            raw_bytes,
            events_per_sec: events as f64 / seconds,
            mb_per_sec: raw_bytes as f64 / MB / seconds,
            usage: None,
            events_per_cpu_second: cpu.map(|c| events as f64 / c),
            mb_per_cpu_second: cpu.map(|c| raw_bytes as f64 / MB / c),
            cpu_seconds_per_gb: cpu.map(|c| c / (raw_bytes as f64 / GB)),
            first_seen_seconds: None,
            rss_over_time: None,
            threads: None,
        }
    }

    /// A baseline for the run between `before` and `after`: their seconds
    /// and CPU seconds averaged, so a host that speeds up or slows down
    /// over the three runs weighs on the baseline as on the run between
    /// (`events` and `raw_bytes` are `before`'s; both runs index the same
    /// documents).
    pub fn bracket(before: &Measured, after: &Measured) -> Measured {
        let cpu = |m: &Measured| m.events_per_cpu_second.map(|e| m.events as f64 / e);
        let cpu = cpu(before).zip(cpu(after)).map(|(b, a)| (b + a) / 2.0);
        Measured::with_cpu_seconds((before.seconds + after.seconds) / 2.0, before.events, before.raw_bytes, cpu)
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

/// Every round of the stages run in rounds, in the order run; the table
/// shows each one's median round ([`median_run`]), or for the indexer's
/// per CPU-second figures the median of the rounds' rates.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rounds {
    pub collector: Vec<Round>,
    pub collector_at_least_once: Vec<Round>,
    pub raw_producer: Vec<Round>,
    /// The indexer and raw tantivy with the same schema, alternating:
    /// each indexer round's baseline is [`Measured::bracket`] of the
    /// same-schema runs just before and just after it
    /// (`same_schema_runs`, one more than the indexer's rounds).
    pub indexer: Vec<Round>,
    pub indexer_same_schema: Vec<Round>,
    pub same_schema_runs: Vec<Round>,
    /// The whole pipeline in one `run` process (the freshness stage).
    pub pipeline: Vec<Round>,
}

/// One round's rates.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Round {
    pub events_per_sec: f64,
    pub events_per_cpu_second: Option<f64>,
    /// The round's CPU by thread ([`Measured::threads`]) in µs per event
    /// (the indexer's rounds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_us_per_event: Option<ThreadCpu>,
}

impl Round {
    pub fn from(run: &Measured) -> Round {
        let per_event = 1e6 / run.events.max(1) as f64;
        Round {
            events_per_sec: run.events_per_sec,
            events_per_cpu_second: run.events_per_cpu_second,
            threads_us_per_event: run.threads.map(|t| ThreadCpu {
                consumers: t.consumers * per_event,
                librdkafka: t.librdkafka * per_event,
                rest: t.rest * per_event,
            }),
        }
    }

    pub fn of(runs: &[Measured]) -> Vec<Round> {
        runs.iter().map(Round::from).collect()
    }
}

impl Rounds {
    /// `"rounds (median shown): 266k ev/s, 292k ev/s, 301k ev/s"`, or
    /// `None` for one round.
    pub fn describe(rounds: &[Round], rate: impl Fn(&Round) -> Option<f64>) -> Option<String> {
        (rounds.len() > 1).then(|| {
            let rates: Vec<String> = rounds
                .iter()
                .map(|r| rate(r).map_or_else(|| "n/a".to_string(), |v| crate::report::human(v, "ev/s")))
                .collect();
            format!("rounds (median shown): {}", rates.join(", "))
        })
    }

    /// Each round's ratio of `rounds` to its own `baselines` round (run
    /// beside it, or bracketing it): `"ratio per round: 0.69, 0.84"`, or
    /// `None` for one round. The host's load drifts between rounds; a pair
    /// run minutes apart shares most of it, so the spread of these says
    /// how far the ratio of the medians can be trusted.
    pub fn paired_ratios(rounds: &[Round], baselines: &[Round], rate: impl Fn(&Round) -> Option<f64>) -> Option<String> {
        (rounds.len() > 1).then(|| {
            let ratios: Vec<String> = rounds
                .iter()
                .zip(baselines)
                .map(|(r, b)| match (rate(r), rate(b)) {
                    (Some(r), Some(b)) if b > 0.0 => format!("{:.2}", r / b),
                    _ => "n/a".to_string(),
                })
                .collect();
            format!("ratio per round: {}", ratios.join(", "))
        })
    }

    /// The median of the rounds' `rate` (of an even count, the lower
    /// middle); `None` when a round has none.
    pub fn median(rounds: &[Round], rate: impl Fn(&Round) -> Option<f64>) -> Option<f64> {
        let mut rates: Vec<f64> = rounds.iter().map(rate).collect::<Option<_>>()?;
        rates.sort_by(f64::total_cmp);
        rates.get(rates.len().checked_sub(1)? / 2).copied()
    }
}

/// The run with the median events/s (of an even count, the lower middle).
pub fn median_run(runs: Vec<Measured>) -> Measured {
    median_by(runs, |m| m.events_per_sec)
}

/// The item with the median `rate` (of an even count, the lower middle).
pub fn median_by<T>(mut runs: Vec<T>, rate: impl Fn(&T) -> f64) -> T {
    assert!(!runs.is_empty(), "at least one round");
    runs.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    runs.swap_remove((runs.len() - 1) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bracket_averages_the_cost_per_event_not_the_rates() {
        let run = |seconds: f64, cpu: f64| Measured::with_cpu_seconds(seconds, 1000, 2000, Some(cpu));
        // 1 and 3 CPU-seconds for 1,000 events: 2 ms per event, 500 per
        // CPU-second (the mean of the rates, 667, would favour the faster run).
        let bracket = Measured::bracket(&run(2.0, 1.0), &run(4.0, 3.0));
        assert_eq!(bracket.events_per_cpu_second, Some(500.0));
        assert_eq!(bracket.events_per_sec, 1000.0 / 3.0);
        assert_eq!((bracket.events, bracket.raw_bytes), (1000, 2000));
        // Without CPU on either side there is none in the bracket.
        let unknown = Measured::with_cpu_seconds(4.0, 1000, 2000, None);
        assert_eq!(Measured::bracket(&run(2.0, 1.0), &unknown).events_per_cpu_second, None);
    }

    #[test]
    fn the_median_round_is_shown_and_every_round_is_named() {
        let run = |seconds: f64, cpu: f64| {
            Measured::new(seconds, 1000, 1000, Some(Usage { cpu_seconds: cpu, peak_rss_bytes: 0 }))
        };
        let runs = vec![run(2.0, 1.0), run(1.0, 4.0), run(4.0, 2.0)];
        let rounds = Rounds { collector: Round::of(&runs), ..Rounds::default() };
        // Per CPU-second 1,000, 250 and 500: its median is not the median
        // run's (500 events/s at 1,000 per CPU-second).
        assert_eq!(Rounds::median(&rounds.collector, |r| r.events_per_cpu_second), Some(500.0));
        assert_eq!(Rounds::median(&rounds.collector[..2], |r| r.events_per_cpu_second), Some(250.0), "the lower middle of two");
        assert_eq!(Rounds::median(&[], |r| Some(r.events_per_sec)), None);
        let median = median_run(runs);
        assert_eq!(median.seconds, 2.0, "500 events/s is the middle of 250, 500 and 1,000");
        assert_eq!(
            Rounds::describe(&rounds.collector, |r| Some(r.events_per_sec)).as_deref(),
            Some("rounds (median shown): 500 ev/s, 1.00k ev/s, 250 ev/s")
        );
        assert_eq!(Rounds::describe(&rounds.collector[..1], |r| Some(r.events_per_sec)), None);
        assert_eq!(median_run(vec![run(1.0, 1.0), run(2.0, 1.0)]).seconds, 2.0, "the lower middle of two");
    }

    #[test]
    fn a_rounds_cpu_by_thread_is_kept_per_event() {
        let mut run = Measured::new(1.0, 2_000_000, 1000, Some(Usage { cpu_seconds: 10.0, peak_rss_bytes: 0 }));
        assert!(Round::from(&run).threads_us_per_event.is_none());
        run.threads = Some(ThreadCpu { consumers: 3.0, librdkafka: 1.0, rest: 6.0 });
        let t = Round::from(&run).threads_us_per_event.expect("kept");
        assert_eq!((t.consumers, t.librdkafka, t.rest), (1.5, 0.5, 3.0));
    }

    #[test]
    fn each_round_is_divided_by_the_baseline_round_beside_it() {
        let round = |per_cpu: Option<f64>| Round { events_per_sec: 1.0, events_per_cpu_second: per_cpu, threads_us_per_event: None };
        let indexer = [round(Some(90.0)), round(Some(100.0)), round(None)];
        let baseline = [round(Some(120.0)), round(Some(125.0)), round(Some(130.0))];
        assert_eq!(
            Rounds::paired_ratios(&indexer, &baseline, |r| r.events_per_cpu_second).as_deref(),
            Some("ratio per round: 0.75, 0.80, n/a")
        );
        assert_eq!(Rounds::paired_ratios(&indexer[..1], &baseline[..1], |r| r.events_per_cpu_second), None);
    }
}
