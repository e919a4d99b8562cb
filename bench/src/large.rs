//! `logwarden bench --large`: a corpus larger than memory (100 M events
//! and more). The full bench holds every encoded payload in memory for
//! its baselines (the raw producer, raw tantivy), which at ~700 bytes an
//! event does not fit; this run keeps only what streams from disk: the
//! collector into a topic, the indexer on that topic with its RSS sampled
//! over the whole stage, and search latency on the finished index. Each
//! rate stands beside the same component's rate at the start of the same
//! run (does it slow down as the index grows?); the baselines against raw
//! librdkafka and raw tantivy come from a normal run. The corpus is
//! removed once it is in the topic: the disk it took goes to the index.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::args::BenchArgs;
use crate::corpus::{CorpusInfo, Size};
use crate::figures::{COLLECTOR_WALL_CLOCK, rss_figures, search_figures};
use crate::kafka::{Topics, Watermarks};
use crate::report::{self, Figure, Goal};
use crate::rss::RssSample;
use crate::run::{collector_stage, dir_bytes, indexer_stage, largest_share, stage};

/// The share of the corpus at each end of the stage whose rates are set
/// side by side.
const EDGE_PERCENT: u64 = 10;

/// Runs the large stages on `corpus`; returns the report's JSON and its
/// figures.
pub fn run(
    args: &BenchArgs,
    work: &Path,
    corpus: &CorpusInfo,
    topics: &mut Topics,
    topic: &str,
) -> anyhow::Result<(serde_json::Value, Vec<Figure>)> {
    let size = Size { events: corpus.lines as u64, raw_bytes: corpus.bytes };
    let glob = format!("{}/*", corpus.dir.display());

    stage("collector: tailing the corpus into Kafka");
    topics.create(topic)?;
    let collector = collector_stage(args, work, topic, &glob, size, "exactly_once", 0)?;
    eprintln!("bench:   {:.0} events/s", collector.events_per_sec);
    let partition_share = largest_share(&Watermarks::new(&args.brokers, topic)?.highs()?);
    // The corpus is in the topic now; at this size it is a third of the
    // run's disk, which the index needs next.
    std::fs::remove_dir_all(&corpus.dir)
        .with_context(|| format!("removing the corpus {} once it is in Kafka", corpus.dir.display()))?;

    stage("indexer: consuming the collector's topic into splits (RSS sampled throughout)");
    let (indexer, api_usage, search) = indexer_stage(args, work, topic, size, corpus.last_event, 0)?;
    let index_bytes = dir_bytes(&work.join("indexer-data").join("streams"));

    let samples = indexer.rss_over_time.as_ref().map_or(&[][..], |o| &o.samples[..]);
    let first = edge_rate(samples, size.events, Edge::First);
    let last = edge_rate(samples, size.events, Edge::Last);
    let rss = |usage: Option<crate::process::Usage>| usage.map(|u| u.peak_rss_bytes as f64);
    let edge = format!("same run, first {EDGE_PERCENT} % of the corpus");
    let mut figures = vec![
        Figure::new("collector events/s", Some(collector.events_per_sec), "ev/s")
            .note(COLLECTOR_WALL_CLOCK),
        Figure::new("collector events/s per core", collector.events_per_cpu_second, "ev/s")
            .goal(Goal::ValueAtLeast(250_000.0)),
        Figure::new("indexer events/s", Some(indexer.events_per_sec), "ev/s")
            .note("wall clock from process start until a search counts every event"),
        Figure::new(format!("indexer events/s, last {EDGE_PERCENT} % of the corpus"), last, "ev/s")
            .baseline(edge.clone(), first)
            .note("from the indexer's RSS samples (events searchable, seconds): does indexing slow down as the index grows?"),
        Figure::new("indexer MB/s per core", indexer.mb_per_cpu_second, "MB/s").goal(Goal::ValueAtLeast(12.0)),
        Figure::new("index on disk per raw byte", (index_bytes > 0).then(|| index_bytes as f64 / size.raw_bytes as f64), "x")
            .goal(Goal::ValueAtMost(1.0)),
        Figure::new("largest partition's share of events", Some(partition_share), "%"),
        Figure::new("indexer peak RSS", rss(indexer.usage), "bytes").goal(Goal::ValueAtMost(1024.0 * 1024.0 * 1024.0)),
    ];
    figures.extend(rss_figures(&indexer));
    figures.extend([
        Figure::new("collector peak RSS", rss(collector.usage), "bytes"),
        Figure::new("query-api peak RSS", rss(api_usage), "bytes"),
        Figure::new("collector CPU s per GB", collector.cpu_seconds_per_gb, "CPU s/GB"),
        Figure::new("indexer CPU s per GB", indexer.cpu_seconds_per_gb, "CPU s/GB"),
    ]);
    figures.extend(search_figures(&search));
    let stages = json!({
        "collector": collector,
        "indexer": indexer,
        "indexer_first_and_last_events_per_sec": [first, last],
        "index_bytes_on_disk": index_bytes,
        "largest_partition_share_percent": partition_share,
        "query_api_usage": api_usage,
        "search": search,
    });
    Ok((stages, figures))
}

#[derive(Clone, Copy)]
enum Edge {
    First,
    Last,
}

/// Events per second over the first or last [`EDGE_PERCENT`] of `total`
/// events, from samples of (seconds, events searchable): between the
/// first sample at or past the edge's start and the first at or past its
/// end. `None` when the samples do not span it.
fn edge_rate(samples: &[RssSample], total: u64, edge: Edge) -> Option<f64> {
    let share = total * EDGE_PERCENT / 100;
    let (from, to) = match edge {
        Edge::First => (0, share),
        Edge::Last => (total - share, total),
    };
    let at = |events: u64| samples.iter().find(|s| s.events >= events);
    let (start, end) = (if from == 0 { samples.first()? } else { at(from)? }, at(to)?);
    let seconds = end.seconds - start.seconds;
    (seconds > 0.0 && end.events > start.events).then(|| (end.events - start.events) as f64 / seconds)
}

/// The printed report's first line.
pub fn title(started_at: DateTime<Utc>, size: Size, load: [Option<[f64; 3]>; 2]) -> String {
    format!(
        "logwarden bench --large {} — {} events, {:.1} GB raw, {} cores, load average {:?} before / {:?} after",
        started_at.format("%Y-%m-%d %H:%M UTC"),
        size.events,
        size.raw_bytes as f64 / 1e9,
        report::machine()["cores"],
        load[0].unwrap_or_default(),
        load[1].unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seconds: f64, events: u64) -> RssSample {
        RssSample { seconds, rss_bytes: 0, anon_bytes: 0, file_bytes: 0, events }
    }

    #[test]
    fn edge_rates_come_from_the_samples_that_span_each_edge() {
        // 1,000 events: 100 in the first 10 s, then slower (the last 100 in 20 s).
        let samples =
            [sample(0.0, 0), sample(10.0, 100), sample(50.0, 500), sample(80.0, 900), sample(100.0, 1000)];
        assert_eq!(edge_rate(&samples, 1000, Edge::First), Some(10.0));
        assert_eq!(edge_rate(&samples, 1000, Edge::Last), Some(5.0));
        // Samples that end before the corpus does say nothing of its end.
        assert_eq!(edge_rate(&samples[..4], 1000, Edge::Last), None);
        assert_eq!(edge_rate(&[], 1000, Edge::First), None);
    }
}
