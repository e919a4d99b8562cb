//! logwarden's Kafka clients: every producer, consumer and admin client is
//! configured here, from the one `[kafka]` section, so the security
//! settings (SASL, TLS) reach them all.
//!
//! # Layout
//!
//! - `client`: [`client_config`] (the one builder) and [`check_connection`]
//!   (a start-up check that names the config key behind a refused login).
//! - `topic`: [`ensure_topic`], creating a topic with partitions = cores.
//! - `error`: [`KafkaClientError`].

mod client;
mod error;
mod topic;

pub use client::{check_connection, client_config};
pub use error::KafkaClientError;
pub use topic::ensure_topic;
