//! The detector's in-process baselines over the bench payloads, on one
//! thread: rsigma's own `Engine::evaluate` with the same rules (after the
//! same built-in field mappings) on each event's Sigma view, logwarden's
//! `RuleSet::evaluate` on the same views, and the detection stage's whole
//! per-event work (`wire::decode` + `outputs_of`: view, rules, alerts and
//! hits) without Kafka.
//!
//! Views are built a chunk at a time, outside the timed evaluation, so the
//! first two compare evaluation alone and memory stays bounded.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use logwarden_detect::alert::EventRef;
use logwarden_detect::rules::{RuleSet, load_pipelines};
use logwarden_detect::stage::detect::{Output, outputs_of};
use logwarden_detect::view::{event_source, sigma_view};
use logwarden_event::wire;
use rsigma_eval::{Engine, JsonEvent};
use serde::Serialize;

use crate::corpus::Payloads;
use crate::process::check_interrupted;

use super::rules::RulePaths;

const CHUNK: usize = 4096;

/// What the rules are, as loaded.
#[derive(Debug, Clone, Serialize)]
pub struct LoadedRules {
    pub files: usize,
    pub detection_rules: usize,
    pub correlations: usize,
    /// Rules logwarden reported unsupported or could not parse (not loaded
    /// by either side).
    pub not_loaded: usize,
    /// Detection rules rsigma's engine compiled (the baseline's rules).
    pub rsigma_rules: usize,
}

/// One thread's rate over the payloads.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    pub seconds: f64,
    pub events_per_sec: f64,
    /// Rule matches found.
    pub matches: u64,
}

impl Rate {
    fn new(busy: Duration, events: u64, matches: u64) -> Rate {
        let seconds = busy.as_secs_f64().max(1e-9);
        Rate {
            seconds,
            events_per_sec: events as f64 / seconds,
            matches,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Baselines {
    pub rules: LoadedRules,
    pub events: u64,
    /// rsigma `Engine::evaluate`, every rule in one engine, on the views.
    pub rsigma: Rate,
    /// logwarden `RuleSet::evaluate` (engines per logsource) on the views.
    pub ruleset: Rate,
    /// `wire::decode` + `outputs_of` per payload: the detection stage's
    /// work without Kafka.
    pub detect_work: Rate,
    pub alerts: u64,
    pub hits: u64,
    /// Building the views (`wire::decode` + `sigma_view`), outside the timed
    /// evaluations.
    pub view_seconds: f64,
}

/// Loads the rules both ways and runs the three baselines over `payloads`.
pub fn measure(paths: &RulePaths, payloads: &Payloads) -> anyhow::Result<Baselines> {
    let files = paths.all();
    let rules = RuleSet::load(&files, &[]).context("loading the rules")?;
    let engine = rsigma_engine(&rules)?;
    let report = &rules.report;
    let loaded = LoadedRules {
        files: report.files,
        detection_rules: report
            .loaded
            .iter()
            .filter(|r| r.kind == "detection")
            .count(),
        correlations: rules.correlations().len(),
        not_loaded: report.unsupported.len() + report.errors.len(),
        rsigma_rules: engine.rule_count(),
    };
    let events = payloads.len() as u64;
    let (mut rsigma, mut ruleset, mut work, mut views_busy) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let (mut rsigma_matches, mut ruleset_matches, mut alerts, mut hits) = (0u64, 0u64, 0u64, 0u64);
    let mut views = Vec::with_capacity(CHUNK);
    for start in (0..payloads.len()).step_by(CHUNK) {
        check_interrupted()?;
        let end = (start + CHUNK).min(payloads.len());
        views.clear();
        let started = Instant::now();
        for i in start..end {
            let event =
                wire::decode(payloads.get(i).payload).context("decoding a bench payload")?;
            views.push(sigma_view(&event));
        }
        views_busy += started.elapsed();

        let started = Instant::now();
        for view in &views {
            rsigma_matches += engine.evaluate(&JsonEvent::borrow(view)).len() as u64;
        }
        rsigma += started.elapsed();

        let started = Instant::now();
        for view in &views {
            ruleset_matches += rules.evaluate(view, &event_source(view)).len() as u64;
        }
        ruleset += started.elapsed();

        let started = Instant::now();
        for i in start..end {
            let event =
                wire::decode(payloads.get(i).payload).context("decoding a bench payload")?;
            let reference = EventRef {
                event_id: event.id.clone(),
                stream: event.stream.clone(),
                partition: 0,
                offset: i as i64,
                timestamp: event.timestamp,
            };
            for output in outputs_of(&rules, &event, reference) {
                match output {
                    Output::Alert(_) => alerts += 1,
                    Output::Hit(..) => hits += 1,
                }
            }
        }
        work += started.elapsed();
    }
    Ok(Baselines {
        rules: loaded,
        events,
        rsigma: Rate::new(rsigma, events, rsigma_matches),
        ruleset: Rate::new(ruleset, events, ruleset_matches),
        detect_work: Rate::new(work, events, alerts + hits),
        alerts,
        hits,
        view_seconds: views_busy.as_secs_f64(),
    })
}

/// rsigma's engine with the detection rules logwarden loaded, from the
/// same files, through the same built-in field mappings (the Windows rules
/// then name `Event.EventData.*`, as the views do).
fn rsigma_engine(rules: &RuleSet) -> anyhow::Result<Engine> {
    let loaded: BTreeSet<&str> = rules
        .report
        .loaded
        .iter()
        .filter(|r| r.kind == "detection")
        .map(|r| r.rule.id.as_str())
        .collect();
    let files: BTreeSet<&str> = rules
        .report
        .loaded
        .iter()
        .map(|r| r.file.as_str())
        .collect();
    let mut parsed = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        let collection =
            rsigma_parser::parse_sigma_yaml(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        parsed.extend(collection.rules.into_iter().filter(|rule| {
            let id = rule
                .id
                .clone()
                .or_else(|| rule.name.clone())
                .unwrap_or_else(|| rule.title.clone());
            loaded.contains(id.as_str())
        }));
    }
    let mut engine = Engine::new();
    for pipeline in load_pipelines(&[]).context("the built-in pipelines")? {
        engine.add_pipeline(pipeline);
    }
    let errors = engine.add_rules(&parsed);
    anyhow::ensure!(
        errors.is_empty(),
        "rsigma refused {} rule(s) logwarden loaded: {:?}",
        errors.len(),
        errors
            .iter()
            .map(|(i, e)| format!("{}: {e}", parsed[*i].title))
            .collect::<Vec<_>>()
    );
    Ok(engine)
}
