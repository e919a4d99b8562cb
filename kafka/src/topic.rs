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
    let admin = Admin(Some(client_config(config, ClientKind::Admin).create()?));
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

/// librdkafka's default `message.max.bytes`.
const LIBRDKAFKA_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// Room left under the topic's limit for the record batch's framing: the
/// limit is on a whole batch, librdkafka's on a record's key and value.
const BATCH_FRAMING_BYTES: usize = 512;

/// `config` with the producer's `message.max.bytes` lowered to what
/// `topic` accepts (its `max.message.bytes`, read from the broker), unless
/// the operator set it in `[kafka.producer]` or the topic accepts
/// librdkafka's default.
///
/// Without it, a record larger than the topic accepts is refused by the
/// broker for the whole batch it travels in: every record of that batch
/// fails with it (at least once, all of them were dead-lettered; exactly
/// once, the transaction was aborted and the same batch sent again).
/// librdkafka refuses such a record alone when it is enqueued, and its
/// batches stay under the limit. Kafka unreachable, or the topic not
/// created yet: `config` unchanged, with a warning.
pub fn with_topic_message_limit(config: &KafkaConfig, topic: &str) -> KafkaConfig {
    let mut config = config.clone();
    if config.producer.contains_key("message.max.bytes") {
        return config;
    }
    match topic_message_limit(&config, topic) {
        Ok(limit) if limit < LIBRDKAFKA_MESSAGE_MAX_BYTES + BATCH_FRAMING_BYTES => {
            let cap = limit.saturating_sub(BATCH_FRAMING_BYTES).max(1000);
            tracing::info!(topic, limit, cap, "the topic accepts smaller records than librdkafka's default: the producer's message.max.bytes follows it");
            config.producer.insert("message.max.bytes".into(), cap.to_string());
        }
        Ok(_) => {}
        Err(reason) => tracing::warn!(topic, %reason, "cannot read the topic's max.message.bytes; a record larger than it fails the batch it is sent in"),
    }
    config
}

/// The topic's `max.message.bytes`, as the broker applies it.
fn topic_message_limit(config: &KafkaConfig, topic: &str) -> Result<usize, String> {
    let admin = Admin(Some(client_config(config, ClientKind::Admin).create().map_err(|e| e.to_string())?));
    // A broker answers this in milliseconds; Kafka away, a shutdown waits
    // for it (the producer starts after it).
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(5)));
    let resources = [rdkafka::admin::ResourceSpecifier::Topic(topic)];
    let results = block_on(admin.describe_configs(&resources, &options)).map_err(|e| e.to_string())?;
    let resource = results.into_iter().next().ok_or("no answer")?.map_err(|code| code.to_string())?;
    let value = resource.get("max.message.bytes").and_then(|e| e.value.clone()).ok_or("not in the answer")?;
    value.parse().map_err(|e| format!("{value:?}: {e}"))
}

/// An admin client for a request or two, let go with [`let_go`].
struct Admin(Option<AdminClient<DefaultClientContext>>);

impl std::ops::Deref for Admin {
    type Target = AdminClient<DefaultClientContext>;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("taken only on drop")
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        if let Some(admin) = self.0.take() {
            crate::let_go(admin);
        }
    }
}

/// Runs `future` to completion on this thread (rdkafka's admin futures are
/// completed by the client's own thread; no runtime is needed, so this
/// works from the file source's thread and from a blocking task alike).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::sync::Arc::new(Unpark(std::thread::current())).into();
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}
