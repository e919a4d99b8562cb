//! [`KafkaClientError`]: what goes wrong connecting to Kafka, said so that
//! an operator knows which setting to fix.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum KafkaClientError {
    /// The brokers refused the login: wrong user, password or mechanism.
    #[error("kafka refused the login of {credentials} at {brokers}: {reason}; check kafka.sasl")]
    Authentication { credentials: String, brokers: String, reason: String },
    /// The TLS handshake failed: wrong CA, expired or mismatched certificate.
    #[error("TLS with kafka at {brokers} failed: {reason}; check kafka.tls (ca, cert, key) and kafka.security_protocol")]
    Tls { brokers: String, reason: String },
    /// The client could not be created from the configuration.
    #[error("cannot create a kafka client: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("cannot create topic {topic} on {brokers}: {reason}")]
    Topic { topic: String, brokers: String, reason: String },
}
