//! Delivering alerts to notification hooks (Alertmanager, Slack, webhook).
//!
//! One task per hook, each with its own consumer group on the alerts
//! topic, so a hook that is down never holds back another. An alert is
//! filtered, checked against the hook's delivered record, suppressed or
//! sent (with retries), recorded, and only then its offset committed: at
//! least once, and never twice for the same alert id after a restart.
//!
//! - `service`: [`run`], the per-hook consumer loop and offset commits.
//! - `filter`: which alerts a hook wants (level, tags) and notification
//!   suppression per rule and group.
//! - `payload`: the request bodies of each hook kind (pure functions).
//! - `deliver`: the HTTP request with retries and backoff.
//! - `delivered`: the per-hook on-disk record of handled alert ids.
//! - `dead_letter`: alerts a hook refused for good, to the alerts DLQ topic.
//! - `metrics`: counters of sent, retried, failed, dead-lettered and
//!   suppressed notifications, by hook.

mod dead_letter;
pub mod deliver;
pub mod delivered;
pub mod filter;
mod metrics;
pub mod payload;
mod service;

pub use service::run;
