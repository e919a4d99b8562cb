//! `logwarden rules check` and `logwarden rules test`: rules as code.

use std::io::Read;

use anyhow::Context;
use chrono::{DateTime, Utc};
use logwarden_collector::http::line_event;
use logwarden_collector::parse::{LineContext, Parsers};
use logwarden_detect::Alert;
use logwarden_detect::backtest::Backtest;
use logwarden_detect::rules::RuleSet;
use logwarden_event::Event;
use serde_json::Value;

use crate::cli::{RulesCheckArgs, RulesCommand, RulesTestArgs};

pub fn execute(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check(args) => check(args),
        RulesCommand::Test(args) => test(args),
    }
}

fn check(args: RulesCheckArgs) -> anyhow::Result<()> {
    let rules = RuleSet::load(&args.paths, &args.pipelines)?;
    let report = &rules.report;
    let mut lint = Vec::new();
    for file in logwarden_detect::rules::expand_paths(&args.paths)? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for warning in rsigma_parser_lint(&text) {
            lint.push((file.display().to_string(), warning));
        }
    }
    let lint_errors = lint.iter().filter(|(_, w)| w.0 == "error").count();
    let failed = !report.errors.is_empty() || lint_errors > 0;
    if args.json {
        let lint_json: Vec<Value> = lint
            .iter()
            .map(|(file, (severity, rule, message))| serde_json::json!({"file": file, "severity": severity, "rule": rule, "message": message}))
            .collect();
        let no_source: Vec<&str> = report.loaded.iter().filter(|r| r.matches_no_source).map(|r| r.rule.id.as_str()).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": !failed,
                "files": report.files,
                "loaded": report.loaded,
                "unsupported": report.unsupported,
                "errors": report.errors,
                "lint": lint_json,
                "matches_no_source": no_source,
            }))?
        );
    } else {
        let correlations = report.loaded.iter().filter(|r| r.kind != "detection").count();
        println!(
            "{} file(s): {} rule(s) loaded ({} detection, {} correlation), {} unsupported, {} error(s)",
            report.files,
            report.loaded.len(),
            report.loaded.len() - correlations,
            correlations,
            report.unsupported.len(),
            report.errors.len()
        );
        for error in &report.errors {
            println!("error: {}: {}", error.file, error.reason);
        }
        for rule in &report.unsupported {
            println!(
                "unsupported: {}: {} ({}): {}",
                rule.file,
                rule.title.as_deref().unwrap_or("?"),
                rule.id.as_deref().unwrap_or("no id"),
                rule.reason
            );
        }
        for rule in report.loaded.iter().filter(|r| r.matches_no_source) {
            println!(
                "no source: {}: {} ({}): logsource {:?} matches nothing logwarden ingests (products: {})",
                rule.file,
                rule.rule.title,
                rule.rule.id,
                rule.logsource,
                logwarden_detect::rules::KNOWN_PRODUCTS.join(", ")
            );
        }
        for (file, (severity, rule, message)) in &lint {
            println!("lint {severity}: {file}: [{rule}] {message}");
        }
    }
    if failed {
        anyhow::bail!("rules check failed: {} parse error(s), {} lint error(s)", report.errors.len(), lint_errors);
    }
    Ok(())
}

/// Lint findings as (severity, rule, message).
fn rsigma_parser_lint(text: &str) -> Vec<(String, String, String)> {
    logwarden_detect::rules::lint(text)
}

fn test(args: RulesTestArgs) -> anyhow::Result<()> {
    let rules = RuleSet::load(&args.rules, &args.pipelines)?;
    if let Some(error) = rules.report.errors.first() {
        anyhow::bail!("{}: {}", error.file, error.reason);
    }
    for rule in &rules.report.unsupported {
        eprintln!("unsupported: {}: {}: {}", rule.file, rule.title.as_deref().unwrap_or("?"), rule.reason);
    }
    let lateness = args.allowed_lateness.as_secs() as i64;
    let mut backtest = Backtest::new(&rules, lateness);
    let print = |alert: &Alert| -> anyhow::Result<()> {
        if args.json {
            println!("{}", serde_json::to_string(alert)?);
        } else {
            println!("{}  {}  {}  {}", alert.last_seen.to_rfc3339(), alert.rule.id, alert.id, alert.summary());
        }
        Ok(())
    };
    let mut count = 0usize;
    let mut events = 0usize;
    if let Some(path) = &args.events {
        let parsers = match &args.config {
            Some(_) => crate::cli::PipelineArgs { config: args.config.clone(), ..Default::default() }.load()?.collector.parse.parsers(),
            None => Parsers::default(),
        };
        let text = read_events(path)?;
        for event in events_of(&text, &parsers, &path.display().to_string())? {
            events += 1;
            for alert in backtest.event(&event) {
                count += 1;
                print(&alert)?;
            }
        }
    } else if let Some(dir) = &args.data_dir {
        let from = time_arg("--from", args.from.as_deref())?;
        let to = time_arg("--to", args.to.as_deref())?;
        for stored in logwarden_store::history::events_between(dir, from, to)? {
            let event = logwarden_event::wire::decode(stored.payload.as_bytes())
                .with_context(|| format!("stored event at {}/p{}@{} is unreadable", stored.stream, stored.partition, stored.offset))?;
            events += 1;
            for alert in backtest.event(&event) {
                count += 1;
                print(&alert)?;
            }
        }
    }
    for alert in backtest.finish() {
        count += 1;
        print(&alert)?;
    }
    eprintln!("{events} event(s), {} rule(s), {count} alert(s)", rules.rule_count());
    Ok(())
}

fn time_arg(flag: &str, text: Option<&str>) -> anyhow::Result<DateTime<Utc>> {
    let text = text.with_context(|| format!("{flag} is required with --data-dir"))?;
    Ok(DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("{flag} `{text}` is not an RFC 3339 time"))?
        .to_utc())
}

fn read_events(path: &std::path::Path) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).context("reading events from stdin")?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| format!("reading events from {}", path.display()))?;
    }
    Ok(text)
}

/// Events from a JSON document (one event or an array of them), NDJSON or
/// log lines, each parsed as the collector's HTTP ingest parses a line.
fn events_of(text: &str, parsers: &Parsers, origin: &str) -> anyhow::Result<Vec<Event>> {
    let ctx = LineContext { ingested: Utc::now(), host_name: "rules-test", file_path: Some(origin), stream: None };
    let documents: Option<Vec<String>> = match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Array(items)) => Some(items.iter().map(Value::to_string).collect()),
        Ok(object @ Value::Object(_)) => Some(vec![object.to_string()]),
        _ => None,
    };
    let lines: Vec<String> = match documents {
        Some(documents) => documents,
        None => text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect(),
    };
    let mut events = Vec::with_capacity(lines.len());
    for (number, line) in lines.iter().enumerate() {
        let mut event = line_event(parsers, line, &ctx).map_err(|e| anyhow::anyhow!("{origin}: event {}: {e}", number + 1))?;
        if event.id.is_none() {
            event.id = Some(format!("{origin}:{}", number + 1));
        }
        events.push(event);
    }
    Ok(events)
}
