//! Kafka side of the collector: topic creation and the acknowledging producer.

mod producer;

pub use producer::{Batch, EventProducer, Rejected, create_producer, flush, is_permanent, send};
pub use logwarden_kafka::ensure_topic;
