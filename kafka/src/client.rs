//! The one builder of Kafka client configurations, and a start-up check.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use logwarden_config::{ClientKind, KafkaConfig};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::KafkaClientError;

/// librdkafka settings logwarden's consumers start from (`[kafka.consumer]`
/// overrides them).
///
/// `fetch.queue.backoff.ms`: once a consumer's prefetch queue is full,
/// librdkafka waits this long before fetching again (1000 ms by default).
/// A consumer that empties its queue sooner then waits for data: the
/// indexer, whose queue is bounded to 16 MiB and which empties it in about
/// half a second, spent half its time waiting (200 MB corpus, 2 consumers:
/// 44.8k events/s at 0.92 cores busy; with 10 ms, 89.0k at 1.65 cores).
///
/// `fetch.wait.max.ms`: how long the broker holds a fetch that finds
/// nothing new (500 ms by default). Measured here, a `read_committed`
/// fetch waiting when a transaction commits was answered only when this
/// ran out, so an event waited for it after its transaction: a line written to
/// a quiet file was searchable after 770 ms at p50 (1,350 ms at p99);
/// with 100 ms, after 470 ms (865 ms). The cost: an idle consumer asks
/// each broker ten times a second instead of twice.
pub const CONSUMER_DEFAULTS: &[(&str, &str)] =
    &[("fetch.queue.backoff.ms", "10"), ("fetch.wait.max.ms", "100")];

/// The librdkafka configuration of a client of `kind`: brokers, security
/// (SASL, TLS) and that kind's overrides, from the `[kafka]` section. Every
/// client logwarden creates starts from here; callers add only what their
/// role needs (a group id, the delivery guarantee).
pub fn client_config(config: &KafkaConfig, kind: ClientKind) -> ClientConfig {
    let mut client = ClientConfig::new();
    if kind == ClientKind::Consumer {
        for (key, value) in CONSUMER_DEFAULTS {
            client.set(*key, *value);
        }
    }
    for (key, value) in config.client_properties(kind) {
        client.set(key, value);
    }
    client
}

/// Records the first authentication or TLS error librdkafka reports, and
/// whether every broker is down.
#[derive(Default)]
struct Watch {
    refused: Mutex<Option<(RDKafkaErrorCode, String)>>,
    all_down: AtomicBool,
}

impl ClientContext for Watch {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if let Some(code @ (RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL)) = code {
            self.refused.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert((code, reason.to_string()));
        } else if code == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.all_down.store(true, Ordering::Release);
        } else {
            tracing::debug!(%error, reason, "kafka client error during the connection check");
        }
    }
}

impl ConsumerContext for Watch {}

/// Drops a Kafka client used for a request or two on a thread of its own.
/// Dropping one waits for its threads: rust-rdkafka's `AdminClient` joins
/// a poll thread that wakes every 100 ms, a consumer closes and destroys
/// its handle (~100 ms here). Where the client was used, each held its
/// caller that long: three admin clients and the checkpoints reader were
/// half of the collector's start-up, and an async caller's runtime worker
/// was blocked meanwhile.
pub fn let_go<T: Send + 'static>(client: T) {
    // Should no thread start, the client is dropped here, as before.
    let _ = std::thread::Builder::new().name("kafka-client-drop".into()).spawn(move || drop(client));
}

/// Connects as the configured clients do and asks for the cluster's
/// metadata, within `timeout`. A refused login or a failed TLS handshake is
/// an error naming the settings to fix (at start, not a hang later);
/// brokers that are merely unreachable are not: logwarden's components
/// wait for Kafka (and push sources spool) as before, so `Ok(false)` says
/// the check could not reach Kafka and `Ok(true)` that it did.
pub fn check_connection(config: &KafkaConfig, timeout: Duration) -> Result<bool, KafkaClientError> {
    let consumer: BaseConsumer<Watch> = client_config(config, ClientKind::Admin)
        .set("group.id", "logwarden-connection-check")
        .create_with_context(Watch::default())?;
    let started = Instant::now();
    loop {
        let answered = consumer.fetch_metadata(None, Duration::from_millis(500)).is_ok();
        // Error events reach the context only when the client is polled;
        // once the brokers answered, those already queued are enough (a
        // 100 ms wait here was a tenth of every start).
        let _ = consumer.poll(if answered { Duration::ZERO } else { Duration::from_millis(100) });
        if let Some((code, reason)) = consumer.context().refused.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let brokers = config.brokers.clone();
            return Err(match code {
                RDKafkaErrorCode::SSL => KafkaClientError::Tls { brokers, reason },
                _ => KafkaClientError::Authentication {
                    credentials: config.credentials().unwrap_or_else(|| "a client without SASL".into()),
                    brokers,
                    reason,
                },
            });
        }
        if answered {
            return Ok(true);
        }
        if started.elapsed() >= timeout || consumer.context().all_down.load(Ordering::Acquire) {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logwarden_config::RawConfig;

    fn consumer_property(toml: &str, key: &str) -> Option<String> {
        let config = RawConfig::from_toml(toml).expect("toml").validate().expect("valid");
        client_config(&config.kafka, ClientKind::Consumer).get(key).map(str::to_string)
    }

    #[test]
    fn consumers_start_from_the_defaults_and_the_config_overrides_them() {
        assert_eq!(consumer_property("", "fetch.queue.backoff.ms").as_deref(), Some("10"));
        let overridden = "[kafka.consumer]\n\"fetch.queue.backoff.ms\" = \"250\"\n";
        assert_eq!(consumer_property(overridden, "fetch.queue.backoff.ms").as_deref(), Some("250"));
        let config = RawConfig::from_toml("").unwrap().validate().unwrap();
        assert_eq!(client_config(&config.kafka, ClientKind::Producer).get("fetch.queue.backoff.ms"), None, "consumers only");
    }
}
