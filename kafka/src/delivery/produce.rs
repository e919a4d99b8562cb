//! Handing records to the producer with a bound on backpressure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::BaseRecord;

use crate::producer::{Batch, EventProducer};
use crate::metrics;
use crate::spool::Record;

/// Queues every record; a full queue is waited on until `deadline`, then the
/// rest of the batch fails (the caller spools it). A record Kafka refuses
/// for good (too large) is kept as rejected for the caller to dead-letter,
/// and the rest go on. The batch settles when Kafka acknowledged, failed or
/// rejected every record.
pub(super) fn produce(
    producer: &EventProducer,
    topic: &str,
    records: &[Record],
    deadline: Instant,
) -> Arc<Batch> {
    let batch = Batch::dead_lettering(records.len());
    for (i, record) in records.iter().enumerate() {
        let mut message = BaseRecord::with_opaque_to(topic, batch.clone())
            .key(&record.key)
            .payload(&record.payload);
        loop {
            match producer.send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if Instant::now() < deadline =>
                {
                    metrics::backpressure();
                    message = returned;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) if batch.reject(record.key.as_bytes(), &record.payload, &error) => {
                    metrics::delivery_error(topic, &error);
                    break;
                }
                Err((error, _)) => {
                    metrics::delivery_error(topic, &error);
                    batch.fail_unsent(records.len() - i, error.to_string());
                    return batch;
                }
            }
        }
    }
    batch
}
