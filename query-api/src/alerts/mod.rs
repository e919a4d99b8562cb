//! Alerts: what the detector raised (events of the `alerts` stream, one
//! per alert id however often it was published) and their triage.
//!
//! - `params`: the list filters, checked.
//! - `index`: alerts and their matched events found in the splits, copies
//!   of one alert collapsed by id.
//! - `status`: open → acknowledged → closed with its history, in the data
//!   directory every replica shares, one change at a time per alert.
//! - `handler`: the HTTP endpoints.

mod handler;
mod index;
mod params;
pub mod status;

pub use handler::{AlertDetail, AlertList, AlertView, MatchedEvent, acknowledge, close, detail, list, method_not_allowed};
/// The alert model the endpoints answer with (from `logwarden-detect`),
/// for clients and tests that build or read alerts.
pub use logwarden_detect::alert::{Alert, AlertGroup, AlertKind, EventRef, RuleRef};
pub use params::{DEFAULT_LIMIT, Level, ListParams, MAX_LIMIT};
pub use status::{Status, StatusStore};
