//! Compliance reports: what the store proves (manifests, deletion records,
//! `verify`, daily volume) judged against what the configuration cites
//! (regulation presets, retention, legal hold), per stream, with a status
//! and machine-readable reasons.
//!
//! A crate of its own because it joins two crates that must not know each
//! other: `logwarden-store` (no regulation in it) and `logwarden-config`
//! (no store in it). The CLI (`logwarden compliance report`) and the query
//! API (`GET /api/v1/compliance/report`) both build the report here.
//!
//! # Layout
//!
//! - `records`: the two small durable facts the store did not keep: the
//!   last full verify (`DATA_DIR/verify/last.json`) and the pinned public
//!   key (`DATA_DIR/keys/pinned.pub.pem`).
//! - `scan`: per stream, what the manifests, deletion records and
//!   unsealed splits on disk say (windows, gaps, deletions, time range).
//! - `volume`: events and bytes per day per stream, read from the splits.
//! - `status`: the status words, reason codes and their sentences (ko, en),
//!   and the rules that give a stream its status.
//! - `report`: [`Report`], built from the above ([`build`]).
//! - `review`: the PIPA monthly access review (제8조②): findings over the
//!   access records, 소명 states, sign-off, the month's integrity (제8조③).
//! - `render`: CSV and the printable HTML page (JSON is serde), for the
//!   report and the review, and PDF through a headless browser.
//! - `export`: the signed audit bundle (`logwarden export`,
//!   `POST /api/v1/exports`) and its offline check (`logwarden verify BUNDLE`).
//! - `error`: [`ComplianceError`].

mod error;
pub mod export;
pub mod records;
pub mod render;
pub mod report;
pub mod review;
pub mod scan;
pub mod status;
pub mod volume;

pub use error::ComplianceError;
pub use report::{Policies, Report, ReportOptions, build};
pub use status::{Reason, Status};
