//! The detector's figures: events/s through `logwarden detect` beside
//! rsigma's own `Engine::evaluate` on the same events, the detector's share
//! of the pipeline's CPU, and alert latency from line written to webhook
//! received.
//!
//! - `rules`: the rule files (read in place) and the detector's config.
//! - `baseline`: rsigma and logwarden evaluation in this process, one thread.
//! - `receiver`: the HTTP receiver the alert hook posts to.
//! - `triggers`: lines that raise alerts, and the alerts received for them.
//! - `stage`: the stages with real processes, and what they measured.
//! - `latency`: alert triggers on the running pipeline, timed to the hook.

mod baseline;
mod latency;
mod receiver;
mod rules;
mod stage;
mod triggers;

pub use stage::{Detection, Inputs, run};
