//! `logwarden`: one binary, one subcommand per component.
//!
//! # Layout
//!
//! - `admin_key`: the admin key created on first start when none is configured.
//! - `check_config`: `check-config`, a config validated as at start.
//! - `cli`: argument parsing and the config overrides each subcommand takes.
//! - `commands`: what each subcommand runs.
//! - `compliance`: `verify` and `retention`.
//! - `keys`: `keys create|list|revoke`, the keys kept in DATA_DIR/api-keys.toml.
//! - `rules`: `rules check` and `rules test`.
//! - `telemetry`: logging (text or JSON) and the Prometheus recorder.
//! - `ops_http`: `/metrics`, `/healthz`, `/readyz` on `[telemetry] listen`.
//! - `shutdown`: SIGTERM/SIGINT to a cancellation token.
//! - `status`: `status`, the pipeline's health as `GET /api/v1/status` answers it.

mod admin_key;
mod check_config;
mod cli;
mod commands;
mod compliance;
mod keys;
mod ops_http;
mod rules;
mod shutdown;
mod status;
mod telemetry;

use clap::Parser;

/// jemalloc, as Quickwit and TiKV use: the indexer's documents are
/// allocated on the consumer thread and freed on tantivy's, where glibc's
/// malloc spent ~6 % of the indexer's CPU; measured (BENCHMARKS.md,
/// 2026-12-02 evening) peak RSS −18 %, events per CPU-second +3 %.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init_logging(cli.log_format, &cli.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::execute(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "logwarden failed");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
