//! Criterion micro-benchmarks of the hot paths every event goes through:
//! `parse_line` on the loghub samples (read in place from
//! `../shared/data/loghub`), event serialization (`wire::encode`), and the
//! tantivy document the indexer builds (`LogSchema::to_document`, with and
//! without decoding the payload), and both the encoding and the indexer's
//! one pass over the mix `logwarden bench` indexes (the generator's lines,
//! a fifth of them JSON). Per-parser benches live with the parsers.
//!
//! `cargo bench --bench hot_paths`

use std::hint::black_box;
use std::path::Path;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput};
use logwarden_collector::parse::{LineContext, parse_line};
use logwarden_event::{Event, wire};
use logwarden_generator::Generator;
use logwarden_store::schema::{LogSchema, parse_time};
use serde_json::{Map, Value};

const LOGHUB: [&str; 3] = ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log"];

fn loghub(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/loghub")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines().map(str::to_string).collect()
}

fn ctx() -> LineContext<'static> {
    LineContext {
        ingested: DateTime::parse_from_rfc3339("2026-11-24T00:00:00Z")
            .expect("constant time")
            .to_utc(),
        host_name: "collector01",
        file_path: Some("/var/log/bench.log"),
        stream: None,
    }
}

fn bytes_of(lines: &[String]) -> u64 {
    lines.iter().map(|l| l.len() as u64 + 1).sum()
}

fn events() -> Vec<Event> {
    let ctx = ctx();
    LOGHUB
        .iter()
        .flat_map(|name| loghub(name))
        .map(|line| parse_line(&line, &ctx))
        .collect()
}

/// The loghub lines as JSON documents (a structured logger's shape): their
/// `event.original` is full of quotes to escape.
fn json_events() -> Vec<Event> {
    let ctx = ctx();
    LOGHUB
        .iter()
        .flat_map(|name| loghub(name))
        .map(|line| {
            let document = serde_json::json!({
                "@timestamp": "2026-11-24T00:00:00.123Z",
                "log.level": "info",
                "message": line,
                "service": {"name": "bench", "version": "1.2.3"},
                "user": "alice",
            });
            parse_line(&document.to_string(), &ctx)
        })
        .collect()
}

/// 20,000 events of the mix `logwarden bench` indexes (`logwarden generate
/// --json-share 0.2`: sshd, sudo, cron, kernel, nginx and JSON lines),
/// parsed and given an id and offset as the collector gives them. Their
/// payloads are longer than the loghub lines' and hold more escapes (the
/// quotes of access and JSON lines).
fn generated_events() -> Vec<Event> {
    let start = DateTime::parse_from_rfc3339("2026-11-24T00:00:00Z").expect("constant time").to_utc();
    let ingested = DateTime::parse_from_rfc3339("2026-11-24T12:00:00.405880375Z").expect("constant time").to_utc();
    Generator::new(1, start, chrono::Duration::milliseconds(72))
        .with_json_share(0.2)
        .take(20_000)
        .enumerate()
        .map(|(i, (kind, line))| {
            let path = format!("/var/log/{}", kind.file_name());
            let mut event = parse_line(&line, &LineContext { ingested, file_path: Some(&path), ..ctx() });
            event.id = Some(format!("fe00:9840f2:{i}"));
            event.log_offset = Some(i as u64 * 150);
            event
        })
        .collect()
}

/// The bench's mix: encoding each event (the collector) and mapping each
/// payload to a document (the indexer's consumer threads).
fn generated_mix(c: &mut Criterion) {
    let events = generated_events();
    let schema = LogSchema::new();
    let payloads: Vec<Vec<u8>> = events.iter().map(wire::encode).collect();
    let mut group = c.benchmark_group("generated_mix");
    group.throughput(Throughput::Elements(events.len() as u64));
    let mut buf = Vec::with_capacity(4096);
    group.bench_function("wire encode_into (reused buffer)", |b| {
        b.iter(|| {
            for event in &events {
                buf.clear();
                wire::encode_into(black_box(event), &mut buf);
            }
            black_box(buf.len())
        })
    });
    group.bench_function("document (one pass from the payload)", |b| {
        b.iter(|| {
            for (i, raw) in payloads.iter().enumerate() {
                black_box(schema.document(black_box(raw), i as u64).expect("an event"));
            }
        })
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    let ctx = ctx();
    let mut group = c.benchmark_group("parse_line");
    for name in LOGHUB {
        let lines = loghub(name);
        group.throughput(Throughput::Bytes(bytes_of(&lines)));
        group.bench_function(name, |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(parse_line(black_box(line), &ctx));
                }
            })
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let events = events();
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("encode", |b| {
        b.iter(|| {
            for event in &events {
                black_box(wire::encode(black_box(event)));
            }
        })
    });
    let mut buf = Vec::with_capacity(4096);
    let json_events = json_events();
    for (name, events) in [
        ("encode_into (reused buffer)", &events),
        ("encode_into, JSON lines (reused buffer)", &json_events),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                for event in events {
                    buf.clear();
                    wire::encode_into(black_box(event), &mut buf);
                }
                black_box(buf.len())
            })
        });
    }
    group.finish();
}

fn document(c: &mut Criterion) {
    let schema = LogSchema::new();
    let payloads: Vec<String> = events()
        .iter()
        .map(|e| String::from_utf8(wire::encode(e)).expect("JSON is UTF-8"))
        .collect();
    let decoded: Vec<(Map<String, Value>, DateTime<Utc>)> = payloads
        .iter()
        .map(|p| {
            let map: Map<String, Value> = serde_json::from_str(p).expect("payload decodes");
            let time = map["@timestamp"]
                .as_str()
                .and_then(parse_time)
                .expect("payload has @timestamp");
            (map, time)
        })
        .collect();
    let mut group = c.benchmark_group("tantivy_document");
    group.throughput(Throughput::Elements(payloads.len() as u64));
    group.bench_function("to_document", |b| {
        b.iter(|| {
            for (i, ((map, time), raw)) in decoded.iter().zip(&payloads).enumerate() {
                black_box(schema.to_document(map, raw, i as u64, *time));
            }
        })
    });
    group.bench_function("decode + to_document", |b| {
        b.iter(|| {
            for (i, raw) in payloads.iter().enumerate() {
                let map: Map<String, Value> =
                    serde_json::from_str(black_box(raw)).expect("payload decodes");
                let time = map["@timestamp"]
                    .as_str()
                    .and_then(parse_time)
                    .expect("payload has @timestamp");
                black_box(schema.to_document(&map, raw, i as u64, time));
            }
        })
    });
    // What the indexer does: one pass from the payload, no `Value`, the
    // fast reader first (serde_json for what it declines).
    group.bench_function("document (one pass from the payload)", |b| {
        b.iter(|| {
            for (i, raw) in payloads.iter().enumerate() {
                black_box(schema.document(black_box(raw.as_bytes()), i as u64).expect("an event"));
            }
        })
    });
    // The same one pass with serde_json reading every payload: what the
    // fast reader is measured against.
    group.bench_function("document (one pass, serde_json only)", |b| {
        b.iter(|| {
            for (i, raw) in payloads.iter().enumerate() {
                black_box(schema.document_through_serde(black_box(raw.as_bytes()), i as u64).expect("an event"));
            }
        })
    });
    // serde_json's parse alone, nothing built: the floor under the
    // serde_json pass (what of it is the parse, what the building).
    group.bench_function("serde_json parse alone (IgnoredAny)", |b| {
        b.iter(|| {
            for raw in &payloads {
                black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(raw)).expect("JSON"));
            }
        })
    });
    group.finish();
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench binaries with libtest flags
        // (`--test-threads`) that criterion refuses: run every benchmark
        // briefly instead, as a smoke test that they work.
        let mut c = Criterion::default()
            .sample_size(10)
            .warm_up_time(std::time::Duration::from_millis(1))
            .measurement_time(std::time::Duration::from_millis(1))
            .without_plots();
        parse(&mut c);
        encode(&mut c);
        document(&mut c);
        generated_mix(&mut c);
        println!("benchmark smoke test ok");
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    parse(&mut c);
    encode(&mut c);
    document(&mut c);
    generated_mix(&mut c);
    c.final_summary();
}
