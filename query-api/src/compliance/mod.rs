//! `GET /api/v1/compliance/report`: the retention report (the same as
//! `logwarden compliance report --config`), for admin and auditor keys.
//!
//! - `params`: the query parameters, checked.
//! - `handler`: builds the report off the executor, records it in the
//!   `audit` stream, answers in the format asked.

mod handler;
mod params;

pub use handler::report;
