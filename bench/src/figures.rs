//! The table's figures: each measurement beside its same-run baseline and
//! the goal from the issues.

use crate::detection::Detection;
use crate::kafka::{KafkaBytes, PerfTest};
use crate::process::Usage;
use crate::report::{Figure, Goal, significant};
use crate::measured::{MB, Measured, Pipeline, Round, Rounds};
use crate::search::QueryLatency;

pub struct Figures<'a> {
    pub collector: &'a Measured,
    /// The same collector with `collector.delivery = "at_least_once"`.
    pub collector_at_least_once: &'a Measured,
    pub kafka_bytes: &'a KafkaBytes,
    /// The payloads' bytes before compression.
    pub payload_bytes: u64,
    pub raw_producer: &'a Measured,
    /// Every round of the collector stages and the raw producer.
    pub rounds: &'a Rounds,
    pub perf: Option<&'a PerfTest>,
    pub perf_note: Option<&'a str>,
    pub encode_events_per_sec: f64,
    pub indexer: &'a Measured,
    /// Raw tantivy, 4 fields: tantivy's ceiling for a log line.
    pub tantivy: &'a Measured,
    /// Raw tantivy with the indexer's own schema and documents.
    pub tantivy_same_schema: &'a Measured,
    /// Bytes on disk of the indexer's splits, and of the same-schema index.
    pub index_bytes: u64,
    pub same_schema_bytes: u64,
    pub workers: u32,
    /// The collector topic's largest partition's share of the messages (%).
    pub partition_share: f64,
    pub partitions: u32,
    pub api_usage: Option<Usage>,
    pub pipeline: &'a Pipeline,
    pub search: &'a [QueryLatency],
    pub detection: Option<&'a Detection>,
}

/// How the collector's events/s are timed.
pub(crate) const COLLECTOR_WALL_CLOCK: &str = "wall clock from process start until the topic's high watermarks reach the line count; \
     the broker's transaction coordinator and the checkpoints topic made ready before (once per cluster, not timed)";

/// What the per CPU-second figures of the indexer and its same-schema
/// baseline count.
const PER_CPU_SECOND: &str = "events / CPU seconds: the indexer process's utime+stime over its whole run (consumer, decoding, \
     librdkafka, tantivy, commits, the Kafka group join); the baseline's: the bench process's CPU clock from its first document to the end of \
     its commit (tantivy's threads and the adding thread), less the thread's CPU building documents. A baseline run comes before the first \
     indexer round and after each: a round's baseline is the mean CPU per event of the two runs around it, so the host's drift over the \
     round weighs on both sides. Less moved by other load on the host than events/s";

fn wall(round: &Round) -> Option<f64> {
    Some(round.events_per_sec)
}

fn per_core(round: &Round) -> Option<f64> {
    round.events_per_cpu_second
}

/// Each indexer round's CPU by thread, in the order run (when there
/// were several): `"; by round, consumers / librdkafka / the rest in µs
/// per event: 1.62 / 0.34 / 6.62, …"`.
fn threads_by_round(rounds: &[Round]) -> String {
    if rounds.len() < 2 {
        return String::new();
    }
    let each: Vec<String> = rounds
        .iter()
        .map(|r| match r.threads_us_per_event {
            Some(t) => format!("{} / {} / {}", significant(t.consumers), significant(t.librdkafka), significant(t.rest)),
            None => "n/a".to_string(),
        })
        .collect();
    format!("; by round, consumers / librdkafka / the rest in µs per event: {}", each.join(", "))
}

/// `note`, then each stage's rounds (when there were several).
fn with_rounds(note: &str, stages: &[(&str, &[Round])], rate: fn(&Round) -> Option<f64>) -> String {
    let mut parts = Vec::new();
    if !note.is_empty() {
        parts.push(note.to_string());
    }
    parts.extend(
        stages
            .iter()
            .filter_map(|(what, rounds)| Rounds::describe(rounds, rate).map(|d| format!("{what}, {d}"))),
    );
    parts.join("; ")
}

pub fn figures(f: &Figures<'_>) -> Vec<Figure> {
    let perf_rate = f.perf.map(|p| p.records_per_sec);
    let perf_label = "kafka-producer-perf-test";
    let with_perf_note = |figure: Figure| match f.perf_note {
        Some(note) => figure.note(format!("perf-test: {note}")),
        None => figure,
    };
    let rss = |usage: Option<Usage>| usage.map(|u| u.peak_rss_bytes as f64);
    let same_schema = format!("raw tantivy, same schema, {} threads", f.workers);
    let ceiling = format!("raw tantivy, 4 fields, {} threads", f.workers);
    let kafka_per_raw = |bytes: Option<u64>| bytes.map(|b| b as f64 / f.collector.raw_bytes.max(1) as f64);
    let per_raw_byte = |bytes: u64| (bytes > 0).then(|| bytes as f64 / f.indexer.raw_bytes.max(1) as f64);
    // Per CPU-second, the median of the rounds' own rates (the round with
    // the median events/s need not be the median per CPU-second).
    let r = f.rounds;
    let (indexer_per_cpu, same_per_cpu) =
        (Rounds::median(&r.indexer, per_core), Rounds::median(&r.indexer_same_schema, per_core));
    let mb_per_cpu = |events_per_cpu: Option<f64>| {
        events_per_cpu.map(|e| e * f.indexer.raw_bytes as f64 / f.indexer.events.max(1) as f64 / MB)
    };
    let threads = f.indexer.threads;
    let per_event_us = |seconds: f64| seconds * 1e6 / f.indexer.events.max(1) as f64;
    let indexer_rounds = |note: &str, rate| with_rounds(note, &[("indexer", &r.indexer), ("same schema", &r.indexer_same_schema)], rate);
    let mut figures = vec![
        Figure::new("collector events/s", Some(f.collector.events_per_sec), "ev/s")
            .baseline("raw librdkafka producer", Some(f.raw_producer.events_per_sec))
            .goal(Goal::RatioAtLeast(0.7))
            .note(with_rounds(COLLECTOR_WALL_CLOCK, &[("collector", &f.rounds.collector), ("raw producer", &f.rounds.raw_producer)], wall)),
        with_perf_note(
            Figure::new("collector events/s vs Kafka", Some(f.collector.events_per_sec), "ev/s")
                .baseline(perf_label, perf_rate),
        ),
        with_perf_note(
            Figure::new("raw producer events/s vs Kafka", Some(f.raw_producer.events_per_sec), "ev/s")
                .baseline(perf_label, perf_rate),
        ),
        Figure::new("collector, exactly once vs at least once", Some(f.collector.events_per_sec), "ev/s")
            .baseline("same collector, at least once", Some(f.collector_at_least_once.events_per_sec))
            .goal(Goal::RatioAtLeast(0.9))
            .note(with_rounds(
                "what transactions cost: collector.delivery = exactly_once against at_least_once (idempotent producer, positions written after acknowledgement), same corpus, in alternating rounds",
                &[("at least once", &f.rounds.collector_at_least_once)],
                wall,
            )),
        Figure::new("collector per core, exactly once vs at least once", f.collector.events_per_cpu_second, "ev/s")
            .baseline("same collector, at least once", f.collector_at_least_once.events_per_cpu_second)
            .goal(Goal::RatioAtLeast(0.9))
            .note(with_rounds("", &[("exactly once", &f.rounds.collector), ("at least once", &f.rounds.collector_at_least_once)], per_core)),
        Figure::new("bytes on Kafka per raw byte", kafka_per_raw(f.kafka_bytes.collector), "x")
            .baseline("raw librdkafka producer", kafka_per_raw(f.kafka_bytes.raw_producer))
            .note(format!(
                "log segment bytes of the topic (compressed batches) / raw log bytes; uncompressed payloads: {:.2} bytes per raw byte{}",
                f.payload_bytes as f64 / f.collector.raw_bytes.max(1) as f64,
                f.kafka_bytes.note.as_deref().map(|n| format!("; {n}")).unwrap_or_default()
            )),
        Figure::new("collector MB/s (raw log)", Some(f.collector.mb_per_sec), "MB/s")
            .baseline("raw librdkafka producer", Some(f.raw_producer.mb_per_sec)),
        Figure::new("collector events/s per core", f.collector.events_per_cpu_second, "ev/s")
            .baseline("parse+encode, 1 thread", Some(f.encode_events_per_sec))
            .goal(Goal::ValueAtLeast(250_000.0))
            .note(with_rounds(
                "per core = events / CPU seconds (utime+stime) of the collector process",
                &[("collector", &f.rounds.collector)],
                per_core,
            )),
        Figure::new("indexer events/s", Some(f.indexer.events_per_sec), "ev/s")
            .baseline(same_schema.clone(), Some(f.tantivy_same_schema.events_per_sec))
            .goal(Goal::RatioAtLeast(0.8))
            .note(indexer_rounds("wall clock from process start (group join, Kafka fetch, 1 s commits included) until a search counts every event; same schema = the indexer's LogSchema and its own payload-to-document mapping, documents built outside the timing, one commit", wall)),
        Figure::new("indexer events per CPU-second", indexer_per_cpu, "ev/s")
            .baseline("raw tantivy, same schema, per CPU-second", same_per_cpu)
            .goal(Goal::RatioAtLeast(0.8))
            .note(match Rounds::paired_ratios(&r.indexer, &r.indexer_same_schema, per_core) {
                Some(ratios) => format!("{}; {ratios}", indexer_rounds(PER_CPU_SECOND, per_core)),
                None => indexer_rounds(PER_CPU_SECOND, per_core),
            }),
        Figure::new("indexer CPU per event beside tantivy's", threads.map(|t| per_event_us(t.consumers + t.librdkafka)), "µs/event")
            .baseline("raw tantivy, same schema, CPU per event", same_per_cpu.map(|e| 1e6 / e))
            .note(match threads {
                Some(t) => format!(
                    "the indexer's CPU by thread in the round with the median events/s, read from /proc/PID/task once every \
                     event was searchable: its consumer threads {} and librdkafka's {} µs per event (the value), the rest {} \
                     (tantivy's indexing and doc store threads, which end at each commit, merges, seals, HTTP); the baseline is \
                     the median of its rounds. If the rest cost what the baseline does, 0.8 per CPU-second would leave a ratio of \
                     0.25 here",
                    significant(per_event_us(t.consumers)),
                    significant(per_event_us(t.librdkafka)),
                    significant(per_event_us(t.rest)),
                ) + &threads_by_round(&r.indexer),
                None => "no thread figures in this run".to_string(),
            }),
        Figure::new("indexer events/s vs 4 fields", Some(f.indexer.events_per_sec), "ev/s")
            .baseline(ceiling.clone(), Some(f.tantivy.events_per_sec))
            .note("4 fields = @timestamp (date, fast), host.name (keyword, fast), message (text), the payload (stored): tantivy's ceiling for a log line"),
        Figure::new("raw tantivy same schema vs 4 fields", Some(f.tantivy_same_schema.events_per_sec), "ev/s")
            .baseline(ceiling.clone(), Some(f.tantivy.events_per_sec))
            .note("what the schema itself costs: the share of tantivy's ceiling the indexer's schema allows"),
        Figure::new("indexer MB/s (raw log)", Some(f.indexer.mb_per_sec), "MB/s")
            .baseline(same_schema, Some(f.tantivy_same_schema.mb_per_sec)),
        Figure::new("indexer MB/s per core", mb_per_cpu(indexer_per_cpu), "MB/s")
            .baseline("raw tantivy, same schema, per CPU-second", mb_per_cpu(same_per_cpu))
            .goal(Goal::ValueAtLeast(12.0))
            .note("per core = raw bytes / CPU seconds; see \"indexer events per CPU-second\" for what each side counts"),
        Figure::new("index on disk per raw byte", per_raw_byte(f.index_bytes), "x")
            .baseline("raw tantivy, same schema", per_raw_byte(f.same_schema_bytes))
            .goal(Goal::ValueAtMost(1.0))
            .note("bytes of the indexer's splits (streams/) when it stopped / bytes of raw log"),
        Figure::new("largest partition's share of events", Some(f.partition_share), "%")
            .goal(Goal::ValueAtMost(110.0 / f64::from(f.partitions.max(1))))
            .note("of the collector's topic (high watermarks): one indexer consumer per partition, so the largest partition bounds the indexer's wall clock; goal: within 10 % of an even spread"),
        Figure::new("indexer peak RSS", rss(f.indexer.usage), "bytes")
            .goal(Goal::ValueAtMost(1024.0 * 1024.0 * 1024.0)),
    ];
    figures.extend(rss_figures(f.indexer));
    figures.extend([
        Figure::new("collector peak RSS", rss(f.collector.usage), "bytes"),
        Figure::new("query-api peak RSS", rss(f.api_usage), "bytes"),
        Figure::new("pipeline (run) peak RSS", rss(f.pipeline.measured.usage), "bytes"),
        Figure::new("collector CPU s per GB", f.collector.cpu_seconds_per_gb, "CPU s/GB"),
        Figure::new("indexer CPU s per GB", f.indexer.cpu_seconds_per_gb, "CPU s/GB"),
        Figure::new("pipeline (run) CPU s per GB", f.pipeline.measured.cpu_seconds_per_gb, "CPU s/GB"),
        Figure::new("pipeline (run) events/s", Some(f.pipeline.measured.events_per_sec), "ev/s")
            .goal(Goal::ValueAtLeast(100_000.0))
            .note(with_rounds(
                "collector + indexer + query API in one process on the machine's cores beside the broker, from process start until a count (every 250 ms) finds every line searchable",
                &[("pipeline", &r.pipeline)],
                wall,
            )),
    ]);
    let fresh = f.pipeline.freshness.latency;
    let fresh_note = format!(
        "{} of {} markers found over {} round(s), pooled ({} written during the load in the median round); polled every {} ms",
        f.pipeline.freshness.markers_found,
        f.pipeline.freshness.markers_written,
        r.pipeline.len().max(1),
        f.pipeline.markers_during_load,
        f.pipeline.freshness.poll_interval_ms
    );
    figures.push(
        Figure::new(
            "freshness p50 (line written to searchable)",
            fresh.map(|d| d.p50_ms),
            "ms",
        )
        .goal(Goal::ValueAtMost(1000.0))
        .note(fresh_note),
    );
    figures.push(Figure::new("freshness p99", fresh.map(|d| d.p99_ms), "ms").goal(Goal::ValueAtMost(2000.0)));
    let slowest: Vec<String> = f
        .pipeline
        .freshness
        .slowest
        .iter()
        .map(|m| format!("{:.0} ms (round {}, written {:.1} s in)", m.latency_ms, m.round + 1, m.written_s))
        .collect();
    let slowest_note = if slowest.is_empty() { String::new() } else { format!("slowest markers: {}", slowest.join(", ")) };
    figures.push(Figure::new("freshness max", fresh.map(|d| d.max_ms), "ms").note(slowest_note));
    figures.push(
        Figure::new("indexer lag during the load (p50)", f.pipeline.lag_p50_events, "events").note(
            "logwarden_indexer_partition_lag_events summed over partitions, sampled every 250 ms while the corpus loads; `run` holds file sources back over collector.max_index_backlog",
        ),
    );
    figures.push(Figure::new("indexer lag during the load (max)", f.pipeline.lag_max_events, "events"));
    figures.push(Figure::new(
        "indexer commit duration (mean, under load)",
        f.pipeline.mean_commit_seconds.map(|s| s * 1000.0),
        "ms",
    ));
    figures.extend(search_figures(f.search));
    if let Some(detection) = f.detection {
        figures.extend(detection_figures(detection));
    }
    figures
}

/// The indexer's RSS when a quarter, half, three quarters and all of the
/// corpus were searchable.
pub fn rss_figures(indexer: &Measured) -> Vec<Figure> {
    let Some(over) = &indexer.rss_over_time else {
        return Vec::new();
    };
    let mut figures: Vec<Figure> = over
        .at_share
        .iter()
        .map(|at| {
            Figure::new(format!("indexer RSS at {} % of the corpus", at.percent), Some(at.rss_bytes as f64), "bytes")
                .note(format!(
                    "VmRSS when {} % of the events were first searchable, {:.0} s into the stage; {} samples (at most one per {:.0} s, one per count poll) in the JSON report (stages.indexer.rss_over_time)",
                    at.percent, at.seconds, over.samples.len(), over.interval_seconds
                ))
        })
        .collect();
    figures.push(
        Figure::new("indexer peak anonymous RSS (sampled)", Some(over.peak_sampled_anon_bytes as f64), "bytes").note(
            "the largest RssAnon sampled: the process's own memory (heaps, tantivy's arenas, stacks), without the pages of \
             segment files it reads through mmap (RssFile, which the kernel can drop and read again); each sample's three \
             figures are in stages.indexer.rss_over_time",
        ),
    );
    figures
}

/// Each query's p50 and p99 (a note when the API did not answer it).
pub fn search_figures(search: &[QueryLatency]) -> Vec<Figure> {
    let mut figures = Vec::new();
    for query in search {
        let note = match query.matched {
            _ if query.status != "ok" => Some(format!("{} (HTTP {})", query.status, query.http_status)),
            Some(matched) => Some(format!("{matched} events matched")),
            None => None,
        };
        let p50 = Figure::new(
            format!("search p50: {}", query.name),
            query.latency.map(|d| d.p50_ms),
            "ms",
        );
        figures.push(match note {
            Some(note) => p50.note(note),
            None => p50,
        });
        figures.push(Figure::new(
            format!("search p99: {}", query.name),
            query.latency.map(|d| d.p99_ms),
            "ms",
        ));
    }
    figures
}

/// The detector's figures: throughput beside rsigma's own evaluation, its
/// CPU share of the pipeline, alert latency.
pub fn detection_figures(d: &Detection) -> Vec<Figure> {
    let b = &d.baselines;
    let rsigma = "rsigma Engine::evaluate, 1 thread";
    let rsigma_rate = Some(b.rsigma.events_per_sec);
    let rules = format!(
        "{} detection rules (SigmaHQ Linux, {} SigmaHQ Windows, logwarden's ssh_auth_failure) + 1 correlation (ssh_brute_force); {} not loaded (unsupported)",
        b.rules.detection_rules, d.windows_rules, b.rules.not_loaded
    );
    let p = &d.pipeline;
    let l = &d.latency;
    let background = if l.background_per_sec > 0.0 {
        format!(
            "after the corpus, with {} background failed SSH logins per second ({} lines): correlation hits never go idle, so correlation alerts wait for the allowed lateness",
            l.background_per_sec, l.background_lines
        )
    } else {
        "with the pipeline idle after the corpus; correlation alerts include the correlation stage's release of its reorder buffer after 1 s without hits".to_string()
    };
    let latency_note = format!(
        "{}/{} SigmaHQ rule alerts and {}/{} brute-force correlation alerts received, one trigger every {} ms, {background}",
        l.rule_received, l.rule_written, l.correlation_received, l.correlation_written, l.interval_ms
    );
    let ms = |dist: Option<crate::stats::Distribution>, p99: bool| dist.map(|d| if p99 { d.p99_ms } else { d.p50_ms });
    vec![
        Figure::new("detector events/s", Some(d.detector.events_per_sec), "ev/s")
            .baseline(rsigma, rsigma_rate)
            .note(format!(
                "`logwarden detect` alone, wall clock from process start until its group committed every event; {rules}; the baseline evaluates the same rules (built-in field mappings applied) on prebuilt Sigma views, all rules in one engine"
            )),
        Figure::new("detector events/s per core", d.detector.events_per_cpu_second, "ev/s")
            .baseline(rsigma, rsigma_rate)
            .note("per core = events / CPU seconds of the detect process (detection, correlation and hook delivery)"),
        Figure::new("logwarden RuleSet::evaluate, 1 thread", Some(b.ruleset.events_per_sec), "ev/s")
            .baseline(rsigma, rsigma_rate)
            .note("the same views; engines per logsource, only those the event belongs to"),
        Figure::new("detect stage work (decode+view+rules), 1 thread", Some(b.detect_work.events_per_sec), "ev/s")
            .baseline(rsigma, rsigma_rate)
            .note(format!(
                "wire::decode + outputs_of per payload, no Kafka: {} alerts, {} hits on the corpus",
                b.alerts, b.hits
            )),
        Figure::new("detector CPU share of the pipeline", Some(p.detector_cpu_percent), "%")
            .goal(Goal::ValueAtMost(15.0))
            .note(format!(
                "collector, indexer and detect processes on the corpus at full speed ({:.1} s): CPU s collector {:.1}, indexer {:.1}, detector {:.1}",
                p.seconds, p.collector.cpu_seconds, p.indexer.cpu_seconds, p.detector.cpu_seconds
            )),
        Figure::new("pipeline with detector events/s", Some(p.events_per_sec), "ev/s")
            .note("collector start until the indexer and the detector committed every event"),
        Figure::new("detector peak RSS", d.detector.usage.map(|u| u.peak_rss_bytes as f64), "bytes"),
        Figure::new("alert latency p50 (line written to webhook)", ms(l.all, false), "ms").note(latency_note),
        Figure::new("alert latency p99", ms(l.all, true), "ms").goal(Goal::ValueAtMost(2000.0)),
        Figure::new("alert latency p50, SigmaHQ rule", ms(l.rule, false), "ms"),
        Figure::new("alert latency p99, SigmaHQ rule", ms(l.rule, true), "ms").goal(Goal::ValueAtMost(2000.0)),
        Figure::new("alert latency p50, correlation", ms(l.correlation, false), "ms"),
        Figure::new("alert latency p99, correlation", ms(l.correlation, true), "ms").goal(Goal::ValueAtMost(2000.0)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::ThreadCpu;

    #[test]
    fn each_indexer_rounds_cpu_by_thread_is_listed_in_order() {
        let round = |threads: Option<ThreadCpu>| Round { events_per_sec: 1.0, events_per_cpu_second: None, threads_us_per_event: threads };
        let split = |consumers, librdkafka, rest| Some(ThreadCpu { consumers, librdkafka, rest });
        assert_eq!(threads_by_round(&[round(split(1.5, 0.4, 7.0))]), "", "one round: the note has it already");
        assert_eq!(
            threads_by_round(&[round(split(1.95, 0.41, 7.95)), round(None), round(split(1.62, 0.34, 6.62))]),
            "; by round, consumers / librdkafka / the rest in µs per event: 1.95 / 0.41 / 7.95, n/a, 1.62 / 0.34 / 6.62"
        );
    }
}
