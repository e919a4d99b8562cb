//! Detection: Sigma rules and correlations evaluated on the Kafka stream,
//! alerts published, indexed and delivered to notification hooks.
//!
//! # Layout
//!
//! - `alert`: [`Alert`], its deterministic id, and its shape as an event
//!   of the `alerts` stream.
//! - `view`: the Sigma view of an event and the logsource it belongs to.
//! - `rules`: loading rules and pipelines, [`rules::RuleSet`], the load report.
//! - `hit`: what the detection stage hands the correlation stage.
//! - `reorder`: the event-time reorder buffer in front of correlations.
//! - `correlator`: correlation engines per rule, independent of Kafka.
//! - `live`: the rules in force, reloaded on change and SIGHUP.
//! - `stage`: the detection and correlation stages on Kafka.
//! - `run`: `logwarden detect`.
//! - `backtest`: `rules test`, the rules over a file or stored history.
//! - `notify`: hooks (Alertmanager, Slack, webhook): delivery with retries,
//!   a record of delivered ids, and the dead-letter topic.

pub mod alert;
pub mod backtest;
pub mod correlator;
pub mod hit;
pub mod live;
pub mod reorder;
mod run;
pub mod stage;
pub mod rules;
pub mod view;
pub mod notify;

/// Sigma rule text shared with the integration and black-box tests.
#[cfg(test)]
#[path = "../tests/common/sigma.rs"]
mod test_sigma;

pub use alert::{Alert, AlertKind};
pub use run::run;
