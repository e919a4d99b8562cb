//! `GET /api/v1/status`: the pipeline's health as an operator checks it —
//! consumer lag per partition, dead letters, ingest rate per stream, spool
//! use, the last seal and the last full verify — gathered from what the
//! pipeline already keeps (Kafka's group offsets and watermarks, the data
//! directory). `logwarden status` prints the same report.
//!
//! - `report`: [`PipelineStatus`], the answer, and [`StatusSources`], where
//!   it is read from.
//! - `kafka`: group lag and dead-letter counts (rdkafka, blocking).
//! - `store`: seals, verify, spools and ingest rates from the data directory.
//! - `handler`: the endpoint.

mod handler;
mod kafka;
mod report;
mod store;

pub use handler::status;
pub use report::{PipelineStatus, StatusSources, gather};
