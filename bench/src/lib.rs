//! `logwarden bench`: an end-to-end benchmark that runs the real components
//! as child processes against the real broker, and measures each figure
//! beside the baseline that bounds it, in the same run on the same machine.
//!
//! # Layout
//!
//! - `args`: the command-line flags ([`BenchArgs`]).
//! - `corpus`: generates the corpus and encodes its events the way the
//!   collector does (the payloads every baseline uses).
//! - `process`: components as child processes of the same binary, killed on
//!   drop; peak RSS and CPU seconds from `/proc`.
//! - `kafka`: topics, watermarks, the raw librdkafka producer baseline and
//!   `kafka-producer-perf-test`.
//! - `tantivy_baseline`: raw tantivy indexing of the same documents.
//! - `detection`: the detector's stages (throughput beside rsigma's own
//!   evaluation, CPU share of the pipeline, alert latency to a webhook).
//! - `rss`: a component's resident memory sampled over a stage.
//! - `search`: the search client, freshness markers and query latency.
//! - `stats`: percentiles.
//! - `measured`: what a stage measures (a component's figures, the whole
//!   pipeline's).
//! - `figures`: each measurement beside its baseline and goal.
//! - `report`: figure rows, machine facts, the printed table and the JSON.
//! - `run`: the stages in order.
//! - `large`: `--large`, the stages that stream from disk, for corpora
//!   larger than memory.

mod args;
mod corpus;
mod detection;
mod figures;
mod kafka;
mod large;
mod measured;
mod process;
mod report;
mod rss;
mod run;
mod search;
mod stats;
mod tantivy_baseline;

pub use args::BenchArgs;
pub use run::run;

/// Runs the bench off the async executor (it blocks on processes, Kafka and
/// HTTP); ctrl-c makes it fail at its next wait, which kills its children.
pub async fn run_until_interrupted(args: BenchArgs) -> anyhow::Result<()> {
    let signal = tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("bench: interrupted; stopping the components");
            process::interrupt();
        }
    });
    let result = tokio::task::spawn_blocking(move || run(args)).await;
    signal.abort();
    result.map_err(|e| anyhow::anyhow!("bench panicked: {e}"))?
}
