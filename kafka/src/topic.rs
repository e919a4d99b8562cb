//! Topic creation: the events topic gets as many partitions as CPU cores.

use std::time::Duration;

use logwarden_config::{ClientKind, KafkaConfig};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::{KafkaClientError, client_config};

/// Creates `topic` with `partitions` partitions unless it exists already.
pub async fn ensure_topic(config: &KafkaConfig, topic: &str, partitions: u32) -> Result<(), KafkaClientError> {
    ensure_topic_with(config, topic, partitions, &[]).await
}

/// [`ensure_topic`] with topic settings (`cleanup.policy` = `compact` for
/// a topic that keeps the latest value per key).
pub async fn ensure_topic_with(
    config: &KafkaConfig,
    topic: &str,
    partitions: u32,
    settings: &[(&str, &str)],
) -> Result<(), KafkaClientError> {
    let admin: AdminClient<DefaultClientContext> = client_config(config, ClientKind::Admin).create()?;
    let mut new_topic = NewTopic::new(topic, partitions as i32, TopicReplication::Fixed(1));
    for (key, value) in settings {
        new_topic = new_topic.set(key, value);
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let failed = |reason: String| KafkaClientError::Topic {
        topic: topic.to_string(),
        brokers: config.brokers.clone(),
        reason,
    };
    let results = admin.create_topics([&new_topic], &options).await.map_err(|e| failed(e.to_string()))?;
    for result in results {
        match result {
            Ok(_) => tracing::info!(topic, partitions, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(failed(code.to_string())),
        }
    }
    Ok(())
}
