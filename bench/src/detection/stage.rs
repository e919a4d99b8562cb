//! The detection stages, in order: the in-process baselines; the real
//! `logwarden detect` alone on the corpus (events/s until its group has
//! committed every event); collector + indexer + detector as three
//! processes on the corpus (the detector's share of their CPU); then, with
//! the same processes idle, alert lines written to a tailed file and the
//! latency until the hook's HTTP receiver gets each alert.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use logwarden_generator::Limit;
use serde::Serialize;

use crate::args::BenchArgs;
use crate::corpus::{self, Payloads};
use crate::kafka::{self, GroupOffsets, Topics, Watermarks, caught_up_transactional};
use crate::measured::Measured;
use crate::process::{self, Component, Usage};

use super::baseline::{self, Baselines};
use super::latency;
use super::receiver::Receiver;
use super::rules::{self, DetectorNames, RulePaths};
use super::triggers::{AlertLatency, Triggers};

const STOP_GRACE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// Everything the detection stages measured.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// Events of the corpus the detection stages ran on.
    pub events: u64,
    pub windows_rules: usize,
    pub baselines: Baselines,
    /// `logwarden detect` alone, from process start until its group
    /// committed every event of the corpus.
    pub detector: Measured,
    /// The three processes on the corpus at full speed.
    pub pipeline: PipelineShare,
    /// Alerts delivered to the hook for the corpus itself (pipeline stage).
    pub corpus_alerts_delivered: usize,
    pub latency: AlertLatency,
}

#[derive(Debug, Clone, Serialize)]
pub struct PipelineShare {
    /// Collector start until the indexer and the detector committed everything.
    pub seconds: f64,
    pub events: u64,
    pub events_per_sec: f64,
    pub collector: Usage,
    pub indexer: Usage,
    pub detector: Usage,
    /// Detector CPU seconds / the three processes' CPU seconds, in percent.
    pub detector_cpu_percent: f64,
}

/// Where a stage's files go and what it shares with the others.
pub struct Inputs<'a> {
    pub args: &'a BenchArgs,
    pub work: &'a Path,
    pub topics: &'a mut Topics,
    /// Bench topic name for a stage.
    pub topic: &'a dyn Fn(&str) -> String,
    pub corpus_glob: &'a str,
    pub payloads: &'a Payloads,
}

pub fn run(cx: Inputs<'_>) -> anyhow::Result<Detection> {
    let args = cx.args;
    let paths = RulePaths::find(&args.sigma_dir(), args.windows_rules)?;
    // A large corpus: a smaller one from the same generator.
    let own: Payloads;
    let own_glob: String;
    let mut cx = if cx.payloads.len() > args.detect_lines {
        stage(&format!(
            "detection corpus: {} lines (--detect-lines) from the same generator",
            args.detect_lines
        ));
        let dir = cx.work.join("detect-corpus");
        let info = corpus::generate(
            &dir,
            Limit::Lines(args.detect_lines),
            args.span,
            args.seed,
            args.json_share,
        )?;
        own = corpus::encode(&info)?;
        own_glob = format!("{}/*", dir.display());
        Inputs {
            payloads: &own,
            corpus_glob: &own_glob,
            ..cx
        }
    } else {
        cx
    };
    stage(&format!(
        "detection baselines: SigmaHQ Linux rules, {} SigmaHQ Windows rules and logwarden's SSH brute force on the same events in this process, one thread",
        paths.windows.len()
    ));
    let baselines = baseline::measure(&paths, cx.payloads)?;
    eprintln!(
        "bench:   {} files: {} detection rules + {} correlation ({} not loaded); rsigma Engine::evaluate {:.0} events/s, logwarden RuleSet::evaluate {:.0} events/s, decode+outputs_of {:.0} events/s",
        baselines.rules.files,
        baselines.rules.detection_rules,
        baselines.rules.correlations,
        baselines.rules.not_loaded,
        baselines.rsigma.events_per_sec,
        baselines.ruleset.events_per_sec,
        baselines.detect_work.events_per_sec,
    );
    let receiver = Receiver::start()?;

    stage(
        "detector: `logwarden detect` on the corpus in a fresh topic, until its group committed every event",
    );
    let detector = throughput_stage(&mut cx, &paths, &receiver)?;
    eprintln!(
        "bench:   {:.0} events/s from process start ({:.0} per CPU second)",
        detector.events_per_sec,
        detector.events_per_cpu_second.unwrap_or_default()
    );

    stage(
        "detector share: collector + indexer + detector processes on the corpus, then alert latency",
    );
    let (pipeline, corpus_alerts_delivered, latency) = pipeline_stage(&mut cx, &paths, &receiver)?;
    eprintln!(
        "bench:   detector {:.1}% of the pipeline's CPU; alerts {}/{} received, latency {:?}",
        pipeline.detector_cpu_percent,
        latency.rule_received + latency.correlation_received,
        latency.rule_written + latency.correlation_written,
        latency.all
    );
    Ok(Detection {
        events: cx.payloads.len() as u64,
        windows_rules: paths.windows.len(),
        baselines,
        detector,
        pipeline,
        corpus_alerts_delivered,
        latency,
    })
}

pub(super) fn stage(what: &str) {
    eprintln!("bench: {what}");
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// Writes the detector's config for `topic` and starts `logwarden detect`.
fn start_detector(
    cx: &Inputs<'_>,
    name: &str,
    topic: &str,
    paths: &RulePaths,
    names: &DetectorNames,
    receiver: &Receiver,
) -> anyhow::Result<(Component, PathBuf)> {
    let config = cx.work.join(format!("{name}.toml"));
    rules::write_config(
        &config,
        &cx.args.brokers,
        topic,
        &cx.work.join(format!("{name}-data")),
        paths,
        names,
        &receiver.url,
    )?;
    let log = cx.work.join(format!("{name}.log"));
    let detector = Component::start(
        name,
        &strings(&["detect", "--config", &path_text(&config)]),
        &log,
        false,
    )?;
    Ok((detector, log))
}

fn throughput_stage(
    cx: &mut Inputs<'_>,
    paths: &RulePaths,
    receiver: &Receiver,
) -> anyhow::Result<Measured> {
    let args = cx.args;
    let topic = (cx.topic)("detect");
    cx.topics.create(&topic)?;
    let config = kafka::kafka_config(&args.brokers, &topic)?;
    kafka::produce_raw(&config, cx.payloads, args.stage_timeout)?;
    let marks = Watermarks::new(&args.brokers, &topic)?;
    // The raw producer writes no transaction markers: these ends are the
    // corpus's exactly. The detector's own alert events come after them.
    let ends = marks.highs()?;
    let events = cx.payloads.len() as u64;
    anyhow::ensure!(
        ends.iter().sum::<i64>() as u64 == events,
        "topic {topic} holds {ends:?}, not {events} events"
    );
    let names = DetectorNames::new(&topic);
    for t in names.topics() {
        cx.topics.adopt(&t);
    }
    let started = Instant::now();
    let (mut detector, log) = start_detector(cx, "detect", &topic, paths, &names, receiver)?;
    let offsets = GroupOffsets::new(&args.brokers, &names.group, &marks)?;
    let mut first: Option<Instant> = None;
    let mut last_report = Instant::now();
    let done = loop {
        process::check_interrupted()?;
        detector.check_alive(&log)?;
        let behind = offsets.behind(&ends)?;
        if first.is_none() && (behind as u64) < events {
            first = Some(Instant::now());
        }
        if behind == 0 {
            break Instant::now();
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "bench:   {}/{events} events committed by the detector",
                events as i64 - behind
            );
            last_report = Instant::now();
        }
        anyhow::ensure!(
            started.elapsed() < args.stage_timeout,
            "the detector did not commit {events} events within {:?}",
            args.stage_timeout
        );
        std::thread::sleep(POLL);
    };
    let usage = detector.usage()?;
    detector.stop(STOP_GRACE)?;
    let mut measured = Measured::new(
        (done - started).as_secs_f64(),
        events,
        cx.payloads.raw_bytes,
        Some(usage),
    );
    measured.first_seen_seconds = first.map(|f| (f - started).as_secs_f64());
    Ok(measured)
}

fn pipeline_stage(
    cx: &mut Inputs<'_>,
    paths: &RulePaths,
    receiver: &Receiver,
) -> anyhow::Result<(PipelineShare, usize, AlertLatency)> {
    let args = cx.args;
    let brokers = args.brokers.as_str();
    let topic = (cx.topic)("pipeline");
    cx.topics.create(&topic)?;
    let names = DetectorNames::new(&topic);
    for t in names.topics() {
        cx.topics.adopt(&t);
    }
    let triggers_dir = cx.work.join("alert-triggers");
    std::fs::create_dir_all(&triggers_dir)
        .with_context(|| format!("creating {}", triggers_dir.display()))?;
    let triggers_path = triggers_dir.join("alerts.log");
    let mut triggers = Triggers::create(&triggers_path)?;
    let indexer_group = format!("{topic}-indexer");
    let workers = args.workers().to_string();
    let collector_log = cx.work.join("pipeline-collector.log");
    let indexer_log = cx.work.join("pipeline-indexer.log");

    let started = Instant::now();
    let collector = Component::start(
        "collector",
        &strings(&[
            "collector",
            "--brokers",
            brokers,
            "--topic",
            &topic,
            "--input",
            cx.corpus_glob,
            "--input",
            &path_text(&triggers_path),
            "--data-dir",
            &path_text(&cx.work.join("pipeline-collector-data")),
        ]),
        &collector_log,
        false,
    )?;
    let indexer = Component::start(
        "indexer",
        &strings(&[
            "indexer",
            "--brokers",
            brokers,
            "--topic",
            &topic,
            "--group",
            &indexer_group,
            "--workers",
            &workers,
            "--data-dir",
            &path_text(&cx.work.join("pipeline-indexer-data")),
        ]),
        &indexer_log,
        false,
    )?;
    let (detector, detector_log) =
        start_detector(cx, "pipeline-detect", &topic, paths, &names, receiver)?;
    let mut components = [
        (collector, collector_log),
        (indexer, indexer_log),
        (detector, detector_log),
    ];

    // The collector writes in transactions: every partition ends with a
    // marker, so a group is done one below the high watermark.
    let events = cx.payloads.len() as u64;
    let marks = Watermarks::new(brokers, &topic)?;
    marks.wait_for(events as i64, args.stage_timeout, || {
        all_alive(&mut components)
    })?;
    let indexed = GroupOffsets::new(brokers, &indexer_group, &marks)?;
    let detected = GroupOffsets::new(brokers, &names.group, &marks)?;
    let mut last_report = Instant::now();
    let done = loop {
        process::check_interrupted()?;
        all_alive(&mut components)?;
        let highs = marks.highs()?;
        let (i, d) = (indexed.committed()?, detected.committed()?);
        if caught_up_transactional(&i, &highs) && caught_up_transactional(&d, &highs) {
            break Instant::now();
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            let total: i64 = highs.iter().sum();
            eprintln!(
                "bench:   indexer {}/{total}, detector {}/{total} messages committed",
                i.iter().sum::<i64>(),
                d.iter().sum::<i64>()
            );
            last_report = Instant::now();
        }
        anyhow::ensure!(
            started.elapsed() < args.stage_timeout,
            "the pipeline did not process the corpus within {:?}",
            args.stage_timeout
        );
        std::thread::sleep(POLL);
    };
    let usage = [
        components[0].0.usage()?,
        components[1].0.usage()?,
        components[2].0.usage()?,
    ];
    let total_cpu: f64 = usage.iter().map(|u| u.cpu_seconds).sum();
    let seconds = (done - started).as_secs_f64();
    let share = PipelineShare {
        seconds,
        events,
        events_per_sec: events as f64 / seconds.max(1e-9),
        collector: usage[0],
        indexer: usage[1],
        detector: usage[2],
        detector_cpu_percent: 100.0 * usage[2].cpu_seconds / total_cpu.max(1e-9),
    };
    eprintln!(
        "bench:   {:.0} events/s; CPU s: collector {:.1}, indexer {:.1}, detector {:.1}",
        share.events_per_sec, usage[0].cpu_seconds, usage[1].cpu_seconds, usage[2].cpu_seconds
    );

    let (corpus_alerts, latency) =
        latency::measure(cx, &names, &mut triggers, receiver, &mut || {
            all_alive(&mut components)
        })?;
    for (component, _) in components {
        component.stop(STOP_GRACE)?;
    }
    Ok((share, corpus_alerts, latency))
}

pub(super) fn all_alive(components: &mut [(Component, PathBuf)]) -> anyhow::Result<()> {
    for (component, log) in components.iter_mut() {
        component.check_alive(log)?;
    }
    Ok(())
}
