//! Rules: `GET /api/v1/rules`, the Sigma rules the detector runs and how
//! many alerts each raised.
//!
//! - `source`: the rules of `[detect]`, loaded and reloaded as the
//!   detector does, and the errors that keep changed files from loading.
//! - `counts`: alerts per rule, counted in the `alerts` stream.
//! - `handler`: the HTTP endpoint.

mod counts;
mod handler;
mod source;

pub use counts::AlertCounts;
pub use handler::{RuleList, RuleView, list};
pub use source::{LiveRules, Snapshot, WATCH_INTERVAL, load};
