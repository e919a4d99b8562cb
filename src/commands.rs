//! What each subcommand runs.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use anyhow::Context;
use chrono::Utc;
use logwarden_config::Config;
use tokio_util::sync::CancellationToken;

use crate::cli::{Command, GenerateArgs};
use crate::{compliance, keys, rules, shutdown, telemetry};

type Component = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

pub async fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => {
            let (config, admin_key) = args.load_serving(true)?;
            require_sources(&config)?;
            let detect = !config.detect.rules.is_empty();
            pipeline(config, admin_key, Components { collector: true, indexer: true, api: true, detect }).await
        }
        Command::Collector(args) => {
            let (config, admin_key) = args.load_serving(false)?;
            require_sources(&config)?;
            pipeline(config, admin_key, Components { collector: true, ..Components::NONE }).await
        }
        Command::Indexer(args) => pipeline(args.load()?, None, Components { indexer: true, ..Components::NONE }).await,
        Command::QueryApi(args) => {
            let (config, admin_key) = args.load_serving(true)?;
            pipeline(config, admin_key, Components { api: true, ..Components::NONE }).await
        }
        Command::Detect(args) => pipeline(args.load()?, None, Components { detect: true, ..Components::NONE }).await,
        Command::Keys(command) => keys::execute(command),
        Command::Rules(command) => rules::execute(command),
        Command::Generate(args) => generate(args),
        Command::Verify(args) => compliance::verify(args),
        Command::Export(args) => compliance::export(args),
        Command::Retention(args) => compliance::retention(args),
        Command::Compliance(command) => compliance::execute(command),
        Command::CheckConfig(args) => crate::check_config::execute(args),
        Command::Status(args) => crate::status::execute(args).await,
        Command::Bench(args) => logwarden_bench::run_until_interrupted(args).await,
    }
}

fn require_sources(config: &Config) -> anyhow::Result<()> {
    let collector = &config.collector;
    if collector.files.is_empty() && collector.syslog.is_empty() && collector.http.listen.is_none() {
        anyhow::bail!(
            "nothing to collect: give --input GLOB, --syslog URL or --http-ingest ADDR, or [[collector.files]], [[collector.syslog]] or collector.http.listen in the config"
        );
    }
    Ok(())
}

/// How long start-up tries to reach Kafka before it starts anyway.
const KAFKA_CHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// Which components a process runs.
#[derive(Clone, Copy)]
struct Components {
    collector: bool,
    indexer: bool,
    api: bool,
    detect: bool,
}

impl Components {
    const NONE: Components = Components { collector: false, indexer: false, api: false, detect: false };
}

/// Runs the chosen components until SIGTERM; if one fails, the others are
/// stopped cleanly and the error is returned. `admin_key_file` holds the
/// created admin key the HTTP services accept, if they do.
async fn pipeline(config: Config, admin_key_file: Option<PathBuf>, components: Components) -> anyhow::Result<()> {
    let Components { collector, indexer, api, detect } = components;
    let shutdown = shutdown::on_signals();
    let metrics = telemetry::install_metrics();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    // A refused login or TLS handshake stops the start with the settings to
    // fix; brokers that are merely down are waited for by each component.
    // The query API alone serves search without Kafka (its audit records
    // are spooled until Kafka answers): it is checked beside serving, not
    // before (a bench's indexer counted 10 s of an API not yet listening).
    let kafka = config.kafka.clone();
    let check = tokio::task::spawn_blocking(move || logwarden_kafka::check_connection(&kafka, KAFKA_CHECK));
    let brokers = config.kafka.brokers.clone();
    let checked = async move {
        let reached = check.await?.context("checking the connection to kafka")?;
        if !reached {
            tracing::warn!(%brokers, "kafka does not answer yet; starting anyway (the components wait for it, push sources spool)");
        }
        anyhow::Ok(())
    };
    if collector || indexer || detect {
        checked.await?;
    } else {
        tokio::spawn(async move {
            if let Err(error) = checked.await {
                tracing::error!(error = format!("{error:#}"), "kafka: the query API keeps its audit records in the spool until kafka accepts them");
            }
        });
    }
    if indexer {
        // Created before anyone subscribes, with partitions = cores.
        logwarden_kafka::ensure_topic(
            &config.kafka,
            &config.kafka.topic,
            config.kafka.partitions,
        )
        .await?;
        logwarden_kafka::ensure_topic(
            &config.kafka,
            &config.indexer.dlq_topic,
            config.kafka.partitions,
        )
        .await?;
    }
    // With the collector and the indexer in one process, file sources
    // hold back on the indexer's backlog (collector.max_index_backlog).
    let index_backlog = (collector && indexer).then(logwarden_kafka::IndexBacklog::new);
    let mut components: Vec<(&str, Component)> = Vec::new();
    if let Some(addr) = config.telemetry_listen {
        let (bound, server) = crate::ops_http::bind(addr, metrics.clone(), shutdown.clone()).await?;
        println!("logwarden: telemetry listening on http://{bound}");
        components.push(("telemetry", Box::pin(server)));
    }
    if collector {
        // Bound first so the addresses (port 0) are announced before anything runs.
        let listeners = logwarden_collector::Listeners::bind(&config).await?;
        for (what, addr) in listeners.addresses() {
            match what.as_str() {
                "http ingest" => {
                    println!("logwarden: {what} listening on http://{addr}");
                    if let Some(file) = &admin_key_file {
                        println!(
                            "logwarden: ingest with the admin key: curl -H \"Authorization: Bearer $(cat {})\" --data-binary @events.ndjson http://{addr}/api/v1/ingest/app",
                            file.display()
                        );
                        println!("logwarden: (a key for shippers: logwarden keys create --name NAME --role ingest --data-dir {})", config.data_dir.display());
                    }
                }
                _ => println!("logwarden: {what} listening on {addr}"),
            }
        }
        let component = logwarden_collector::serve(
            config.clone(),
            listeners,
            metrics.clone(),
            index_backlog.clone(),
            shutdown.clone(),
        );
        components.push(("collector", Box::pin(component)));
    }
    if api {
        let (listener, addr) = logwarden_query_api::bind(&config).await?;
        let state = logwarden_query_api::state(&config, metrics, shutdown.clone())?;
        let scheme = if config.api.tls.is_some() { "https" } else { "http" };
        println!("logwarden: query API listening on {scheme}://{addr}");
        // The key is in a file only when logwarden created it; keys from
        // [[auth.keys]] are known to their holders alone (the config keeps
        // only their hashes).
        let key = match &admin_key_file {
            Some(file) => format!("$(cat {})", file.display()),
            None => "YOUR_KEY".to_string(),
        };
        println!(
            "logwarden: search: curl -H \"Authorization: Bearer {key}\" '{scheme}://{addr}/api/v1/search?q=*&limit=10'"
        );
        if admin_key_file.is_none() {
            println!("logwarden: (YOUR_KEY: a key of an [[auth.keys]] entry with role admin, analyst or auditor)");
        }
        println!("logwarden: web UI: {scheme}://{addr}/ (log in with the key)");
        let api_config = config.clone();
        let shutdown_api = shutdown.clone();
        components.push((
            "query-api",
            Box::pin(async move { logwarden_query_api::serve(&api_config, listener, state, shutdown_api).await }),
        ));
    }
    if detect {
        if config.detect.hooks.is_empty() {
            tracing::info!("no [[detect.hooks]] configured: alerts are kept and searchable, nobody is notified");
        }
        println!(
            "logwarden: detector running {} rule path(s), alerts to {} hook(s) and topic {}",
            config.detect.rules.len(),
            config.detect.hooks.len(),
            config.detect.alerts_topic
        );
        components.push(("detect", Box::pin(logwarden_detect::run(config.clone(), shutdown.clone()))));
    }
    if indexer {
        components.push((
            "indexer",
            Box::pin(logwarden_indexer::run(config.clone(), index_backlog, shutdown.clone())),
        ));
    }
    let handles: Vec<_> = components
        .into_iter()
        .map(|(name, component)| {
            let shutdown = shutdown.clone();
            (
                name,
                tokio::spawn(stop_all_on_error(name, component, shutdown)),
            )
        })
        .collect();
    let mut first_error = None;
    for (name, handle) in handles {
        match handle.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e.context(format!("{name} failed")));
            }
            Err(e) => {
                first_error.get_or_insert(anyhow::anyhow!("{name} panicked: {e}"));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => {
            tracing::info!("logwarden stopped cleanly");
            Ok(())
        }
    }
}

async fn stop_all_on_error(
    name: &'static str,
    component: Component,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let result = component.await;
    if let Err(e) = &result {
        tracing::error!(
            component = name,
            error = format!("{e:#}"),
            "component failed; stopping the others"
        );
        shutdown.cancel();
    }
    result
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let span = chrono::Duration::from_std(args.span).context("--span too large")?;
    let start = match &args.start {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .with_context(|| format!("--start `{text}` is not an RFC 3339 time"))?
            .to_utc(),
        None => Utc::now() - span,
    };
    // With --bytes, about 150 bytes a line spread the lines over the span.
    let (limit, expected_lines) = match args.bytes {
        Some(bytes) => (
            logwarden_generator::Limit::Bytes(bytes),
            (bytes / 150) as usize,
        ),
        None => (logwarden_generator::Limit::Lines(args.lines), args.lines),
    };
    let step = span / (expected_lines.max(1) as i32);
    let generator = logwarden_generator::Generator::new(args.seed, start, step)
        .with_json_share(args.json_share);
    let corpus = logwarden_generator::write_corpus(&args.out, generator, limit)
        .with_context(|| format!("writing to {}", args.out.display()))?;
    for file in corpus.files {
        println!(
            "{}: {} lines",
            args.out.join(file.kind.file_name()).display(),
            file.lines
        );
    }
    Ok(())
}
