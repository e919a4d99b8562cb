//! `GET /api/v1/compliance/report`: the retention report (the same as
//! `logwarden compliance report --config`), and `POST /api/v1/exports`:
//! the signed audit bundle (`logwarden export`), for admin and auditor keys.
//!
//! - `params`: the query parameters, checked.
//! - `handler`: builds the report off the executor, records it in the
//!   `audit` stream, answers in the format asked.
//! - `export`: builds the audit bundle, records it in the `audit` stream,
//!   answers it as a tar.
//! - `exports`: `GET /api/v1/exports`, the exports recorded in the `audit`
//!   stream, and `POST /api/v1/exports/verify`, a bundle checked offline.
//! - `review`: `/api/v1/compliance/review`: the monthly access review,
//!   findings' 소명 states and the sign-off, each audited.

mod export;
mod exports;
mod handler;
mod params;
mod review;

pub use export::export;
pub use exports::{list as list_exports, verify as verify_export};
pub use handler::report;
pub use review::{ReviewState, get_review, set_finding, sign_off};
