//! The collector: reads logs from their sources, parses them into normalized
//! events, and produces them to Kafka exactly once.
//!
//! Events go out in Kafka transactions that also carry the positions past
//! them (a file's offset, the spool's sequence number) to the compacted
//! checkpoints topic; at start the collector reads its committed positions
//! back. When Kafka is unreachable, the file source pauses. Pushed events
//! (syslog, HTTP) cannot be re-read, so they wait in a bounded on-disk
//! spool until Kafka takes them.
//!
//! # Layout
//!
//! - `file`: the file source (globs, tailing, rotation, multiline events,
//!   checkpoints with content fingerprints).
//! - `syslog`: syslog listeners (UDP, TCP, TLS; RFC 6587 framing).
//! - `http`: HTTP ingest (NDJSON, Elasticsearch `_bulk`), authenticated by keys.
//! - `parse`: re-export of the `logwarden-parse` crate (parsers, chain, routing).
//! - `kafka`, `delivery`, `spool`, `encode`: re-exports of the
//!   `logwarden-kafka` crate (the producer, delivery with its spool, events
//!   as records), which the query API's audit trail shares.
//! - `metrics`: Prometheus counters of this crate.

pub mod file;
pub mod http;
mod metrics;
pub use logwarden_parse as parse;
pub mod syslog;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use logwarden_config::Config;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use logwarden_kafka::producer as kafka;
pub use logwarden_kafka::{delivery, encode, spool};

/// How long shutdown waits for Kafka to acknowledge pushed events in flight.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(30);

/// The collector's network listeners, bound before it runs (so port 0 can
/// be announced).
pub struct Listeners {
    syslog: Vec<syslog::BoundSyslog>,
    http: Option<(TcpListener, SocketAddr)>,
}

impl Listeners {
    /// Binds every syslog listener and the HTTP ingest listener of `config`.
    pub async fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let mut bound = Vec::new();
        for listener in &config.collector.syslog {
            bound.push(syslog::bind(listener).await?);
        }
        let http = match config.collector.http.listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.with_context(|| {
                    format!("binding http ingest on {addr} (collector.http.listen)")
                })?;
                let local = listener.local_addr()?;
                Some((listener, local))
            }
            None => None,
        };
        Ok(Listeners {
            syslog: bound,
            http,
        })
    }

    /// `("syslog udp", addr)`, …, `("http ingest", addr)`.
    pub fn addresses(&self) -> Vec<(String, SocketAddr)> {
        let mut out: Vec<_> = self
            .syslog
            .iter()
            .map(|s| (format!("syslog {}", s.transport().as_str()), s.local_addr()))
            .collect();
        if let Some((_, addr)) = &self.http {
            out.push(("http ingest".to_string(), *addr));
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.syslog.is_empty() && self.http.is_none()
    }
}

/// Runs the collector until `shutdown` is cancelled; returns once every
/// source has flushed and saved its checkpoints.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listeners = Listeners::bind(&config).await?;
    serve(config, listeners, None, None, shutdown).await
}

/// [`run`] with listeners bound by the caller, the Prometheus handle that
/// HTTP ingest serves at `/metrics`, and the backlog of an indexer in the
/// same process, which file sources hold back on.
pub async fn serve(
    config: Config,
    listeners: Listeners,
    metrics: Option<PrometheusHandle>,
    index_backlog: Option<logwarden_kafka::IndexBacklog>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if listeners.is_empty() {
        logwarden_kafka::ensure_topic(
            &config.kafka,
            &config.kafka.topic,
            config.kafka.partitions,
        )
        .await?;
    } else {
        // Pushed events are spooled while Kafka is down, so the collector
        // starts without it and creates the topic once Kafka answers.
        ensure_topic_or_retry(&config, shutdown.clone()).await;
    }
    tracing::info!(
        collector_id = %config.collector.id,
        from = config.collector.id.source,
        checkpoints_topic = %config.collector.checkpoints_topic,
        "collector id (positions and kafka transactional ids derive from it)"
    );
    let host_name = gethostname::gethostname().to_string_lossy().into_owned();
    let file_source = if config.collector.files.is_empty() {
        None
    } else {
        let mut source = file::FileSource::new(&config.collector, &config.kafka, host_name)?;
        if let Some(backlog) = index_backlog {
            tracing::info!(
                max_index_backlog = config.collector.max_index_backlog,
                "file sources hold back while the indexer in this process has more events than this left to read (collector.max_index_backlog; 0: never)"
            );
            source = source.with_index_backlog(backlog);
        }
        let ensured = listeners.is_empty();
        if ensured {
            // Files only: Kafka must answer at start, as for the events topic.
            logwarden_kafka::transaction::ensure_checkpoints_topic(&config.kafka, &config.collector.checkpoints_topic)
                .await
                .context("creating the checkpoints topic")?;
        }
        // With push sources the collector starts without Kafka: the file
        // source waits for the checkpoints topic, push sources spool.
        let (kafka, topic, stop) = (config.kafka.clone(), config.collector.checkpoints_topic.clone(), shutdown.clone());
        Some(tokio::spawn(async move {
            let ensure = || async {
                logwarden_kafka::transaction::ensure_checkpoints_topic(&kafka, &topic).await.map_err(anyhow::Error::from)
            };
            if !ensured {
                // Cancellable: an admin request to an unreachable broker
                // waits out its 60 s timeout, and SIGTERM waited with it.
                let first = tokio::select! {
                    result = ensure() => result,
                    _ = stop.cancelled() => return Ok(()),
                };
                if let Err(error) = first {
                    tracing::error!(error = format!("{error:#}"), "the file source waits for kafka (checkpoints topic)");
                    if !retry_until_ok(&stop, ensure).await {
                        return Ok(());
                    }
                }
            }
            let handle = file::source::spawn(source, stop).context("spawning the file source thread")?;
            tokio::task::spawn_blocking(move || handle.join())
                .await?
                .map_err(|_| anyhow::anyhow!("file source thread panicked"))?
        }))
    };
    let push = if listeners.is_empty() {
        None
    } else {
        Some(serve_push(&config, listeners, metrics, shutdown.clone())?)
    };
    tracing::info!(inputs = config.collector.files.len(), topic = %config.kafka.topic, "collector started");
    let mut result = Ok(());
    if let Some((tasks, delivery)) = push {
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "collector task panicked");
            }
        }
        if delivery.fenced() {
            result = Err(anyhow::anyhow!(
                "another collector with the same collector.id ({}) took over; give each collector its own collector.id",
                config.collector.id
            ));
        }
        let flushed = tokio::task::spawn_blocking(move || delivery.flush(SHUTDOWN_FLUSH))
            .await
            .unwrap_or(false);
        if !flushed {
            tracing::warn!(
                "kafka did not acknowledge every pushed event in time; spooled events stay in the spool"
            );
        }
    }
    if let Some(task) = file_source {
        let files = task.await.map_err(|e| anyhow::anyhow!("file source task failed: {e}"))?;
        result = result.and(files);
    }
    tracing::info!("collector stopped");
    result
}

/// How long start-up waits for Kafka before serving push sources anyway.
const TOPIC_WAIT: Duration = Duration::from_secs(5);
const TOPIC_RETRY: Duration = Duration::from_secs(5);

async fn ensure_topic_or_retry(config: &Config, shutdown: CancellationToken) {
    let kafka = config.kafka.clone();
    let checkpoints = config.collector.checkpoints_topic.clone();
    let attempt = move || {
        let kafka = kafka.clone();
        let checkpoints = checkpoints.clone();
        async move {
            let topics = async {
                logwarden_kafka::ensure_topic(&kafka, &kafka.topic, kafka.partitions).await?;
                logwarden_kafka::transaction::ensure_checkpoints_topic(&kafka, &checkpoints).await
            };
            match tokio::time::timeout(TOPIC_WAIT, topics).await
            {
                Ok(result) => result.map_err(anyhow::Error::from),
                Err(_) => Err(anyhow::anyhow!(
                    "no answer from {} within {TOPIC_WAIT:?}",
                    kafka.brokers
                )),
            }
        }
    };
    let Err(error) = attempt().await else { return };
    tracing::error!(
        error = format!("{error:#}"),
        "kafka unreachable at start; pushed events are spooled until it answers"
    );
    tokio::spawn(async move {
        if retry_until_ok(&shutdown, attempt).await {
            tracing::warn!("kafka answers; events topic ensured");
        }
    });
}

/// Calls `attempt` every [`TOPIC_RETRY`] until it succeeds (true) or
/// `stop` is cancelled (false, also in the middle of an attempt); the
/// failures in between are logged at debug.
async fn retry_until_ok<F, Fut>(stop: &CancellationToken, mut attempt: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TOPIC_RETRY) => {}
            _ = stop.cancelled() => return false,
        }
        let result = tokio::select! {
            result = attempt() => result,
            _ = stop.cancelled() => return false,
        };
        match result {
            Ok(()) => return true,
            Err(error) => tracing::debug!(error = format!("{error:#}"), "kafka still unreachable"),
        }
    }
}

type Tasks = Vec<tokio::task::JoinHandle<()>>;

fn serve_push(
    config: &Config,
    listeners: Listeners,
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) -> anyhow::Result<(Tasks, delivery::Delivery)> {
    let identity = delivery::ExactlyOnce::of(&config.collector, "push");
    let delivery = delivery::Delivery::open(&config.kafka, &config.collector.spool, identity)?;
    let mut tasks = vec![delivery.spawn_drainer(shutdown.clone())];
    // One parser set from the configuration serves every push source, as
    // it serves the file source.
    let parsers = config.collector.parse.parsers();
    for bound in listeners.syslog {
        tasks.push(syslog::spawn(
            bound,
            config.collector.tls.as_ref(),
            parsers.clone(),
            delivery.clone(),
            shutdown.clone(),
        )?);
    }
    if let Some((listener, _)) = listeners.http {
        let state = http::IngestState {
            delivery: delivery.clone(),
            keys: Arc::new(config.auth.clone()),
            parsers,
            metrics,
            budget: http::MemoryBudget::new(
                config.collector.http.memory_budget,
                config.collector.http.max_body_bytes,
            ),
            body_timeout: config.collector.http.body_timeout,
        };
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = http::serve(listener, state, shutdown).await {
                tracing::error!(%error, "http ingest stopped");
            }
        }));
    }
    Ok((tasks, delivery))
}
