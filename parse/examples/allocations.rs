//! Heap allocations per parsed line, a figure the machine's noise does not
//! move (timings here swing ±40 % between runs): each loghub sample
//! (`../shared/data/loghub`, read in place) and the bench generator's
//! lines, parsed with the default chain.
//!
//! `cargo run --release -p logwarden-parse --example allocations`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use logwarden_parse::{LineContext, parse_line};

/// The system allocator, counting allocations and bytes asked for.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn measure(name: &str, lines: &[String], ctx: &LineContext<'_>) {
    // One pass first: lazily built statics (the default chain, regexes)
    // are not the lines' cost.
    for line in lines {
        drop(parse_line(line, ctx));
    }
    let (allocations, bytes) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    for line in lines {
        drop(parse_line(line, ctx));
    }
    let count = lines.len().max(1) as f64;
    println!(
        "{name:<24} {:>6} lines  {:>6.2} allocations/line  {:>7.1} bytes allocated/line",
        lines.len(),
        (ALLOCATIONS.load(Ordering::Relaxed) - allocations) as f64 / count,
        (BYTES.load(Ordering::Relaxed) - bytes) as f64 / count,
    );
}

fn main() {
    let ingested: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").expect("a time").to_utc();
    let ctx = LineContext { ingested, host_name: "collector01", file_path: Some("/var/log/x.log"), stream: None };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub");
    for name in ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log"] {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => measure(name, &text.lines().map(str::to_string).collect::<Vec<_>>(), &ctx),
            Err(e) => eprintln!("{name}: {e} (the loghub samples are read from ../shared/data/loghub)"),
        }
    }
    let start = DateTime::parse_from_rfc3339("2026-02-28T00:00:00Z").expect("a time").to_utc();
    let generated: Vec<String> = logwarden_generator::Generator::new(7, start, chrono::Duration::seconds(1))
        .with_json_share(0.2)
        .take(20_000)
        .map(|(_, line)| line)
        .collect();
    measure("generator (bench mix)", &generated, &ctx);
}
