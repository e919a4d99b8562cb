//! Kafka side of the collector: topic creation and the acknowledging producer.

mod producer;
mod topic;

pub use producer::{Batch, EventProducer, create_producer, flush, send};
pub use topic::ensure_topic;
