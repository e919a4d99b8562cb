//! Alerts a hook refused for good (or never took before its retries ran
//! out) go to the alerts dead-letter topic with the reason, keyed by alert
//! id: never silently dropped.
//!
//! ```json
//! {"alert": {…}, "hook": "oncall", "reason": "HTTP 400 Bad Request", "status": 400, "attempts": 1, "at": "…"}
//! ```
//!
//! A record that is not an alert at all is dead-lettered too, with
//! `"alert": null` and the record's text in `"payload"`.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use logwarden_config::{ClientKind, KafkaConfig};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::deliver::Failure;
use crate::Alert;

/// Shutdown came before Kafka acknowledged the dead letter.
#[derive(Debug)]
pub struct Cancelled;

pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetters {
    pub fn new(kafka: &KafkaConfig, topic: &str) -> Result<DeadLetters, KafkaError> {
        let producer = logwarden_kafka::client_config(kafka, ClientKind::Producer)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", "30000")
            .set("client.id", "logwarden-notify-dlq")
            .create()?;
        Ok(DeadLetters { producer, topic: topic.to_string() })
    }

    /// Dead-letters `alert` that `hook` did not take.
    pub async fn alert(
        &self,
        alert: &Alert,
        hook: &str,
        failure: &Failure,
        shutdown: &CancellationToken,
    ) -> Result<(), Cancelled> {
        let record = letter(json!(alert), hook, &failure.reason, failure.status, failure.attempts);
        self.send(&alert.id, &record, shutdown).await
    }

    /// Dead-letters a record of the alerts topic that is not a usable alert.
    pub async fn unreadable(
        &self,
        key: &str,
        payload: &[u8],
        hook: &str,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), Cancelled> {
        let mut record = letter(Value::Null, hook, reason, None, 0);
        record["payload"] = Value::String(String::from_utf8_lossy(payload).into_owned());
        self.send(key, &record, shutdown).await
    }

    /// Sends until Kafka acknowledges, or `shutdown`.
    async fn send(&self, key: &str, record: &Value, shutdown: &CancellationToken) -> Result<(), Cancelled> {
        let payload = record.to_string();
        loop {
            let sent = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Err(Cancelled),
                sent = self.producer.send(
                    FutureRecord::to(&self.topic).key(key).payload(&payload),
                    Duration::from_secs(5),
                ) => sent,
            };
            match sent {
                Ok(_) => return Ok(()),
                Err((error, _)) => {
                    tracing::warn!(topic = %self.topic, key, %error, "dead letter not acknowledged; retrying");
                }
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Err(Cancelled),
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

fn letter(alert: Value, hook: &str, reason: &str, status: Option<u16>, attempts: u32) -> Value {
    json!({
        "alert": alert,
        "hook": hook,
        "reason": reason,
        "status": status,
        "attempts": attempts,
        "at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}
