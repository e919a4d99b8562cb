//! `logwarden status`: the pipeline's health, as `GET /api/v1/status`
//! answers it, read from the same config (Kafka and the data directory):
//! tables for people, `--json` for scripts.

use std::fmt::Write as _;

use logwarden_query_api::status::{PipelineStatus, StatusSources, gather};

use crate::cli::StatusArgs;

pub async fn execute(args: StatusArgs) -> anyhow::Result<()> {
    let config = args.pipeline.load()?;
    let sources = StatusSources::of(&config);
    let report = tokio::task::spawn_blocking(move || gather(&sources, chrono::Utc::now())).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", tables(&report));
    }
    Ok(())
}

fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut value, mut unit) = (n as f64, 0);
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", units[unit]) }
}

/// The report as aligned tables.
pub fn tables(report: &PipelineStatus) -> String {
    let mut out = String::new();
    let k = &report.kafka;
    let reach = if k.reachable { "reachable".to_string() } else { format!("NOT REACHABLE: {}", k.error.as_deref().unwrap_or("")) };
    let _ = writeln!(out, "status at {}\n\nkafka {} (topic {}): {reach}", report.generated_at, k.brokers, k.topic);
    for group in &report.consumer_groups {
        let _ = writeln!(out, "\nconsumer lag, group {} on {}: {}", group.group, group.topic, group.total_lag);
        let _ = writeln!(out, "  {:>9}  {:>14}  {:>14}  {:>10}", "partition", "committed", "end offset", "lag");
        for p in &group.partitions {
            let committed = p.committed.map_or("-".to_string(), |c| c.to_string());
            let _ = writeln!(out, "  {:>9}  {:>14}  {:>14}  {:>10}", p.partition, committed, p.high_watermark, p.lag);
        }
    }
    let _ = writeln!(out, "\ndead letters");
    for d in &report.dead_letters {
        let count = d.messages.map_or("- (topic absent)".to_string(), |m| m.to_string());
        let _ = writeln!(out, "  {:<28}  {count}", d.topic);
    }
    let _ = writeln!(out, "\ningest rate (by event.ingested, last {} s)", report.ingest.window_seconds);
    let _ = writeln!(out, "  {:<16}  {:>10}  {:>12}", "stream", "events/s", "last minute");
    for s in &report.ingest.streams {
        let _ = writeln!(out, "  {:<16}  {:>10.2}  {:>12}", s.stream, s.per_second, s.last_1m);
    }
    let _ = writeln!(out, "\nspools");
    for s in &report.spools {
        let _ = writeln!(out, "  {:<8}  {:>10} of {:>10}  {} segments  {}", s.name, bytes(s.used_bytes), bytes(s.max_bytes), s.segments, s.dir);
    }
    let seals = &report.seals;
    let _ = writeln!(
        out,
        "\nseals: last {}; {} splits open",
        seals.last_sealed_at.as_deref().unwrap_or("never"),
        seals.open_splits
    );
    for p in &seals.partitions {
        let _ = writeln!(out, "  {:<16} p{:<3}  {}  {}  {}  {} events", p.stream, p.partition, p.sealed_at, p.split_id, p.seal_reason, p.event_count);
    }
    let verify = match &report.last_verify {
        Some(v) => format!(
            "{} ({})",
            v["verified_at"].as_str().unwrap_or("?"),
            if v["intact"].as_bool() == Some(true) { "intact" } else { "BROKEN" }
        ),
        None => "never (logwarden verify --data-dir DIR)".to_string(),
    };
    let _ = writeln!(out, "\nlast full verify: {verify}");
    if !report.problems.is_empty() {
        let _ = writeln!(out, "\ncould not read:");
        for p in &report.problems {
            let _ = writeln!(out, "  {p}");
        }
    }
    out
}
