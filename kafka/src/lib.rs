//! logwarden's Kafka clients: every producer, consumer and admin client is
//! configured here, from the one `[kafka]` section, so the security
//! settings (SASL, TLS) reach them all; and the one produce path, with the
//! spool that keeps pushed events while Kafka is away.
//!
//! # Layout
//!
//! - `backlog`: [`IndexBacklog`], what this process's indexer has yet to
//!   read, which a file source in the same process holds back on.
//! - `client`: [`client_config`] (the one builder) and [`check_connection`]
//!   (a start-up check that names the config key behind a refused login).
//! - `committed`: [`committed::read_committed`], a topic's messages as a
//!   `read_committed` consumer counts them (transaction markers and aborted
//!   records skipped): lag that is only markers, tests' topic counts.
//! - `topic`: [`ensure_topic`], creating a topic with partitions = cores.
//! - `fetch`: [`fetch::FetchQueue`], a consumer's fetched messages read in
//!   batches rather than one poll each.
//! - `producer`: the acknowledging producer, per-batch delivery tracking,
//!   records Kafka refuses for good told apart from failures.
//! - `encode`: an event as a Kafka record, cut to fit the message limit.
//! - `in_place`: records whose payload librdkafka reads where it is (a
//!   chunk's buffer, held until the delivery report) instead of copying it.
//! - `delivery`: pushed events to Kafka, to the spool while Kafka is away,
//!   and back; dead letters for what Kafka refuses for good.
//! - `transaction`: exactly-once production: [`transaction::Transactional`],
//!   events and the positions past them in one Kafka transaction, positions
//!   read back at start from the compacted checkpoints topic.
//! - `spool`: the bounded on-disk spool (CRC-framed segment files).
//! - `metrics`: Prometheus metrics of delivery and the spool.
//! - `error`: [`KafkaClientError`].

pub mod backlog;
mod client;
pub mod committed;
pub mod delivery;
pub mod encode;
mod error;
pub mod fetch;
pub mod in_place;
pub mod metrics;
pub mod producer;
pub mod spool;
mod topic;
pub mod at_least_once;
pub mod transaction;

pub use backlog::IndexBacklog;
pub use client::{check_connection, client_config, let_go};
pub use error::KafkaClientError;
pub use topic::{ensure_topic, ensure_topic_with, with_topic_message_limit};
