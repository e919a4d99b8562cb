//! [`run`]: one task per hook, each its own consumer group on the alerts
//! topic, handling alerts one by one in offset order.
//!
//! Per alert: filter, skip what the delivered record holds, suppress or
//! deliver (dead-letter what the hook refuses), record the id (synced),
//! and only then commit the offset. A crash between delivery and record
//! sends the alert again (at least once); after the record, never again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use logwarden_config::detect::HookConfig;
use logwarden_config::{ClientKind, Config};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use reqwest::header::HeaderMap;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::dead_letter::DeadLetters;
use super::deliver::{self, Outcome};
use super::delivered::{self, Delivered};
use super::filter::{self, Suppression};
use super::{metrics, payload};
use crate::Alert;

/// Partitions of the dead-letter topic when this creates it: it sees little traffic.
const DLQ_PARTITIONS: u32 = 1;

/// Delivers the alerts of `config.detect.alerts_topic` to every configured
/// hook until `shutdown`. An error of one hook (its record cannot be
/// written, its consumer cannot be created) stops them all.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    if config.detect.hooks.is_empty() {
        tracing::info!("no hooks configured: nothing to deliver alerts to");
        return Ok(());
    }
    let dlq = &config.detect.alerts_dlq_topic;
    logwarden_kafka::ensure_topic(&config.kafka, dlq, DLQ_PARTITIONS)
        .await
        .with_context(|| format!("creating the alerts dead-letter topic {dlq}"))?;
    let dead_letters = Arc::new(
        DeadLetters::new(&config.kafka, dlq).context("creating the alerts dead-letter producer")?,
    );
    let config = Arc::new(config);
    // Dropping `run` (or one hook failing) stops every hook task.
    let stop = shutdown.child_token();
    let _guard = stop.clone().drop_guard();
    let mut tasks = JoinSet::new();
    for hook in &config.detect.hooks {
        let task = HookTask::start(&config, hook.clone(), dead_letters.clone(), stop.clone())
            .await
            .with_context(|| format!("starting hook {}", hook.name))?;
        tasks.spawn(task.run());
    }
    tracing::info!(hooks = config.detect.hooks.len(), topic = %config.detect.alerts_topic, "delivering alerts to hooks");
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = result {
            tracing::error!(error = format!("{e:#}"), "a hook stopped; stopping the others");
            stop.cancel();
            failure.get_or_insert(e);
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What the loop does with an alert once handled.
enum Handled {
    /// Done with (skipped, suppressed, delivered or dead-lettered): commit.
    Done,
    /// Shutdown came first: do not commit, it is read again next time.
    Cancelled,
}

struct HookTask {
    hook: HookConfig,
    topic: String,
    consumer: Arc<StreamConsumer>,
    client: reqwest::Client,
    headers: HeaderMap,
    delivered: Delivered,
    /// Where `delivered` lives, for error messages.
    record_path: PathBuf,
    suppression: Suppression,
    dead_letters: Arc<DeadLetters>,
    shutdown: CancellationToken,
    /// Per partition, the next offset to commit.
    handled: BTreeMap<i32, i64>,
}

impl HookTask {
    async fn start(
        config: &Config,
        hook: HookConfig,
        dead_letters: Arc<DeadLetters>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<HookTask> {
        let suppression = Suppression::new(&config.detect);
        let (data_dir, name, horizon) = (config.data_dir.clone(), hook.name.clone(), suppression.longest());
        let record_path = Delivered::path(&config.data_dir, &hook.name);
        let delivered = tokio::task::spawn_blocking(move || Delivered::open(&data_dir, &name, horizon))
            .await?
            .with_context(|| format!("opening the delivered record {}", record_path.display()))?;
        let headers = deliver::headers(&hook).map_err(anyhow::Error::msg)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("logwarden/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(hook.timeout)
            .build()
            .context("building the HTTP client")?;
        let group = format!("{}-{}", config.detect.notify_group, hook.name);
        let mut client_config = logwarden_kafka::client_config(&config.kafka, ClientKind::Consumer);
        client_config
            .set("group.id", &group)
            .set("client.id", format!("logwarden-notify-{}", hook.name))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed");
        // An alert may be retried for `retry_for` before the next is read:
        // stay in the group meanwhile (librdkafka's limit is 24 h).
        if !config.kafka.consumer.contains_key("max.poll.interval.ms") {
            let interval = (hook.retry_for + Duration::from_secs(300)).clamp(Duration::from_secs(300), Duration::from_secs(86_400));
            client_config.set("max.poll.interval.ms", interval.as_millis().to_string());
        }
        let consumer: StreamConsumer = client_config.create().with_context(|| format!("creating consumer group {group}"))?;
        let topic = config.detect.alerts_topic.clone();
        consumer.subscribe(&[&topic]).with_context(|| format!("subscribing to {topic}"))?;
        tracing::info!(hook = %hook.name, kind = hook.kind.as_str(), group, delivered = delivered.len(), "hook started");
        Ok(HookTask {
            hook,
            topic,
            consumer: Arc::new(consumer),
            client,
            headers,
            delivered,
            record_path,
            suppression,
            dead_letters,
            shutdown,
            handled: BTreeMap::new(),
        })
    }

    async fn run(mut self) -> anyhow::Result<()> {
        loop {
            let message = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                message = self.consumer.recv() => message,
            };
            let (partition, offset, key, payload) = match message {
                Ok(m) => (
                    m.partition(),
                    m.offset(),
                    String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                    m.payload().unwrap_or_default().to_vec(),
                ),
                Err(e) => {
                    tracing::warn!(hook = %self.hook.name, error = %e, "kafka consume error");
                    continue;
                }
            };
            match self.handle(&key, &payload).await? {
                Handled::Done => self.commit(partition, offset + 1),
                Handled::Cancelled => break,
            }
        }
        self.commit_final().await;
        tracing::info!(hook = %self.hook.name, "hook stopped");
        Ok(())
    }

    async fn handle(&mut self, key: &str, payload: &[u8]) -> anyhow::Result<Handled> {
        let alert = match serde_json::from_slice::<Alert>(payload) {
            Ok(alert) if delivered::valid_id(&alert.id) => alert,
            parsed => {
                let reason = match parsed {
                    Ok(alert) => format!("the alert id `{}` is empty or has whitespace", alert.id.escape_debug()),
                    Err(e) => format!("not an alert: {e}"),
                };
                metrics::failed(&self.hook.name);
                tracing::error!(hook = %self.hook.name, key, %reason, "unreadable record on the alerts topic; dead-lettered");
                return Ok(match self.dead_letters.unreadable(key, payload, &self.hook.name, &reason, &self.shutdown).await {
                    Ok(()) => {
                        metrics::dead_lettered(&self.hook.name);
                        Handled::Done
                    }
                    Err(_) => Handled::Cancelled,
                });
            }
        };
        if !filter::wanted(&self.hook, &alert) {
            return Ok(Handled::Done);
        }
        if self.delivered.contains(&alert.id) {
            tracing::debug!(hook = %self.hook.name, alert = %alert.id, "already handled");
            return Ok(Handled::Done);
        }
        let suppression_key = filter::suppression_key(&alert);
        if self.suppression.suppresses(&alert, self.delivered.last_sent(&suppression_key)) {
            metrics::suppressed(&self.hook.name);
            tracing::debug!(hook = %self.hook.name, alert = %alert.id, rule = %alert.rule.id, group = %alert.group.key, "notification suppressed");
            self.record(&alert.id, None).await?;
            return Ok(Handled::Done);
        }
        let body = serde_json::to_vec(&payload::body(&self.hook, &alert)).expect("a payload serializes");
        match deliver::deliver(&self.client, &self.hook, &self.headers, &body, &self.shutdown).await {
            Outcome::Delivered { attempts } => {
                metrics::sent(&self.hook.name);
                tracing::debug!(hook = %self.hook.name, alert = %alert.id, attempts, "alert delivered");
                self.record(&alert.id, Some((&suppression_key, alert.first_seen))).await?;
            }
            Outcome::Failed(failure) => {
                metrics::failed(&self.hook.name);
                tracing::error!(
                    hook = %self.hook.name, alert = %alert.id, status = failure.status, attempts = failure.attempts,
                    reason = %failure.reason, "hook did not take the alert; dead-lettering it"
                );
                if self.dead_letters.alert(&alert, &self.hook.name, &failure, &self.shutdown).await.is_err() {
                    return Ok(Handled::Cancelled);
                }
                metrics::dead_lettered(&self.hook.name);
                self.record(&alert.id, None).await?;
            }
            Outcome::Cancelled => return Ok(Handled::Cancelled),
        }
        Ok(Handled::Done)
    }

    async fn record(&mut self, id: &str, sent: Option<(&str, chrono::DateTime<chrono::Utc>)>) -> anyhow::Result<()> {
        self.delivered
            .record(id, sent)
            .await
            .with_context(|| format!("recording alert {id} in {}", self.record_path.display()))
    }

    /// Commits `next` for `partition` (asynchronously: the delivered record,
    /// not the group offset, is what prevents a second notification).
    fn commit(&mut self, partition: i32, next: i64) {
        self.handled.insert(partition, next);
        let mut offsets = TopicPartitionList::new();
        if let Err(e) = offsets.add_partition_offset(&self.topic, partition, Offset::Offset(next)) {
            tracing::warn!(hook = %self.hook.name, partition, error = %e, "invalid offset to commit");
            return;
        }
        if let Err(e) = self.consumer.commit(&offsets, CommitMode::Async) {
            tracing::debug!(hook = %self.hook.name, partition, error = %e, "offset commit failed; the delivered record covers it");
        }
    }

    /// Commits every handled offset and waits for the answer, before the
    /// consumer leaves the group.
    async fn commit_final(&mut self) {
        if self.handled.is_empty() {
            return;
        }
        let mut offsets = TopicPartitionList::new();
        for (&partition, &next) in &self.handled {
            let _ = offsets.add_partition_offset(&self.topic, partition, Offset::Offset(next));
        }
        let consumer = self.consumer.clone();
        let committed = tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync)).await;
        if let Ok(Err(e)) = committed {
            tracing::debug!(hook = %self.hook.name, error = %e, "final offset commit failed; the delivered record covers it");
        }
    }
}
