//! `GET /api/v1/compliance/report`: the retention report (the same as
//! `logwarden compliance report --config`), and `POST /api/v1/exports`:
//! the signed audit bundle (`logwarden export`), for admin and auditor keys.
//!
//! - `params`: the query parameters, checked.
//! - `handler`: builds the report off the executor, records it in the
//!   `audit` stream, answers in the format asked.
//! - `export`: builds the audit bundle, records it in the `audit` stream,
//!   answers it as a tar.

mod export;
mod handler;
mod params;

pub use export::export;
pub use handler::report;
